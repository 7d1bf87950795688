"""The sequence challenger: a GRU over each coin's last L bars (JAX / Flax, the ``seq`` extra).

The seed projects of this field promise LSTM/GRU gains on per-coin bar sequences. This family
is evaluated exactly like the trees: the same folds, the same rows, the same target (log of the
next-H realized vol relative to ``ewma_vol``), the same level maps, intervals and metrics.

- Inputs per bar: the logs of ``abs_return``, ``range_pct``, ``ewma_vol``, ``har_rv_d`` and
  ``har_rv_w`` (those the feature set has), standardized with means and deviations of the
  fold's fitted rows only; a window is the coin's last L feature rows up to and including t
  (every one stamped <= t), zero-padded (the fitted mean) before the coin's first row.
- Net: ``flax.linen.RNN(GRUCell(32))`` → last hidden state → Dense(16, relu) → Dense(1);
  Adam, mean squared error, mini-batches of windows sampled from the fitted rows, early
  stopping on the inner validation block (the best epoch's parameters are kept).

Not servable yet: the online store holds each coin's newest feature row, not its last L rows,
so a GRU that wins is reported and never registered (``training.jobs`` says so).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.models import training_target

log = logging.getLogger(__name__)

FAMILY = "gru"
INPUTS = ("abs_return", "range_pct", "ewma_vol", "har_rv_d", "har_rv_w")
FLOOR = 1e-8  # log(0) guard: a flat bar has abs_return 0


def available() -> bool:
    return importlib.util.find_spec("flax") is not None and importlib.util.find_spec("optax") is not None


def require() -> None:
    if not available():
        raise ValueError("the sequence model needs the `seq` extra (JAX, Flax, Optax): "
                         "`make env EXTRAS=seq` or `uv sync --extra seq`")


@dataclass(frozen=True)
class SequenceConfig:
    lookback: int = 30  # bars in a window
    hidden: int = 32
    epochs: int = 8
    patience: int = 2
    batch: int = 256
    learning_rate: float = 1e-3
    windows_per_epoch: int = 40_000  # sampled from the fitted rows each epoch
    valid_windows: int = 20_000
    seed: int = 0

    @classmethod
    def for_bar(cls, bar: str) -> SequenceConfig:
        """30 daily bars; 72 intraday bars (three days of hours)."""
        return cls(lookback=30 if pd.Timedelta(bar) >= pd.Timedelta("1D") else 72)


class SequencePanel:
    """Each coin's input rows in time order, and where every frame row sits among them."""

    def __init__(self, frame: pd.DataFrame, fit_rows: np.ndarray, lookback: int):
        self.columns = [c for c in INPUTS if c in frame.columns]
        if not self.columns:
            raise ValueError(f"the sequence model needs some of {INPUTS} among the features")
        raw = np.log(np.maximum(frame[self.columns].to_numpy(dtype=float), FLOOR))
        mean = np.nanmean(raw[fit_rows], axis=0)
        std = np.nanstd(raw[fit_rows], axis=0)
        self.mean, self.std = mean, np.where(std > 0, std, 1.0)
        values = np.nan_to_num((raw - self.mean) / self.std).astype(np.float32)
        self.lookback = lookback
        # positions of the rows in (coin, time) order
        order = np.lexsort((frame["event_timestamp"].to_numpy(), frame["symbol"].to_numpy()))
        symbols = frame["symbol"].to_numpy()[order]
        starts = np.r_[0, np.flatnonzero(symbols[1:] != symbols[:-1]) + 1]
        sizes = np.diff(np.r_[starts, len(order)])
        # padded storage: L - 1 zero rows before each coin's rows
        self.padded = np.zeros((len(order) + len(starts) * (lookback - 1), len(self.columns)),
                               np.float32)
        slot = np.arange(len(order)) + np.repeat(np.arange(1, len(starts) + 1) * (lookback - 1), sizes)
        self.padded[slot] = values[order]
        self.end = pd.Series(slot, index=frame.index[order])  # frame row label -> its slot

    def windows(self, rows: pd.Index | np.ndarray) -> np.ndarray:
        """(len(rows), L, inputs) windows ending at each frame row (index labels)."""
        end = self.end.loc[rows].to_numpy()
        offsets = np.arange(-self.lookback + 1, 1)
        return self.padded[end[:, None] + offsets[None, :]]


def _net(hidden: int):
    import flax.linen as nn  # noqa: PLC0415 - optional dependency

    class GRUNet(nn.Module):
        @nn.compact
        def __call__(self, x):
            h = nn.RNN(nn.GRUCell(features=hidden))(x)
            return nn.Dense(1)(nn.relu(nn.Dense(16)(h[:, -1])))[:, 0]

    return GRUNet()


@dataclass
class SequenceRegressor:
    """What ``VolForecaster`` calls ``regressor``: ``predict(x)`` of the log target for the
    frame rows named by ``x.index`` (their windows come from the panel)."""

    panel: SequencePanel
    params: object
    hidden: int
    best_iteration: int  # epochs trained before the best validation loss

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        import jax  # noqa: PLC0415

        net = _net(self.hidden)
        apply = jax.jit(net.apply)
        out = [np.asarray(apply(self.params, self.panel.windows(x.index[i:i + 8192])))
               for i in range(0, len(x), 8192)]
        return np.concatenate(out) if out else np.zeros(0)


def fit_sequence(frame: pd.DataFrame, fit: pd.DataFrame, valid: pd.DataFrame, features: list[str],
                 config: SequenceConfig) -> SequenceRegressor:
    """Train on ``fit``'s rows, early-stop on ``valid``'s; windows read ``frame`` (all rows, the
    rows before each t included: features stamped <= t)."""
    require()
    import jax  # noqa: PLC0415
    import jax.numpy as jnp  # noqa: PLC0415
    import optax  # noqa: PLC0415

    panel = SequencePanel(frame, frame.index.isin(fit.index), config.lookback)
    y_fit, y_valid = training_target(fit, features), training_target(valid, features)
    fit_rows = fit.index[np.isfinite(y_fit.to_numpy())]
    valid_rows = valid.index[np.isfinite(y_valid.to_numpy())]
    rng = np.random.default_rng(config.seed)
    if len(valid_rows) > config.valid_windows:
        valid_rows = pd.Index(rng.choice(valid_rows, config.valid_windows, replace=False))
    xv, yv = panel.windows(valid_rows), y_valid.loc[valid_rows].to_numpy(np.float32)
    net = _net(config.hidden)
    params = net.init(jax.random.PRNGKey(config.seed), jnp.zeros((1, config.lookback, len(panel.columns))))
    tx = optax.adam(config.learning_rate)
    state = tx.init(params)

    @jax.jit
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(lambda p: jnp.mean((net.apply(p, x) - y) ** 2))(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    @jax.jit
    def valid_loss(params, x, y):
        return jnp.mean((net.apply(params, x) - y) ** 2)

    best, best_params, best_epoch, waited = np.inf, params, 0, 0
    for epoch in range(1, config.epochs + 1):
        rows = rng.choice(fit_rows, min(config.windows_per_epoch, len(fit_rows)), replace=False)
        for i in range(0, len(rows) - config.batch + 1, config.batch):
            batch = rows[i:i + config.batch]
            params, state, _ = step(params, state, panel.windows(batch),
                                    y_fit.loc[batch].to_numpy(np.float32))
        loss = sum(float(valid_loss(params, xv[i:i + 8192], yv[i:i + 8192])) * len(yv[i:i + 8192])
                   for i in range(0, len(xv), 8192)) / len(yv)
        log.debug("gru epoch %d: validation MSE %.4f", epoch, loss)
        if loss < best - 1e-5:
            best, best_params, best_epoch, waited = loss, params, epoch, 0
        else:
            waited += 1
            if waited >= config.patience:
                break
    log.info("gru: best validation MSE %.4f after %d epoch(s)", best, best_epoch)
    return SequenceRegressor(panel, best_params, config.hidden, best_epoch)
