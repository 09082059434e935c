"""The audit trail: append-only, hash-chained, and verify names the first bad entry."""

import sqlite3
import subprocess
import sys

import pytest

from app.store import checks
from app.store.audit import AuditEntry, ReasonRequired, entry_hash, verify
from app.store.checks import verify_database
from app.store.db import connect, open_database
from app.store.writer import StoreWriter


def entry(i: int, **kw) -> AuditEntry:
    return AuditEntry(
        "u1",
        "Ada Operator",
        "setpoint.change",
        "setpoint",
        "temp_sp",
        old_value=str(37 + i),
        new_value=str(38 + i),
        reason="test",
        **kw,
    )


@pytest.fixture
def db(tmp_path):
    path = open_database(tmp_path)
    writer = StoreWriter(path, "WS-01").start()
    for i in range(10):
        writer.record(entry(i))
    writer.close()
    return path


def tamper(path, *statements):
    """Change the file directly, as someone with file access would (triggers dropped)."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    for sql, args in statements:
        conn.execute(sql, args)
    conn.commit()
    conn.close()


def test_intact_chain_verifies(db):
    result, reached = verify_database(db)
    assert result.ok and result.count == 10
    assert reached[0] == 10


def test_update_and_delete_are_refused(db):
    conn = connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET reason = 'x' WHERE id = 3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE id = 3")
    conn.close()


def test_altered_entry_is_named(db):
    tamper(db, ("UPDATE audit SET new_value = '99' WHERE id = 4", ()))
    result, _ = verify_database(db)
    assert not result.ok and result.first_bad_id == 4 and "altered" in result.message


def test_removed_entry_is_named(db):
    tamper(db, ("DELETE FROM audit WHERE id = 6", ()))
    result, _ = verify_database(db)
    assert not result.ok and result.first_bad_id == 6 and "removed" in result.message


def test_removed_tail_is_noticed(db):
    tamper(db, ("DELETE FROM audit WHERE id >= 9", ()))
    result, _ = verify_database(db)
    assert not result.ok and result.first_bad_id == 9


def test_inserted_entry_is_named(db):
    conn = connect(db, readonly=True)
    row = conn.execute("SELECT * FROM audit WHERE id = 5").fetchone()
    conn.close()
    forged = list(row)
    forged[0] = 0  # squeezed in before the first entry
    forged[-1] = "f" * 64
    tamper(db, (f"INSERT INTO audit VALUES ({','.join('?' * len(forged))})", forged))
    result, _ = verify_database(db)
    assert not result.ok and result.first_bad_id == 0 and "inserted" in result.message


def test_replaced_entry_with_recomputed_hash_breaks_the_next_link(db):
    conn = connect(db, readonly=True)
    row = list(conn.execute("SELECT * FROM audit WHERE id = 3").fetchone())
    conn.close()
    row[9] = "41"  # new_value, and a hash recomputed to match
    row[-1] = entry_hash(tuple(row[:-1]))
    tamper(
        db,
        ("DELETE FROM audit WHERE id = 3", ()),
        (f"INSERT INTO audit VALUES ({','.join('?' * len(row))})", row),
    )
    result, _ = verify_database(db)
    assert not result.ok and result.first_bad_id == 4


def test_checkpoint_verification_is_incremental(db, monkeypatch):
    monkeypatch.setattr(checks, "STARTUP_FULL_MAX", 0)  # as for a long trail
    result, reached = verify_database(db, full=False)
    assert result.ok
    conn = connect(db)
    conn.execute("INSERT OR REPLACE INTO audit_checkpoint VALUES (1, ?, ?, 'now')", reached)
    conn.close()
    writer = StoreWriter(db, "WS-01").start()
    writer.record(entry(11))
    writer.close()
    result, _ = verify_database(db, full=False)
    assert result.ok and result.count == 11 and "1 since the last check" in result.message


def test_reason_is_required_where_a_value_changes():
    with pytest.raises(ReasonRequired):
        AuditEntry(
            "u1",
            "Ada",
            "setpoint.change",
            "setpoint",
            "temp_sp",
            "37",
            "38",
            reason=" ",
            reason_required=True,
        )


def test_entry_fields_are_recorded(db):
    conn = connect(db, readonly=True)
    row = conn.execute(
        "SELECT ts_utc, tz, user_name, workstation, prev_hash FROM audit WHERE id = 2"
    ).fetchone()
    first_hash = conn.execute("SELECT hash FROM audit WHERE id = 1").fetchone()[0]
    conn.close()
    assert row[0].endswith("Z") and row[2] == "Ada Operator" and row[3] == "WS-01"
    assert row[4] == first_hash and row[1]


def test_verify_audit_cli(db, tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "app", "verify-audit", "--data-dir", str(db.parent)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "OK: 10 entries" in ok.stdout
    tamper(db, ("UPDATE audit SET user_name = 'Eve' WHERE id = 7", ()))
    bad = subprocess.run(
        [sys.executable, "-m", "app", "verify-audit", "--data-dir", str(db.parent)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "entry #7 altered" in bad.stdout


def test_verify_on_empty_trail():
    conn = sqlite3.connect(":memory:")
    from app.store.schema import migrate

    migrate(conn)
    assert verify(conn).ok


def test_two_writers_on_one_file_keep_one_chain(db):
    console = StoreWriter(db, "WS-CONSOLE").start()
    cli = StoreWriter(db, "WS-CLI").start()
    for i in range(5):
        console.record(entry(i))
        cli.record(entry(i))  # e.g. `celldeck users ...` while the console runs
    console.close()
    cli.close()
    result, _ = verify_database(db)
    assert result.ok and result.count == 20


def test_removing_the_checkpoint_entry_is_noticed_at_start_up(db, monkeypatch):
    monkeypatch.setattr(checks, "STARTUP_FULL_MAX", 0)  # as for a long trail
    _, reached = verify_database(db)
    conn = connect(db)
    conn.execute("INSERT OR REPLACE INTO audit_checkpoint VALUES (1, ?, ?, 'now')", reached)
    conn.close()
    tamper(
        db,
        ("DELETE FROM audit WHERE id = ?", (reached[0],)),
        (
            "UPDATE audit_head SET last_id = 9, count = 9, last_hash = "
            "(SELECT hash FROM audit WHERE id = 9)",
            (),
        ),
    )
    result, _ = verify_database(db, full=False)
    assert not result.ok and result.first_bad_id == reached[0] and "removed" in result.message


def test_two_writers_on_a_sealed_file_both_seal(tmp_path):
    """The console and `celldeck users` beside it: each commit sealed by whichever
    process made it, with the installation key found beside the records."""
    from app.records import Records

    records = Records.open(tmp_path)
    cli = StoreWriter(records.path, "WS-CLI").start()
    for i in range(5):
        records.writer.record(entry(i))
        cli.record(entry(i))
    cli.close()
    records.close()
    result, _ = verify_database(records.path)
    assert result.ok and result.seal is not None and result.seal.head_id == result.head_id
