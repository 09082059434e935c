"""The CSV shape every copy of the records shares: one "#" line first (what the file
holds, when it was exported, by which CellDeck), and an audit entry as the same cells
under the same header wherever it is written (a run's ``audit.csv``, a filtered audit
trail export). The reviewers' exports (app/review) and the batch record's files
(app/reports) both write with it."""

from __future__ import annotations

from app.review.record import AuditRow
from app.store.audit_query import AuditEntryRow
from app.store.db import utc_now
from app.version import build_info

PREAMBLE_LINES = 1
"""Lines beginning with "#" before the header of a run's CSV file (pandas:
``skiprows=PREAMBLE_LINES``)."""


def preamble(what: str) -> str:
    """The first line of a run's CSV file (with the csv module's line end)."""
    line = f"# {what} · exported {utc_now()} (UTC) by {build_info().summary()}"
    return " ".join(line.split()) + "\r\n"


AUDIT_HEADER = ("id", "utc", "user", "action", "object_type", "object_id", "old", "new", "reason")


def audit_cells(a: AuditRow | AuditEntryRow) -> list[object]:
    """One audit entry as the cells under AUDIT_HEADER (None written as empty)."""
    return [
        a.id,
        a.ts_utc,
        a.user_name,
        a.action,
        a.object_type,
        a.object_id,
        a.old_value or "",
        a.new_value or "",
        a.reason or "",
    ]
