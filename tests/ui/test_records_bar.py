"""The console's records at start-up and the alarm when a write fails."""

import sqlite3
import threading

from app.records import DEMO_PASSWORD, Records
from app.store.audit import VerifyResult
from app.ui.records_bar import RecordsBar


def test_demo_records_are_seeded_and_checked(tmp_path):
    records = Records.open(tmp_path, demo=True)
    try:
        assert records.startup_check.ok
        session = records.users.login("supervisor", DEMO_PASSWORD)
        assert session.role.value == "supervisor" and not session.must_change_password
    finally:
        records.close()
    again = Records.open(tmp_path, demo=True)  # reopened: the chain checks from its checkpoint
    try:
        assert again.startup_check.ok and again.startup_check.count >= 3
    finally:
        again.close()


def test_tampered_trail_is_reported_at_start_up(tmp_path, qtbot):
    Records.open(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "celldeck.db")
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET new_value = 'forged' WHERE id = 1")
    conn.commit()
    conn.close()
    records = Records.open(tmp_path)
    try:
        check = records.startup_check
        assert not check.ok and check.first_bad_id == 1
        bar = RecordsBar()
        qtbot.addWidget(bar)
        bar.show_check(check, demo=False, demo_password="")
        assert "AUDIT TRAIL CHECK FAILED" in bar.status_label.text()
    finally:
        records.close()


def test_write_failure_from_the_writer_thread_raises_the_alarm(qtbot):
    bar = RecordsBar()
    qtbot.addWidget(bar)
    bar.show_check(VerifyResult(True, 3, None, "OK"), demo=False, demo_password="")
    worker = threading.Thread(target=bar.failure.emit, args=("database or disk is full",))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bar.failed, timeout=2000)
    assert "RECORDS NOT BEING SAVED" in bar.status_label.text()


def test_fresh_install_says_how_to_create_the_first_administrator(qtbot):
    bar = RecordsBar()
    qtbot.addWidget(bar)
    bar.show_check(VerifyResult(True, 1, None, "OK"), demo=False, demo_password="", has_users=False)
    assert "celldeck users init" in bar.status_label.text()
