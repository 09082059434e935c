"""The comparison plot of the compare page (app/ui/compare_page.py): one curve a run, by
elapsed time or aligned by step, the golden band in force drawn behind the channels it
covers, and the legend beside the plot.

It draws what the page hands it (a ``Comparison`` from app/review/outcomes.py and the
band's ``GoldenBatch``, or None) and reads nothing itself. Colours are the Okabe-Ito set
(told apart with the common colour-vision deficiencies); past seven runs the colours
repeat dashed, then dotted. ``line_sample`` gives the outcome table the same line."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy

from app.analytics import GoldenBatch, band_on_run_time
from app.analytics.channels import channel_label
from app.review.outcomes import Comparison
from app.ui import theme
from app.ui.band_items import (
    BAND_FILL_ALPHA,
    BAND_MEDIAN_ALPHA,
    MEDIAN_Z,
    BandFill,
    band_colour,
)

LOG_Y = ("total_cells", "fold_expansion")  # growth: a straight line when exponential
# The narrowest y range shown: a run's sensor noise must not look like a deviation.
MIN_SPAN = {"temp": 1.0, "ph": 0.2, "do": 10.0}
LEGEND_ROWS = 7  # runs a legend column holds before it adds another
RUN_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINE_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine)
PEN_PX, HIGHLIGHT_PX, DIMMED_PX = 3, 6, 2
AXIS_STYLE = {"color": theme.TEXT, "font-size": "14pt"}
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


def band_channel(comparison: Comparison | None, golden: GoldenBatch | None) -> str | None:
    """The band drawn behind the plot for ``comparison`` (its channel), or None."""
    if comparison is None or golden is None:
        return None
    name = BAND_OF.get(comparison.channel)
    band = golden.bands.get(name) if name else None
    return name if band is not None and len(band.t_s) else None


def median_pen() -> QPen:
    return pg.mkPen(band_colour(BAND_MEDIAN_ALPHA), width=2, style=Qt.PenStyle.DashLine)


class ComparisonPlot(pg.GraphicsLayoutWidget):
    """The plot, and its legend beside it (inside, it hid the runs' ends).

    ``curves`` (run id -> its curve) are those of the comparison drawn last."""

    def __init__(self) -> None:
        super().__init__()
        self.curves: dict[int, pg.PlotDataItem] = {}
        self.band_items: list[Any] = []
        self._markers: list[pg.InfiniteLine] = []
        self._scale = 3600.0  # the x axis's seconds per unit (hours, or minutes)
        # the band's legend sample: a pale square with the median's line (never plotted)
        self._band_sample = pg.BarGraphItem(
            x=[], height=[], width=1.0, brush=band_colour(BAND_FILL_ALPHA), pen=median_pen()
        )
        self.setBackground(theme.SURFACE)
        self.setMinimumHeight(200)
        plot = self.plot = self.addPlot(row=0, col=0)
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
        self.addItem(self.legend, row=0, col=1)
        self.ci.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignTop)

    def draw(self, comparison: Comparison, golden: GoldenBatch | None) -> None:
        """One curve a run (its batch ID in the legend), by step the reference run's step
        starts dashed, the band behind, and the axes fitted."""
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
        self.draw_band(comparison, golden)
        self.fit(comparison, golden)

    def draw_band(self, comparison: Comparison | None, golden: GoldenBatch | None) -> None:
        """The band in force behind the curves (a pale fill from low to high and its
        median dashed), on the axis the curves are on: by step, laid onto the reference
        run's step starts (``band_on_run_time``); by elapsed time, on the band's own
        reference time (its runs' median step starts), which the x axis says."""
        plot = self.plot
        for item in self.band_items:
            plot.removeItem(item)
        self.band_items = []
        if self._band_sample in [sample.item for sample, _ in self.legend.items]:
            self.legend.removeItem(self._band_sample)
        self._x_label(comparison, golden)
        name = band_channel(comparison, golden)
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
        line = pg.PlotCurveItem(x, median, pen=median_pen(), connect="finite")
        line.setZValue(MEDIAN_Z)
        plot.addItem(fill)  # counts for the y range where the x range shows it
        plot.addItem(line, ignoreBounds=True)
        self.band_items = [fill, line]
        self.legend.addItem(self._band_sample, "golden band")

    def _x_label(self, comparison: Comparison | None, golden: GoldenBatch | None) -> None:
        """Whose time the x axis is; by elapsed time, that the band is on its own (the
        median step starts of its runs), which By step lines up with the first run's."""
        if comparison is None:
            return
        unit = "h" if self._scale == 3600.0 else "min"
        if comparison.align == "step" and comparison.curves:
            where = f"process time on the steps of {comparison.curves[0].batch_id} ({unit})"
        else:
            where = f"elapsed process time ({unit})"
            if band_channel(comparison, golden) is not None:
                where += " · band on its runs' median step times"
        self.plot.setLabel("bottom", where, **AXIS_STYLE)

    def fit(self, comparison: Comparison, golden: GoldenBatch | None) -> None:
        """The view on everything drawn again, then the y axis (``_y_range``)."""
        self.plot.enableAutoRange()
        self._y_range(comparison, golden)

    def _y_range(self, comparison: Comparison, golden: GoldenBatch | None) -> None:
        """Log ticks for growth; a least span for the process channels (the band's
        edges included: a band as wide as the least span must still show them)."""
        finite = [c.values[np.isfinite(c.values)] for c in comparison.curves]
        name = band_channel(comparison, golden)
        if name is not None and comparison.channel not in LOG_Y and golden is not None:
            band = golden.bands[name]
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

    def highlight(self, run_ids: Sequence[int], chosen: Collection[int]) -> None:
        """The ``chosen`` runs stand out (thicker, in front), the others thinner; with
        none chosen, every run as drawn. ``run_ids`` in the order compared (colours)."""
        for index, run_id in enumerate(run_ids):
            curve = self.curves.get(run_id)
            if curve is None:
                continue
            width = HIGHLIGHT_PX if run_id in chosen else DIMMED_PX if chosen else PEN_PX
            curve.setPen(run_pen(index, width))
            curve.setZValue(1 if run_id in chosen else 0)
