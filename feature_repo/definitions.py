"""What the stock ``feast`` CLI sees (``feast plan`` / ``feast apply`` in this folder).

Built by the same functions the platform uses, from the same settings (``CRYPTOVOL_HOME``,
``CRYPTOVOL_BAR``), so the CLI and ``cryptovol pipeline`` agree. Export the environment with
``eval "$(cryptovol env)"`` first. Everything else in this folder is in ``.feastignore``.
"""

from cryptovol.settings import Settings
from feature_repo.objects.entities import symbol
from feature_repo.store import feast_objects

_objects = feast_objects(Settings())
volatility_source = _objects.source
volatility_push = _objects.push
volatility_features = _objects.view
forecast_service = _objects.service

__all__ = ["symbol", "volatility_source", "volatility_push", "volatility_features", "forecast_service"]
