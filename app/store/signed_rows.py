"""Rows that carry an electronic signature of their own content (calibrations, golden
batches): written with the signature and audit entry that stand for them, and read back
each with the content hash its signature signed, so the caller can tell a row changed
behind the triggers' back (its signature no longer holds)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from app.store.db import connect
from app.store.signatures import Signature, content_hash


def insert_signed(
    conn: sqlite3.Connection,
    table: str,
    values: dict,
    columns: tuple[str, ...],
    signature: Signature,
    audit_id: int,
) -> int:
    """Insert one signed row (``columns`` taken from ``values``, then the signed content
    hash, the signature and the audit entry); returns its id."""
    names = (*columns, "content_hash", "signature_id", "audit_id")
    row = (*(values[k] for k in columns), signature.content_hash, signature.id, audit_id)
    cursor = conn.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        row,
    )
    return int(cursor.lastrowid or 0)


def read_signed(db_path: str | Path, table: str, where: str, args: tuple) -> list[dict]:
    """Rows of ``table`` matching ``where`` (columns of the table as ``t.<name>``), in id
    order, each with ``signed_hash``: the hash its signature signed (None: none)."""
    sql = (
        f"SELECT t.*, s.content_hash AS signed_hash FROM {table} t "
        f"LEFT JOIN signatures s ON s.id = t.signature_id WHERE {where} ORDER BY t.id"
    )
    with closing(connect(db_path, readonly=True)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, args).fetchall()]


def signature_holds(row: dict, content: str) -> bool:
    """The row still hashes to what its signature signed (``content``: the row's signed
    content, recomputed from the row as it is now)."""
    return row["signed_hash"] == row["content_hash"] == content_hash(content)
