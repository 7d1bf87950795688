"""Feast data sources: the offline feature table written by the feature flows, and the push
source new rows reach the online store through (a refresh, a streamed bar)."""

from feast import FileSource, PushSource
from feast.data_format import ParquetFormat

from cryptovol.settings import Settings


def volatility_source(settings: Settings) -> FileSource:
    return FileSource(
        name=f"volatility_features_{settings.bar}_source",
        path=str(settings.features_dir),  # a folder of parts (feature_repo.offline_table)
        file_format=ParquetFormat(),
        timestamp_field="event_timestamp",
        created_timestamp_column="created",  # a later part's row replaces an earlier one
        description=f"Point-in-time volatility and liquidity features on {settings.bar} bars.",
    )


def push_source_name(bar: str) -> str:
    return f"volatility_features_{bar}_push"


def volatility_push_source(settings: Settings, batch: FileSource) -> PushSource:
    """Where a refresh or the bar stream pushes each coin's newest rows (``store.push``); its
    batch source is the offline table the same rows were appended to, for training and
    materialization."""
    return PushSource(
        name=push_source_name(settings.bar), batch_source=batch,
        description=f"Newest feature rows of each coin on {settings.bar} bars, pushed as bars close.")
