"""Upgrades keep the records: a data folder written by an older CellDeck (an older
schema, built here with the real migrations stopped at that version) is opened by the
current code, migrated to the latest schema, and everything in it is still there with
the audit chain intact. A file from a newer CellDeck is refused and left as it was.
"""

from __future__ import annotations

import hashlib
import sqlite3

import numpy as np
import pytest

from app.records import Records
from app.store import schema
from app.store.audit import AuditEntry, AuditLog
from app.store.checks import verify_database
from app.store.db import DB_NAME, connect, transaction, utc_now
from app.store.schema import LATEST, SchemaError, current_version, migrate
from app.store.security import hash_password
from hardware.protocol import CHANNEL_NAMES

PASSWORD = "older-release-pw-1"
OLD_WORKSTATION = "ws-old-release"


def write_old_data_folder(folder, version: int) -> dict:
    """A data folder as CellDeck at schema ``version`` left it: an account, audit
    entries (one about a run), and from version 2 on a run with telemetry samples."""
    conn = connect(folder / DB_NAME)
    try:
        migrate(conn, target=version, now_utc="2026-01-05T08:00:00.000000Z")
        log = AuditLog(conn, OLD_WORKSTATION)
        with transaction(conn):
            log.append(AuditEntry("system", "CellDeck", "console.start", "workstation", "ws"))
            conn.execute(
                "INSERT INTO users (username, full_name, role, password_hash,"
                " password_changed_utc, must_change, created_utc) VALUES (?, ?, ?, ?, ?, 0, ?)",
                (
                    "aoperator",
                    "Ann Operator",
                    "operator",
                    hash_password(PASSWORD),
                    utc_now(),
                    utc_now(),
                ),
            )
            log.append(
                AuditEntry(
                    "system",
                    "CellDeck",
                    "user.create",
                    "user",
                    "aoperator",
                    new_value="operator",
                    reason="first account",
                )
            )
        samples = 0
        if version >= 2:
            with transaction(conn):
                conn.execute(
                    "INSERT INTO runs (id, batch_id, started_utc, ended_utc, state,"
                    " instrument_serial, firmware, kit_id) VALUES (1, 'B-OLD-1', ?, ?,"
                    " 'Complete', 'SIM-0001', '1.0', 'KIT-1')",
                    ("2026-01-05T08:10:00Z", "2026-01-05T09:10:00Z"),
                )
                rows = [
                    (
                        1,
                        t * 1000,
                        1,
                        t * 1000,
                        1767600600.0 + t,
                        np.full(len(CHANNEL_NAMES), 37.0 + t / 100).tobytes(),
                    )
                    for t in range(50)
                ]
                conn.executemany(
                    "INSERT INTO samples (run_id, t_ms, boot, t_inst, utc, vals)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                samples = len(rows)
                log.append(
                    AuditEntry(
                        "7",
                        "Ann Operator",
                        "run.state",
                        "run",
                        "1",
                        "Running",
                        "Complete",
                        run_id=1,
                    )
                )
        with transaction(conn):
            log.append(
                AuditEntry(
                    "7",
                    "Ann Operator",
                    "setpoint.change",
                    "setpoint",
                    "temp_sp",
                    "37.0",
                    "36.5",
                    "Process adjustment per SOP",
                )
            )
        audit = conn.execute("SELECT id, action, hash FROM audit ORDER BY id").fetchall()
    finally:
        conn.close()
    return {"audit": audit, "samples": samples}


def file_digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("old_version", range(1, LATEST))
def test_an_older_data_folder_is_migrated_and_keeps_every_record(tmp_path, old_version):
    before = write_old_data_folder(tmp_path, old_version)
    records = Records.open(tmp_path, workstation="ws-new-release")
    try:
        assert records.startup_check.ok, records.startup_check.message
        session = records.users.login("aoperator", PASSWORD)  # the old account signs in
        assert session.full_name == "Ann Operator"
    finally:
        records.close()

    conn = sqlite3.connect(tmp_path / DB_NAME)
    try:
        assert current_version(conn) == LATEST
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
        assert versions == list(range(1, LATEST + 1))  # each migration applied once, in order
        after = conn.execute("SELECT id, action, hash FROM audit ORDER BY id").fetchall()
        # the old entries are there unchanged, the new release's follow them on the chain
        assert after[: len(before["audit"])] == before["audit"]
        new_actions = [action for _, action, _ in after[len(before["audit"]) :]]
        assert new_actions[0] == "console.start" and new_actions[-1] == "console.stop"
        if old_version >= 2:
            run = conn.execute("SELECT batch_id, state FROM runs WHERE id = 1").fetchone()
            assert run == ("B-OLD-1", "Complete")
            count, first = conn.execute(
                "SELECT COUNT(*), MIN(vals) FROM samples WHERE run_id = 1"
            ).fetchone()
            assert count == before["samples"]
            assert np.frombuffer(first, dtype=np.float64)[0] == pytest.approx(37.0)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    chain, _ = verify_database(tmp_path / DB_NAME, full=True)
    assert chain.ok and chain.count == len(after), chain.message


def test_an_upgrade_cut_short_resumes_at_the_next_start(tmp_path, monkeypatch):
    """Power lost in the middle of the newest migration: that migration is rolled back
    whole (its own transaction), the records stay as the older release left them, and
    the next start finishes the upgrade."""
    before = write_old_data_folder(tmp_path, LATEST - 1)
    newest = schema.MIGRATIONS[LATEST]
    monkeypatch.setitem(
        schema.MIGRATIONS, LATEST, [*newest, "SELECT no_such_function('power lost')"]
    )
    with pytest.raises(sqlite3.OperationalError):
        Records.open(tmp_path)
    conn = sqlite3.connect(tmp_path / DB_NAME)
    try:
        assert current_version(conn) == LATEST - 1
        assert (
            conn.execute("SELECT id, action, hash FROM audit ORDER BY id").fetchall()
            == (before["audit"])
        )
    finally:
        conn.close()
    monkeypatch.setitem(schema.MIGRATIONS, LATEST, newest)
    records = Records.open(tmp_path)
    records.close()
    conn = sqlite3.connect(tmp_path / DB_NAME)
    try:
        assert current_version(conn) == LATEST
    finally:
        conn.close()
    assert verify_database(tmp_path / DB_NAME, full=True)[0].ok


def test_a_data_folder_from_a_newer_release_is_refused_and_left_alone(tmp_path):
    """Installing an older CellDeck over a newer one must not touch the newer records."""
    conn = connect(tmp_path / DB_NAME)
    try:
        migrate(conn)
        with transaction(conn):
            conn.execute(
                "INSERT INTO schema_version (version, applied_utc) VALUES (?, ?)",
                (LATEST + 1, utc_now()),
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    digest = file_digest(tmp_path / DB_NAME)
    with pytest.raises(SchemaError, match="newer CellDeck"):
        Records.open(tmp_path)
    assert file_digest(tmp_path / DB_NAME) == digest
