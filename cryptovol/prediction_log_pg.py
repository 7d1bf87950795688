"""The prediction log in PostgreSQL (``CRYPTOVOL_PREDICTION_LOG_URL=postgresql://...``).

One table, ``cryptovol_predictions`` (created on first use), keyed by (request_id, symbol,
role) — ``role`` is ``champion`` for answers, ``challenger`` for shadow forecasts. A
flush copies the rows into a temporary table and inserts them with ``ON CONFLICT DO NOTHING``
in one transaction: a flush retried after a lost acknowledgement never duplicates a row. The
URL may hold a password: only its host is ever logged.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pandas as pd

TABLE = "cryptovol_predictions"
DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    request_id text NOT NULL, logged_at timestamptz NOT NULL, symbol text NOT NULL,
    as_of timestamptz, bar text NOT NULL, horizon integer NOT NULL, model_name text NOT NULL,
    model_version text NOT NULL, predicted_vol_per_bar double precision,
    predicted_vol double precision, role text NOT NULL DEFAULT 'champion',
    PRIMARY KEY (request_id, symbol, role));
CREATE INDEX IF NOT EXISTS {TABLE}_bar_logged ON {TABLE} (bar, logged_at);
-- tables created before shadow scoring: add the role, and make it part of the key
ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS role text NOT NULL DEFAULT 'champion';
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.key_column_usage
                 WHERE table_name = '{TABLE}' AND constraint_name = '{TABLE}_pkey'
                   AND column_name = 'role') THEN
    ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_pkey;
    ALTER TABLE {TABLE} ADD PRIMARY KEY (request_id, symbol, role);
  END IF;
END $$;
"""
COLUMNS = ["request_id", "logged_at", "symbol", "as_of", "bar", "horizon", "model_name",
           "model_version", "predicted_vol_per_bar", "predicted_vol", "role"]


class PostgresSink:
    def __init__(self, url: str, connect_timeout: float = 5.0) -> None:
        self._url = url.replace("postgresql+psycopg://", "postgresql://")
        self._timeout = connect_timeout
        self._ready = False

    def __repr__(self) -> str:
        return f"PostgresSink({urlparse(self._url).hostname or '?'})"

    def _connect(self):
        import psycopg

        try:
            conn = psycopg.connect(self._url, connect_timeout=int(self._timeout))
        except psycopg.OperationalError as exc:
            host = urlparse(self._url)
            raise ConnectionError(f"PostgreSQL at {host.hostname}:{host.port or 5432} does not "
                                  f"answer ({str(exc).splitlines()[0][:120]})") from None
        if not self._ready:
            with conn.transaction():
                conn.execute(DDL)
            self._ready = True
        return conn

    def write(self, frame: pd.DataFrame) -> str:
        frame = frame.reindex(columns=COLUMNS)
        frame["role"] = frame["role"].fillna("champion")
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE staging (LIKE {TABLE}) ON COMMIT DROP")
            with cur.copy(f"COPY staging ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in frame[COLUMNS].itertuples(index=False):
                    copy.write_row(row)
            cur.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} "
                        "FROM staging ON CONFLICT DO NOTHING")
        return f"{self!r}: {len(frame)} rows"

    def read(self, bar: str | None = None) -> pd.DataFrame:
        with self._connect() as conn, conn.cursor() as cur:
            where = "WHERE bar = %s " if bar else ""
            cur.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} {where}ORDER BY logged_at",
                        (bar,) if bar else None)
            frame = pd.DataFrame(cur.fetchall(), columns=COLUMNS)
        for column in ("logged_at", "as_of"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame
