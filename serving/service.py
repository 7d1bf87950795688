"""BentoML service: volatility forecasts of the ``champion`` model from online features.

Run it with ``cryptovol serve`` (which provides Redis), or directly with
``REDIS_URL=... bentoml serve serving.service:VolatilityService``.

``POST /predict`` with ``{"symbols": ["BTC", "ETH"]}`` answers
``{"predictions": [{"symbol", "as_of", "horizon_bars", "predicted_vol", ...}]}``;
``predicted_vol`` is annualized, ``as_of`` is the event time of the features used.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated

import bentoml
import numpy as np
from pydantic import Field

from cryptovol.alerts import send_configured
from cryptovol.prediction_log import PredictionLog, sink_for
from cryptovol.settings import Settings
from feature_repo.store import online_features, open_store
from serving.follow import ChampionFollower
from training.champion import ChampionModel

log = logging.getLogger(__name__)

Symbols = Annotated[list[Annotated[str, Field(min_length=1, max_length=20)]],
                    Field(min_length=1, max_length=500)]


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


@bentoml.service(name="cryptovol", traffic={"timeout": 30})
class VolatilityService:
    def __init__(self) -> None:
        _log_to_stderr("serving", "cryptovol")
        settings = Settings()
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL is not set: start the service with `cryptovol serve`")
        champion = ChampionModel.load(settings)
        self.store = open_store(settings, settings.redis_url)
        self.servable(champion)
        log.info("serving %s v%s (%s bars, horizon %d)", champion.name, champion.version,
                 champion.bar, champion.horizon)
        self.predictions = PredictionLog(sink_for(settings))
        self.follower = ChampionFollower(
            settings, champion, check=self.servable,
            alert=lambda alert: send_configured(settings, alert),
            interval=settings.champion_poll_seconds).start()

    @bentoml.on_shutdown
    def shutdown(self) -> None:
        """On SIGTERM/SIGINT: stop following the registry, write the rest of the prediction log."""
        self.follower.stop()
        self.predictions.close()

    def servable(self, model: ChampionModel) -> None:
        """Raise if the online store does not serve every feature ``model`` needs."""
        served = {f.name for view in self.store.get_feature_service(
            model.feature_service).feature_view_projections for f in view.features}
        if missing := sorted(set(model.features) - served):
            raise RuntimeError(f"{model.name} v{model.version} needs features the "
                               f"online store does not serve: {missing}; retrain or roll back")

    @bentoml.api
    def predict(self, symbols: Symbols, ctx: bentoml.Context) -> dict:
        """Forecast realized vol over the next horizon for each symbol (annualized)."""
        champion = self.follower.current  # one model for the whole request, even mid-swap
        wanted = list(dict.fromkeys(s.strip().upper() for s in symbols))
        online = online_features(self.store, champion.feature_service, wanted)
        unknown = online.loc[online["as_of"].isna(), "symbol"].tolist()
        if unknown:  # a client error, answered without a server-side traceback
            ctx.response.status_code = HTTPStatus.NOT_FOUND
            log.info("404 for unknown symbol(s) %s", unknown)
            return {"error": f"unknown symbol(s) {', '.join(unknown)}: no features in the online "
                             "store (check the ticker, or run the pipeline to materialize it)",
                    "unknown_symbols": unknown}
        per_bar = champion.predict_vol(online)
        short = online.loc[~np.isfinite(per_bar), "symbol"].tolist()
        if short:  # e.g. a coin listed days ago: its weekly realized vol does not exist yet
            ctx.response.status_code = HTTPStatus.UNPROCESSABLE_ENTITY
            return {"error": f"not enough history to forecast {', '.join(short)} "
                             f"(the model needs {champion.base or 'its features'})",
                    "symbols": short}
        request_id = uuid.uuid4().hex
        predictions = [
            {
                "symbol": symbol,
                "as_of": as_of.isoformat(),
                "horizon_bars": champion.horizon,
                "bar": champion.bar,
                "predicted_vol": float(vol * champion.annualize),
                "predicted_vol_per_bar": float(vol),
                "vol_unit": "annualized (per-bar x sqrt(bars per year))",
                "model_version": champion.version,
            }
            for symbol, as_of, vol in zip(online["symbol"], online["as_of"], per_bar, strict=True)
        ]
        now = datetime.now(UTC)
        self.predictions.record([
            {"request_id": request_id, "logged_at": now, "symbol": p["symbol"],
             "as_of": as_of, "bar": p["bar"], "horizon": p["horizon_bars"],
             "model_name": champion.name, "model_version": p["model_version"],
             "predicted_vol_per_bar": p["predicted_vol_per_bar"], "predicted_vol": p["predicted_vol"]}
            for p, as_of in zip(predictions, online["as_of"], strict=True)])
        return {"request_id": request_id, "predictions": predictions}
