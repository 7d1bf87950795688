"""Process set-up for the CLI: settings, logging, and the environment of Prefect and BentoML.

Prefect and BentoML read their own environment variables at import time, so the CLI sets
them here, once, from :class:`Settings` — before anything imports those libraries.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.logging import RichHandler

from cryptovol.processes import die_with_parent, terminate
from cryptovol.settings import Settings

NOISY_LOGGERS = ("feast", "alembic", "mlflow", "urllib3", "httpx", "numexpr")


def bootstrap(check_backends: bool = True, **overrides) -> Settings:
    """Read the settings once, check the configured backends (``cryptovol.backends``: before
    anything is written), create the folders, point Prefect at CRYPTOVOL_HOME."""
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    if check_backends:
        from cryptovol.backends import preflight

        preflight(settings)
    settings.ensure_dirs()
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "feature_repo,training,monitoring")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
    # for a flow started outside flow_services(): Prefect's own temporary server, given time
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
                          str(int(settings.prefect_startup_timeout)))
    os.environ.setdefault("BENTOML_HOME", str(settings.home / "bentoml"))
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    _name_kept_runs(settings)
    # Library deprecation chatter (SQLAlchemy in Prefect/MLflow) is not for our users.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    return settings


def _name_kept_runs(settings: Settings) -> None:
    """One line, from every command, while trained runs wait in pending/ (``training.pending``:
    the registry failed while they registered)."""
    try:
        kept = list((settings.home / "pending").glob("*.pkl"))
    except OSError:
        return
    if kept:
        logging.getLogger("cryptovol").warning(
            "%d trained run(s) kept in %s wait for registration: `cryptovol models resume` (or "
            "the next train of the same model) registers them", len(kept), settings.home / "pending")


@contextlib.contextmanager
def flow_services(settings: Settings, scheduling: bool = False) -> Iterator[str]:
    """The services a flow run needs, for the block: a Prefect API and the online Redis
    (``scheduling``: an embedded Prefect API that fires the deployments' crons).

    Yields the Redis URL. Both are the configured ones (``PREFECT_API_URL``, ``REDIS_URL``) or
    embedded servers that stop when the block ends — or, if this process is killed, by the
    kernel (``cryptovol.processes.die_with_parent``).
    """
    from cryptovol.prefect_api import prefect_api
    from cryptovol.redis_runtime import online_redis

    with prefect_api(settings.prefect_api_url, settings.home / "prefect",
                     settings.prefect_startup_timeout, scheduling=scheduling), \
            online_redis(settings) as redis_url:
        yield redis_url


@contextlib.contextmanager
def online_services(settings: Settings) -> Iterator[str]:
    """The online Redis for the block, and a Prefect API only where one is configured: a job a
    command runs by hand (refresh, pull) needs no API of its own — starting one would cost
    more than the job (a configured server still shows the run, as a flow)."""
    if settings.prefect_api_url:
        with flow_services(settings) as redis_url:
            yield redis_url
        return
    from cryptovol.redis_runtime import online_redis

    with online_redis(settings) as redis_url:
        yield redis_url


class _NoLibraryTracebacks(logging.Filter):
    """Prefect logs a failed run's traceback; the CLI reports the error in one line instead
    (the traceback is shown with --verbose)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.startswith("prefect"):
            record.exc_info, record.exc_text = None, None
        return True


def configure_logging(verbose: bool = False, progress: bool = False) -> None:
    """Log lines through Rich; ``progress``: long work's steps drawn as bars with an estimate
    (``cryptovol.cli.progress``) on a terminal."""
    handler = RichHandler(show_path=False, rich_tracebacks=False)
    if not verbose:
        handler.addFilter(_NoLibraryTracebacks())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[handler], force=True)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # libraries' deprecation chatter (some reset the warning filters) goes to the log, shown
    # only with --verbose
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.DEBUG if verbose else logging.ERROR)
    if progress:
        from cryptovol.cli.progress import attach

        attach(handler.console)


def run_until_interrupted(cmd: list[str], env: dict[str, str], cwd: Path, grace: float = 10.0) -> int:
    """Run a server in its own process group until it exits, Ctrl-C or SIGTERM.

    On interruption the whole group (the server and its workers) gets SIGTERM, then SIGKILL
    after ``grace`` seconds, so no worker outlives the command.
    """
    return run_servers_until_interrupted([cmd], env, cwd, grace)


def run_servers_until_interrupted(cmds: list[list[str]], env: dict[str, str], cwd: Path,
                                  grace: float = 10.0, started: Callable[[], None] | None = None
                                  ) -> int:
    """:func:`run_until_interrupted` for several servers: until one exits, Ctrl-C or SIGTERM,
    then every one is stopped. ``started`` runs once they are launched (e.g. to wait for them
    and print their links); an exception there stops them all too."""
    procs = [subprocess.Popen(cmd, env=env, cwd=cwd, start_new_session=True,
                              preexec_fn=die_with_parent()) for cmd in cmds]

    def _terminate(signum, frame):  # SIGTERM behaves like Ctrl-C
        raise KeyboardInterrupt

    # install both explicitly: a process started in the background inherits SIGINT *ignored*
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if started is not None:
            started()
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.2)
        return next(proc.returncode for proc in procs if proc.returncode is not None)
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in procs:
            terminate(proc, grace=grace, group=True)
            with contextlib.suppress(ProcessLookupError):  # workers that outlived their parent
                os.killpg(proc.pid, signal.SIGKILL)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def schedules_beside(settings: Settings, env: dict[str, str], enabled: bool = True) -> Iterator[None]:
    """Run ``cryptovol schedule`` as a child for the block (stopped with it, or by the kernel)."""
    if not enabled:
        yield
        return
    import sys

    from cryptovol.processes import SUPERVISED_ENV

    log = (settings.home / "schedule.log").open("a")
    proc = subprocess.Popen([sys.executable, "-m", "cryptovol.cli", "schedule"],
                            env={**env, SUPERVISED_ENV: "1"}, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=die_with_parent())
    logging.getLogger(__name__).info("schedules running beside the service (pid %d, log %s)",
                                     proc.pid, log.name)
    try:
        yield
    finally:
        terminate(proc, grace=20.0, group=True)
        log.close()


def service_environment(settings: Settings, redis_url: str) -> dict[str, str]:
    """Environment of the ``bentoml serve`` child: everything the service's Settings reads."""
    return {
        **os.environ,
        "CRYPTOVOL_HOME": str(settings.home),
        "CRYPTOVOL_BAR": settings.bar,
        "CRYPTOVOL_HORIZON": str(settings.horizon),
        "CRYPTOVOL_SERVE_HORIZONS": json.dumps(settings.serve_horizons),
        "CRYPTOVOL_MODEL_NAME": settings.model_name,
        "REDIS_URL": redis_url,
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
    }
