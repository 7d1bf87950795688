"""The stack's PostgreSQL databases: created when missing, never dropped by the stack."""

from __future__ import annotations

import logging

from cryptovol.backends import BackendUnavailable, first_reason, libpq_url, mask
from cryptovol.stack.config import Stack

log = logging.getLogger(__name__)


def ensure_databases(stack: Stack) -> list[str]:
    """Create the platform, MLflow and Prefect databases that do not exist; returns the new ones."""
    import psycopg
    from psycopg import sql

    admin = stack.stack.postgres.get_secret_value()
    try:
        conn = psycopg.connect(libpq_url(admin), connect_timeout=10, autocommit=True)
    except psycopg.Error as exc:
        raise BackendUnavailable(f"CRYPTOVOL_STACK_POSTGRES={mask(admin)}: {first_reason(str(exc))}"
                                 " — start PostgreSQL or point the setting at a running one") from None
    created = []
    with conn:
        present = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in stack.databases.values():
            if name in present:
                continue
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:  # another `stack up` made it meanwhile
                continue
            except psycopg.Error as exc:
                raise BackendUnavailable(f"cannot create database {name} on {mask(admin)}: "
                                         f"{str(exc).strip().splitlines()[0]}") from None
            created.append(name)
            log.info("created database %s", name)
    return created


def drop_databases(stack: Stack) -> None:
    """Drop the stack's databases (tests only: a stack keeps its data across up/down)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq_url(stack.stack.postgres.get_secret_value()), autocommit=True) as conn:
        for name in stack.databases.values():
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
