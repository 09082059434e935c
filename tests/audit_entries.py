"""Audit entries of a small, varied history (two runs, alarms, a set-point change with
its reason, a hold, a recipe approval) on known days in March 2026, written through
the real writer thread and audit log; shared by the audit viewer's tests."""

from __future__ import annotations

import itertools

import pytest

from app.records import Records
from app.store import audit as audit_module
from app.store.audit import AuditEntry

# (day, user id, printed name, action, object type, object id, old, new, reason, run)
ENTRIES = [
    ("2026-03-01", "7", "Ann Operator", "run.create", "run", "1", None, "batch B-1", None, 1),
    ("2026-03-01", "7", "Ann Operator", "run.state", "run", "1", "Idle", "Running", None, 1),
    (
        "2026-03-02",
        "7",
        "Ann Operator",
        "setpoint.change",
        "setpoint",
        "temp_sp",
        "37.0",
        "36.5",
        "Process adjustment per SOP",
        1,
    ),
    (
        "2026-03-02",
        "system",
        "CellDeck",
        "alarm.unacknowledged",
        "alarm",
        "TEMP_HI",
        None,
        "high",
        None,
        1,
    ),
    (
        "2026-03-03",
        "8",
        "Bob Operator",
        "alarm.acknowledged",
        "alarm",
        "TEMP_HI",
        "unacknowledged",
        "acknowledged",
        None,
        1,
    ),
    (
        "2026-03-03",
        "9",
        "Dan Supervisor",
        "alarm.shelved",
        "alarm",
        "PH_LO",
        "active",
        "shelved",
        "Sensor under maintenance",
        2,
    ),
    (
        "2026-03-04",
        "8",
        "Bob Operator",
        "run.state",
        "run",
        "2",
        "Running",
        "Holding",
        "Sample taken",
        2,
    ),
    (
        "2026-03-05",
        "9",
        "Dan Supervisor",
        "recipe.approve",
        "recipe",
        "CAR-T 10-day v3",
        None,
        "approved",
        None,
        None,
    ),
]


def write_entries(records: Records, monkeypatch: pytest.MonkeyPatch) -> None:
    """Append ENTRIES with the audit log's clock set to each entry's day (an hour
    apart, in order); the clock is the real one again afterwards."""
    hours = itertools.count(8)
    day = {"now": ""}
    with monkeypatch.context() as patched:
        patched.setattr(
            audit_module, "utc_now", lambda: f"{day['now']}T{next(hours) % 24:02d}:00:00.000000Z"
        )
        for when, uid, name, action, otype, oid, old, new, reason, run in ENTRIES:
            day["now"] = when
            records.writer.record(AuditEntry(uid, name, action, otype, oid, old, new, reason, run))
