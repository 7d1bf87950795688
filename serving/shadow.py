"""Shadow scoring: the ``@challenger``'s forecasts for the requests the champion answers.

A request hands its feature rows to :meth:`Shadow.submit` (a non-blocking put on a bounded
queue) after its answer is computed; one background thread per horizon runs the challenger's
package on them and records the forecasts in the prediction log with ``role=challenger``. The
answer is never delayed or changed: when the queue is full the shadow forecast is dropped and
counted. The same thread checks where ``@challenger`` points every poll interval and loads a
new version (none while the challenger is the champion itself). The monitor scores these
forecasts against the champion's on realized outcomes (``monitoring.shadow``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime

import pandas as pd
from mlflow import MlflowClient

from cryptovol.prediction_log import CHALLENGER, PredictionLog
from cryptovol.settings import Settings
from serving import metrics
from training.aliases import CHALLENGER as CHALLENGER_ALIAS
from training.aliases import version_by_alias
from training.champion import ChampionModel

log = logging.getLogger(__name__)
QUEUE_SIZE = 512


class Shadow:
    def __init__(self, settings: Settings, predictions: PredictionLog, interval: float,
                 champion_version: Callable[[], str]) -> None:
        self.settings = settings  # of one (bar, horizon)
        self._champion_version = champion_version  # what the service serves now
        self.model: ChampionModel | None = None
        self.dropped = 0
        self._predictions = predictions
        self._interval = interval
        self._jobs: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self._stop = threading.Event()
        self._failed: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)

    def start(self) -> Shadow:
        try:
            self._follow()
        except Exception as exc:  # noqa: BLE001 - the registry is away: try again later
            log.debug("challenger check failed: %s", exc)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def submit(self, champion_version: str, rows: list[dict], request_id: str, now: datetime) -> None:
        """Queue a request's rows for the challenger; never blocks."""
        model = self.model
        if model is None or model.version == champion_version:
            return
        try:
            self._jobs.put_nowait((model, rows, request_id, now))
        except queue.Full:
            self.dropped += 1

    def _follow(self) -> None:
        """Load the version behind ``@challenger`` if it moved (none if it is the champion)."""
        champion_version = self._champion_version()
        client = MlflowClient(self.settings.tracking_uri, registry_uri=self.settings.tracking_uri)
        found = version_by_alias(client, self.settings.registered_model, CHALLENGER_ALIAS)
        version = str(found.version) if found else None
        if version is None or version == champion_version:
            self.model = None
            return
        if (self.model and self.model.version == version) or version in self._failed:
            return
        try:
            self.model = ChampionModel.load(self.settings, version)
            log.info("shadow-scoring challenger %s v%s beside champion v%s",
                     self.model.name, version, champion_version)
        except Exception as exc:  # noqa: BLE001 - a shadow never stops the service
            self._failed.add(version)
            log.warning("challenger v%s cannot be shadow-scored (%s)", version,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    def _run(self) -> None:
        next_check = time.monotonic() + self._interval
        while not self._stop.is_set():
            try:
                job = self._jobs.get(timeout=max(0.0, next_check - time.monotonic()))
            except queue.Empty:
                job = None
            if time.monotonic() >= next_check:  # also under constant traffic
                next_check = time.monotonic() + self._interval
                try:
                    self._follow()
                except Exception as exc:  # noqa: BLE001 - the registry is away: keep what we have
                    log.debug("challenger check failed: %s", exc)
            if job is None:
                continue
            model, rows, request_id, now = job
            try:
                out = model.predict(pd.DataFrame(rows))
            except Exception as exc:  # noqa: BLE001
                log.warning("shadow forecast of v%s failed (%s)", model.version, exc)
                continue
            self._predictions.record([
                {"request_id": request_id, "logged_at": now, "symbol": row["symbol"],
                 "as_of": row["as_of"], "bar": model.bar, "horizon": model.horizon,
                 "model_name": model.name, "model_version": model.version,
                 "predicted_vol_per_bar": float(vol), "predicted_vol": float(vol) * model.annualize,
                 "role": CHALLENGER}
                for row, vol in zip(rows, out["vol"], strict=True) if vol > 0])
            metrics.SHADOW.labels(model=model.name).inc(len(rows))
