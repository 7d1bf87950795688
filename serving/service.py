"""BentoML service: volatility forecasts of each horizon's ``champion`` from online features.

Run it with ``cryptovol serve`` (which provides Redis), or directly with
``REDIS_URL=... bentoml serve serving.service:VolatilityService``.

``POST /predict`` with ``{"symbols": ["BTC", "ETH"], "horizon": 7, "explain": false}`` answers
per coin the annualized vol forecast, its 80%/95% intervals, regime and spike probabilities,
the features' age (``stale`` past ``CRYPTOVOL_STALE_AFTER_BARS``) and the model that answered —
and logs the ``@challenger``'s forecasts of the same rows beside them (``serving.shadow``) —
all computed by the registered model package (``training.package``); this module only reads
features, picks the model and shapes the answer. See ``serving.schemas`` for the full schema.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from http import HTTPStatus

import bentoml
import pandas as pd
from anyio import to_thread
from starlette.responses import JSONResponse

from cryptovol.alerts import send_configured
from cryptovol.prediction_log import PredictionLog, sink_for
from cryptovol.settings import Settings
from feature_repo.store import open_store
from serving import metrics, readiness
from serving.answers import feature_age_bars, forecast, with_freshness
from serving.follow import ChampionFollower
from serving.freshness import FreshnessGauges
from serving.http import Guard, bearer_keys, bound_metric_labels, quiet_client_errors
from serving.online import CachedRow, OnlineFeatures, OnlineStoreDown
from serving.schemas import Explain, Horizon, PredictResponse, RefuseStale, Symbols
from serving.shadow import Shadow
from training.champion import ChampionModel, champion_models

log = logging.getLogger(__name__)
ANSWER_CACHE_SIZE = 20_000

bound_metric_labels()
quiet_client_errors()


def _log_to_stderr(*names: str) -> None:
    """BentoML's logging setup shows only its own loggers: ours say when the model changes."""
    formatter = logging.Formatter("%(asctime)s [%(levelname)s] [%(name)s] %(message)s")
    for name in names:
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(formatter)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False


def _error(status: HTTPStatus, message: str, request_id: str, ctx: bentoml.Context,
           **extra) -> JSONResponse:
    ctx.response.status_code = status
    return JSONResponse({"error": message, "request_id": request_id, **extra}, status_code=status)


_SETTINGS = Settings()


@bentoml.service(name="cryptovol", traffic={"timeout": 30}, threads=4)
class VolatilityService:
    def __init__(self) -> None:
        _log_to_stderr("serving", "cryptovol")
        settings = self.settings = _SETTINGS
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL is not set: start the service with `cryptovol serve`")
        champions = champion_models(settings)
        timeout = settings.online_timeout_seconds
        self.store = open_store(settings, settings.redis_url, timeout=timeout)
        first = champions[min(champions)]
        self.online = OnlineFeatures(self.store, first.feature_service, settings.redis_url, timeout)
        self.followers: dict[int, ChampionFollower] = {}
        for horizon, champion in sorted(champions.items()):
            self.servable(champion)
            log.info("serving %s v%s (%s bars, horizon %d)", champion.name, champion.version,
                     champion.bar, horizon)
            self.followers[horizon] = ChampionFollower(
                settings.model_copy(update={"horizon": horizon}), champion, check=self.servable,
                alert=lambda alert: send_configured(settings, alert),
                interval=settings.champion_poll_seconds).start()
        self.predictions = PredictionLog(sink_for(settings))
        self.shadows = {
            horizon: Shadow(settings.model_copy(update={"horizon": horizon}), self.predictions,
                            settings.champion_poll_seconds,
                            champion_version=lambda f=follower: f.current.version).start()
            for horizon, follower in self.followers.items()}
        self._answers_cache: dict[tuple, dict] = {}
        self._lock = threading.Lock()
        self.outage = readiness.OutageLog()
        self.freshness = FreshnessGauges(self.online.client, settings.bar,
                                         settings.bar_delta.total_seconds()).start()

    @bentoml.on_shutdown
    def shutdown(self) -> None:
        """On SIGTERM/SIGINT: stop following the registry, write the rest of the prediction log."""
        for follower in self.followers.values():
            follower.stop()
        for shadow in self.shadows.values():
            shadow.stop()  # its last forecasts are in the log's buffer before it closes
        self.freshness.stop()
        self.predictions.close()

    def __is_ready__(self) -> bool:
        """Ready while the online store answers with a row for every coin of each served model
        (``/readyz`` 503 otherwise, the reason in its body: ``serving.readiness``)."""
        return readiness.check(self.online, [f.current for f in self.followers.values()])

    def servable(self, model: ChampionModel) -> None:
        """Raise if the online store does not serve every feature ``model`` needs."""
        served = {f.name for view in self.store.get_feature_service(
            model.feature_service).feature_view_projections for f in view.features}
        if missing := sorted(set(model.features) - served):
            raise RuntimeError(f"{model.name} v{model.version} needs features the "
                               f"online store does not serve: {missing}; retrain or roll back")

    def _answers(self, champion: ChampionModel, rows: list[CachedRow],
                 compute: bool = True) -> list[dict | None]:
        """Each row's answer from the package, cached per (model version, coin, write stamp):
        a forecast only changes when a bar is written or the champion moves. ``{}``: no finite
        forecast; None (``compute=False``): not cached yet."""
        keys = [(champion.name, champion.version, r.row["symbol"], r.stamp) for r in rows]
        with self._lock:
            found = [self._answers_cache.get(k) for k in keys]
        if compute and (missing := [i for i, f in enumerate(found) if f is None]):
            out = champion.predict(pd.DataFrame([rows[i].row for i in missing]))
            with self._lock:
                if len(self._answers_cache) > ANSWER_CACHE_SIZE:
                    self._answers_cache.clear()
                for i, (_, series) in zip(missing, out.iterrows(), strict=True):
                    found[i] = self._answers_cache[keys[i]] = (
                        forecast(champion, rows[i].row, series) if series["vol"] > 0 else {})
        return found

    @bentoml.api(route="/predict")
    async def predict(self, symbols: Symbols, ctx: bentoml.Context, horizon: Horizon = None,
                      explain: Explain = False, refuse_stale: RefuseStale = None) -> PredictResponse:
        """Forecast each coin's realized vol over the horizon (annualized), with 80%/95%
        intervals, regime and spike probabilities and, with ``explain``, the top SHAP
        contributions. ``refuse_stale`` (default: the service's setting) answers 409 rather
        than forecast from features older than the staleness limit.

        The common path (features and answers cached, one Redis round trip proving them
        fresh) runs on the event loop; Feast reads, new forecasts and explanations in a thread.
        """
        request_id = ctx.request.headers.get("x-request-id", "")
        if horizon is None:
            horizon = min(self.followers)
        if horizon not in self.followers:
            return _error(HTTPStatus.NOT_FOUND, f"no model for horizon {horizon} x "
                          f"{self.settings.bar}: served horizons are {sorted(self.followers)}",
                          request_id, ctx)
        champion = self.followers[horizon].current  # one model for the whole request
        wanted = list(dict.fromkeys(s.strip().upper() for s in symbols))
        started = time.perf_counter()
        try:
            stamps, changed = await self.online.check_async(wanted)  # bounded by the timeout
            if changed:
                await to_thread.run_sync(self.online.refresh, changed,
                                         dict(zip(wanted, stamps, strict=True)))
        except OnlineStoreDown as exc:
            metrics.ONLINE_ERRORS.inc()
            metrics.OUTAGE_503.labels(reason="down").inc()
            self.outage.failed(str(exc))  # a line when it starts and ends, not one per request
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, "the online feature store (Redis) is "
                          "unavailable; retry shortly", request_id, ctx)
        self.outage.ok()
        metrics.ONLINE_LATENCY.observe(time.perf_counter() - started)
        rows, unknown = self.online.cached(wanted, stamps)
        if missing := sorted(set(unknown) & set(champion.forecaster.symbols)):
            # coins the model knows but the store lacks: the store's fault, not the client's
            metrics.OUTAGE_503.labels(reason="missing").inc()
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, f"{readiness.MISSING} for "
                          f"{', '.join(missing)}; retry once the features are written",
                          request_id, ctx, symbols=missing)
        if unknown:  # a client error, answered without a server-side traceback
            log.info("404 for request %s: unknown symbol(s) %s", request_id, unknown)
            return _error(HTTPStatus.NOT_FOUND, f"unknown symbol(s) {', '.join(unknown)}: no "
                          "features in the online store (check the ticker, or run the pipeline "
                          "to materialize it)", request_id, ctx, unknown_symbols=unknown)
        now = datetime.now(UTC)
        bar_seconds = self.settings.bar_delta.total_seconds()
        ages = [feature_age_bars(r.row["as_of"], now, bar_seconds) for r in rows]
        stale = [a > self.settings.stale_after_bars for a in ages]
        refuse = self.settings.refuse_stale if refuse_stale is None else refuse_stale
        if refuse and any(stale):
            old = [f"{r.row['symbol']} ({a:.1f} bars)"
                   for r, a, s in zip(rows, ages, stale, strict=True) if s]
            return _error(HTTPStatus.CONFLICT, f"stale features for {', '.join(old)}: older than "
                          f"{self.settings.stale_after_bars:g} bars (is the refresh running?)",
                          request_id, ctx)
        answers = self._answers(champion, rows, compute=False)
        if any(a is None for a in answers):  # new features or a new champion: the package runs
            answers = await to_thread.run_sync(self._answers, champion, rows)
        short = [r.row["symbol"] for r, a in zip(rows, answers, strict=True) if not a]
        if short:  # e.g. a coin listed days ago: its weekly realized vol does not exist yet
            return _error(HTTPStatus.UNPROCESSABLE_ENTITY, f"not enough history to forecast "
                          f"{', '.join(short)}", request_id, ctx, symbols=short)
        explanations = [None] * len(rows)
        if explain:
            frame = pd.DataFrame([r.row for r in rows])
            explanations = await to_thread.run_sync(champion.forecaster.explain, frame)
        answers = [with_freshness(a, age, s, e)
                   for a, age, s, e in zip(answers, ages, stale, explanations, strict=True)]
        metrics.FORECASTS.labels(model=champion.name, horizon=str(horizon)).inc(len(answers))
        metrics.SERVED_VERSION.labels(model=champion.name, horizon=str(horizon)).set(
            int(champion.version))
        metrics.FEATURE_AGE.labels(bar=champion.bar).observe(max(ages))
        self.predictions.record([
            {"request_id": request_id, "logged_at": now, "symbol": a["symbol"],
             "as_of": r.row["as_of"], "bar": champion.bar, "horizon": champion.horizon,
             "model_name": champion.name, "model_version": champion.version,
             "predicted_vol_per_bar": a["predicted_vol_per_bar"], "predicted_vol": a["predicted_vol"]}
            for a, r in zip(answers, rows, strict=True)])
        # the challenger's forecasts of the same rows, off the response path
        self.shadows[horizon].submit(champion.version, [r.row for r in rows], request_id, now)
        return PredictResponse(request_id=request_id, predictions=answers)


VolatilityService.add_asgi_middleware(Guard, api_keys=bearer_keys(
    _SETTINGS.api_keys.get_secret_value() if _SETTINGS.api_keys else None),
    max_bytes=_SETTINGS.max_request_bytes, metrics_key=_SETTINGS.metrics_require_key,
    not_ready=lambda: readiness.LAST["reason"])
