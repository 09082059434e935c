"""Opening the records database: one SQLite file per workstation, WAL, durable commits.

Connections run in autocommit mode (``isolation_level=None``) and open transactions
explicitly with ``transaction()``, so that DDL in a migration is atomic too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from app.store.schema import SchemaError, migrate

DB_NAME = "celldeck.db"
BUSY_TIMEOUT_MS = 10_000


def utc_now() -> str:
    """UTC time as ISO 8601 with microseconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def connect(path: str | Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the console's settings. Writers get WAL and synchronous=FULL
    (a commit is on disk when it returns); readers are query-only."""
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    else:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            conn.close()
            raise SchemaError(f"cannot switch {path} to WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def open_database(data_dir: str | Path) -> Path:
    """Create or upgrade the database in the data folder; return its path. Raises
    SchemaError (with a message for people) for a file from a newer CellDeck."""
    path = Path(data_dir) / DB_NAME
    conn = connect(path)
    try:
        migrate(conn, now_utc=utc_now())
        problems = conn.execute("PRAGMA quick_check").fetchone()[0]
        if problems != "ok":
            raise SchemaError(f"database {path} is damaged: {problems}")
    finally:
        conn.close()
    return path
