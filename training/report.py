"""The evaluation report: one self-contained HTML page (plots inlined as PNG) and a JSON with
the numbers behind every table and figure. Built from the OOF table and the scores only."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: render to memory
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cryptovol import files  # noqa: E402
from training.classify import reliability  # noqa: E402
from training.evaluate import BASELINES  # noqa: E402
from training.metrics import qlike_losses  # noqa: E402
from training.models import MODEL_FAMILIES, models_in  # noqa: E402
from training.report_audit import audit_banner, audit_section  # noqa: E402
from training.report_intervals import interval_section  # noqa: E402
from training.scoring import Scores, scored_rows, valid  # noqa: E402

FORECASTERS = [*MODEL_FAMILIES, *BASELINES]
REGIME_LABELS = ("Low", "Medium", "High")


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def forecast_vs_realized(oof: pd.DataFrame, scores: Scores, annualize: float, coins: int = 4):
    """Time series of realized and forecast vol (annualized) for the coins with most test rows."""
    ranked = oof["symbol"].value_counts().index.tolist()
    leaders = [s for s in ("BTC", "ETH") if s in ranked]
    chosen = (leaders + [s for s in ranked if s not in leaders])[:coins]
    fig, axes = plt.subplots(len(chosen), 1, figsize=(10, 2.6 * len(chosen)), squeeze=False)
    data = {}
    for ax, sym in zip(axes[:, 0], chosen, strict=True):
        g = oof[oof["symbol"] == sym].sort_values("event_timestamp")
        for col, style in (("target_rv", "k-"), (scores.best_model, "C0-"), (scores.best_baseline, "C1--")):
            ax.plot(g["event_timestamp"], g[col] * annualize, style, lw=0.9,
                    label="realized" if col == "target_rv" else col)
        ax.set_title(f"{sym}: next-H realized vol vs forecasts (annualized)", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
        data[sym] = {"timestamps": g["event_timestamp"].astype(str).tolist(),
                     **{c: (g[c] * annualize).round(6).tolist()
                        for c in ("target_rv", scores.best_model, scores.best_baseline)}}
    fig.tight_layout()
    return _png(fig), data


def _losses(oof: pd.DataFrame, name: str) -> pd.Series:
    """QLIKE loss per row; NaN where ``name`` has no forecast (a baseline that failed there)."""
    ok = valid(oof, name).to_numpy()
    out = np.full(len(oof), np.nan)
    out[ok] = qlike_losses(oof["target_rv"].to_numpy()[ok], oof[name].to_numpy()[ok])
    return pd.Series(out)


def error_by_regime(oof: pd.DataFrame):
    """Mean QLIKE per forecaster within terciles of the realized vol (display terciles only)."""
    cuts = oof["target_rv"].quantile([1 / 3, 2 / 3]).to_numpy()
    regime = np.digitize(oof["target_rv"], cuts)
    table = pd.DataFrame({f: _losses(oof, f).groupby(regime).mean() for f in FORECASTERS
                          if f in oof.columns})
    table.index = [REGIME_LABELS[i] for i in table.index]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    table.T.plot.bar(ax=ax, rot=0)
    ax.set_ylabel("mean QLIKE")
    ax.set_title("Error by realized-vol regime (terciles of the test targets)", fontsize=9)
    return _png(fig), table.round(6).to_dict(orient="index")


def mincer_zarnowitz_scatter(oof: pd.DataFrame, name: str, annualize: float):
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    x, y = oof[name] * annualize, oof["target_rv"] * annualize
    ax.loglog(x, y, ".", ms=2, alpha=0.3)
    lims = [min(x.min(), y.min()), max(x.max(), y.max())]
    ax.plot(lims, lims, "k--", lw=0.8)
    ax.set_xlabel(f"{name} forecast (annualized)")
    ax.set_ylabel("realized (annualized)")
    ax.set_title(f"Forecast vs realized: {name}", fontsize=9)
    return _png(fig)


def reliability_diagram(oof: pd.DataFrame) -> tuple[str, dict]:
    """Spike probabilities: observed frequency per predicted-probability bin."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    data = {}
    for name in ("lightgbm", "catboost", "har"):
        col = f"spike_{name}_p1"
        if col not in oof:
            continue
        rows = oof["spike"].notna() & oof[col].notna()
        curve = reliability(oof.loc[rows, "spike"].to_numpy(), oof.loc[rows, col].to_numpy())
        ax.plot(curve["predicted"], curve["observed"], "o-", label=name, ms=3)
        data[name] = curve
    ax.set_xlabel("predicted spike probability")
    ax.set_ylabel("observed spike frequency")
    ax.set_title("Reliability of the spike flag", fontsize=9)
    ax.legend(fontsize=7)
    return _png(fig), data


def _classification_html(classification: dict) -> str:
    parts = []
    for task, by_name in classification.items():
        rows = {n: {"macro-F1": m["macro_f1"], "Brier": m["brier"],
                    "calibration error": m["calibration_error"],
                    **{f"AUC {k}": a for k, a in enumerate(m["roc_auc"])},
                    **{k: m[k] for k in ("f1", "precision", "recall") if k in m}}
                for n, m in by_name.items() if not n.startswith("_")}
        rule = (" — decision: p(spike) &ge; the cut that maximized F1 on each fold's validation "
                "block (HAR: its bucket)" if task == "spike" else " — decision: the most likely class")
        parts.append(f"<h3>{task} ({by_name['_rows']['count']:,} rows){rule}</h3>"
                     f"{_table(pd.DataFrame(rows).T)}")
        for n, m in by_name.items():
            if not n.startswith("_"):
                labels = REGIME_LABELS if task == "regime" else ("no spike", "spike")
                conf = pd.DataFrame(m["confusion"], index=[f"true {x}" for x in labels],
                                    columns=[f"pred {x}" for x in labels])
                parts.append(f"<p>{n} confusion matrix</p>{_table(conf, 6)}")
    return "".join(parts)


def shap_summary(importance: pd.Series, top: int = 20) -> str:
    shown = importance.head(top)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(shown) + 1))
    ax.barh(shown.index, shown.to_numpy())
    ax.set_xlabel("mean |SHAP| on log vol")
    ax.set_title("Global feature importance (SHAP, final model)", fontsize=9)
    return _png(fig)


def backtest_curves(result: dict) -> str:
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for name, curve in result["curves"].items():
        ax.plot(curve.index, curve.to_numpy(), lw=1, label=name)
    ax.set_yscale("log")
    ax.set_ylabel("wealth (equal-weight coins)")
    cfg = result["config"]
    ax.set_title(f"Vol targeting at {cfg['target_vol']:.0%} (cap {cfg['leverage_cap']}x, "
                 f"fee {cfg['fee']:.2%}) on the test blocks", fontsize=9)
    ax.legend(fontsize=7)
    return _png(fig)


def _table(frame: pd.DataFrame, digits: int = 4) -> str:
    return frame.to_html(float_format=lambda v: f"{v:.{digits}g}", border=0, classes="t")


def per_coin_comparison(scores: Scores) -> pd.DataFrame:
    """Per coin: the best model against the best baseline, with that coin's own DM test."""
    detail = scores.per_symbol_metrics
    if detail is None or detail.empty:
        return pd.DataFrame()
    model = detail.xs(scores.best_model, level="forecaster")
    base = detail.xs(scores.best_baseline, level="forecaster")
    m, b = scores.best_model, scores.best_baseline
    return pd.DataFrame({
        "rows": model["rows"], f"QLIKE {m}": model["qlike"], f"QLIKE {b}": base["qlike"],
        "gain": 1 - model["qlike"] / base["qlike"],
        f"RMSE {m}": model["rmse_vol_ann"], f"RMSE {b}": base["rmse_vol_ann"],
        f"R² {m}": model["r2_log"], f"R² {b}": base["r2_log"],
        f"MZ slope {m}": model["mz_slope"], "DM stat": model["dm_stat"], "DM p": model["dm_pvalue"],
    })


def _missing_html(scores: Scores, failures: list[dict]) -> str:
    """Which baseline rows are missing, and why: the models are scored on every row regardless;
    and where a simpler variant stood in for a baseline (a pooled HAR for a short history)."""
    stand_ins = [f for f in failures if f.get("fallback")]
    out = "" if not stand_ins else (
        "<h3>Baseline stand-ins</h3><p class=\"note\">A coin's own fit was not possible here; "
        "the simpler variant named forecast its rows.</p>"
        + _table(pd.DataFrame(stand_ins).set_index(["baseline", "symbol", "fold"])))
    if scores.missing is None or scores.missing.empty:
        return out
    why = {(f["baseline"], f["symbol"], f["fold"]): f["reason"] for f in failures}
    table = scores.missing.assign(reason=[why.get((r.forecaster, r.symbol, r.fold), "no forecast")
                                          for r in scores.missing.itertuples()])
    return out + ("<h3>Baseline rows missing</h3><p class=\"note\">These baselines could not be fitted "
            "on these coins and folds: they are scored without those rows (and compared with the "
            "models on the rows both cover); the models are scored on every row.</p>"
            + _table(table.set_index(["forecaster", "symbol", "fold"])))


def _levels_html(levels: pd.DataFrame | None, chosen: str | None) -> str:
    if levels is None or levels.empty:
        return ""
    return (f"<h2>Level maps (shipped: {html.escape(str(chosen))})</h2><p class=\"note\">Each map "
            "fitted on every fold's validation block and applied to its test block "
            "(training/calibration.py). QLIKE wants the smearing level; the MZ slope in variance "
            "and a capped vol-targeting book prefer compressed forecasts. Choose with "
            "<code>CRYPTOVOL_LEVEL_MAP</code>.</p>" + _table(levels))


def _nested(detail: pd.DataFrame | None) -> dict:
    if detail is None:
        return {}
    out: dict = {}
    for (symbol, name), row in detail.iterrows():
        out.setdefault(symbol, {})[name] = {k: v for k, v in row.items() if pd.notna(v)}
    return out


def build_report(oof: pd.DataFrame, scores: Scores, meta: dict, gate: list[str],
                 annualize: float, classification: dict | None = None,
                 importance: pd.Series | None = None, backtest: dict | None = None,
                 levels: pd.DataFrame | None = None) -> tuple[str, dict]:
    """The HTML page and its JSON twin."""
    data = oof[scored_rows(oof, models_in(oof))]  # a baseline's missing rows stay NaN
    series_png, series = forecast_vs_realized(data, scores, annualize)
    regime_png, regime = error_by_regime(data)
    mz_png = mincer_zarnowitz_scatter(data, scores.best_model, annualize)
    classification = classification or {}
    reliability_png, reliability_data = reliability_diagram(oof)
    intervals_html, intervals = interval_section(oof, scores.best_model, _png, _table)
    figures = {
        "meta": meta, "gate": gate, "leakage_flags": scores.leakage_flags,
        "pooled": scores.pooled.to_dict(orient="index"),  # unrounded: MSE of variance is ~1e-8
        "per_symbol_qlike": scores.per_symbol.round(6).to_dict(orient="index"),
        "per_symbol_metrics": _nested(scores.per_symbol_metrics),
        "per_fold_qlike": scores.per_fold.round(6).to_dict(orient="index"),
        "dm_vs_best_baseline": scores.dm, "error_by_regime": regime, "forecast_vs_realized": series,
        "best_model": scores.best_model, "best_baseline": scores.best_baseline, "gain": scores.gain,
        "rows_scored": scores.rows_scored, "rows_total": scores.rows_total,
        "interval_coverage": intervals,
        "baseline_rows_missing": [] if scores.missing is None else scores.missing.to_dict("records"),
        "classification": classification, "spike_reliability": reliability_data,
        "level_maps": {} if levels is None else levels.to_dict(orient="index"),
        "shap_importance": {} if importance is None else importance.round(8).to_dict(),
        "backtest": None if backtest is None else {
            "config": backtest["config"], "summary": backtest["summary"],
            "curves": {k: {"timestamps": v.index.astype(str).tolist(), "wealth": v.round(6).tolist()}
                       for k, v in backtest["curves"].items()}},
    }
    backtest_html = ("" if backtest is None else
                     "<h2>Risk backtest: volatility targeting</h2>"
                     f"{_table(pd.DataFrame(backtest['summary']).T)}"
                     f'<img src="data:image/png;base64,{backtest_curves(backtest)}">')
    shap_html = ("" if importance is None else
                 f'<h2>Explanations</h2><img src="data:image/png;base64,{shap_summary(importance)}">')
    banner = audit_banner(meta.get("leakage_audit"), scores.leakage_flags)
    dm = pd.DataFrame(scores.dm).T
    title = f"cryptovol evaluation — {meta.get('model', '')} ({meta.get('bar')}, H={meta.get('horizon')})"
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}}
.t td,.t th{{padding:2px 8px;text-align:right}} .flag{{background:#c00;color:#fff;padding:.6em;
margin:.5em 0;font-weight:bold}} .prompt{{background:#f6c343;padding:.6em;margin:.5em 0}}
.note{{color:#555}}</style></head><body>
<h1>{html.escape(title)}</h1>{banner}
<p class="note">Walk-forward: {meta.get('folds')} expanding folds, purge {meta.get('horizon')} bars,
embargo {meta.get('embargo')} bars. Vol per bar; RMSE/MAE annualized. {scores.rows_scored:,} of
{scores.rows_total:,} test rows have every forecast and are scored.
Data: {html.escape(str(meta.get('data_range')))}.</p>
<h2>Decision</h2><ul>{''.join(f'<li>{html.escape(r)}</li>' for r in gate)}</ul>
<p>Best model <b>{scores.best_model}</b> vs best baseline <b>{scores.best_baseline}</b>:
{100 * scores.gain:+.1f}% QLIKE.</p>
<h2>Pooled metrics</h2>{_table(scores.pooled)}
{audit_section(meta.get("leakage_audit"))}
{_missing_html(scores, meta.get("baseline_failures", []))}
<h2>Diebold-Mariano vs {scores.best_baseline} (QLIKE, HAC)</h2>{_table(dm)}
<h2>Forecast vs realized</h2><img src="data:image/png;base64,{series_png}">
{intervals_html}
<h2>Error by regime</h2><img src="data:image/png;base64,{regime_png}">
<h2>Calibration ({scores.best_model})</h2><img src="data:image/png;base64,{mz_png}">
<h2>Regime and spike classification (vs the HAR forecast bucketed)</h2>
{_classification_html(classification)}
<img src="data:image/png;base64,{reliability_png}">
{backtest_html}
{_levels_html(levels, meta.get("level_map"))}
{shap_html}
<h2>QLIKE per fold</h2>{_table(scores.per_fold)}
<h2>QLIKE per coin</h2>{_table(scores.per_symbol)}
<h2>Per coin: {scores.best_model} vs {scores.best_baseline}</h2>
<p class="note">Each coin's own metrics; DM on its QLIKE loss series (HAC). The full table of
every metric, coin and forecaster is in the JSON (<code>per_symbol_metrics</code>).</p>
{_table(per_coin_comparison(scores), digits=3)}
</body></html>"""
    return page, figures


def save_report(out_dir: Path, stem: str, page: str, figures: dict) -> tuple[Path, Path]:
    html_path, json_path = out_dir / f"{stem}.html", out_dir / f"{stem}.json"
    files.write_text(html_path, page)
    files.write_text(json_path, json.dumps(figures, indent=1, default=str))
    return html_path, json_path
