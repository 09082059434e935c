"""Run-to-run comparison on screen (issue #9): a supervisor picks two runs on the History
page, opens the comparison, sees one curve a run, aligns them by step, sorts the
outcomes by a column, picks a run out on the plot, exports the table as CSV and goes
back to the history with the choice kept."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QPushButton

from app.console import Console, ConsoleOptions
from app.records import DEMO_PASSWORD
from app.ui import theme
from app.ui.compare_outcomes import ALARMS_COLUMN, COLUMNS
from app.ui.compare_plot import HIGHLIGHT_PX
from tests.unit.test_outcomes import make_growth_run

WAIT_MS = 15000


@pytest.fixture
def shell(qtbot, tmp_path):
    theme.apply(QApplication.instance())
    from app.gui import build_shell

    console = Console(ConsoleOptions(data_dir=str(tmp_path), demo=True))
    records = console.records
    runs = [
        make_growth_run(records, "B-FAST", 30.0),
        make_growth_run(records, "B-SLOW", 36.0, delay_h=6.0, alarm=True, seed=2),
        make_growth_run(records, "B-OTHER", 33.0, culture_h=48.0, seed=3),
    ]
    window = build_shell(console, console.create_controller())
    qtbot.addWidget(window)
    console.start()
    window.resize(1280, 800)
    window.show()
    window._signed_in(console.records.users.login("supervisor", DEMO_PASSWORD))
    yield window, runs
    window.close()
    console.stop()


def tap_row(qtbot, table, row: int) -> None:
    centre = table.visualRect(table.model().index(row, 1)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=centre)


def tap_header(qtbot, table, column: int) -> None:
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 20))


def curve_ends(page) -> list[float]:
    return [float(curve.getData()[0][-1]) for curve in page.curves.values()]


def test_pick_two_runs_compare_align_sort_and_export(qtbot, shell):
    window, (fast, slow, _other) = shell
    window.show_page("history")
    history = window.history_page
    qtbot.waitUntil(lambda: history.table.rowCount() == 3, timeout=WAIT_MS)
    batches = [history.table.item(r, 1).text() for r in range(3)]

    tap_row(qtbot, history.table, batches.index("B-FAST"))  # not picking: opens the detail
    assert window.stack.currentWidget() is window.detail_page
    window.show_page("history")
    qtbot.waitUntil(lambda: history.table.rowCount() == 3, timeout=WAIT_MS)

    qtbot.mouseClick(history.pick_button, Qt.MouseButton.LeftButton)
    assert history.compare_button.isVisible() and not history.compare_button.isEnabled()
    for batch in ("B-FAST", "B-OTHER", "B-SLOW"):
        tap_row(qtbot, history.table, batches.index(batch))
    tap_row(qtbot, history.table, batches.index("B-OTHER"))  # changed my mind
    assert history.picked == [fast.run_id, slow.run_id]
    assert len(history.table.selectionModel().selectedRows()) == 2
    assert history.compare_button.text() == "Compare 2 runs"
    assert window.stack.currentWidget() is history  # choosing opened nothing

    qtbot.mouseClick(history.compare_button, Qt.MouseButton.LeftButton)
    page = window.compare_page
    assert window.stack.currentWidget() is page
    qtbot.waitUntil(lambda: len(page.curves) == 2 and page.table.rowCount() == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT_MS)
    assert page.message.text().startswith("2 runs compared.")
    assert [item.text for _, item in page.legend.items] == ["B-FAST", "B-SLOW"]
    ends = curve_ends(page)  # hours: the slow run's Activate took 6 h longer
    assert ends[1] - ends[0] == pytest.approx(6.0, abs=0.1)

    qtbot.mouseClick(page.align_buttons["step"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.comparison.align == "step" and not page.busy, timeout=WAIT_MS)
    ends = curve_ends(page)
    assert ends[1] == pytest.approx(ends[0], abs=0.1)
    assert page.plot.getAxis("bottom").labelText.startswith("process time on the steps of B-FAST")

    fold = COLUMNS.index("Fold exp.")  # the slow run grew less
    tap_header(qtbot, page.table, fold)
    assert page.shown_order() == [slow.run_id, fast.run_id]
    tap_header(qtbot, page.table, fold)
    assert page.shown_order() == [fast.run_id, slow.run_id]
    values = [page.table.item(r, fold).data(Qt.ItemDataRole.UserRole) for r in range(2)]
    assert values[0] > values[1] > 5  # sorted as numbers, not as text
    assert page.table.item(1, ALARMS_COLUMN).text() == "1"  # the slow run's alarm

    tap_row(qtbot, page.table, 1)  # picks the slow run out on the plot
    assert page.curves[slow.run_id].opts["pen"].widthF() == HIGHLIGHT_PX

    qtbot.mouseClick(page.channel_buttons["fold_expansion"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: page.comparison.channel == "fold_expansion" and not page.busy, timeout=WAIT_MS
    )
    assert page.plot.getAxis("left").logMode and len(page.curves) == 2

    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.last_export is not None and not page.busy, timeout=WAIT_MS)
    path = page.last_export
    assert path.parent == window.parts.records.path.parent / "exports"
    assert path.name.startswith("comparison-") and path.suffix == ".csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# CellDeck run comparison")
    rows = list(csv.DictReader(lines[1:]))
    assert [r["batch_id"] for r in rows] == ["B-FAST", "B-SLOW"]  # the order shown
    assert str(path) in page.message.text()

    for button in page.findChildren(QPushButton):
        assert button.height() >= theme.MIN_TOUCH_PX, button.text()
    assert page.table.horizontalHeader().height() >= theme.MIN_TOUCH_PX
    assert page.table.rowHeight(0) >= theme.MIN_TOUCH_PX
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800

    back = next(b for b in page.findChildren(QPushButton) if b.text() == "◀ History")
    qtbot.mouseClick(back, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is history
    qtbot.waitUntil(lambda: history.table.rowCount() == 3, timeout=WAIT_MS)
    assert history.picked == [fast.run_id, slow.run_id]  # the choice is kept
    qtbot.mouseClick(history.pick_button, Qt.MouseButton.LeftButton)
    assert not history.picking and not history.compare_button.isVisible()
