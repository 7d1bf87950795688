"""The report's leakage-audit section: what held the run back, the prompts, the evidence."""

from __future__ import annotations

import html

from training.leakage import EVIDENCE


def audit_banner(audit: dict | None, prompts: list[str]) -> str:
    """Red for what holds the run back; amber for a prompt the direct checks answered."""
    if audit is None:  # a report without the audit: every prompt holds it back
        return "".join(f'<div class="flag">LEAKAGE AUDIT: {html.escape(p)}</div>' for p in prompts)
    failed = [c for c in audit["checks"] if not c["passed"]]
    ran = {c["name"] for c in audit["checks"]} >= set(EVIDENCE)
    out = "".join(f'<div class="flag">LEAKAGE AUDIT: {html.escape(c["name"])} failed: '
                  f'{html.escape(c["detail"])}</div>' for c in failed)
    for p in audit["prompts"]:
        verdict = ("the direct checks below failed" if failed else
                   "the direct checks could not all run: held back" if not ran else
                   "the direct checks below passed: not held back by the threshold alone")
        css = "flag" if failed or not ran else "prompt"
        out += f'<div class="{css}">LEAKAGE PROMPT: {html.escape(p)} — {verdict}</div>'
    return out


def audit_section(audit: dict | None) -> str:
    if audit is None:
        return ""
    rows = "".join(f'<tr><td>{html.escape(c["name"])}</td><td>{"pass" if c["passed"] else "FAIL"}'
                   f'</td><td style="text-align:left">{html.escape(c["detail"])}</td></tr>'
                   for c in audit["checks"])
    return ('<h2>Leakage audit: direct evidence</h2><p class="note">Checks this run computed on its '
            'own candles, features and folds (training/leakage.py). A gain over the baselines '
            'that looks too good is a prompt to look; these decide.</p>'
            f'<table class="t"><tr><th>check</th><th>result</th><th>evidence</th></tr>{rows}</table>')
