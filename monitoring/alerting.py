"""What the people on call are told: the content of the loop's alerts. Pure functions → Alert.

A retrain alert says why the retrain ran (the policy's reasons), what drifted (the top features
with their test scores and the drifted share), how the champion had been doing (recent QLIKE
next to HAR and EWMA), the gate's decision with its numbers, which version serves now, and where
the reports are.
"""

from __future__ import annotations

from typing import Any

from cryptovol.alerts import Alert


def _qlike_line(record: dict[str, Any]) -> str:
    q, n = record.get("recent_qlike") or {}, record.get("recent_scored", 0)
    if not n:
        return "no forecast scored yet"
    line = (f"recent QLIKE champion {q['champion']:.4f} vs HAR {q['har']:.4f}, EWMA {q['ewma']:.4f} "
            f"on {n:,} forecasts (evaluation: {record.get('eval_qlike') or float('nan'):.4f})")
    tests = {k: t for k, t in (record.get("performance_tests") or {}).items() if t}
    if tests:  # the policy's loss-differential tests (monitoring.significance)
        line += "; " + ", ".join(
            f"vs {t['against']}: {'significantly worse' if t['significant'] else 'not significantly worse'}"
            f" (p={t['pvalue']:.3g}, {t['closes']} closes)" for t in tests.values())
    return line


def _drift_line(record: dict[str, Any]) -> str:
    if not record.get("drift_judged"):
        return "not judged"
    top = ", ".join(f"{name} ({score:.3g})" for name, score in (record.get("drift_top") or {}).items())
    return (f"{record['drifted_columns']} features drifted (share {record['drift_share']:.0%}); "
            f"top: {top}")


def retrain_alert(monitor: dict[str, Any] | None, trigger: str, bar: str, model: str,
                  new_version: str, gate: str, promoted: bool, serving: str | None,
                  metrics: dict[str, float], reports: dict[str, str]) -> Alert:
    """The alert after a retrain: ``monitor`` is the monitoring record that triggered it (None for
    a scheduled max-age retrain), ``gate`` the gate's decision text, ``serving`` the champion now."""
    outcome = (f"v{new_version} promoted: now serving" if promoted
               else f"v{new_version} kept as challenger; v{serving} still serving")
    gate_numbers = {k: metrics[k] for k in ("holdout_qlike", "holdout_best_baseline_qlike",
                                            "holdout_champion_qlike", "holdout_rows") if k in metrics}
    lines = [f"*{model} ({bar}) retrained*: {outcome}", f"why: {trigger}"]
    if monitor is not None:
        lines += [f"drift: {_drift_line(monitor)}",
                  f"champion v{monitor['champion']}: {_qlike_line(monitor)}"]
    lines.append(f"gate: {gate}")
    lines += [f"{name}: {path}" for name, path in reports.items() if path]
    return Alert(
        kind="retrain", severity="info" if promoted else "warning",
        title=f"{model} ({bar}) retrained: {outcome}", text="\n".join(lines),
        fields={"bar": bar, "model": model, "trigger": trigger, "new_version": new_version,
                "promoted": promoted, "serving_version": serving, "gate": gate,
                "gate_numbers": gate_numbers,
                "drift": None if monitor is None else {
                    "judged": monitor.get("drift_judged"), "share": monitor.get("drift_share"),
                    "drifted_columns": monitor.get("drifted_columns"), "top": monitor.get("drift_top")},
                "champion_performance": None if monitor is None else {
                    "version": monitor.get("champion"), "recent_qlike": monitor.get("recent_qlike"),
                    "recent_scored": monitor.get("recent_scored"), "eval_qlike": monitor.get("eval_qlike"),
                    "tests": monitor.get("performance_tests")},
                "reports": reports})


def failure_alert(flow: str, bar: str, message: str, run_url: str | None = None,
                  repeated: int = 0, since: str | None = None) -> Alert:
    """A scheduled flow run failed (``repeated``: failures of the same cause grouped since the
    last alert, which was first seen at ``since``)."""
    text = f"*scheduled flow `{flow}` ({bar}) failed*: {message}"
    if repeated:
        text += f"\nstill failing: {repeated} more failure(s) of this cause since {since[:16]}"
    if run_url:
        text += f"\nrun: {run_url}"
    return Alert(kind="failure", severity="error", title=f"scheduled flow {flow} ({bar}) failed",
                 text=text, fields={"flow": flow, "bar": bar, "error": message, "run": run_url,
                                    "repeated": repeated, "since": since})


def recovery_alert(flow: str, bar: str, closed: list[tuple[str, dict]]) -> Alert:
    """A scheduled flow whose failures were alerted succeeded again."""
    first = min(group["first"] for _, group in closed)
    causes = [key.split(":", 3)[-1] for key, _ in closed]
    text = (f"*scheduled flow `{flow}` ({bar}) succeeds again* (failing since {first[:16]}): "
            + "; ".join(causes))
    return Alert(kind="recovery", severity="info", title=f"scheduled flow {flow} ({bar}) recovered",
                 text=text, fields={"flow": flow, "bar": bar, "since": first, "causes": causes})


def source_alert(source: str, exchange: str, bar: str, silent: list[dict[str, Any]],
                 back: list[dict[str, Any]], silent_bars: float) -> Alert:
    """Pairs of a source that stopped delivering (``silent``) or deliver again (``back``): each
    a ``PairHealth.as_dict()`` (pair, newest, expected, lag_bars, error)."""
    def line(h: dict[str, Any]) -> str:
        lag = "nothing ever received" if h["lag_bars"] is None else f"{h['lag_bars']:g} bars behind"
        newest = f"newest bar {h['newest'][:16]}" if h["newest"] else "no bar"
        return f"{h['pair']}: {lag} ({newest}, exchange at {h['expected'][:16]})" + (
            f"; last error: {h['error']}" if h.get("error") else "")

    lines = []
    if silent:
        lines.append(f"*{source} ({exchange}, {bar}): {len(silent)} pair(s) stopped delivering* "
                     f"(more than {silent_bars:g} bars without a closed bar):")
        lines += [f"• {line(h)}" for h in silent]
    if back:
        lines.append(f"*{source} ({exchange}, {bar}): {len(back)} pair(s) deliver again*:")
        lines += [f"• {line(h)}" for h in back]
    pairs = ", ".join(h["pair"] for h in silent) or ", ".join(h["pair"] for h in back)
    title = (f"source {source} ({bar}) silent: {pairs}" if silent
             else f"source {source} ({bar}) delivers again: {pairs}")
    return Alert(kind="source_silent" if silent else "source_back",
                 severity="warning" if silent else "info", title=title, text="\n".join(lines),
                 fields={"source": source, "exchange": exchange, "bar": bar,
                         "silent_bars": silent_bars, "silent": silent, "back": back})
