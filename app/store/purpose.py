"""What a records folder is for: GMP batch records, or demo and training records.

The headless runner's ``--auto-confirm`` lets an automation identity approve, answer,
sign and restart so that tests and training runs need no people. On GMP records that
would put signatures without a person behind them on a batch, so the store keeps, once
and for good, what the records are for: a folder first used by the demo console or by a
``--simulator`` run is *training*; every other folder, and every folder that already
held records before the purpose was kept, is *gmp*.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from enum import StrEnum
from pathlib import Path

from app.store.actor import SYSTEM
from app.store.audit import AuditEntry
from app.store.db import connect, utc_now
from app.store.writer import StoreWriter, WriterContext


class Purpose(StrEnum):
    GMP = "gmp"
    TRAINING = "training"


def read_purpose(db_path: str | Path) -> Purpose:
    """The purpose declared for these records; GMP when none was declared yet."""
    with closing(connect(db_path, readonly=True)) as conn:
        return _declared(conn) or Purpose.GMP


def _declared(conn: sqlite3.Connection) -> Purpose | None:
    row = conn.execute("SELECT purpose FROM records_purpose WHERE id = 1").fetchone()
    return Purpose(row[0]) if row else None


def _holds_records(conn: sqlite3.Connection) -> bool:
    """Anything a person or a run put here: then the folder was in use before."""
    for table in ("runs", "recipes", "signatures"):
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
            return True
    people = conn.execute(
        "SELECT 1 FROM users WHERE username NOT IN ('automation', 'automation-verifier') LIMIT 1"
    ).fetchone()
    return people is not None


def declare_purpose(writer: StoreWriter, wanted: Purpose, demo: bool = False) -> Purpose:
    """Keep the purpose of these records if none is kept yet, and return the one in
    force: ``wanted`` for a folder that holds no records yet, GMP for one that does
    (the demo folder is training whatever it holds: it only ever held demo records).
    Audited as the system's act."""

    def job(ctx: WriterContext) -> Purpose:
        found = _declared(ctx.conn)
        if found is not None:
            return found
        fresh = demo or not _holds_records(ctx.conn)
        purpose = wanted if fresh else Purpose.GMP
        reason = "demo records" if demo else "declared when the records were first used"
        if not fresh:
            reason = "the folder already held records: kept as GMP records"
        audit_id = ctx.audit.append(
            AuditEntry(
                SYSTEM.id,
                SYSTEM.name,
                "records.purpose",
                "records",
                "purpose",
                new_value=purpose.value,
                reason=reason,
            )
        )
        ctx.conn.execute(
            "INSERT INTO records_purpose (id, purpose, declared_utc, audit_id) VALUES (1, ?, ?, ?)",
            (purpose.value, utc_now(), audit_id),
        )
        return purpose

    return writer.call(job)
