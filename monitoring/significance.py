"""Is the champion really worse? Loss-differential tests the retrain policy reads. Pure.

The monitor's "behind HAR" and "degraded" used to compare two point QLIKEs over ~30 forecasts
whose H-bar targets overlap, with fixed margins: noise fired them. Each is now a one-sided
Diebold–Mariano-type test on the QLIKE losses of the scored forecasts:

1. the per-row loss differential (champion − HAR; or champion − its evaluation-time QLIKE) is
   averaged over the coins of each bar close — coins that close together share the market's
   shocks, so they are one observation, not many;
2. the mean of that series is tested against 0 with Diebold–Mariano's variance over H − 1 lags
   (consecutive closes' H-bar targets overlap by H − 1 bars) and the Harvey–Leybourne–Newbold
   small-sample correction, against Student's t with n − 1 degrees of freedom. Its size on
   simulated overlapping (MA(H − 1)) differentials at a nominal 5%: 6.3% with 90 closes and
   H = 7, 7.8% with 60, 9.8% with 30 — still above 5% on the shortest windows, which is what the
   effect-size margin below is also for;
3. the rule fires when the champion is worse *significantly* (one-sided p < ``alpha``, the
   ``CRYPTOVOL_RETRAIN_ALPHA`` setting) *and* by more than the rule's effect size (the
   ``CRYPTOVOL_RETRAIN_BEHIND_HAR`` / ``CRYPTOVOL_RETRAIN_DEGRADATION`` share): a difference that is
   both real and large enough to act on.

The evaluation-time QLIKE is taken as known (its own sampling error is ignored): it comes from
thousands of walk-forward rows, the live window from tens of closes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.metrics import qlike_losses

MIN_CLOSES = 5  # fewer bar closes: the variance of the mean cannot be estimated


@dataclass(frozen=True)
class LossTest:
    """One-sided test that the champion's mean QLIKE exceeds a reference's."""

    against: str  # what the champion is compared with ("HAR", "its evaluation")
    closes: int  # bar closes in the tested series
    champion_qlike: float
    reference_qlike: float
    stat: float  # DM statistic of the mean loss differential (positive: champion worse)
    pvalue: float  # one-sided
    significant: bool  # pvalue < alpha and the effect exceeds the margin
    alpha: float
    margin: float

    @property
    def ratio(self) -> float:
        return self.champion_qlike / self.reference_qlike if self.reference_qlike else float("nan")

    def describe(self) -> str:
        verdict = "significantly worse" if self.significant else "not significantly worse"
        return (f"QLIKE {self.champion_qlike:.4f} vs {self.against} {self.reference_qlike:.4f} "
                f"({self.ratio - 1:+.1%}; one-sided DM p={self.pvalue:.3g} over {self.closes} closes): "
                f"{verdict} (alpha {self.alpha:g}, margin {self.margin:.0%})")


def dm_hln(series: np.ndarray, horizon: int) -> tuple[float, float]:
    """Diebold–Mariano statistic of mean(series) > 0 for ``horizon``-step forecasts, with the
    Harvey–Leybourne–Newbold (1997) small-sample correction, and its one-sided p-value from
    Student's t with n − 1 degrees of freedom.

    The variance of the mean sums the autocovariances up to lag H − 1 with equal weights (an
    H-step loss differential is MA(H − 1) under the null); if that sum is not positive, with
    Bartlett weights. The HLN factor ``sqrt((n + 1 − 2H + H(H − 1)/n) / n)`` corrects the
    estimator's bias in short samples."""
    from scipy import stats

    d = np.asarray(series, dtype=float)
    n, h = len(d), max(int(horizon), 1)
    if n < 2:
        return 0.0, 1.0
    e = d - d.mean()
    if np.allclose(e, 0, atol=1e-12 * max(abs(d.mean()), 1e-300)):  # no variance: the sign decides
        return (np.inf, 0.0) if d.mean() > 0 else (-np.inf if d.mean() < 0 else 0.0, 1.0)
    gamma = np.array([e @ e / n] + [e[k:] @ e[:-k] / n for k in range(1, min(h, n))])
    variance = (gamma[0] + 2 * gamma[1:].sum()) / n
    if variance <= 0:
        weights = 1 - np.arange(1, len(gamma)) / h
        variance = (gamma[0] + 2 * (weights * gamma[1:]).sum()) / n
    if variance <= 0:  # no variance: the sign decides
        return (np.inf, 0.0) if d.mean() > 0 else (-np.inf if d.mean() < 0 else 0.0, 1.0)
    correction = (n + 1 - 2 * h + h * (h - 1) / n) / n
    stat = float(d.mean() / np.sqrt(variance) * np.sqrt(max(correction, 1e-12)))
    return stat, float(stats.t.sf(stat, df=n - 1))


def _per_close(rows: pd.DataFrame, losses: np.ndarray) -> np.ndarray:
    """The loss series averaged over the coins of each bar close, in time order."""
    return (pd.Series(losses, index=pd.Index(rows["as_of"].to_numpy(), name="as_of"))
            .groupby(level=0).mean().sort_index().to_numpy())


def loss_test(rows: pd.DataFrame, forecast: str, reference: str | float, horizon: int,
              alpha: float, margin: float, against: str) -> LossTest | None:
    """Test the QLIKE of ``rows[forecast]`` against ``rows[reference]`` (a forecast column) or a
    fixed QLIKE (a number). ``rows``: symbol, as_of, target_rv and the forecasts. None when
    there are fewer than :data:`MIN_CLOSES` bar closes."""
    if rows.empty or rows["as_of"].nunique() < MIN_CLOSES:
        return None
    mine = qlike_losses(rows["target_rv"], rows[forecast])
    if isinstance(reference, str):
        theirs = qlike_losses(rows["target_rv"], rows[reference])
    else:
        theirs = np.full(len(rows), float(reference))
    differential = _per_close(rows, np.asarray(mine) - np.asarray(theirs))
    stat, pvalue = dm_hln(differential, horizon)
    champion_q, reference_q = float(np.mean(mine)), float(np.mean(theirs))
    worse_enough = champion_q > reference_q * (1 + margin)
    return LossTest(against, len(differential), champion_q, reference_q, stat, pvalue,
                    bool(pvalue < alpha and worse_enough), alpha, margin)
