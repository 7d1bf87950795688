"""The service follows ``@champion``: it notices when the alias moves (a promotion by the gate,
``cryptovol models promote N`` or ``rollback``), loads that version in the background and swaps
it in atomically.

Each worker runs one :class:`ChampionFollower` thread that polls the registry every
``CRYPTOVOL_CHAMPION_POLL_SECONDS``. A request reads ``follower.current`` once and uses that
model to the end, so no request mixes two versions and none waits for a load. A version that
fails to load (or needs features the online store does not serve) leaves the old one serving,
is not retried until the alias moves again, and raises an alert.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mlflow import MlflowClient

from cryptovol.alerts import Alert
from cryptovol.settings import Settings
from training.champion import CHAMPION, ChampionModel

log = logging.getLogger(__name__)


class ChampionFollower:
    def __init__(self, settings: Settings, current: ChampionModel,
                 check: Callable[[ChampionModel], None], alert: Callable[[Alert], object],
                 interval: float) -> None:
        self.settings = settings
        self.current = current  # replaced whole, never mutated: reading it is atomic
        self._check = check  # raises if a model cannot be served here
        self._alert = alert
        self._interval = interval
        self._failed: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ChampionFollower:
        self._thread = threading.Thread(target=self._run, name="champion-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check_once()
            except Exception as exc:  # the registry is away: keep serving what we have
                log.warning("champion check failed (%s: %s); still serving v%s",
                            type(exc).__name__, exc, self.current.version)

    def champion_version(self) -> str:
        client = MlflowClient(self.settings.tracking_uri, registry_uri=self.settings.tracking_uri)
        return str(client.get_model_version_by_alias(self.current.name, CHAMPION).version)

    def check_once(self) -> str | None:
        """Swap in the version behind ``@champion`` if it moved; returns the new version."""
        version = self.champion_version()
        if version == self.current.version or version in self._failed:
            return None
        log.info("@champion moved to v%s: loading it (v%s keeps serving meanwhile)", version,
                 self.current.version)
        try:
            model = ChampionModel.load(self.settings, version)
            self._check(model)
        except Exception as exc:
            self._failed.add(version)
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.error("v%s cannot be served (%s); v%s keeps serving", version, reason,
                      self.current.version)
            self._alert(Alert(
                kind="load_failure", severity="error",
                title=f"{self.current.name} v{version} is @champion but cannot be served",
                text=(f"*cryptovol*: {self.current.name} v{version} was made @champion but the "
                      f"service could not load it ({reason}); v{self.current.version} keeps "
                      "serving. Roll back or fix the version."),
                fields={"model": self.current.name, "champion_version": version,
                        "serving_version": self.current.version, "error": reason}))
            return None
        previous, self.current = self.current, model
        log.info("now serving %s v%s (was v%s)", model.name, model.version, previous.version)
        return version
