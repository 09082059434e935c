"""Review on screen: open a completed simulated run from the history, see its
exceptions, sign (reviewed, approved) and export PDF and CSV; a tampered trail says
so on the screen."""

import sqlite3
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from app.console import Console, ConsoleOptions
from app.records import DEMO_PASSWORD
from app.store.signatures import Meaning
from app.ui import theme
from app.ui.run_detail import AT_MS
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


def test_timeline_events_move_the_trends_and_a_second_run_overlays(qtbot, shell):
    window, console = shell
    complete_demo_run(console.data_dir, "B-REVIEW-2", "--sim-fault", "stuck-temp=39")
    window.open_run(2)
    page = window.detail_page
    qtbot.waitUntil(lambda: page.timeline is not None, timeout=15000)
    trends = page.trends
    numbers = [s.number for s in page.timeline.steps]
    assert numbers == list(range(1, 9))  # every step of Demo on the timeline
    starts = [s.start_ms for s in page.timeline.steps]
    assert starts == sorted(starts) and page.timeline.last_ms > 0

    alarm = next(
        i
        for i in range(page.exceptions.count())
        if page.exceptions.item(i).text().startswith("ALARM")
    )
    item = page.exceptions.item(alarm)
    at = item.data(AT_MS)
    assert at is not None and 0 <= at <= page.timeline.last_ms
    page.exceptions.itemClicked.emit(item)
    x0, x1 = trends.first_plot.viewRange()[0]
    assert x0 <= at / trends.scale_ms <= x1
    assert trends.markers[0].isVisible() and trends.markers[0].value() == at / trends.scale_ms

    wash = next(s for s in page.timeline.steps if s.name == "Wash")
    centre = (wash.start_ms + wash.end_ms) / 2 / trends.scale_ms
    scene = trends.timeline.vb.mapViewToScene(QPointF(centre, 0.5))
    with qtbot.waitSignal(trends.step_tapped) as tapped:
        trends._clicked(SimpleNamespace(scenePos=lambda: scene))
    assert tapped.args == [wash.number]
    x0, x1 = trends.first_plot.viewRange()[0]
    assert x0 * trends.scale_ms < wash.start_ms < wash.end_ms < x1 * trends.scale_ms
    trends.show_span(wash.start_ms, wash.start_ms + 60_000)  # a minute: read again, finer
    narrower = lambda: trends.queried[1] - trends.queried[0] < trends.last_ms  # noqa: E731
    qtbot.waitUntil(narrower, timeout=5000)

    page.compare_button.click()
    picker = page.dialog
    qtbot.waitUntil(lambda: len(picker.choices) == 1, timeout=5000)  # run 1, not itself
    with qtbot.waitSignal(page.drawn, timeout=5000):
        picker.choices[0].click()
    high, _ = trends.compare_curves["temp"]
    assert len(high.getData()[0]) > 0
    assert page.compare_button.text() == "Compared: Batch B-REVIEW · run 1"
