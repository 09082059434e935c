"""Opening the records database: one SQLite file per workstation, WAL, durable commits.

Connections run in autocommit mode (``isolation_level=None``) and open transactions
explicitly with ``transaction()``, so that DDL in a migration is atomic too.

The records hold password hashes: the folder is kept 0700 and the file 0600 (SQLite
gives its -wal and -shm files the database file's mode), readable by the console's OS
account only.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from app.store.schema import SchemaError, migrate

DB_NAME = "celldeck.db"
BUSY_TIMEOUT_MS = 10_000

log = logging.getLogger(__name__)


def owner_only(path: Path, mode: int) -> None:
    """Narrow ``path`` to ``mode`` (0700 folder, 0600 file) if others may read it and
    this OS account owns it (a folder of another owner, or a sticky one such as /tmp,
    is left as it is)."""
    try:
        info = path.stat()
        if info.st_mode & 0o077 and not info.st_mode & 0o1000 and info.st_uid == os.getuid():
            path.chmod(mode)
            log.info("%s narrowed to mode %o (readable by this OS account only)", path, mode)
    except (FileNotFoundError, AttributeError):  # no such file; no getuid on Windows
        pass


def utc_now() -> str:
    """UTC time as ISO 8601 with microseconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def connect(path: str | Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the console's settings. Writers get WAL and synchronous=FULL
    (a commit is on disk when it returns); readers are query-only."""
    if not readonly and not Path(path).exists():  # created 0600, before SQLite opens it
        with suppress(FileExistsError, FileNotFoundError):  # first: another process; no folder
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
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
    if not path.exists():  # the records begin here: the folder is theirs (not /tmp)
        owner_only(Path(data_dir), 0o700)
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        owner_only(Path(data_dir) / name, 0o600)
    conn = connect(path)
    try:
        migrate(conn, now_utc=utc_now())
        problems = conn.execute("PRAGMA quick_check").fetchone()[0]
        if problems != "ok":
            raise SchemaError(f"database {path} is damaged: {problems}")
    finally:
        conn.close()
    return path
