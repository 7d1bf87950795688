"""A per-coin stage (the walk-forward GARCH baseline) through Prefect's Dask task runner on a
local cluster of worker processes gives exactly what the default thread pool gives."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from prefect.testing.utilities import prefect_test_harness

from cryptovol.settings import Settings
from flows.scale import combined, run_garch_baselines, task_runner
from tests.flows.processes import SLOW
from training.folds import walk_forward

pytestmark = pytest.mark.integration


def _garch_returns(seed: int, n: int = 700, omega=0.05, alpha=0.1, beta=0.85) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out, sigma2 = np.empty(n), omega / (1 - alpha - beta)
    for t in range(n):
        out[t] = np.sqrt(sigma2) * rng.standard_t(6) / np.sqrt(1.5)
        sigma2 = omega + alpha * out[t] ** 2 + beta * sigma2
    return out / 100  # percent → log return


@pytest.fixture(scope="module")
def coins():
    index = pd.date_range("2021-01-01", periods=700, freq="1D", tz="UTC")
    returns = {f"C{k}": pd.Series(_garch_returns(k), index=index) for k in range(4)}
    returns["PEG"] = pd.Series(0.0, index=index)  # a stablecoin: no GARCH fit, a counted failure
    folds = walk_forward(pd.Series(index), pd.Timedelta("1D"), horizon=7, folds=2)
    return returns, folds


def test_dask_local_cluster_gives_the_default_runners_results(coins, tmp_path):
    returns, folds = coins
    threads = Settings(home=tmp_path, task_runner="threads")
    dask = Settings(home=tmp_path, task_runner="dask")
    with prefect_test_harness(server_startup_timeout=int(180 * SLOW)):
        by_threads = run_garch_baselines(returns, folds, 7, task_runner(threads, workers=2))
        by_dask = run_garch_baselines(returns, folds, 7, task_runner(dask, workers=2))
    assert [r.symbol for r in by_dask] == ["C0", "C1", "C2", "C3", "PEG"]
    expected = combined(by_threads)
    assert set(expected["symbol"]) == {"C0", "C1", "C2", "C3"} and expected["garch"].gt(0).all()
    assert expected.groupby("symbol").size().nunique() == 1  # every coin, every test bar
    pd.testing.assert_frame_equal(combined(by_dask), expected, check_exact=True)
    assert [r.failures for r in by_dask] == [r.failures for r in by_threads]
    assert by_dask[-1].failures and all("did not converge" in f or "GARCH" in f
                                         for f in by_dask[-1].failures)
    # the threads ran here; Dask ran the coins in its worker processes
    assert {r.worker.rsplit(":", 1)[1] for r in by_threads} == {str(os.getpid())}
    assert str(os.getpid()) not in {r.worker.rsplit(":", 1)[1] for r in by_dask}
