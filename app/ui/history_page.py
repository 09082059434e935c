"""Every run on this workstation, newest first, filtered by a date range, state, batch
ID and who started it; a tap on a row opens the run's detail for review. With
"Compare…" on, taps choose runs instead (kept across filter changes, so runs found
by different filters can be compared) and "Compare N runs" opens them side by side;
the first run chosen is the reference when the comparison aligns by step."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.store.runs import RunFilter, list_runs
from app.ui.background import Background
from app.ui.date_range import DateRangeBar
from app.ui.dialogs import DialogHost, TextEntryDialog


class HistoryPage(DialogHost, QWidget):
    """The run list and its filters; queries run on the background thread."""

    open_run = Signal(int)
    compare_runs = Signal(list)  # run ids, the reference first
    COLUMNS = ("Run", "Batch", "Recipe", "State", "Started by", "Started (UTC)", "Ended (UTC)")
    STATES = ("All", "Running", "Held", "Complete", "Stopped", "Aborted")

    def __init__(self, db_path: Path, background: Background) -> None:
        super().__init__()
        self.db_path, self.background = db_path, background
        self.filter = RunFilter()
        self.picking = False
        self.picked: list[int] = []  # in the order tapped
        self._count_text = ""
        column = QVBoxLayout(self)
        top = QHBoxLayout()
        title = QLabel("Run history")
        title.setObjectName("PageTitle")
        top.addWidget(title, 1)
        self.pick_button = QPushButton("Compare…")
        self.pick_button.setCheckable(True)
        self.pick_button.setAccessibleName("choose runs to compare")
        self.pick_button.toggled.connect(self.set_picking)
        self.compare_button = QPushButton("Compare 0 runs")
        self.compare_button.setObjectName("Primary")
        self.compare_button.setAccessibleName("compare chosen runs")
        self.compare_button.clicked.connect(lambda: self.compare_runs.emit(list(self.picked)))
        self.compare_button.hide()
        top.addWidget(self.pick_button)
        top.addWidget(self.compare_button)
        column.addLayout(top)
        dates = QHBoxLayout()
        self.dates = DateRangeBar()
        self.dates.changed.connect(lambda since, until: self._set(since_utc=since, until_utc=until))
        dates.addWidget(self.dates)
        dates.addStretch(1)
        column.addLayout(dates)
        row = QHBoxLayout()
        self.state_group = QButtonGroup(self)
        for state in self.STATES:
            button = QPushButton(state)
            button.setCheckable(True)
            button.setChecked(state == "All")
            button.setAccessibleName(f"state {state}")
            button.clicked.connect(
                lambda _=False, s=state: self._set(state="" if s == "All" else s)
            )
            self.state_group.addButton(button)
            row.addWidget(button)
        row.addStretch(1)
        self.batch_button = QPushButton("Batch: any")
        self.batch_button.setAccessibleName("filter batch")
        self.batch_button.clicked.connect(lambda: self._ask("batch", "Batch ID contains"))
        self.operator_button = QPushButton("Started by: anyone")
        self.operator_button.setAccessibleName("filter operator")
        self.operator_button.clicked.connect(lambda: self._ask("operator", "Started by (name)"))
        row.addWidget(self.batch_button)
        row.addWidget(self.operator_button)
        column.addLayout(row)
        self.count = QLabel("")
        self.count.setObjectName("Hint")
        column.addWidget(self.count)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setDefaultSectionSize(60)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self._single_selection = self.table.selectionMode()
        self.table.cellClicked.connect(self._tapped)
        column.addWidget(self.table, 1)

    def _tapped(self, row: int, _column: int) -> None:
        """Open the run, or (choosing runs to compare) add or remove it."""
        run_id = int(self.table.item(row, 0).text())
        if not self.picking:
            self.open_run.emit(run_id)
            return
        if run_id in self.picked:
            self.picked.remove(run_id)
        else:
            self.picked.append(run_id)
        self._show_picked()

    def set_picking(self, on: bool) -> None:
        """Taps choose runs (on) or open one (off, the choice forgotten)."""
        self.picking, self.picked = on, []
        self.pick_button.setChecked(on)
        self.pick_button.setText("Stop comparing" if on else "Compare…")
        self.table.setSelectionMode(
            QAbstractItemView.SelectionMode.MultiSelection if on else self._single_selection
        )
        self.compare_button.setVisible(on)
        self._show_picked()

    def _show_picked(self) -> None:
        """The chosen runs selected in the table, the count and the Compare button."""
        model, selection = self.table.model(), self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in range(self.table.rowCount()):
            if int(self.table.item(row, 0).text()) in self.picked:
                selection.select(model.index(row, 0), flags)
        n = len(self.picked)
        self.compare_button.setText(f"Compare {n} runs")
        self.compare_button.setEnabled(n >= 2)
        extra = ""
        if self.picking:
            extra = f" · Tap the runs to compare ({n} chosen; the first is the reference)"
        self.count.setText(self._count_text + extra)

    def _ask(self, field: str, prompt: str) -> None:
        dialog = TextEntryDialog(prompt, f"{prompt} (clear the field for any)", parent=self)
        dialog.ok_button.setEnabled(True)  # an empty answer clears the filter
        self.open_dialog(dialog, lambda: self._set(**{field: dialog.text().strip()}))

    def _set(self, **changes: str) -> None:
        self.filter = replace(self.filter, **changes)
        self.batch_button.setText(f"Batch: {self.filter.batch or 'any'}")
        self.operator_button.setText(f"Started by: {self.filter.operator or 'anyone'}")
        self.reload()

    def reload(self) -> None:
        where = self.filter
        self.background.submit(lambda: list_runs(self.db_path, where=where), self._show)

    def _show(self, ok: bool, rows) -> None:
        if not ok:
            self.count.setText(f"The history cannot be read: {rows}")
            return
        if not rows:
            self._count_text = "No run on this workstation matches these filters."
        else:
            newest = " (the newest 500)" if len(rows) == 500 else ""
            self._count_text = f"{len(rows)} run(s){newest}"
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = (
                row.run_id,
                row.batch_id,
                row.recipe,
                row.state,
                row.operator,
                row.started_utc[:19],
                row.ended_utc[:19],
            )
            for c, value in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(str(value)))
        self._show_picked()
