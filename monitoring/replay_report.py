"""`cryptovol replay`: run the policies over the stored history and write the HTML timeline.

The page shows the comparison table, BTC's realized vol next to what each policy served, the
drift share the monitor measured at each tick, the rolling 30-day realized QLIKE per policy,
and every retrain (promoted or kept) with the gate's reasons.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from cryptovol import files  # noqa: E402
from cryptovol.settings import Settings  # noqa: E402
from feature_repo.offline_table import feature_table, target_table  # noqa: E402
from feature_repo.transforms.config import feature_names  # noqa: E402
from monitoring.policy import config_from  # noqa: E402
from monitoring.replay import POLICIES, PolicyRun, Replay, compare, known_policy  # noqa: E402
from training.metrics import qlike_losses  # noqa: E402


@dataclass(frozen=True)
class ReplayResult:
    table: pd.DataFrame  # policy -> realized_qlike, scored, retrains, promotions, compute_s
    runs: list[PolicyRun]
    html: Path
    json: Path
    seconds: float
    start: pd.Timestamp
    end: pd.Timestamp


DEFAULT_SPAN = pd.Timedelta(days=730)  # a replay without --start covers the last two years
WARM_UP = pd.Timedelta(days=180)  # history the first champion is trained on, at least


def replay_window(first: pd.Timestamp, last: pd.Timestamp, start: pd.Timestamp | None,
                  end: pd.Timestamp | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The clock's first and last tick: as given, or the newest stored bar and two years before
    it (never sooner than ``WARM_UP`` after the first bar). Raises with the stored range."""
    end = last if end is None else end
    start = max(first + WARM_UP, end - DEFAULT_SPAN) if start is None else start
    if not first + WARM_UP <= start < end <= last:
        raise ValueError(f"replay window {start:%Y-%m-%d}..{end:%Y-%m-%d} must lie within the stored "
                         f"bars ({first:%Y-%m-%d}..{last:%Y-%m-%d}) and start 180 days after the first")
    return start, end


def run_replay(settings: Settings, start: pd.Timestamp | None, end: pd.Timestamp | None,
               step: pd.Timedelta,
               policies: list[str], progress: Callable[[int], Callable[[], None]] | None = None
               ) -> ReplayResult:
    import time

    began = time.perf_counter()
    unknown = sorted(p for p in set(policies) if not known_policy(p))
    if unknown:
        raise ValueError(f"unknown policies {unknown}; use {', '.join(POLICIES)} or every-<N>d")
    features, targets = feature_table(settings).read(), target_table(settings).read()
    start, end = replay_window(features["event_timestamp"].min(), features["event_timestamp"].max(),
                               start, end)
    replay = Replay(features, targets, feature_names(settings), pd.Timedelta(settings.bar_delta),
                    settings.horizon, config_from(settings), settings.promotion_margin,
                    settings.drift_window_days, settings.drift_min_days, settings.monitor_window_days)
    clocks = list(pd.date_range(start, end, freq=step))
    tick = progress(len(policies) * (len(clocks) - 1)) if progress else None
    champion, _ = replay.champion(clocks[0], 1)
    runs = []
    for name in policies:
        champion.verdicts.clear()
        runs.append(replay.run(name, champion, clocks, tick))
    table, rows = compare(runs, targets)
    stem = f"replay_{settings.bar}_{start:%Y%m%d}_{end:%Y%m%d}"
    page, body = _page(settings, table, runs, rows, start, end, step)
    html_path = files.write_text(settings.reports_dir / f"{stem}.html", page)
    json_path = files.write_json(settings.reports_dir / f"{stem}.json", body)
    return ReplayResult(table, runs, html_path, json_path, time.perf_counter() - began, start, end)


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _timeline(runs: list[PolicyRun], rows: pd.DataFrame, annualize: float) -> str:
    fig, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    btc = rows[rows["symbol"] == "BTC"].sort_values("as_of")
    if btc.empty:
        btc = rows[rows["symbol"] == rows["symbol"].iloc[0]].sort_values("as_of")
    coin = btc["symbol"].iloc[0] if len(btc) else "?"
    axes[0].plot(btc["as_of"], btc["target_rv"] * annualize, "k-", lw=1, label="realized (next H bars)")
    for i, run in enumerate(runs):
        axes[0].plot(btc["as_of"], btc[run.name] * annualize, f"C{i}-", lw=0.8, label=run.name)
        for event in run.events:
            axes[0].axvline(event["clock"], color=f"C{i}", lw=0.8 if event["promoted"] else 0.4,
                            ls="-" if event["promoted"] else ":")
    axes[0].set_title(f"{coin}: realized vol and the forecasts served (annualized); lines: retrains "
                      "(solid promoted, dotted kept)", fontsize=9)
    axes[0].legend(fontsize=7)
    for i, run in enumerate(runs):
        points = pd.DataFrame(run.timeline)
        if "drift_share" in points and points["drift_share"].notna().any():
            axes[1].plot(points["clock"], points["drift_share"], f"C{i}o-", ms=3, lw=0.8, label=run.name)
    axes[1].axhline(0.5, color="grey", lw=0.6, ls="--")
    axes[1].set_title("share of drifted features at each monitoring tick (Evidently; test fails >= 0.5)",
                      fontsize=9)
    for i, run in enumerate(runs):
        loss = pd.Series(qlike_losses(rows["target_rv"], rows[run.name]), index=rows.index)
        rolling = loss.groupby(rows["as_of"]).mean().rolling(30, min_periods=5).mean()
        axes[2].plot(rolling.index, rolling.to_numpy(), f"C{i}-", lw=1, label=run.name)
    axes[2].set_title("rolling 30-bar realized QLIKE of what each policy served (lower is better)",
                      fontsize=9)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _page(settings: Settings, table: pd.DataFrame, runs: list[PolicyRun], rows: pd.DataFrame,
          start, end, step) -> tuple[str, dict]:
    annualize = settings.bars_per_year ** 0.5
    events = [{"policy": r.name, **e} for r in runs for e in r.events]
    body = {"bar": settings.bar, "horizon": settings.horizon, "start": str(start), "end": str(end),
            "step": str(step), "table": json.loads(table.reset_index().to_json(orient="records")),
            "events": events,
            "timeline": {r.name: r.timeline for r in runs}}
    event_rows = "".join(
        f"<tr><td>{html.escape(e['policy'])}</td><td>{e['clock']:%Y-%m-%d}</td><td>v{e['version']}</td>"
        f"<td>{'promoted' if e['promoted'] else 'kept'}</td><td>{html.escape(e['why'])}</td>"
        f"<td>{html.escape(e['gate'])}</td></tr>" for e in events)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>cryptovol replay</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}} td,th{{padding:2px 8px;font-size:13px;
border-bottom:1px solid #ddd;text-align:left}}</style></head><body>
<h1>Replay of the loop: {settings.bar} bars, {start:%Y-%m-%d} → {end:%Y-%m-%d}, every {step}</h1>
<p>Each policy starts from the same champion and serves a forecast of the next {settings.horizon}
bars' realized vol at every bar close; realized QLIKE on the {int(table['scored'].iloc[0]):,} rows all
policies served whose outcome is known. Compute: seconds spent monitoring and retraining.</p>
{table.round(4).to_html()}
<img style="width:100%" src="data:image/png;base64,{_timeline(runs, rows, annualize)}">
<h2>Retrains</h2><table><tr><th>policy</th><th>clock</th><th>version</th><th>outcome</th><th>why</th>
<th>gate</th></tr>{event_rows}</table></body></html>"""
    return page, body
