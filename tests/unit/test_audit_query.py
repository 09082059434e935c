"""The audit viewer's reading: each filter narrows the trail as it says, newest first,
with the total that match; only supervisors and administrators may read (an
operator is refused, and the refusal is audited); the CSV copy holds every matching
entry with old and new values and reasons, and says whether the chain verified."""

from __future__ import annotations

import csv
import itertools
import sqlite3

import pytest

from app.records import DEMO_PASSWORD, Records
from app.review.audit_export import HEADER, PREAMBLE_LINES
from app.review.audit_reader import AuditReader
from app.store.audit_query import (
    COLUMNS,
    AuditFilter,
    distinct_actions,
    distinct_object_types,
    distinct_users,
    iter_audit,
    query_audit,
    select_sql,
)
from app.store.settings import SettingsService
from app.store.users import PermissionDenied
from tests.audit_entries import ENTRIES, write_entries


@pytest.fixture
def records(tmp_path, monkeypatch):
    """A demo data folder whose trail also holds ENTRIES (see tests/audit_entries.py)."""
    records = Records.open(tmp_path, demo=True)
    write_entries(records, monkeypatch)
    yield records
    records.close()


def actions(selection) -> list[str]:
    return [row.action for row in selection.rows]


def test_no_filter_lists_everything_newest_first(records):
    selection = query_audit(records.path)
    assert selection.total == len(selection.rows) > len(ENTRIES)  # demo accounts, start-up
    ids = [row.id for row in selection.rows]
    assert ids == sorted(ids, reverse=True)
    assert not selection.truncated


def test_the_limit_shows_the_newest_and_counts_them_all(records):
    selection = query_audit(records.path, AuditFilter(action="alarm."), limit=2)
    assert actions(selection) == ["alarm.shelved", "alarm.acknowledged"]
    assert selection.total == 3 and selection.truncated


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (AuditFilter(user="bob"), ["run.state", "alarm.acknowledged"]),  # name, any case
        (AuditFilter(user="9"), ["recipe.approve", "alarm.shelved"]),  # the user id
        (
            AuditFilter(action="alarm."),
            ["alarm.shelved", "alarm.acknowledged", "alarm.unacknowledged"],
        ),
        (AuditFilter(action="run.state"), ["run.state", "run.state"]),
        (AuditFilter(action="alarm.acknowledged", action_exact=True), ["alarm.acknowledged"]),
        (AuditFilter(object_type="setpoint"), ["setpoint.change"]),
        (
            AuditFilter(object_type="alarm", object_id="temp"),
            ["alarm.acknowledged", "alarm.unacknowledged"],
        ),
        (AuditFilter(object_id="T 10-d"), ["recipe.approve"]),
        (AuditFilter(run_id=2), ["run.state", "alarm.shelved"]),
        (
            AuditFilter(since_utc="2026-03-02", until_utc="2026-03-03"),
            ["alarm.unacknowledged", "setpoint.change"],
        ),
        (AuditFilter(since_utc="2026-03-04T00:00:00", until_utc="2026-03-05"), ["run.state"]),
        (
            AuditFilter(user="Dan", action="alarm.", run_id=2, since_utc="2026-03-03"),
            ["alarm.shelved"],
        ),
        (AuditFilter(user="nobody by this name"), []),
    ],
)
def test_each_filter_narrows(records, where, expected):
    selection = query_audit(records.path, where)
    assert actions(selection) == expected
    assert selection.total == len(expected)


def test_like_wildcards_in_a_filter_are_plain_text(records):
    assert query_audit(records.path, AuditFilter(user="%")).total == 0
    assert query_audit(records.path, AuditFilter(object_id="E_P")).total == 0  # not TEMP
    assert query_audit(records.path, AuditFilter(object_id="p_s")).total == 1  # temp_sp


def test_entries_carry_old_and_new_values_reasons_run_and_workstation(records):
    (row,) = query_audit(records.path, AuditFilter(object_type="setpoint")).rows
    assert (row.old_value, row.new_value, row.reason, row.run_id) == (
        "37.0",
        "36.5",
        "Process adjustment per SOP",
        1,
    )
    assert row.user_name == "Ann Operator" and row.user_id == "7"
    assert row.workstation == records.workstation and len(row.hash) == 64


def test_choices_are_what_the_trail_holds(records):
    actions_present = distinct_actions(records.path)
    assert {"alarm.shelved", "recipe.approve", "run.state"} <= set(actions_present)
    assert actions_present == sorted(actions_present)
    assert ("8", "Bob Operator") in distinct_users(records.path)
    assert {"alarm", "recipe", "run", "setpoint", "user"} <= set(
        distinct_object_types(records.path)
    )


# ---------------------------------------------------------------------- permission
@pytest.mark.parametrize("username", ["supervisor", "admin"])
def test_supervisors_and_administrators_may_read(records, username):
    session = records.users.login(username, DEMO_PASSWORD)
    reader = AuditReader(records.path, records.users)
    assert reader.query(session, AuditFilter(run_id=2)).total == 2
    assert "run.state" in reader.actions(session)
    assert reader.chain(session).ok


def test_an_operator_is_refused_and_the_refusal_is_audited(records):
    session = records.users.login("operator", DEMO_PASSWORD)
    reader = AuditReader(records.path, records.users)
    for read in (
        lambda: reader.query(session),
        lambda: reader.actions(session),
        lambda: reader.chain(session),
        lambda: reader.export_csv(session, AuditFilter(), records.path.parent / "exports"),
    ):
        with pytest.raises(PermissionDenied, match="may not read the audit trail"):
            read()
    refused = query_audit(records.path, AuditFilter(action="permission.denied", user="Operator"))
    assert refused.total == 4 and refused.rows[0].new_value == "audit.read"
    assert not (records.path.parent / "exports").exists()


def test_without_the_account_service_the_role_is_still_checked(records):
    operator = records.users.login("operator", DEMO_PASSWORD)
    with pytest.raises(PermissionDenied):
        AuditReader(records.path).query(operator)
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    assert AuditReader(records.path).query(supervisor).total > 0


# ---------------------------------------------------------------------- export
def read_export(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    preamble = lines[:PREAMBLE_LINES]
    rows = list(csv.reader(lines[PREAMBLE_LINES:]))
    return preamble, rows[0], rows[1:]


def test_export_holds_every_matching_entry_with_old_new_and_reason(records, tmp_path):
    admin = records.users.login("admin", DEMO_PASSWORD)
    settings = SettingsService(records.writer, records.path, records.users)
    settings.set(admin, "inactivity_lock_minutes", 10, "Site SOP 12 revision")
    reader = AuditReader(records.path, records.users)
    # more than a screen would show: the export is not limited to it
    where = AuditFilter(since_utc="2026-03-01", until_utc="2026-03-04")
    assert reader.query(admin, where, limit=2).truncated
    done = reader.export_csv(admin, where, tmp_path / "exports")
    assert done.path.name.startswith("audit-") and done.path.suffix == ".csv"
    assert done.entries == 6 and done.chain.ok
    preamble, header, rows = read_export(done.path)
    assert all(line.startswith("# ") for line in preamble)
    assert "Demo Administrator (admin, administrator)" in preamble[1]
    assert "from 2026-03-01 UTC; before 2026-03-04 UTC" in preamble[3]
    assert preamble[4].startswith("# Audit trail verified:")
    assert preamble[5] == "# Entries: 6 (the whole filtered selection; oldest first)"
    assert tuple(header) == HEADER
    assert [r[3] for r in rows] == [
        "run.create",
        "run.state",
        "setpoint.change",
        "alarm.unacknowledged",
        "alarm.acknowledged",
        "alarm.shelved",
    ]
    setpoint = dict(zip(header, rows[2], strict=True))
    assert (setpoint["old"], setpoint["new"], setpoint["reason"], setpoint["run_id"]) == (
        "37.0",
        "36.5",
        "Process adjustment per SOP",
        "1",
    )
    # the setting change (today) is in a whole-trail export with its values and reason
    everything = reader.export_csv(admin, AuditFilter(action="setting."), tmp_path / "exports")
    assert everything.path != done.path  # a second export never overwrites the first
    _, header, rows = read_export(everything.path)
    change = dict(zip(header, rows[0], strict=True))
    assert (change["old"], change["new"], change["reason"]) == ("5", "10", "Site SOP 12 revision")


def test_export_of_a_tampered_trail_says_verification_failed(records, tmp_path):
    conn = sqlite3.connect(records.path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET new_value = '39.0' WHERE action = 'setpoint.change'")
    conn.commit()
    conn.close()
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    done = AuditReader(records.path, records.users).export_csv(
        supervisor, AuditFilter(object_type="setpoint"), tmp_path
    )
    preamble, _, rows = read_export(done.path)
    assert not done.chain.ok
    assert preamble[4].startswith("# AUDIT TRAIL VERIFICATION FAILED: entry #")
    assert rows[0][7] == "39.0"  # the copy shows what the file holds now


def test_only_a_short_time_range_is_read_through_a_time_index(records):
    """With an index on the time (a migration may add one), a day or a month goes
    through it; a longer range is read newest-first, which measured faster."""
    conn = sqlite3.connect(records.path)
    conn.execute("CREATE INDEX test_audit_by_time ON audit (ts_utc)")

    def plan(where: AuditFilter) -> str:
        sql, args = select_sql(where, COLUMNS, " ORDER BY id DESC LIMIT 1000")
        return " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args))

    assert "test_audit_by_time" in plan(AuditFilter(since_utc="2026-03-01", until_utc="2026-03-02"))
    assert "test_audit_by_time" not in plan(
        AuditFilter(since_utc="2025-01-01", until_utc="2026-03-02")
    )
    assert "test_audit_by_time" not in plan(AuditFilter(since_utc="2026-03-01"))
    wide = AuditFilter(since_utc="2025-01-01", until_utc="2026-03-04")
    assert [r.action for r in query_audit(records.path, wide).rows][-2:] == [
        "run.state",
        "run.create",
    ]  # the same rows either way
    conn.close()


def test_an_export_cut_short_leaves_no_file(records, tmp_path, monkeypatch):
    from app.review import audit_export

    def broken(conn, where):
        yield from itertools.islice(iter_audit(conn, where), 2)
        raise OSError("No space left on device")

    monkeypatch.setattr(audit_export, "iter_audit", broken)
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    folder = tmp_path / "exports"
    with pytest.raises(OSError, match="No space"):
        AuditReader(records.path, records.users).export_csv(supervisor, AuditFilter(), folder)
    assert list(folder.iterdir()) == []  # neither the copy nor its partial file
