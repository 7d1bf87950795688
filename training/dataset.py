"""Training sets: targets as the entity frame, features joined point-in-time by Feast."""

from __future__ import annotations

import pandas as pd
from feast import FeatureStore

from feature_repo.store import historical_features


def training_frame(store: FeatureStore, bar: str, features: list[str], targets: pd.DataFrame
                   ) -> pd.DataFrame:
    """One row per (symbol, t) with a target: the features stamped <= t (Feast PIT join)."""
    entity_df = targets[["symbol", "event_timestamp", "target_rv", "target_log_rv", "target_spike",
                         "spike_threshold"]]
    frame = historical_features(store, bar, entity_df)
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise RuntimeError(f"feature service returned no columns {missing}; run feast apply")
    if len(frame) != len(entity_df):
        raise RuntimeError(f"PIT join returned {len(frame)} rows for {len(entity_df)} targets")
    return frame.sort_values(["event_timestamp", "symbol"], ignore_index=True)
