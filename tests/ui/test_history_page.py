"""The history page filters runs by state, batch ID and who started them."""

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.ui.background import Background
from app.ui.history_page import HistoryPage
from tests.benchmarks import bench_review


def test_history_filters_by_state_batch_and_operator(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(bench_review, "RUNS", 40)
    db = bench_review.build(tmp_path)
    background = Background()
    page = HistoryPage(db, background)
    qtbot.addWidget(page)
    page.show()
    page.reload()
    qtbot.waitUntil(lambda: page.table.rowCount() == 40, timeout=5000)
    assert page.table.item(0, 1).text() == "B-00040"  # newest first
    aborted = next(
        b for b in page.findChildren(QPushButton) if b.accessibleName() == "state Aborted"
    )
    qtbot.mouseClick(aborted, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.rowCount() == 8, timeout=5000)  # every fifth run
    assert {page.table.item(r, 3).text() for r in range(8)} == {"Aborted"}
    page._set(operator="Bob")
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=5000)
    assert {page.table.item(r, 4).text() for r in range(2)} == {"Bob Operator"}
    page._set(state="", operator="", batch="0007")
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=5000)
    assert page.count.text() == "1 run(s)" and page.batch_button.text() == "Batch: 0007"
    background.close()


def _started(n: int) -> str:
    """When bench_review.build says run n started (its formula)."""
    return f"2026-{1 + n % 12:02d}-{1 + (n * 7) % 28:02d}"


def test_history_filters_by_date_range_chips_and_typed_dates(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(bench_review, "RUNS", 40)
    db = bench_review.build(tmp_path)
    background = Background()
    page = HistoryPage(db, background)
    qtbot.addWidget(page)
    page.show()
    page.dates.today = lambda: date(2026, 3, 20)
    page.reload()
    qtbot.waitUntil(lambda: page.table.rowCount() == 40, timeout=5000)
    week = [n for n in range(1, 41) if "2026-03-14" <= _started(n) <= "2026-03-20"]
    assert week  # the range holds some runs, not all
    qtbot.mouseClick(page.dates.buttons["7 days"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.rowCount() == len(week), timeout=5000)
    assert page.filter.since_utc == "2026-03-14" and page.filter.until_utc == "2026-03-21"

    qtbot.mouseClick(page.dates.custom, Qt.MouseButton.LeftButton)
    first = page.dates.dialog
    first.line_edit.setText("2026-02-30")  # no such day: OK stays off
    assert not first.ok_button.isEnabled()
    first.line_edit.setText("2026-06-01")
    qtbot.mouseClick(first.ok_button, Qt.MouseButton.LeftButton)
    last = page.dates.dialog
    last.line_edit.setText("2026-04-01")  # given the wrong way round: still a range
    qtbot.mouseClick(last.ok_button, Qt.MouseButton.LeftButton)
    spring = [n for n in range(1, 41) if "2026-04-01" <= _started(n) <= "2026-06-01"]
    qtbot.waitUntil(lambda: page.table.rowCount() == len(spring), timeout=5000)
    assert page.dates.custom.text() == "2026-04-01 – 2026-06-01"
    shown = {page.table.item(r, 5).text()[:10] for r in range(len(spring))}
    assert shown == {_started(n) for n in spring}

    qtbot.mouseClick(page.dates.custom, Qt.MouseButton.LeftButton)
    page.dates.dialog.reject()  # cancelled: the range in force stays, and its chip lit
    assert page.dates.custom.isChecked() and page.filter.since_utc == "2026-04-01"
    qtbot.mouseClick(page.dates.buttons["All time"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.rowCount() == 40, timeout=5000)
    background.close()
