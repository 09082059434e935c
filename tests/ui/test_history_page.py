"""The history page filters runs by state, batch ID and who started them."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.ui.background import Background
from app.ui.shell import HistoryPage
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
