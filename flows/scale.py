"""Scale-out: a per-coin stage as Prefect tasks on a task runner — threads here, or Dask.

The per-coin GARCH(1,1)-t baseline of the walk-forward evaluation is the platform's costliest
stage that splits cleanly by coin (each coin's fits see only its own returns), so it is the one
that runs on a cluster. ``CRYPTOVOL_TASK_RUNNER=threads`` (default): Prefect's thread pool in
this process. ``CRYPTOVOL_TASK_RUNNER=dask``: ``prefect_dask.DaskTaskRunner`` on the cluster at
``CRYPTOVOL_DASK_ADDRESS`` (``tcp://scheduler:8786``), or on a temporary local cluster of
worker processes. Results do not depend on the runner: the same fits, the same numbers — each
task pins its BLAS to one thread (``threadpoolctl``), as Dask's workers do, because OpenBLAS on
several threads sums in another order (forecasts then differ in the 7th digit) and because
coins already run in parallel.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner
from threadpoolctl import threadpool_limits

from training.baselines import garch_forecast
from training.folds import Fold

COLUMNS = ["symbol", "fold", "event_timestamp", "garch"]


@dataclass(frozen=True)
class CoinBaseline:
    symbol: str
    forecasts: pd.DataFrame  # symbol, fold, event_timestamp, garch (per-bar vol over (t, t+H])
    failures: tuple[str, ...]  # "fold 2: GARCH fit did not converge (...)"
    seconds: float
    worker: str  # host:pid that ran it


def task_runner(settings, workers: int | None = None):
    """The task runner ``settings`` select (``workers``: threads or local Dask processes)."""
    workers = workers or max(1, (os.cpu_count() or 2))
    if settings.task_runner != "dask":
        return ThreadPoolTaskRunner(max_workers=workers)
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})


@task(name="garch-baseline-of-a-coin", retries=1, retry_delay_seconds=5)
def coin_garch(symbol: str, returns: pd.Series, folds: list[Fold], horizon: int,
               closed_form: bool = True) -> CoinBaseline:
    """Every fold's GARCH forecasts of one coin, each fold fitted on returns up to its train end
    (warm-started from the previous fold's parameters, as the fast training profile does)."""
    started, frames, failures, warm = time.perf_counter(), [], [], {}
    with threadpool_limits(limits=1):  # in a Dask worker process; in threads: already set
        for fold in folds:
            try:
                frames.append(_fold_forecasts(symbol, returns, fold, horizon, closed_form, warm))
            except ValueError as exc:  # e.g. a pegged coin: no usable fit in this fold
                failures.append(f"fold {fold.number}: {exc}")
    forecasts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    return CoinBaseline(symbol, forecasts, tuple(failures), time.perf_counter() - started,
                        f"{socket.gethostname()}:{os.getpid()}")


def _fold_forecasts(symbol: str, returns: pd.Series, fold: Fold, horizon: int, closed_form: bool,
                    warm: dict) -> pd.DataFrame:
    vol = garch_forecast(returns[: fold.test_end], fold.train_end, horizon,
                         closed_form=closed_form, start=warm)
    vol = vol[vol.index >= fold.test_start]
    return pd.DataFrame({"symbol": symbol, "fold": fold.number, "event_timestamp": vol.index,
                         "garch": vol.to_numpy()})


@flow(name="garch-baselines", log_prints=False)
def garch_baselines_flow(returns_file: str, folds: list[Fold], horizon: int,
                         closed_form: bool = True) -> list[CoinBaseline]:
    """One task per coin on the flow's task runner; results in coin order. The returns come as a
    parquet file (symbol, event_timestamp, log_return on each coin's regular grid): a flow's
    parameters are stored by the Prefect API, which refuses more than 512 kB of them."""
    table = pd.read_parquet(returns_file)
    futures = [coin_garch.submit(symbol, rows.set_index("event_timestamp")["log_return"],
                                 folds, horizon, closed_form)
               for symbol, rows in table.groupby("symbol", sort=True)]
    return [future.result() for future in futures]


def run_garch_baselines(returns: dict[str, pd.Series], folds: list[Fold], horizon: int,
                        runner, closed_form: bool = True) -> list[CoinBaseline]:
    """``garch_baselines_flow`` on ``runner`` (see :func:`task_runner`)."""
    frames = [pd.DataFrame({"symbol": symbol, "event_timestamp": series.index,
                            "log_return": series.to_numpy()}) for symbol, series in returns.items()]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "returns.parquet"
        pd.concat(frames, ignore_index=True).to_parquet(path, index=False)
        flow_run = garch_baselines_flow.with_options(task_runner=runner)
        # one BLAS thread for the whole process (threadpoolctl's limit is process-wide: set per
        # task only, a thread finishing would lift it under a thread still fitting)
        with threadpool_limits(limits=1):
            return flow_run(str(path), folds, horizon, closed_form)


def combined(results: list[CoinBaseline]) -> pd.DataFrame:
    frames = [r.forecasts for r in results if len(r.forecasts)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values(["symbol", "fold", "event_timestamp"],
                                                             ignore_index=True)
