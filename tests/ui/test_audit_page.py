"""The audit trail viewer on screen: it lists the trail newest first with the chain
verified; a person, an action, a run and a date range chosen by taps narrow the
table; a tapped row opens the entry whole; a tampered trail turns the status line
red; Export CSV writes every entry of the filtered selection; an operator is refused."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.records import DEMO_PASSWORD
from app.review.audit_export import PREAMBLE_LINES
from app.ui import theme
from app.ui.audit_dialogs import EntryDialog, RunNumberDialog
from app.ui.audit_page import AuditPage
from app.ui.choice_dialog import ChoiceDialog
from tests.audit_entries import write_entries
from tests.ui.conftest import WAIT_MS


@pytest.fixture
def make_page(demo_records, ui_background, show_page, monkeypatch, tmp_path):
    """make_page(username): the page as that user sees it, shown and idle, over a trail
    holding tests/audit_entries.py's ENTRIES."""
    write_entries(demo_records, monkeypatch)

    def make(username: str = "supervisor") -> AuditPage:
        session = demo_records.users.login(username, DEMO_PASSWORD)
        page = AuditPage(
            demo_records.path,
            ui_background,
            lambda: session,
            tmp_path / "exports",
            users=demo_records.users,
        )
        return show_page(page)

    return make


def column(page: AuditPage, index: int) -> list[str]:
    """A column's texts as shown, without the zero-width break hints."""
    return [
        page.table.item(r, index).text().replace("\u200b", "") for r in range(page.table.rowCount())
    ]


def tap(qtbot, button: QPushButton) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def choose(qtbot, page: AuditPage, button: QPushButton, label: str | None) -> None:
    """Open a filter's choices and tap ``label`` (None: the "Any" button); wait until
    the table shows the new selection."""
    tap(qtbot, button)
    qtbot.waitUntil(lambda: isinstance(page.dialog, ChoiceDialog), timeout=WAIT_MS)
    dialog = page.dialog
    target = dialog.any_button if label is None else dialog.buttons[label]
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        tap(qtbot, target)


def test_the_trail_is_listed_and_filters_narrow_it(qtbot, make_page):
    page = make_page("supervisor")
    assert page.chain_label.text().startswith("Audit trail verified:")
    assert theme.GOOD in page.chain_label.styleSheet()
    total = page.selection.total
    assert page.table.rowCount() == total and page.count.text().startswith(f"{total} entries")
    assert column(page, 1)[0] == "Demo Supervisor"  # newest first: the sign-in just now

    choose(qtbot, page, page.user_button, "Bob Operator")
    assert page.user_button.text() == "User: Bob Operator"
    assert column(page, 2) == ["run.state", "alarm.acknowledged"]
    assert column(page, 4) == ["Running", "unacknowledged"]
    assert column(page, 6) == ["Sample taken", ""]
    assert column(page, 7) == ["2", "1"]

    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        page.dates.set_days(date(2026, 3, 3), date(2026, 3, 3))
    assert column(page, 2) == ["alarm.acknowledged"]
    assert column(page, 0) == ["2026-03-03 12:00:00"]
    assert page.count.text() == "1 entry, newest first."

    choose(qtbot, page, page.user_button, None)  # anyone, on 3 March
    assert column(page, 1) == ["Dan Supervisor", "Bob Operator"]

    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        tap(qtbot, page.clear_button)
    assert page.table.rowCount() == total and page.filter.empty
    assert page.dates.buttons["All time"].isChecked()


def test_action_group_exact_action_and_run(qtbot, make_page):
    page = make_page("admin")
    choose(qtbot, page, page.action_button, "alarm: all 3 actions")
    assert page.action_button.text() == "Action: alarm (all)"
    assert column(page, 2) == ["alarm.shelved", "alarm.acknowledged", "alarm.unacknowledged"]
    choose(qtbot, page, page.action_button, "run.state")
    assert page.action_button.text() == "Action: run.state"
    assert column(page, 2) == ["run.state", "run.state"]

    tap(qtbot, page.run_button)
    dialog = page.dialog
    assert isinstance(dialog, RunNumberDialog)
    tap(qtbot, dialog.keypad.keys["2"])
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        tap(qtbot, dialog.keypad.keys["OK"])
    assert page.run_button.text() == "Run: 2"
    assert column(page, 3) == ["run 2"] and column(page, 6) == ["Sample taken"]

    tap(qtbot, page.run_button)
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        tap(qtbot, page.dialog.any_button)
    assert page.run_button.text() == "Run: any" and len(column(page, 2)) == 2


def test_object_filter_and_a_tapped_row_shows_the_entry_whole(qtbot, make_page):
    page = make_page()
    choose_object = page.object_button
    tap(qtbot, choose_object)
    qtbot.waitUntil(lambda: isinstance(page.dialog, ChoiceDialog), timeout=WAIT_MS)
    tap(qtbot, page.dialog.buttons["setpoint"])
    entry = page.dialog  # then the object's ID, optional
    entry.line_edit.setText("temp")
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        tap(qtbot, entry.ok_button)
    assert page.object_button.text() == "Object: setpoint temp"
    assert column(page, 4) == ["37.0"] and column(page, 5) == ["36.5"]
    page.table.cellClicked.emit(0, 6)
    assert isinstance(page.dialog, EntryDialog)
    text = page.dialog.text.text()
    assert "Process adjustment per SOP" in text and "Ann Operator (account 7)" in text
    tap(qtbot, page.dialog.close_button)
    assert page.dialog is None


def test_a_tampered_trail_turns_the_status_line_red(qtbot, make_page, demo_records):
    page = make_page()
    conn = sqlite3.connect(demo_records.path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET reason = 'no reason' WHERE action = 'setpoint.change'")
    conn.commit()
    conn.close()
    with qtbot.waitSignal(page.verified, timeout=WAIT_MS):
        page.reload()
    assert page.chain_label.text().startswith("AUDIT TRAIL VERIFICATION FAILED: entry #")
    assert "altered" in page.chain_label.text()
    assert theme.BAD in page.chain_label.styleSheet()
    assert "font-weight: bold" in page.chain_label.styleSheet()
    # the altered entry is marked in the table
    (row,) = [r for r, a in enumerate(column(page, 2)) if a == "setpoint.change"]
    assert page.table.item(row, 6).foreground().color().name().upper() == theme.BAD
    assert page.table.item(row, 6).text() == "no reason"


def test_export_writes_the_whole_filtered_selection(qtbot, make_page):
    page = make_page()
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS):
        page.dates.set_days(date(2026, 3, 2), date(2026, 3, 3))
    shown = page.selection.total
    assert shown == 4
    with qtbot.waitSignal(page.exported, timeout=WAIT_MS):
        tap(qtbot, page.export_button)
    done = page.last_export
    assert page.message.text() == f"Wrote 4 entries to {done.path}."
    assert done.path.parent == page.export_folder and done.path.name.startswith("audit-")
    lines = done.path.read_text(encoding="utf-8").splitlines()
    assert lines[4].startswith("# Audit trail verified:")
    rows = list(csv.DictReader(lines[PREAMBLE_LINES:]))
    assert [r["action"] for r in rows] == [
        "setpoint.change",
        "alarm.unacknowledged",
        "alarm.acknowledged",
        "alarm.shelved",
    ]
    assert (rows[0]["old"], rows[0]["new"], rows[0]["reason"]) == (
        "37.0",
        "36.5",
        "Process adjustment per SOP",
    )


def test_an_operator_is_refused_with_a_sentence(qtbot, make_page):
    page = make_page("operator")
    assert page.table.rowCount() == 0
    assert page.message.objectName() == "Error"
    assert page.message.text().startswith("The audit trail cannot be read: Not allowed:")
    assert "may not read the audit trail" in page.message.text()
    assert "audit.read" not in page.message.text()  # no code name shown to a person
    assert "cannot be checked" in page.chain_label.text()


def test_every_button_is_a_touch_target(qtbot, make_page):
    page = make_page()
    buttons = page.findChildren(QPushButton)
    assert len(buttons) >= 11  # 5 date chips, 4 filters, clear, export
    for button in buttons:
        assert button.width() >= theme.MIN_TOUCH_PX and button.height() >= theme.MIN_TOUCH_PX, (
            button.text()
        )
    tap(qtbot, page.action_button)
    qtbot.waitUntil(lambda: isinstance(page.dialog, ChoiceDialog), timeout=WAIT_MS)
    qtbot.waitExposed(page.dialog)
    for button in page.dialog.findChildren(QPushButton):
        if button.isVisible():
            assert button.height() >= theme.MIN_TOUCH_PX, button.text()
