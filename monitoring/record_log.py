"""The monitoring log: one record per monitoring or retrain run, oldest first.

Embedded: ``CRYPTOVOL_HOME/monitoring/monitor_<bar>.jsonl`` (``cryptovol.files.append_jsonl``:
locked, fsynced, a torn last line skipped). Production (``CRYPTOVOL_DATABASE_URL``): the table
``cryptovol_monitoring`` of the platform database, one JSONB row per record, each insert its own
transaction — several hosts' schedule runners can share it.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptovol import files
from cryptovol.settings import Settings

TABLE = "cryptovol_monitoring"
DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY, bar text NOT NULL, logged_at timestamptz NOT NULL DEFAULT now(),
    record jsonb NOT NULL);
CREATE INDEX IF NOT EXISTS {TABLE}_bar ON {TABLE} (bar, id);
"""


def log_path(settings: Settings) -> Path:
    return settings.home / "monitoring" / f"monitor_{settings.bar}.jsonl"


def _connect(settings: Settings):
    import psycopg

    from cryptovol.backends import libpq_url

    conn = psycopg.connect(libpq_url(settings.database_url.get_secret_value()), connect_timeout=10)
    with conn.transaction():
        conn.execute(DDL)
    return conn


def history(settings: Settings) -> list[dict]:
    """Earlier records of ``settings.bar``, oldest first."""
    if settings.database_url is None:
        return files.read_jsonl(log_path(settings))[0]
    with _connect(settings) as conn:
        rows = conn.execute(f"SELECT record FROM {TABLE} WHERE bar = %s ORDER BY id",
                            (settings.bar,)).fetchall()
    return [row[0] for row in rows]


def append(settings: Settings, record: dict) -> None:
    """Add one record (a file line, or a row committed before this returns)."""
    if settings.database_url is None:
        files.append_jsonl(log_path(settings), record)
        return
    with _connect(settings) as conn, conn.transaction():
        conn.execute(f"INSERT INTO {TABLE} (bar, record) VALUES (%s, %s::jsonb)",
                     (settings.bar, json.dumps(record, default=str)))


def where(settings: Settings) -> str:
    """Where the log is, for messages (no credential)."""
    if settings.database_url is None:
        return str(log_path(settings))
    from cryptovol.backends import mask

    return f"{mask(settings.database_url.get_secret_value())} table {TABLE}"
