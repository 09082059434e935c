"""The GMP audit trail: append-only, every entry carrying the hash of the one before.

Who, what, when, old and new value, why (21 CFR Part 11 / Annex 11). Rows can only be
inserted (triggers refuse UPDATE and DELETE); each row's hash is SHA-256 over a
canonical, length-prefixed encoding of all its fields including the previous hash, so
altering, removing or inserting a row anywhere breaks the chain at that row, and
``verify`` names it. A rewrite of the whole chain (every later hash recomputed) is
caught by the seals: signed heads (``app/store/seal.py``) that ``verify`` compares
with the chain as it walks.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass

from app.store.db import utc_now

GENESIS = "0" * 64
FIELDS = (
    "id",
    "ts_utc",
    "tz",
    "user_id",
    "user_name",
    "action",
    "object_type",
    "object_id",
    "old_value",
    "new_value",
    "reason",
    "workstation",
    "run_id",
    "prev_hash",
)
SELECT_ROWS = f"SELECT {', '.join(FIELDS)}, hash FROM audit"


class ReasonRequired(ValueError):
    """A change of a record or set-point was submitted without a reason."""


@dataclass(frozen=True)
class AuditEntry:
    """What the caller says happened; the log adds time, workstation and the chain."""

    user_id: str
    user_name: str
    action: str  # e.g. "setpoint.change", "login.failed", "run.start"
    object_type: str  # e.g. "setpoint", "user", "run"
    object_id: str
    old_value: str | None = None
    new_value: str | None = None
    reason: str | None = None
    run_id: int | None = None
    reason_required: bool = False

    def __post_init__(self) -> None:
        # the hash is taken over the values as stored: types must survive the round trip
        for name in ("user_id", "user_name", "action", "object_type", "object_id"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"audit {name} must be text")
        for name in ("old_value", "new_value", "reason"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise TypeError(f"audit {name} must be text or None")
        if self.run_id is not None and (type(self.run_id) is not int):
            raise TypeError("audit run_id must be an integer or None")
        if self.reason_required and not (self.reason or "").strip():
            raise ReasonRequired(
                f"{self.action} on {self.object_type} {self.object_id} needs a reason"
            )


def workstation_zone() -> str:
    """The workstation's time zone as offset and name, e.g. '+0100 CET'."""
    return time.strftime("%z %Z")


def canonical(values: tuple) -> bytes:
    """Injective encoding of a row's fields: each as <length>:<text>, None as '-'."""
    parts = []
    for value in values:
        if value is None:
            parts.append("-")
        else:
            text = str(value)
            parts.append(f"{len(text)}:{text}")
    return "|".join(parts).encode("utf-8")


def entry_hash(values: tuple) -> str:
    return hashlib.sha256(canonical(values)).hexdigest()


class AuditLog:
    """Appends entries on a write connection. The chain's end is read inside the
    caller's write transaction each time, so another writer (the CLI beside a running
    console) or a rolled-back job can never put two entries on one link."""

    def __init__(self, conn: sqlite3.Connection, workstation: str) -> None:
        self.conn = conn
        self.workstation = workstation
        self.appended = 0  # entries appended so far: the writer seals a commit that added any

    def head(self) -> tuple[int, str]:
        row = self.conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def append(self, entry: AuditEntry) -> int:
        """Insert one entry inside the caller's (write) transaction; returns its id."""
        last_id, last_hash = self.head()
        values = (
            last_id + 1,
            utc_now(),
            workstation_zone(),  # read each time: daylight saving changes it
            entry.user_id,
            entry.user_name,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.old_value,
            entry.new_value,
            entry.reason,
            self.workstation,
            entry.run_id,
            last_hash,
        )
        digest = entry_hash(values)
        self.conn.execute(
            f"INSERT INTO audit ({', '.join(FIELDS)}, hash) VALUES ({', '.join('?' * 15)})",
            (*values, digest),
        )
        self.appended += 1
        return values[0]


@dataclass(frozen=True)
class Seal:
    """One signed chain head (made and checked in app/store/seal.py)."""

    id: int
    head_id: int
    head_hash: str
    utc: str
    signature: str  # hex
    fingerprint: str

    def line(self) -> str:
        """The seal as one line of text: the witness log's, a manifest's, a PDF's."""
        return (
            f"celldeck-seal seal={self.id} head={self.head_id} hash={self.head_hash}"
            f" utc={self.utc} fp={self.fingerprint} sig={self.signature}"
        )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int  # entries checked
    first_bad_id: int | None = None
    message: str = ""
    head_id: int = 0  # the chain head that was verified (what an export witnesses)
    head_hash: str = GENESIS
    seal: Seal | None = None  # the newest seal, checked; None: the chain is not sealed


def seal_mismatch(seal_id: int, head_id: int, previous_head: int) -> VerifyResult:
    """A sealed head no longer in the chain as it was signed: somewhere after the
    previous seal's head the entries were rewritten (or cut)."""
    return VerifyResult(
        False,
        0,
        previous_head + 1,
        f"entries after #{previous_head} do not match seal #{seal_id}"
        f" (which signed entry #{head_id})",
    )


def verify(
    conn: sqlite3.Connection,
    after: tuple[int, str] | None = None,
    seals: Mapping[int, tuple[int, str, int]] | None = None,
) -> VerifyResult:
    """Walk the chain (from a verified (id, hash) checkpoint, or from the start) and
    name the first entry that was altered, removed or inserted. ``seals``: sealed heads
    (head id -> seal id, signed hash, the previous seal's head id) whose signatures were
    checked; each must still be in the chain with the hash it was signed with."""
    expected_id, expected_prev = (after[0] + 1, after[1]) if after else (1, GENESIS)
    seals = seals or {}
    count = 0
    last_id, last_hash = expected_id - 1, expected_prev
    if after:
        rows = conn.execute(f"{SELECT_ROWS} WHERE id >= ? ORDER BY id", (after[0],))
    else:
        rows = conn.execute(f"{SELECT_ROWS} ORDER BY id")
    checkpoint_seen = after is None or after[0] == 0
    for row in rows:
        if after and not checkpoint_seen:
            if row[0] != after[0]:
                return VerifyResult(
                    False, count, after[0], f"entry #{after[0]} (verified earlier) removed"
                )
            checkpoint_seen = True
            if row[-1] != after[1] or entry_hash(row[:-1]) != row[-1]:
                return VerifyResult(
                    False, count, row[0], f"entry #{row[0]} altered since it was verified"
                )
            continue
        values, stored = row[:-1], row[-1]
        entry_id = values[0]
        if entry_id < expected_id:
            return VerifyResult(
                False, count, entry_id, f"entry #{entry_id} inserted out of sequence"
            )
        if entry_id > expected_id:
            gap = (
                f"#{expected_id}"
                if entry_id == expected_id + 1
                else f"#{expected_id}..#{entry_id - 1}"
            )
            return VerifyResult(False, count, expected_id, f"entry {gap} removed")
        if values[-1] != expected_prev:
            return VerifyResult(
                False,
                count,
                entry_id,
                f"entry #{entry_id} does not follow #{entry_id - 1}"
                " (an entry before it was inserted or replaced)",
            )
        if entry_hash(values) != stored:
            return VerifyResult(False, count, entry_id, f"entry #{entry_id} altered")
        sealed = seals.get(entry_id)
        if sealed is not None and sealed[1] != stored:
            bad = seal_mismatch(sealed[0], entry_id, sealed[2])
            return VerifyResult(False, count, bad.first_bad_id, bad.message)
        count += 1
        expected_id, expected_prev = entry_id + 1, stored
        last_id, last_hash = entry_id, stored
    if not checkpoint_seen:
        return VerifyResult(False, count, after[0], f"entry #{after[0]} (verified earlier) removed")
    head = conn.execute("SELECT count, last_id, last_hash FROM audit_head WHERE id = 1").fetchone()
    if head and (head[1], head[2]) != (last_id, last_hash):
        if head[1] > last_id:
            return VerifyResult(False, count, last_id + 1, f"entries after #{last_id} removed")
        return VerifyResult(False, count, head[1], "audit head does not match the last entry")
    return VerifyResult(True, count, None, f"OK: {count} entries verified", last_id, last_hash)
