"""Nothing trained is lost to a registry that goes away: each run is kept until it is registered.

Before a training run is logged, what it produced (the package, its frames and report, the tags
and the gate's decision) is written to ``CRYPTOVOL_HOME/pending/<training_id>.pkl`` (atomically;
a pickle of this project's own objects, read only by this project). Registered: the file is
removed. If the registry (an MLflow server, or its database) fails midway — after MLflow's own
HTTP retries (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``) — the command stops with one line naming the
tracking URI (password masked), the reason and the kept file; ``cryptovol models resume``
registers it once the registry answers, exactly once: ``log_and_register`` is idempotent per
``training_id`` (a version already created for it is completed, not duplicated).
"""

from __future__ import annotations

import logging
import pickle
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptovol import files
from cryptovol.errors import UserError
from cryptovol.settings import Settings
from training.gate import GateDecision
from training.registry import RegisteredModel, TrainingRun, log_and_register

log = logging.getLogger(__name__)


class RegistryUnavailable(UserError, ConnectionError):
    """The registry failed while a run was registered; the run is kept (the message says where)."""


@dataclass(frozen=True)
class PendingRun:
    training_id: str
    bar: str
    horizon: int
    run: TrainingRun
    tags: dict[str, str]
    decision: GateDecision


def folder(settings: Settings) -> Path:
    return settings.home / "pending"


def waiting(settings: Settings) -> list[Path]:
    """Kept runs not registered yet, oldest first."""
    return sorted(folder(settings).glob("*.pkl"), key=lambda p: p.stat().st_mtime)


def registry_errors() -> tuple[type[BaseException], ...]:
    """What a registry that went away raises (after MLflow's own retries)."""
    import requests
    import sqlalchemy.exc
    from mlflow.exceptions import MlflowException

    return (MlflowException, requests.RequestException, sqlalchemy.exc.SQLAlchemyError,
            ConnectionError, TimeoutError)


def _reason(exc: BaseException, settings: Settings) -> str:
    from cryptovol.backends import mask

    text = " ".join(str(exc).split()) or type(exc).__name__
    if settings.mlflow_tracking_uri:
        text = text.replace(settings.mlflow_tracking_uri, mask(settings.mlflow_tracking_uri))
    return text[:300]


def register_kept(settings: Settings, run: TrainingRun, tags: dict[str, str],
                  decision: GateDecision) -> RegisteredModel:
    """Keep the run, register it, then drop what was kept; :class:`RegistryUnavailable` if the
    registry fails (the run stays kept for ``cryptovol models resume``)."""
    tags = {**tags, "training_id": tags.get("training_id") or uuid.uuid4().hex}
    pending = PendingRun(tags["training_id"], settings.bar, settings.horizon, run, tags, decision)
    path = folder(settings) / f"{pending.training_id}.pkl"
    files.write_bytes(path, pickle.dumps(pending, protocol=pickle.HIGHEST_PROTOCOL))
    registered = _register(settings, pending, path)
    path.unlink(missing_ok=True)
    return registered


def _register(settings: Settings, pending: PendingRun, path: Path) -> RegisteredModel:
    from cryptovol.backends import mask

    try:
        return log_and_register(pending.run, settings, pending.tags, pending.decision)
    except registry_errors() as exc:
        log.debug("registry failed", exc_info=True)
        raise RegistryUnavailable(
            f"MLFLOW_TRACKING_URI={mask(settings.tracking_uri)}: the registry failed while "
            f"registering ({_reason(exc, settings)}); the trained model is kept in {path} — "
            "`cryptovol models resume` registers it once the registry answers") from None


def resume(settings: Settings) -> list[RegisteredModel]:
    """Register every kept run (each with its own bar and horizon), oldest first."""
    done = []
    for path in waiting(settings):
        try:
            pending: PendingRun = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise UserError(f"{path}: not a readable kept run ({type(exc).__name__}: {exc}); move "
                            "it away") from None
        own = settings.model_copy(update={"bar": pending.bar, "horizon": pending.horizon})
        done.append(_register(own, pending, path))
        path.unlink(missing_ok=True)
        log.info("kept run %s registered as version %s", pending.training_id, done[-1].version)
    return done
