"""Run-to-run comparison for review (issue #9): any number of runs overlaid on one plot,
by elapsed time or aligned by step, one colour a run, and below it the table of their
outcomes (duration, fold expansion, doubling time, final dose, alarms, exceptions or
band deviations), sorted by tapping a column's header and exported as CSV.

Everything read goes through app/review/outcomes.py on the background thread; a reply
for a selection or a chip no longer shown is dropped. Colours are the Okabe-Ito set
(told apart with the common colour-vision deficiencies); past seven runs the colours
repeat dashed, then dotted. The table's Batch column carries each run's line sample,
so it doubles as the legend when many runs crowd the plot's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.analytics import GoldenBatch
from app.review.outcomes import (
    Comparison,
    RunOutcome,
    channel_label,
    comparison_series,
    run_outcomes,
    write_outcomes_csv,
)
from app.ui import theme
from app.ui.background import Background
from app.ui.dialogs import DialogHost
from app.ui.page_kit import plain_sentence, set_message

# Short chip labels: every control fits one row at 1280 px, leaving the height to the
# plot and the table; the plot's axis title names the channel in full.
CHANNELS = (
    ("temp", "Temp."),
    ("ph", "pH"),
    ("do", "DO"),
    ("vcd", "Density"),
    ("total_cells", "Cells"),
    ("fold_expansion", "Fold"),
)
ALIGNMENTS = (("elapsed", "Elapsed"), ("step", "By step"))
LOG_Y = ("total_cells", "fold_expansion")  # growth: a straight line when exponential
# The narrowest y range shown: a run's sensor noise must not look like a deviation.
MIN_SPAN = {"temp": 1.0, "ph": 0.2, "do": 10.0}
LEGEND_ROWS = 7  # runs a legend column holds before it adds another
RUN_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINE_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine)
PEN_PX, HIGHLIGHT_PX, DIMMED_PX = 3, 6, 2
POINTS = 600  # per run from the historian (300 bucket means: curves, not sensor noise)
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


def run_pen(index: int, width: float = PEN_PX) -> QPen:
    """The index-th run's pen: seven colours, solid, then dashed, then dotted."""
    pen = pg.mkPen(RUN_COLOURS[index % len(RUN_COLOURS)], width=width)
    pen.setStyle(LINE_STYLES[(index // len(RUN_COLOURS)) % len(LINE_STYLES)])
    return pen


def line_sample(index: int) -> QIcon:
    """A short stretch of the run's line, for its row in the table."""
    pixmap = QPixmap(36, 20)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    pen = QPen(run_pen(index))
    pen.setCosmetic(False)
    pen.setWidth(5)
    painter.setPen(pen)
    painter.drawLine(2, 10, 34, 10)
    painter.end()
    return QIcon(pixmap)


def log_ticks(low: float, high: float, cells: bool) -> list[tuple[float, str]]:
    """1-2-5 ticks from ``low`` to ``high`` (> 0) at log10 positions (the axis's in log
    mode): pyqtgraph's own label every minor decade step and print them over each other."""
    ticks = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if low <= value <= high:
                text = f"{mantissa}e{exponent}" if cells else f"{value:g}"
                ticks.append((math.log10(value), text))
    return ticks


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


class ComparePage(DialogHost, QWidget):
    """``load(run_ids)``: the first run is the reference of the step alignment."""

    back = Signal()
    drawn = Signal()  # the plot shows a comparison (after a load or a chip)
    outcomes_shown = Signal()
    exported = Signal(object)  # the CSV file's path

    def __init__(
        self,
        db_path: Path,
        background: Background,
        export_folder: Path | None = None,
        golden: GoldenBatch | None = None,
    ) -> None:
        super().__init__()
        self.db_path, self.background = db_path, background
        self.export_folder = export_folder or db_path.parent / "exports"
        self.golden = golden  # deviations counted against its band when set
        self.run_ids: list[int] = []
        self.outcomes: list[RunOutcome] = []
        self.comparison: Comparison | None = None
        self.channel, self.align = CHANNELS[0][0], ALIGNMENTS[0][0]
        self.last_export: Path | None = None
        self._generation = 0  # bumped per load: older outcomes are dropped
        self._asked = 0  # bumped per plot query: older series are dropped
        self._pending = 0
        self._failed = 0  # runs whose outcomes could not be read (this load)
        self.curves: dict[int, pg.PlotDataItem] = {}
        self._markers: list[pg.InfiniteLine] = []
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        column.addLayout(self._controls())
        column.addWidget(self._plot(), 3)
        column.addWidget(self._table(), 2)
        self.message = QLabel("")
        self.message.setObjectName("Hint")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("message")
        column.addWidget(self.message)

    # ------------------------------------------------------------------ building
    def _controls(self) -> QHBoxLayout:
        """Back, the channel chips, the alignment chips and export: one row."""
        row = QHBoxLayout()
        row.setSpacing(6)
        back = QPushButton("◀ History")
        back.setAccessibleName("back to history")
        back.clicked.connect(self.back)
        row.addWidget(back)
        row.addSpacing(10)
        self.channel_buttons = self._chips(CHANNELS, self.channel, "channel", self._set_channel)
        for button in self.channel_buttons.values():
            row.addWidget(button)
        row.addStretch(1)
        self.align_buttons = self._chips(ALIGNMENTS, self.align, "align", self._set_align)
        for button in self.align_buttons.values():
            row.addWidget(button)
        row.addSpacing(10)
        self.export_button = QPushButton("Export CSV")
        self.export_button.setAccessibleName("export csv")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_csv)
        row.addWidget(self.export_button)
        return row

    def _chips(
        self,
        choices: Sequence[tuple[str, str]],
        current: str,
        name: str,
        slot: Callable[[str], None],
    ) -> dict[str, QPushButton]:
        group = QButtonGroup(self)
        buttons = {}
        for key, label in choices:
            button = QPushButton(label)
            button.setCheckable(True)
            button.setChecked(key == current)
            button.setAccessibleName(f"{name} {key}")
            button.clicked.connect(lambda _=False, k=key: slot(k))
            group.addButton(button)
            buttons[key] = button
        return buttons

    def _plot(self) -> pg.GraphicsLayoutWidget:
        """The plot, and its legend beside it (inside, it hid the runs' ends)."""
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setBackground(theme.SURFACE)
        self.plot_widget.setMinimumHeight(200)
        plot = self.plot = self.plot_widget.addPlot(row=0, col=0)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=True, y=False)
        plot.showGrid(x=True, y=True, alpha=0.2)
        font = QFont("DejaVu Sans")
        font.setPixelSize(16)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setStyle(tickFont=font)
            axis.setTextPen(theme.TEXT)
            axis.setPen(theme.MUTED)
        plot.getAxis("left").setWidth(84)
        self.legend = pg.LegendItem(labelTextSize="14pt", labelTextColor=theme.TEXT)
        fixed = QSizePolicy.Policy.Fixed  # as tall as its runs, not spread over the plot's
        self.legend.setSizePolicy(QSizePolicy(QSizePolicy.Policy.Preferred, fixed))
        self.plot_widget.addItem(self.legend, row=0, col=1)
        self.plot_widget.ci.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignTop)
        return self.plot_widget

    def _table(self) -> QTableWidget:
        table = self.table = QTableWidget(0, len(COLUMNS))
        table.setAccessibleName("outcomes")
        table.setHorizontalHeaderLabels(list(COLUMNS))
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(ROW_PX)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setWordWrap(False)
        table.setIconSize(QSize(36, 20))
        table.setMinimumHeight(ROW_PX * 4 + 4)  # the header and three runs at least
        header = table.horizontalHeader()
        header.setFixedHeight(ROW_PX)  # a tap on a header sorts: a touch target too
        # every column as wide as its contents (scrolled sideways rather than cut off);
        # room to spare goes to the batch (see _fit_columns)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the order asked for
        table.setSortingEnabled(True)
        table.itemSelectionChanged.connect(self._highlight)
        return table

    # ------------------------------------------------------------------ loading
    @property
    def busy(self) -> bool:
        return self._pending > 0

    def _submit(self, job: Callable[[], Any], done: Callable[[bool, Any], None]) -> None:
        self._pending += 1

        def answered(ok: bool, value: Any) -> None:
            self._pending -= 1
            done(ok, value)

        self.background.submit(job, answered)

    def reload(self) -> None:
        if self.run_ids:
            self.load(self.run_ids)

    def load(self, run_ids: Sequence[int]) -> None:
        """Compare ``run_ids``: the plot first (milliseconds), then the outcomes one run
        at a time, each asked for when the one before is in (a 10-day run's growth
        kinetics take about a second): rows appear as they come, and a chip tapped
        meanwhile waits for one run on the background thread, not for all."""
        self.run_ids = list(run_ids)
        self._generation += 1
        generation = self._generation
        self.outcomes, self._failed, self.comparison = [], 0, None
        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        self.table.horizontalHeaderItem(DEVIATIONS_COLUMN).setText(
            "Exceptions" if self.golden is None else "Deviations"
        )
        self.export_button.setEnabled(False)
        self._hint("Reading the runs and working out their growth…")
        self._query_series()
        self._next_outcome(generation)

    def _next_outcome(self, generation: int) -> None:
        done = len(self.outcomes) + self._failed
        if generation != self._generation or done >= len(self.run_ids):
            return
        db, golden, run_id = self.db_path, self.golden, self.run_ids[done]
        self._submit(
            lambda: run_outcomes(db, [run_id], golden)[0],
            lambda ok, value: self._add_outcome(generation, run_id, ok, value),
        )

    def _set_channel(self, channel: str) -> None:
        self.channel = channel
        self._query_series()

    def _set_align(self, align: str) -> None:
        self.align = align
        self._query_series()

    def _query_series(self) -> None:
        if not self.run_ids:
            return
        self._asked += 1
        asked = self._asked
        db, ids, channel, align = self.db_path, list(self.run_ids), self.channel, self.align
        self._submit(
            lambda: comparison_series(db, ids, channel, align, POINTS),
            lambda ok, value: self._draw(asked, ok, value),
        )

    # ------------------------------------------------------------------ the plot
    def _draw(self, asked: int, ok: bool, comparison: Any) -> None:
        if asked != self._asked:
            return  # a chip was tapped since: its own reply comes
        if not ok:
            self._error(f"The runs cannot be read: {plain_sentence(comparison)}")
            return
        self.comparison = comparison
        plot = self.plot
        for curve in self.curves.values():
            plot.removeItem(curve)
        for marker in self._markers:
            plot.removeItem(marker)
        self.legend.clear()
        self.curves, self._markers = {}, []
        longest = max((c.t_s[-1] for c in comparison.curves if len(c.t_s)), default=0.0)
        scale, unit = (3600.0, "h") if longest > 3 * 3600.0 else (60.0, "min")
        log_y = comparison.channel in LOG_Y
        if log_y != plot.getAxis("left").logMode:
            plot.setYRange(0.0, 1.0, padding=0)  # a linear range read as exponents overflows
            plot.setLogMode(x=False, y=log_y)
        names = [c.batch_id for c in comparison.curves]
        for index, curve in enumerate(comparison.curves):
            name = curve.batch_id
            if names.count(curve.batch_id) > 1:  # the same batch run twice
                name = f"{curve.batch_id} (run {curve.run_id})"
            values = curve.values
            if comparison.channel in LOG_Y:
                values = np.where(values > 0, values, np.nan)
            item = plot.plot(curve.t_s / scale, values, pen=run_pen(index), connect="finite")
            self.legend.addItem(item, name)
            self.curves[curve.run_id] = item
        if comparison.align == "step":
            for start in sorted(set(comparison.reference_starts_s)):
                marker = pg.InfiniteLine(
                    start / scale,
                    angle=90,
                    pen=pg.mkPen(theme.MUTED, width=1, style=Qt.PenStyle.DashLine),
                )
                marker.setZValue(-10)
                plot.addItem(marker)
                self._markers.append(marker)
        self.legend.setColumnCount(max(1, math.ceil(len(self.curves) / LEGEND_ROWS)))
        label, units = channel_label(comparison.channel)
        style = {"color": theme.TEXT, "font-size": "14pt"}
        plot.setLabel("left", f"{label} ({units})" if units else label, **style)
        if comparison.align == "step" and comparison.curves:
            where = f"process time on the steps of {comparison.curves[0].batch_id} ({unit})"
        else:
            where = f"elapsed process time ({unit})"
        plot.setLabel("bottom", where, **style)
        plot.enableAutoRange()
        self._y_range(comparison)
        self._highlight()
        empty = [c.batch_id for c in comparison.curves if not len(c.t_s)]
        notes = [comparison.note] if comparison.note else []
        if empty and comparison.channel in LOG_Y:
            notes.append(
                f"No {label.lower()} for {', '.join(empty)}: growth needs at least 4 h of"
                " cell density readings."
            )
        elif empty:
            notes.append(f"No {label.lower()} data for {', '.join(empty)}.")
        if notes:
            self._hint(" ".join(notes))
        elif self.outcomes:
            self._hint(self._tap_hint())
        self.drawn.emit()

    def _y_range(self, comparison: Comparison) -> None:
        """Log ticks for growth; a least span for the process channels."""
        finite = [c.values[np.isfinite(c.values)] for c in comparison.curves]
        values = np.concatenate(finite) if finite else np.empty(0)
        axis = self.plot.getAxis("left")
        channel = comparison.channel
        if channel in LOG_Y:
            values = values[values > 0]
            if not len(values):  # pyqtgraph would label every minor step of an empty decade
                axis.setTicks([log_ticks(1.0, 10.0, cells=False)])
                return
            # ticks a little past the data: the view is padded, and 1 must show at seeding
            ticks = log_ticks(values.min() / 1.5, values.max() * 1.5, channel == "total_cells")
            axis.setTicks([ticks] if len(ticks) >= 2 else None)
            return
        axis.setTicks(None)
        span = MIN_SPAN.get(channel)
        if span is None or not len(values) or np.ptp(values) >= span:
            return
        middle = (values.min() + values.max()) / 2
        self.plot.setYRange(middle - span / 2, middle + span / 2, padding=0.05)

    def _highlight(self) -> None:
        """Runs tapped in the table stand out on the plot (thicker, in front)."""
        chosen = self.selected_runs()
        for index, run_id in enumerate(self.run_ids):
            curve = self.curves.get(run_id)
            if curve is None:
                continue
            width = HIGHLIGHT_PX if run_id in chosen else DIMMED_PX if chosen else PEN_PX
            curve.setPen(run_pen(index, width))
            curve.setZValue(1 if run_id in chosen else 0)

    def selected_runs(self) -> set[int]:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return {int(self.table.item(row, 0).data(RUN_ROLE)) for row in rows}

    # ------------------------------------------------------------------ the table
    def _add_outcome(self, generation: int, run_id: int, ok: bool, outcome: Any) -> None:
        if generation != self._generation:
            return  # another selection is shown now
        if not ok:
            self._failed += 1
            self._error(f"The outcomes of run {run_id} cannot be read: {plain_sentence(outcome)}")
        else:
            self.outcomes.append(outcome)
            self._add_row(outcome)
        if len(self.outcomes) + self._failed < len(self.run_ids):
            self._next_outcome(generation)
            return
        self.export_button.setEnabled(bool(self.outcomes))
        if not self._failed and not (self.comparison and self.comparison.note):
            self._hint(self._tap_hint())
        self.outcomes_shown.emit()

    def _add_row(self, o: RunOutcome) -> None:
        table = self.table
        table.setSortingEnabled(False)  # rows are filled unsorted, then sorted once
        row = table.rowCount()
        table.insertRow(row)
        twice = sum(r == o.batch_id for r in self._batches()) > 1  # the same batch run twice
        batch = QTableWidgetItem(f"{o.batch_id} (run {o.run_id})" if twice else o.batch_id)
        batch.setData(RUN_ROLE, o.run_id)
        batch.setIcon(line_sample(self.run_ids.index(o.run_id)))
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
            if o.alarms and column == ALARMS_COLUMN:
                item.setForeground(QColor(theme.BAD))
            table.setItem(row, column, item)
        table.setSortingEnabled(True)  # sorts by the column chosen, if one is
        self._fit_columns()

    def _batches(self) -> list[str]:
        """The batch IDs of the runs compared (known once the plot has them)."""
        if self.comparison is not None:
            return [c.batch_id for c in self.comparison.curves]
        return [o.batch_id for o in self.outcomes]

    def _fit_columns(self) -> None:
        """The Batch column takes the room the others leave, but never less than its
        contents (a stretched column would cut batch IDs short on a narrow screen)."""
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        if header.length() < self.table.viewport().width():
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _tap_hint(self) -> str:
        return (
            f"{len(self.run_ids)} runs compared. Tap a run to pick it out on the plot; "
            "tap a column's title to sort by it."
        )

    def shown_order(self) -> list[int]:
        """Run ids in the table's order as shown (sorted or not)."""
        return [int(self.table.item(row, 0).data(RUN_ROLE)) for row in range(self.table.rowCount())]

    # ------------------------------------------------------------------ export
    def export_csv(self) -> None:
        """The outcomes, in the order shown, to <data folder>/exports/comparison-<UTC>.csv
        (a new file each time)."""
        if not self.outcomes:
            return
        by_id = {o.run_id: o for o in self.outcomes}
        outcomes = [by_id[run_id] for run_id in self.shown_order() if run_id in by_id]
        folder = self.export_folder
        self.export_button.setEnabled(False)
        self._hint("Writing the CSV file…")

        def write() -> Path:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            path, n = folder / f"comparison-{stamp}.csv", 2
            while path.exists():  # two exports in one second: never overwrite a copy
                path, n = folder / f"comparison-{stamp}-{n}.csv", n + 1
            write_outcomes_csv(outcomes, path)
            return path

        self._submit(write, self._exported)

    def _exported(self, ok: bool, value: Any) -> None:
        self.export_button.setEnabled(bool(self.outcomes))
        if not ok:
            self._error(f"The CSV file was not written: {plain_sentence(value)}")
            return
        self.last_export = value
        self._hint(f"Wrote the outcomes of {len(self.outcomes)} runs to {value}.")
        self.exported.emit(value)

    # ------------------------------------------------------------------ messages
    def _hint(self, text: str) -> None:
        set_message(self.message, text, error=False)

    def _error(self, text: str) -> None:
        set_message(self.message, text, error=True)
