"""Audit-chain verification as the console and the CLI use it: from the last verified
checkpoint (fast, at start-up) or in full (``celldeck verify-audit``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.store.audit import VerifyResult, verify
from app.store.db import connect, utc_now


def read_checkpoint(conn: sqlite3.Connection) -> tuple[int, str] | None:
    row = conn.execute("SELECT last_id, last_hash FROM audit_checkpoint WHERE id = 1").fetchone()
    return (row[0], row[1]) if row else None


def save_checkpoint(conn: sqlite3.Connection, last_id: int, last_hash: str) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO audit_checkpoint (id, last_id, last_hash, verified_utc) "
        "VALUES (1, ?, ?, ?)",
        (last_id, last_hash, utc_now()),
    )


def verify_database(path: str | Path, full: bool = True) -> tuple[VerifyResult, tuple[int, str]]:
    """Verify the chain of the database at ``path`` on a reader connection, in full or
    from the checkpoint. Returns the result and the (id, hash) it verified up to, for
    the writer to store as the next checkpoint."""
    conn = connect(path, readonly=True)
    try:
        conn.execute("BEGIN")  # one consistent snapshot for the walk and the head
        after = None if full else read_checkpoint(conn)
        result = verify(conn, after)
        head = conn.execute("SELECT count, last_id, last_hash FROM audit_head").fetchone()
        conn.execute("COMMIT")
    finally:
        conn.close()
    reached = (head[1], head[2]) if head else (0, "")
    if result.ok and after:
        total = head[0] if head else result.count
        message = f"OK: {total} entries ({result.count} since the last check) verified"
        result = VerifyResult(True, total, None, message)
    return result, reached
