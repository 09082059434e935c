"""Run-to-run comparison for review (issue #9): any number of runs overlaid on one plot,
by elapsed time or aligned by step, one colour a run, and below it the table of their
outcomes (duration, fold expansion, doubling time, final dose, alarms, exceptions or
band deviations), sorted by tapping a column's header and exported as CSV.

When the runs share one recipe version, its golden band in force (app/store/golden.py)
is read first: the table then counts each run's stretches outside it, its summary line
says which band that is, and the band is drawn behind the curves of the channels it
covers. A supervisor (``golden.select``) makes the compared runs, or all approved runs
of that version, the new band: a reason and a signature ("approved"), then
app/review/golden_select.py builds and stores it on the background thread.

Everything read goes through app/review on the background thread; a reply for a
selection or a chip no longer shown is dropped. Colours are the Okabe-Ito set
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

from app.analytics import MIN_GOLDEN_RUNS, WARN_AFTER_S, GoldenBatch, band_on_run_time
from app.analytics.channels import channel_label
from app.records import Records
from app.review.golden_select import (
    BandState,
    band_state,
    candidates,
    check_selection,
    select_golden,
)
from app.review.outcomes import (
    Comparison,
    RunOutcome,
    comparison_series,
    run_outcomes,
    write_outcomes_csv,
)
from app.store.golden import GoldenRecord
from app.store.security import Permission, allowed
from app.store.signing import golden_request
from app.store.users import Session
from app.ui import theme
from app.ui.background import Background
from app.ui.band_items import (
    BAND_FILL_ALPHA,
    BAND_MEDIAN_ALPHA,
    MEDIAN_Z,
    BandFill,
    band_colour,
)
from app.ui.dialogs import DialogHost
from app.ui.golden_dialog import ask_reason_and_signature
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
AXIS_STYLE = {"color": theme.TEXT, "font-size": "14pt"}
BAND_COLUMN_TITLE = "Deviations"  # the last column's title while a band counts
WARN_AFTER_H = WARN_AFTER_S / 3600.0  # a deviation: this long outside the band
# The band drawn behind a channel: the compare page's channel -> the band's channel (the
# fold expansion chip draws the band of log10 fold expansion on its log axis).
BAND_OF = {"temp": "temp", "ph": "ph", "do": "do", "vcd": "vcd", "fold_expansion": "log10_fold"}


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
    """``load(run_ids)``: the first run is the reference of the step alignment.

    ``records`` and ``session`` (the signed-in user) are needed only to choose a golden
    band; without them the page compares and shows the band in force, nothing more."""

    back = Signal()
    drawn = Signal()  # the plot shows a comparison (after a load or a chip)
    outcomes_shown = Signal()
    exported = Signal(object)  # the CSV file's path
    band_known = Signal()  # the band in force for the runs compared was read (or none)
    golden_chosen = Signal(object)  # the GoldenRecord just stored

    def __init__(
        self,
        db_path: Path,
        background: Background,
        export_folder: Path | None = None,
        records: Records | None = None,
        session: Callable[[], Session | None] | None = None,
    ) -> None:
        super().__init__()
        self.db_path, self.background = db_path, background
        self.records, self.session = records, session or (lambda: None)
        self.export_folder = export_folder or db_path.parent / "exports"
        # the band in force for the runs' recipe version (read with every load):
        # deviations are counted against it, and it is drawn behind the curves
        self.golden: GoldenBatch | None = None
        self.band: BandState | None = None
        self._band_items: list[Any] = []
        self._choosing = False  # a golden band is being checked, built or stored
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
        self._scale = 3600.0  # the x axis's seconds per unit (hours, or minutes)
        # the band's legend sample: a pale square with the median's line (never plotted)
        self._band_sample = pg.BarGraphItem(
            x=[], height=[], width=1.0, brush=band_colour(BAND_FILL_ALPHA), pen=self._median_pen()
        )
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
        column.addLayout(self._band_row())
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

    def _band_row(self) -> QHBoxLayout:
        """The band in force (or why there is none) and what choosing one said, beside
        the supervisor's two buttons to choose a band."""
        row = QHBoxLayout()
        row.setSpacing(6)
        text = QVBoxLayout()
        text.setSpacing(2)
        self.band_label = QLabel("")
        self.band_label.setObjectName("Hint")
        self.band_label.setWordWrap(True)
        self.band_label.setAccessibleName("golden band")
        self.golden_message = QLabel("")
        self.golden_message.setObjectName("Hint")
        self.golden_message.setWordWrap(True)
        self.golden_message.setAccessibleName("golden band message")
        self.golden_message.hide()
        text.addWidget(self.band_label)
        text.addWidget(self.golden_message)
        row.addLayout(text, 1)
        self.golden_button = QPushButton("Use as golden band…")
        self.golden_button.setAccessibleName("use as golden band")
        self.golden_button.clicked.connect(self.choose_golden)
        self.all_golden_button = QPushButton("Use all approved runs…")
        self.all_golden_button.setAccessibleName("use all approved runs")
        self.all_golden_button.clicked.connect(self.choose_all_golden)
        for button in (self.golden_button, self.all_golden_button):
            button.setMinimumHeight(theme.MIN_TOUCH_PX)  # hidden ones too (never laid out)
            button.hide()
            row.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
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

    def load(self, run_ids: Sequence[int], keep_golden_message: bool = False) -> None:
        """Compare ``run_ids``: the plot first (milliseconds), then the outcomes one run
        at a time, each asked for when the one before is in (a 10-day run's growth
        kinetics take about a second): rows appear as they come, and a chip tapped
        meanwhile waits for one run on the background thread, not for all."""
        self.run_ids = list(run_ids)
        self._generation += 1
        generation = self._generation
        self.outcomes, self._failed, self.comparison = [], 0, None
        self.golden, self.band = None, None
        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        self.export_button.setEnabled(False)
        self._hint("Reading the runs and working out their growth…")
        self.band_label.setText("Looking for the golden band of these runs…")
        if not keep_golden_message:
            self._golden_note("")
        self._golden_buttons()
        self._query_series()
        # the band first (milliseconds): the outcomes count deviations from it
        db, records, ids = self.db_path, self.records, list(self.run_ids)
        self._submit(
            lambda: band_state(db, records, ids),
            lambda ok, value: self._band_read(generation, ok, value),
        )

    def _band_read(self, generation: int, ok: bool, value: Any) -> None:
        if generation != self._generation:
            return  # another selection is shown now
        if ok:
            self.band, self.golden = value, value.golden
        else:
            self.band_label.setText(f"The golden band cannot be read: {plain_sentence(value)}")
        self.table.horizontalHeaderItem(DEVIATIONS_COLUMN).setText(
            "Exceptions" if self.golden is None else BAND_COLUMN_TITLE
        )
        self._golden_buttons()
        self._draw_band()
        if self.comparison is not None:  # drawn before the band was known: range again
            self.plot.enableAutoRange()
            self._y_range(self.comparison)
        self.band_known.emit()
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
        scale = 3600.0 if longest > 3 * 3600.0 else 60.0  # hours, or minutes for short runs
        self._scale = scale
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
        plot.setLabel("left", f"{label} ({units})" if units else label, **AXIS_STYLE)
        self._draw_band()
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

    @staticmethod
    def _median_pen() -> QPen:
        return pg.mkPen(band_colour(BAND_MEDIAN_ALPHA), width=2, style=Qt.PenStyle.DashLine)

    def band_channel(self) -> str | None:
        """The band drawn behind the plot now (its channel), or None."""
        comparison, golden = self.comparison, self.golden
        if comparison is None or golden is None:
            return None
        name = BAND_OF.get(comparison.channel)
        band = golden.bands.get(name) if name else None
        return name if band is not None and len(band.t_s) else None

    def _draw_band(self) -> None:
        """The band in force behind the curves (a pale fill from low to high and its
        median dashed), on the axis the curves are on: by step, laid onto the reference
        run's step starts (``band_on_run_time``); by elapsed time, on the band's own
        reference time (its runs' median step starts), which the x axis says."""
        plot = self.plot
        for item in self._band_items:
            plot.removeItem(item)
        self._band_items = []
        if self._band_sample in [sample.item for sample, _ in self.legend.items]:
            self.legend.removeItem(self._band_sample)
        self._band_text()
        self._x_label()
        name = self.band_channel()
        comparison, golden = self.comparison, self.golden
        if name is None or comparison is None or golden is None:
            return
        band = golden.bands[name]
        if comparison.align == "step" and comparison.reference_starts_s:
            t_s, median, low, high = band_on_run_time(
                band, golden.reference_starts_s, comparison.reference_starts_s
            )
        else:
            t_s = band.t_s + golden.bucket_s / 2.0
            median, low, high = band.median, band.low, band.high
        # log10_fold is already on the log axis's scale (its view holds log10 values)
        x = np.asarray(t_s, dtype=float) / self._scale
        fill = BandFill(x, low, high)
        line = pg.PlotCurveItem(x, median, pen=self._median_pen(), connect="finite")
        line.setZValue(MEDIAN_Z)
        plot.addItem(fill)  # counts for the y range where the x range shows it
        plot.addItem(line, ignoreBounds=True)
        self._band_items = [fill, line]
        self.legend.addItem(self._band_sample, "golden band")

    def _x_label(self) -> None:
        """Whose time the x axis is; by elapsed time, that the band is on its own (the
        median step starts of its runs), which By step lines up with the first run's."""
        comparison = self.comparison
        if comparison is None:
            return
        unit = "h" if self._scale == 3600.0 else "min"
        if comparison.align == "step" and comparison.curves:
            where = f"process time on the steps of {comparison.curves[0].batch_id} ({unit})"
        else:
            where = f"elapsed process time ({unit})"
            if self.band_channel() is not None:
                where += " · band on its runs' median step times"
        self.plot.setLabel("bottom", where, **AXIS_STYLE)

    def _band_text(self) -> None:
        """The line under the table: which band counts (or why none does), what a
        deviation is, and a channel the band does not cover."""
        state = self.band
        if state is None:
            return  # still reading (the loading line stays), or it failed (the error)
        line = state.line()
        comparison = self.comparison
        if state.golden is not None:
            line += f" {BAND_COLUMN_TITLE}: {WARN_AFTER_H:g} h or more outside it."
            if comparison is not None and self.band_channel() is None:
                line += f" No band for {channel_label(comparison.channel)[0].lower()}."
        if self._may_choose() and len(self.run_ids) < MIN_GOLDEN_RUNS:
            line += f" Compare at least {MIN_GOLDEN_RUNS} runs to make them a golden band."
        self.band_label.setText(line)

    def _y_range(self, comparison: Comparison) -> None:
        """Log ticks for growth; a least span for the process channels (the band's
        edges included: a band as wide as the least span must still show them)."""
        finite = [c.values[np.isfinite(c.values)] for c in comparison.curves]
        name = self.band_channel()
        if name is not None and comparison.channel not in LOG_Y and self.golden is not None:
            band = self.golden.bands[name]
            edges = np.concatenate([band.low, band.high])
            finite.append(edges[np.isfinite(edges)])
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
            band_deviations = o.deviations_from == "golden band" and o.deviations
            if (o.alarms and column == ALARMS_COLUMN) or (
                band_deviations and column == DEVIATIONS_COLUMN
            ):
                item.setForeground(QColor(theme.BAD))  # a run outside: red as an alarm
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
        table = self.table
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        room = table.viewport().width()
        scroll = table.verticalScrollBar()
        if not scroll.isVisible():  # the row just added may bring it, narrowing the room
            room -= scroll.sizeHint().width()
        if header.length() < room:
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

    # ------------------------------------------------------------------ golden band
    def _may_choose(self) -> bool:
        """The signed-in user may choose golden bands (the service checks again)."""
        session = self.session()
        return (
            self.records is not None
            and session is not None
            and not session.locked
            and allowed(session.role, Permission.GOLDEN_SELECT)
        )

    def _golden_buttons(self) -> None:
        """Shown to those who may choose a band; enabled once the band in force is known
        (from three runs compared, or for all approved runs of their version)."""
        may = self._may_choose()
        for button in (self.golden_button, self.all_golden_button):
            button.setVisible(may)
        ready = may and not self._choosing and self.band is not None
        self.golden_button.setEnabled(ready and len(self.run_ids) >= MIN_GOLDEN_RUNS)
        self.all_golden_button.setEnabled(
            ready and self.band is not None and self.band.recipe_id is not None
        )

    def choose_golden(self) -> None:
        """The runs compared as the band of their recipe version: checked first (each
        complete, approved, of one version), then a reason and the signature."""
        if not self.golden_button.isEnabled():
            return
        records, ids = self.records, list(self.run_ids)
        batches = dict(zip(self.run_ids, self._batches(), strict=False))
        names = [batches.get(run_id, f"run {run_id}") for run_id in ids]

        def check() -> tuple[list[int], str]:
            assert records is not None
            check_selection(records, ids)
            return ids, f"Make {_and(names)} the golden band of {{recipe}}: why?"

        self._prepare(check, f"Checking that the {len(ids)} runs may make a golden band…")

    def choose_all_golden(self) -> None:
        """Every complete, approved run of the compared runs' recipe version."""
        state = self.band
        if not self.all_golden_button.isEnabled() or state is None:
            return
        records, recipe_id = self.records, state.recipe_id

        def find() -> tuple[list[int], str]:
            assert records is not None and recipe_id is not None
            found = candidates(records, recipe_id)
            if len(found) < MIN_GOLDEN_RUNS:
                raise ValueError(
                    f"{state.recipe} has {len(found)} complete, approved "
                    f"run{'' if len(found) == 1 else 's'}: a golden band needs at least "
                    f"{MIN_GOLDEN_RUNS}"
                )
            ids = [c.run_id for c in found]
            return ids, f"Make all {len(ids)} approved runs of {{recipe}} the golden band: why?"

        self._prepare(find, f"Finding the approved runs of {state.recipe}…")

    def _prepare(self, job: Callable[[], tuple[list[int], str]], doing: str) -> None:
        self._choosing = True
        self._golden_buttons()
        self._golden_note(doing)
        generation = self._generation
        self._submit(job, lambda ok, value: self._ask_why(generation, ok, value))

    def _ask_why(self, generation: int, ok: bool, value: Any) -> None:
        self._choosing = False
        self._golden_buttons()
        if generation != self._generation:
            self._golden_note("")
            return  # other runs are compared now: they were not what was checked
        session = self.session()
        if not ok:
            self._golden_note(plain_sentence(value), error=True)
            return
        if session is None or self.band is None:
            self._golden_note("")
            return
        ids, question = value
        recipe = self.band.recipe
        self._golden_note("")  # the dialogs say what is signed (cancelled: nothing to say)
        request = golden_request(recipe, ids)  # what the dialog shows is what is stored
        ask_reason_and_signature(
            self,
            question.format(recipe=recipe),
            request,
            session,
            lambda reason, password, user: self._select(
                ids, reason, password, user, request.statement
            ),
        )

    def _select(
        self, ids: list[int], reason: str, password: str, username: str | None, statement: str = ""
    ) -> None:
        records, session = self.records, self.session()
        if records is None or session is None:
            return
        self._choosing = True
        self._golden_buttons()
        self._golden_note(f"Building the band of runs {_runs(ids)} and signing…")
        self._submit(
            lambda: select_golden(records, session, password, ids, reason, username, statement),
            self._selected,
        )

    def _selected(self, ok: bool, value: Any) -> None:
        self._choosing = False
        if not ok:
            self._golden_buttons()
            self._golden_note(f"No band stored: {plain_sentence(value)}", error=True)
            return
        record: GoldenRecord = value
        self._golden_note(f"Golden band stored, signed (approved) by {record.user_name}.")
        self.golden_chosen.emit(record)
        if self.run_ids:
            self.load(self.run_ids, keep_golden_message=True)  # the new band counts

    def _golden_note(self, text: str, error: bool = False) -> None:
        set_message(self.golden_message, text, error=error)
        self.golden_message.setVisible(bool(text))

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


def _runs(run_ids: Sequence[int]) -> str:
    return ", ".join(str(r) for r in run_ids)


def _and(names: Sequence[str]) -> str:
    """'B-1, B-2 and B-3'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
