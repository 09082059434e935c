"""Audit-chain verification as the console and the CLI use it: from the last verified
checkpoint (fast, at start-up) or in full (``celldeck verify-audit``), with the seals
(app/store/seal.py) and the accounts and runs bound to the trail (app/store/bindings.py)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from app.store import bindings
from app.store.audit import SELECT_ROWS, VerifyResult, entry_hash, seal_mismatch, verify
from app.store.db import connect, utc_now
from app.store.seal import check_seals, read_seals, sealed_heads

# A trail this long or shorter is walked in full at start-up too (~0.6 s per 100 000
# entries): an entry altered by hand before the checkpoint is then caught at once.
STARTUP_FULL_MAX = 100_000


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
        conn.execute("BEGIN")  # one consistent snapshot for the walk, seals and head
        after = None if full else read_checkpoint(conn)
        if after is not None and after[0] <= STARTUP_FULL_MAX:
            after = None
        result = verify_sealed(conn, after)
        head = conn.execute("SELECT count, last_id, last_hash FROM audit_head").fetchone()
        conn.execute("COMMIT")
    finally:
        conn.close()
    reached = (head[1], head[2]) if head else (0, "")
    if result.ok and after:
        total = head[0] if head else result.count
        message = f"OK: {total} entries ({result.count} since the last check) verified"
        result = replace(result, count=total, message=message + _sealed_note(result))
    elif result.ok:
        result = replace(result, message=result.message + _sealed_note(result))
    return result, reached


def _sealed_note(result: VerifyResult) -> str:
    if result.seal is None:
        return ""
    return f", sealed up to #{result.seal.head_id} (key {result.seal.fingerprint})"


def verify_sealed(conn: sqlite3.Connection, after: tuple[int, str] | None) -> VerifyResult:
    """The chain walk (``verify``) plus the seals: each signature, each sealed head
    still in the chain as signed, the newest entry sealed, and (once sealed) every
    account and run as the trail says. From a checkpoint, the sealed entries before it
    are recomputed one by one instead of walked."""
    seals = read_seals(conn)
    problem, bad_id = check_seals(conn, seals)
    if problem:
        return VerifyResult(False, 0, bad_id, problem)
    heads = sealed_heads(seals)
    for seal in seals if after else ():
        if seal.head_id > after[0]:
            break
        row = conn.execute(f"{SELECT_ROWS} WHERE id = ?", (seal.head_id,)).fetchone()
        if row is None or row[-1] != seal.head_hash:
            return seal_mismatch(seal.id, seal.head_id, heads[seal.head_id][2])
        if entry_hash(row[:-1]) != row[-1]:
            return VerifyResult(False, 0, seal.head_id, f"entry #{seal.head_id} altered")
    result = verify(conn, after, heads)
    if not result.ok or not seals:
        return result
    newest = seals[-1]
    if result.head_id > newest.head_id:
        return VerifyResult(
            False,
            result.count,
            newest.head_id + 1,
            f"entries after #{newest.head_id} are not sealed (the newest seal #{newest.id}"
            " covers it; the console seals every entry as it is written)",
        )
    if result.head_id < newest.head_id:
        return VerifyResult(
            False,
            result.count,
            result.head_id + 1,
            f"entries after #{result.head_id} removed (seal #{newest.id} covers #{newest.head_id})",
        )
    problem, bad_id = bindings.check(conn)
    if problem:
        return VerifyResult(False, result.count, bad_id, problem)
    return replace(result, seal=newest)
