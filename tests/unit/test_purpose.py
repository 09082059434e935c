"""What the records are for is kept once: training for a folder first used by the demo
or a simulator run, GMP otherwise; automation never signs on GMP records."""

import sqlite3

import pytest

from app.records import Records
from app.store.purpose import Purpose, declare_purpose, read_purpose
from app.store.signatures import Meaning
from app.store.users import AuthError


def test_a_fresh_folder_takes_the_purpose_asked_for_once_and_for_good(tmp_path):
    records = Records.open(tmp_path)
    try:
        assert read_purpose(records.path) is Purpose.GMP  # none kept yet: the safe side
        assert declare_purpose(records.writer, Purpose.TRAINING) is Purpose.TRAINING
        assert declare_purpose(records.writer, Purpose.GMP) is Purpose.TRAINING  # kept
        with sqlite3.connect(records.path) as conn, pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE records_purpose SET purpose = 'gmp'")
        with sqlite3.connect(records.path) as conn:
            (who,) = conn.execute(
                "SELECT user_id FROM audit WHERE action = 'records.purpose'"
            ).fetchone()
        assert who == "system"
    finally:
        records.close()


def test_a_folder_that_already_holds_records_stays_gmp(tmp_path):
    records = Records.open(tmp_path)
    try:
        records.users.create_first_administrator("ada", "Ada Admin", "Orbit-Lantern-2718")
        assert declare_purpose(records.writer, Purpose.TRAINING) is Purpose.GMP
    finally:
        records.close()


def test_automation_does_not_sign_gmp_records(tmp_path):
    records = Records.open(tmp_path)
    try:
        assert declare_purpose(records.writer, Purpose.GMP) is Purpose.GMP
        session, password = records.users.automation_session(
            "automation", "Automation (headless runner)"
        )
        with pytest.raises(AuthError, match="automation does not sign GMP records"):
            records.signatures.sign(
                session, password, Meaning.APPROVED, "recipe", "1", "text", username="automation"
            )
        with sqlite3.connect(records.path) as conn:
            assert conn.execute("SELECT COUNT(*) FROM signatures").fetchone()[0] == 0
    finally:
        records.close()
