"""Review on screen: open a completed simulated run from the history, see its
exceptions, sign (reviewed, approved) and export PDF and CSV; a tampered trail says
so on the screen."""

import sqlite3

import pytest
from PySide6.QtWidgets import QApplication

from app.console import Console, ConsoleOptions
from app.records import DEMO_PASSWORD
from app.store.signatures import Meaning
from app.ui import theme
from tests.headless import complete_demo_run


@pytest.fixture
def shell(qtbot, tmp_path):
    theme.apply(QApplication.instance())
    from app.gui import build_shell

    options = ConsoleOptions(data_dir=str(tmp_path), demo=True)
    console = Console(options)  # demo folder: tmp_path/demo, accounts and recipes seeded
    folder = console.data_dir
    complete_demo_run(folder, "B-REVIEW")
    window = build_shell(console, console.create_controller())
    qtbot.addWidget(window)
    console.start()
    window.show()
    window._signed_in(console.records.users.login("supervisor", DEMO_PASSWORD))
    yield window, console
    window.close()
    console.stop()


def sign(qtbot, page, first: bool) -> None:
    if first:
        qtbot.waitUntil(lambda: page.dialog is not None, timeout=5000)
        page.dialog.line_edit.setText("supervisor")
        page.dialog.accept()
    qtbot.waitUntil(lambda: page.dialog is not None, timeout=5000)
    page.dialog.line_edit.setText(DEMO_PASSWORD)
    page.dialog.accept()


def test_open_a_run_see_exceptions_sign_and_export(qtbot, shell):
    window, _ = shell
    window.show_page("history")
    history = window.history_page
    qtbot.waitUntil(lambda: history.table.rowCount() >= 1, timeout=10000)
    history.open_run.emit(int(history.table.item(0, 0).text()))
    page = window.detail_page
    qtbot.waitUntil(lambda: page.status is not None, timeout=10000)
    assert window.stack.currentWidget() is page
    texts = [page.exceptions.item(i).text() for i in range(page.exceptions.count())]
    assert any(t.startswith("ENTRY") for t in texts)  # the count typed at step 4
    assert "verified" in page.header.text()
    page.review_button.click()
    sign(qtbot, page, first=True)
    qtbot.waitUntil(lambda: page.status.valid(Meaning.REVIEWED), timeout=10000)
    qtbot.waitUntil(lambda: page.approve_button.isEnabled(), timeout=10000)
    page.approve_button.click()
    sign(qtbot, page, first=False)
    qtbot.waitUntil(lambda: page.status.valid(Meaning.APPROVED), timeout=10000)
    page.pdf_button.click()
    qtbot.waitUntil(lambda: page.message.text().startswith("Wrote"), timeout=20000)
    assert page.last_pdf.stat().st_size > 10_000
    page.csv_button.click()
    qtbot.waitUntil(lambda: "audit entries" in page.message.text(), timeout=20000)
    assert (page.last_csv / "samples.csv").exists()


def test_a_tampered_trail_says_so_on_the_review_screen(qtbot, shell):
    window, console = shell
    conn = sqlite3.connect(console.records.path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET new_value = 'data: 9' WHERE action = 'step.answer'")
    conn.commit()
    conn.close()
    window.open_run(1)
    page = window.detail_page
    qtbot.waitUntil(lambda: page.status is not None, timeout=10000)
    assert "VERIFICATION FAILED" in page.header.text()
    assert not page.review_button.isEnabled() and not page.approve_button.isEnabled()
