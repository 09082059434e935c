"""A CSV copy of a filtered selection of the audit trail (every matching entry, not
only those on the screen) for a QA reviewer's own tools.

The file starts with PREAMBLE_LINES lines beginning with "#" that say what the copy
is: which CellDeck wrote it (version, commit, build date), when and by whom it was
taken, from which database, with which filters, the audit chain's verification at that
moment (with the chain head it reached: a witness line that ``verify-audit
--witness`` checks) and how many entries follow. They travel with the data, so a copy passed on by
e-mail still says whether the trail it came from was intact. Then the header of
``audit.csv`` (the run export's columns, same names and order) followed by run_id,
user_id, tz, workstation and hash; entries in the chain's order, oldest first. The
preamble always has the same number of lines, so tools can skip it (pandas:
``skiprows=PREAMBLE_LINES``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from app.review.csv_format import AUDIT_HEADER, audit_cells
from app.store.audit import VerifyResult
from app.store.audit_query import AuditFilter, count_audit, iter_audit, read_snapshot
from app.store.checks import verify_database
from app.store.db import utc_now
from app.store.witness import head_line
from app.version import build_info

EXTRA_HEADER = ("run_id", "user_id", "tz", "workstation", "hash")
HEADER = (*AUDIT_HEADER, *EXTRA_HEADER)
PREAMBLE_LINES = 6


@dataclass(frozen=True)
class AuditExport:
    path: Path
    entries: int
    chain: VerifyResult


def chain_line(chain: VerifyResult) -> str:
    """The chain's status in the words the screens use."""
    if chain.ok:
        return f"Audit trail verified: {chain.count} entries"
    return f"AUDIT TRAIL VERIFICATION FAILED: {chain.message}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def export_audit_selection(
    db_path: str | Path, where: AuditFilter, path: Path, exported_by: str
) -> AuditExport:
    """Write every entry matching ``where`` to ``path`` after verifying the whole
    chain; returns what was written. The file appears only once complete (written
    beside it, then renamed), so a copy cut short by a full disk is never mistaken for
    a whole one; an existing file is never overwritten."""
    chain, _ = verify_database(db_path)
    partial = path.with_name(path.name + ".part")
    try:
        written = _write(db_path, where, partial, exported_by, chain)
        if path.exists():
            raise FileExistsError(f"{path} exists already: nothing was overwritten")
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    return AuditExport(path, written, chain)


def _write(
    db_path: str | Path, where: AuditFilter, path: Path, exported_by: str, chain: VerifyResult
) -> int:
    with (
        read_snapshot(db_path) as conn,  # the count and the rows from one snapshot
        path.open("x", newline="", encoding="utf-8") as out,
    ):
        total = count_audit(conn, where)
        preamble = (
            f"CellDeck audit trail export ({build_info().summary()})",
            f"Exported {utc_now()} (UTC) by {exported_by}",
            f"Database: {Path(db_path).resolve()}",
            f"Filters: {where.describe()}",
            f"{chain_line(chain)} · {head_line(chain)}",
            f"Entries: {total} (the whole filtered selection; oldest first)",
        )
        assert len(preamble) == PREAMBLE_LINES
        for line in preamble:
            out.write(f"# {_one_line(line)}\r\n")  # the csv module's line ends
        writer = csv.writer(out)
        writer.writerow(HEADER)
        written = 0
        for a in iter_audit(conn, where):
            writer.writerow(
                [
                    *audit_cells(a),
                    "" if a.run_id is None else a.run_id,
                    a.user_id,
                    a.tz,
                    a.workstation,
                    a.hash,
                ]
            )
            written += 1
    return written
