"""Witnesses: copies of signed chain heads kept where the database file cannot reach.

A seal in the database proves a head was signed; it cannot prove the file was not put
back to an older state (a cut tail, an older copy). A witness can: the witness log
(one line per seal, appended by the writer after each commit, best on another disk or
share), and every exported batch record (CSV manifest, PDF metadata and footer). A
witnessed head must still be in the chain at its id with its hash.

Every witness holds the same line (``Seal.line``), or ``celldeck-head head=N
hash=H`` for a chain not sealed yet, so one regular expression reads them all, a PDF's
raw bytes included (the head is in its uncompressed XMP metadata): no PDF library.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from app.store.audit import VerifyResult
from app.store.seal import Seal, db_keys, signature_ok

log = logging.getLogger(__name__)

WITNESS_ENV = "CELLDECK_WITNESS_LOG"  # the witness log, when not <data folder>/witness.log
LINE = re.compile(
    rb"celldeck-(?:seal seal=(\d+) |head )head=(\d+) hash=([0-9a-f]{64})"
    rb"(?: utc=(\S+) fp=([0-9a-f]{32}) sig=([0-9a-f]{128}))?"
)
TAIL_BYTES = 65536  # the start-up check reads only the log's newest lines (~200)


def witness_path(data_dir: str | Path) -> Path:
    override = os.environ.get(WITNESS_ENV)
    return Path(override).expanduser() if override else Path(data_dir) / "witness.log"


def head_line(result: VerifyResult) -> str:
    """The chain head an export was made at, as a witness line."""
    if result.seal is not None:
        return result.seal.line()
    return f"celldeck-head head={result.head_id} hash={result.head_hash}"


@dataclass(frozen=True)
class Witnessed:
    head_id: int
    head_hash: str
    seal: Seal | None


def parse(data: bytes) -> list[Witnessed]:
    found = []
    for match in LINE.finditer(data):
        seal_id, head_id, head_hash, utc, fp, sig = match.groups()
        seal = None
        if seal_id is not None and sig is not None:
            seal = Seal(
                int(seal_id),
                int(head_id),
                head_hash.decode(),
                utc.decode(),
                sig.decode(),
                fp.decode(),
            )
        found.append(Witnessed(int(head_id), head_hash.decode(), seal))
    return found


class WitnessLog:
    """Appends each seal as one line; a write that fails is reported, never fatal."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, seal: Seal) -> None:
        with self.path.open("a", encoding="ascii") as out:
            out.write(seal.line() + "\n")

    def newest(self, keys: set[str] | None = None) -> Witnessed | None:
        """The last witnessed head, of a seal made with one of ``keys`` if given (a log
        shared with another data folder holds its heads too); None: none found."""
        try:
            with self.path.open("rb") as data:
                data.seek(0, os.SEEK_END)
                data.seek(max(0, data.tell() - TAIL_BYTES))
                tail = data.read()
        except FileNotFoundError:
            return None
        found = [w for w in parse(tail) if keys is None or (w.seal and w.seal.fingerprint in keys)]
        return found[-1] if found else None


def check(conn: sqlite3.Connection, data: bytes, source: str) -> tuple[str, int]:
    """Every head witnessed in ``data`` still in the chain at its id with its hash, and
    sealed by this chain's key. Returns (problem or "", heads checked). Signatures are
    checked only where a head does not match: that tells a rewritten chain from an
    altered witness."""
    found = parse(data)
    if not found:
        return f"{source}: no CellDeck chain head found in it", 0
    keys = db_keys(conn)
    seen: set[tuple[int, str]] = set()
    for item in found:
        if (item.head_id, item.head_hash) in seen:
            continue
        seen.add((item.head_id, item.head_hash))
        where = f"{source} (head #{item.head_id})"
        if keys and item.seal is not None and item.seal.fingerprint not in keys:
            return (
                f"{where} was sealed by another installation (key {item.seal.fingerprint};"
                f" this chain: {', '.join(sorted(keys))})",
                len(seen) - 1,
            )
        row = conn.execute("SELECT hash FROM audit WHERE id = ?", (item.head_id,)).fetchone()
        if row is not None and row[0] == item.head_hash:
            continue
        if keys and item.seal is not None and not signature_ok(keys, item.seal):
            return f"{where}: the witnessed seal's signature does not verify", len(seen) - 1
        if row is None:
            return (
                f"entry #{item.head_id} witnessed in {source} is no longer in the chain"
                " (entries removed or an older copy of the file)",
                len(seen) - 1,
            )
        return (
            f"entry #{item.head_id} does not match its witness in {source}"
            " (the chain was rewritten)",
            len(seen) - 1,
        )
    return "", len(seen)


def check_newest(conn: sqlite3.Connection, witness: WitnessLog) -> str:
    """Start-up: the witness log's newest head still in the chain (a cheap guard against
    a cut tail or an older copy of the file). "" when fine or when there is no log."""
    newest = witness.newest(set(db_keys(conn)))
    if newest is None:
        return ""
    if newest.seal is not None:
        line = newest.seal.line()
    else:
        line = f"celldeck-head head={newest.head_id} hash={newest.head_hash}"
    problem, _ = check(conn, line.encode(), f"witness log {witness.path}")
    return problem


def sealed_before(witness: WitnessLog, fingerprint: str) -> bool:
    """Whether the witness log holds a head sealed with this key (a chain that has no
    seals then had them removed)."""
    return witness.newest({fingerprint}) is not None
