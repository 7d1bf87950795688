"""Nothing trained is lost to a registry that goes away: each run is kept until it is registered.

Before a training run is logged, what it produced (the package, its frames and report, the tags
and the gate's decision) is written to ``CRYPTOVOL_HOME/pending/<training_id>.pkl`` (atomically;
a pickle of this project's own objects, read only by this project). Registered: the file is
removed. If the registry (an MLflow server, or its database) fails midway — after MLflow's own
HTTP retries (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``) — the command stops with one line naming the
tracking URI (password masked), the reason and the kept file; ``cryptovol models resume``
registers it once the registry answers, exactly once: ``log_and_register`` is idempotent per
``training_id`` (a version already created for it is completed, not duplicated).

A kept run does not wait for someone to remember it: the next ``pipeline``/``train``/``retrain``
of the same model registers it first (:func:`resume_before_training`), and every other command
names it in one line until then (``cryptovol.cli.runtime``). Registered late, it is judged again against
the champion of that moment (``training.promotion``), never with the decision it was given
against an older one. A disk that fills while the run is kept or registered is said in one line
naming the file or folder — and whether the run could be kept.
"""

from __future__ import annotations

import errno
import logging
import pickle
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptovol import files
from cryptovol.errors import UserError, describe_os_error
from cryptovol.settings import Settings
from training.gate import GateDecision
from training.registry import RegisteredModel, TrainingRun, log_and_register

log = logging.getLogger(__name__)


DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS)


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
    import pandas as pd

    tags = {**tags, "training_id": tags.get("training_id") or uuid.uuid4().hex,
            "trained_at": tags.get("trained_at") or pd.Timestamp.now(tz="UTC").isoformat()}
    pending = PendingRun(tags["training_id"], settings.bar, settings.horizon, run, tags, decision)
    path = folder(settings) / f"{pending.training_id}.pkl"
    data = pickle.dumps(pending, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        files.write_bytes(path, data)
    except OSError as exc:
        raise UserError(f"{describe_os_error(exc, path)} — the trained model could not be kept "
                        f"({len(data) / 1e6:.1f} MB) and is lost: free space and train again") from None
    registered = _register(settings, pending, path)
    path.unlink(missing_ok=True)
    return registered


def _register(settings: Settings, pending: PendingRun, path: Path) -> RegisteredModel:
    from cryptovol.backends import mask

    try:
        return log_and_register(pending.run, settings, pending.tags, pending.decision)
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:  # e.g. the disk filled
            raise UserError(f"{describe_os_error(exc)} — while registering; the trained model "
                            f"is kept in {path}: `cryptovol models resume` registers it once "
                            "that is fixed") from None
        if not isinstance(exc, registry_errors()):
            raise
        log.debug("registry failed", exc_info=True)
        raise RegistryUnavailable(
            f"MLFLOW_TRACKING_URI={mask(settings.tracking_uri)}: the registry failed while "
            f"registering ({_reason(exc, settings)}); the trained model is kept in {path} — "
            "`cryptovol models resume` registers it once the registry answers") from None


def resume(settings: Settings, same_model: bool = False) -> list[RegisteredModel]:
    """Register every kept run (each with its own bar and horizon; ``same_model``: only those
    of ``settings``' model), oldest first."""
    done = []
    for path in waiting(settings):
        try:
            pending: PendingRun = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise UserError(f"{path}: not a readable kept run ({type(exc).__name__}: {exc}); move "
                            "it away") from None
        own = settings.model_copy(update={"bar": pending.bar, "horizon": pending.horizon})
        if same_model and own.registered_model != settings.registered_model:
            continue
        done.append(_register(own, pending, path))
        path.unlink(missing_ok=True)
        log.info("kept run %s registered as version %s", pending.training_id, done[-1].version)
    return done


def resume_before_training(settings: Settings) -> None:
    """Register the kept runs of ``settings``' model before a new training of it (judged against
    the champion of now); a registry still away leaves them kept, said in one line."""
    if not waiting(settings):
        return
    try:
        for registered in resume(settings, same_model=True):
            log.info("kept run registered before training: %s v%s (%s)", registered.name,
                     registered.version, registered.decision.as_tag()[:160])
    except UserError as exc:  # RegistryUnavailable, a full disk: the run stays kept
        log.warning("a kept run is still waiting: %s", exc)

