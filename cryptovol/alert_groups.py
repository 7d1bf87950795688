"""Repeated alarms for one cause are grouped, not re-sent at every run.

A scheduled flow that fails every 15 minutes for the same reason alerts the first time, then
once every ``CRYPTOVOL_ALERT_REPEAT_HOURS`` while it keeps failing (saying how many failures
were grouped since), and once more when it succeeds again. The groups live in
``CRYPTOVOL_HOME/alert_groups.json``, changed under its lock and written atomically, so two
flows that fail at once both count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptovol import files

STATE = "alert_groups.json"


@dataclass(frozen=True)
class Verdict:
    send: bool  # deliver the alert now
    grouped: int  # alarms of this cause grouped since the last one delivered
    first: str  # when the cause was first seen (ISO)


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def record(home: Path, key: str, now: datetime, repeat_after: timedelta) -> Verdict:
    """Count one alarm of cause ``key``; whether to deliver it (the first, or ``repeat_after``
    since the last delivered one)."""
    path = Path(home) / STATE
    with files.store_lock(path):
        groups = _read(path)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"first": now.isoformat(), "sent": now.isoformat(), "grouped": 0}
            verdict = Verdict(True, 0, group["first"])
        elif now - datetime.fromisoformat(group["sent"]) >= repeat_after:
            verdict = Verdict(True, group["grouped"], group["first"])
            group.update(sent=now.isoformat(), grouped=0)
        else:
            group["grouped"] += 1
            verdict = Verdict(False, group["grouped"], group["first"])
        files.write_json(path, groups)
    return verdict


def resolve(home: Path, prefix: str) -> list[tuple[str, dict]]:
    """Close the groups whose key starts with ``prefix`` (their cause is over); returns them."""
    path = Path(home) / STATE
    if not path.exists():
        return []
    with files.store_lock(path):
        groups = _read(path)
        closed = [(k, v) for k, v in groups.items() if k.startswith(prefix)]
        if closed:
            files.write_json(path, {k: v for k, v in groups.items() if not k.startswith(prefix)})
    return closed
