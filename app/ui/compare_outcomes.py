"""The outcome table of the compare page (app/ui/compare_page.py): one row a run
(duration, fold expansion, doubling time, final dose, alarms, exceptions or band
deviations), sorted by tapping a column's header, numbers as numbers.

The Batch column carries each run's line sample (``compare_plot.line_sample``), so it
doubles as the legend when many runs crowd the plot's; a tapped row picks its run out
(``selected_runs``). Rows arrive one run at a time (``add_row``)."""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from app.review.outcomes import RunOutcome
from app.ui import theme
from app.ui.compare_plot import line_sample

ROW_PX = theme.MIN_TOUCH_PX
SORT_ROLE = Qt.ItemDataRole.UserRole  # a number cell's value
RUN_ROLE = Qt.ItemDataRole.UserRole + 1  # the run id, on the Batch cell
COLUMNS = (
    "Batch",
    "State",
    "Duration (h)",
    "Fold exp.",
    "Doubling (h)",
    "Final cells",
    "Alarms",
    "Exceptions",
)
ALARMS_COLUMN, DEVIATIONS_COLUMN = 6, 7
BAND_COLUMN_TITLE = "Deviations"  # the last column's title while a band counts


def format_number(value: float, kind: str) -> str:
    """A table cell's text; "—" where there is no estimate or the culture never grew."""
    if math.isnan(value) or math.isinf(value):
        return "—"
    if kind == "cells":
        exponent = math.floor(math.log10(abs(value))) if value else 0
        return f"{value / 10**exponent:.2f}e{exponent}"
    if kind == "hours":
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if kind == "fold":
        return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"
    return f"{value:g}"


class NumberItem(QTableWidgetItem):
    """A number shown formatted and sorted by its value; cells without one ("—") go
    last whichever way the column is sorted."""

    def __init__(self, value: float, text: str) -> None:
        super().__init__(text)
        self.setData(SORT_ROLE, float(value))
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if a is None or b is None:
            return super().__lt__(other)
        table = self.tableWidget()
        descending = (
            table is not None
            and table.horizontalHeader().sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
        )
        missing = -math.inf if descending else math.inf
        a = missing if math.isnan(a) else a
        b = missing if math.isnan(b) else b
        return a < b


class OutcomeTable(QTableWidget):
    """Rows of 60 px under a 60 px header (a tap on a title sorts: a touch target too);
    taps select whole rows, several at once."""

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setAccessibleName("outcomes")
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(ROW_PX)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setWordWrap(False)
        self.setIconSize(QSize(36, 20))
        self.setMinimumHeight(ROW_PX * 4 + 4)  # the header and three runs at least
        header = self.horizontalHeader()
        header.setFixedHeight(ROW_PX)
        # every column as wide as its contents (scrolled sideways rather than cut off);
        # room to spare goes to the batch (see fit_columns)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the order asked for
        self.setSortingEnabled(True)

    def clear_rows(self) -> None:
        """No rows, and none sorted until the next one comes."""
        self.setSortingEnabled(False)
        self.setRowCount(0)

    def count_deviations(self, from_band: bool) -> None:
        """The last column's title: deviations from a band, or the record's exceptions."""
        self.horizontalHeaderItem(DEVIATIONS_COLUMN).setText(
            BAND_COLUMN_TITLE if from_band else "Exceptions"
        )

    def add_row(self, o: RunOutcome, index: int, twice: bool) -> None:
        """A run's row: ``index`` is its place among the runs compared (its line's
        colour), ``twice`` that its batch was run twice (the run id is then shown)."""
        self.setSortingEnabled(False)  # rows are filled unsorted, then sorted once
        row = self.rowCount()
        self.insertRow(row)
        batch = QTableWidgetItem(f"{o.batch_id} (run {o.run_id})" if twice else o.batch_id)
        batch.setData(RUN_ROLE, o.run_id)
        batch.setIcon(line_sample(index))
        batch.setToolTip(f"run {o.run_id} · {o.recipe} · started {o.started_utc[:19]} UTC")
        cells = (
            batch,
            QTableWidgetItem(o.state),
            NumberItem(o.duration_h, format_number(o.duration_h, "hours")),
            NumberItem(o.fold_expansion, format_number(o.fold_expansion, "fold")),
            NumberItem(o.doubling_h, format_number(o.doubling_h, "hours")),
            NumberItem(o.final_cells, format_number(o.final_cells, "cells")),
            NumberItem(o.alarms, str(o.alarms)),
            NumberItem(o.deviations, str(o.deviations)),
        )
        for column, item in enumerate(cells):
            band_deviations = o.deviations_from == "golden band" and o.deviations
            if (o.alarms and column == ALARMS_COLUMN) or (
                band_deviations and column == DEVIATIONS_COLUMN
            ):
                item.setForeground(QColor(theme.BAD))  # a run outside: red as an alarm
            self.setItem(row, column, item)
        self.setSortingEnabled(True)  # sorts by the column chosen, if one is
        self.fit_columns()

    def fit_columns(self) -> None:
        """The Batch column takes the room the others leave, but never less than its
        contents (a stretched column would cut batch IDs short on a narrow screen)."""
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        room = self.viewport().width()
        scroll = self.verticalScrollBar()
        if not scroll.isVisible():  # the row just added may bring it, narrowing the room
            room -= scroll.sizeHint().width()
        if header.length() < room:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def selected_runs(self) -> set[int]:
        rows = {index.row() for index in self.selectionModel().selectedRows()}
        return {int(self.item(row, 0).data(RUN_ROLE)) for row in rows}

    def shown_order(self) -> list[int]:
        """Run ids in the table's order as shown (sorted or not)."""
        return [int(self.item(row, 0).data(RUN_ROLE)) for row in range(self.rowCount())]
