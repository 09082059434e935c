"""The run screen's live trends: temperature, pH, DO, CO2, line pressure and cell
density, with set-point and alarm-limit lines, the golden band of the recipe behind
them (docs/analytics.md §3) and a choice of window (10 min, 1 h, 1 day, whole run).

Memory stays bounded over a 14-day run: the last hours at full rate in a ring
(TrendBuffer), and the whole run as one min/max pair per process minute (MinuteEnvelope,
20 160 rows for 14 days). Plots redraw on a timer, only when new data came and only
while shown; clip-to-view and peak downsampling keep each redraw cheap.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from app.analytics.golden import GoldenBatch, band_on_run_time
from app.batch.alarms import AlarmDefinition, Kind
from app.store.historian import RunClock, Series
from app.ui import theme
from app.ui.band_items import MEDIAN_COLOUR, MEDIAN_Z, BandFill
from app.ui.plot_axes import MajorTicksAxis, ProcessTimeAxis
from app.ui.trends import TrendBuffer
from hardware.protocol import CHANNEL_BY_NAME, CHANNEL_INDEX

RUN_TRENDS = ("temp", "ph", "do", "co2", "pressure", "vcd")
SETPOINTS = {"temp": "temp_sp", "co2": "co2_sp"}
BUFFERED = (*RUN_TRENDS, *SETPOINTS.values())
WINDOWS = (("10 min", 10.0), ("1 h", 60.0), ("1 day", 1440.0), ("Whole run", None))
LIVE_CAPACITY = 200_000  # ~5.5 h at 10 Hz: the 10 min and 1 h windows at full rate
REDRAW_MS = 16  # a plot per tick: each of the six redrawn about 10 times a second
COLUMNS = 2
GAP_MIN = 30.0  # long windows: minutes without samples that still join the line
PLOTS_PER_TICK = 1  # six plots redrawn over six ticks (~10 Hz each): short paints


class ElidedLabel(QLabel):
    """One line that ends in "…" where the widget is too narrow (the whole text in its
    tooltip and accessible description); it never widens its layout."""

    def __init__(self) -> None:
        super().__init__("")
        self.full_text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self.setAccessibleDescription(text)
        self._elide()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width())
        elided = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, width)
        if elided != self.text():
            self.setText(elided)


class MinuteEnvelope:
    """Min and max of each channel per minute of process time, for long windows."""

    def __init__(self, channels: tuple[str, ...], capacity_min: int = 30 * 1440) -> None:
        self.columns = [CHANNEL_INDEX[name] for name in channels]
        self.low = np.full((capacity_min, len(channels)), np.nan)
        self.high = np.full((capacity_min, len(channels)), np.nan)
        self.last = -1  # highest minute with data
        self.clock = RunClock()

    def append(self, boot: np.ndarray, t_ms: np.ndarray, values: np.ndarray) -> None:
        run_ms = self.clock.convert(np.asarray(boot), np.asarray(t_ms, dtype=np.int64))
        minute = (run_ms // 60000).astype(np.int64)
        keep = (minute >= 0) & (minute < len(self.low))
        if not keep.any():
            return
        minute, y = minute[keep], values[keep][:, self.columns]
        for column in range(y.shape[1]):
            np.fmin.at(self.low[:, column], minute, y[:, column])
            np.fmax.at(self.high[:, column], minute, y[:, column])
        self.last = max(self.last, int(minute.max()))

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.last + 1
        return np.arange(n, dtype=float) + 0.5, self.low[:n], self.high[:n]


class RunTrends(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=False, background=theme.SURFACE, foreground=theme.TEXT)
        self.live = TrendBuffer(LIVE_CAPACITY, BUFFERED)
        self.envelope = MinuteEnvelope(BUFFERED)
        self.window_min: float | None = 10.0
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.lows: dict[str, pg.PlotDataItem] = {}
        self.setpoint_curves: dict[str, pg.PlotDataItem] = {}
        self.limit_lines: dict[str, list[pg.InfiniteLine]] = {name: [] for name in RUN_TRENDS}
        self.band_fills: dict[str, BandFill] = {}
        self.band_medians: dict[str, pg.PlotCurveItem] = {}
        self._band_key: tuple[GoldenBatch | None, tuple[float, ...]] = (None, ())
        self.redraws = 0
        self.setToolTip("x axis: process time (days, hours; hours:minutes in short windows)")
        root = QGridLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(8)
        root.addLayout(self._window_buttons(), 0, 0, 1, COLUMNS)
        axis_font = pg.QtGui.QFont()
        axis_font.setPixelSize(14)
        for index, name in enumerate(RUN_TRENDS):
            plot = self._plot(name, axis_font)
            root.addWidget(plot, 1 + index // COLUMNS, index % COLUMNS)
        self.band_caption = self._band_caption()
        root.addWidget(self.band_caption, 2 + (len(RUN_TRENDS) - 1) // COLUMNS, 0, 1, COLUMNS)
        self._dirty = False
        self._stale: list[str] = []  # plots still to redraw for the newest data
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(REDRAW_MS)

    def _window_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.window_group = QButtonGroup(self)
        for label, minutes in WINDOWS:
            button = QPushButton(label)
            button.setCheckable(True)
            button.setChecked(minutes == self.window_min)
            button.setAccessibleName(f"window {label}")
            button.clicked.connect(lambda _=False, m=minutes: self.set_window(m))
            self.window_group.addButton(button)
            row.addWidget(button)
        row.addStretch(1)
        return row

    def _band_caption(self) -> ElidedLabel:
        """What the shade is (the golden band's summary), one small muted line under the
        plots, cut with "…" where narrow; hidden without a band."""
        caption = ElidedLabel()
        caption.setAccessibleName("golden band")
        caption.setStyleSheet(f"color: {theme.MUTED}; font-size: 15px; background: transparent;")
        caption.hide()
        return caption

    def _plot(self, name: str, axis_font) -> pg.PlotWidget:
        channel = CHANNEL_BY_NAME[name]
        plot = pg.PlotWidget(
            axisItems={"bottom": ProcessTimeAxis(), "left": MajorTicksAxis("left")}
        )
        plot.setMinimumSize(210, 100)
        plot.setTitle(
            f"<span style='font-size:16px;font-weight:600'>{channel.label}</span>"
            f"<span style='font-size:14px'>  {channel.unit}</span>"
        )
        plot.showGrid(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTickFont(axis_font)
            plot.getAxis(axis).enableAutoSIPrefix(False)
        item = plot.getPlotItem()
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        # y range from what the window shows (the live data is cut to the window anyway;
        # the golden band runs over the whole run)
        item.getViewBox().setAutoVisible(y=True)
        colour = theme.TREND_COLOURS[name]
        # 1-px cosmetic pens: a wider pen costs 2-3x per frame in the raster engine
        # (segments) or far more (one wide polyline); measured in bench_run_screen
        self.curves[name] = plot.plot([], [], pen=pg.mkPen(colour, width=1))
        self.lows[name] = plot.plot([], [], pen=pg.mkPen(colour, width=1))  # long windows
        if name in SETPOINTS:
            # solid and thin: a dashed wide pen costs many times more to draw
            self.setpoint_curves[name] = plot.plot([], [], pen=pg.mkPen(theme.MUTED, width=1))
        self.plots[name] = plot
        return plot

    # ------------------------------------------------------------------ inputs
    def add_batch(self, boot: np.ndarray, t_ms: np.ndarray, values: np.ndarray) -> None:
        self.live.append(boot, t_ms, values)
        self.envelope.append(boot, t_ms, values)
        self._dirty = True

    def set_alarm_limits(self, definitions: list[AlarmDefinition] | tuple) -> None:
        """Dashed red lines at the high and low limits of the run's alarms. Deviation
        alarms move with their set-point, which is drawn itself; rate alarms have no
        line."""
        for name, lines in self.limit_lines.items():
            for line in lines:
                self.plots[name].removeItem(line)
            lines.clear()
        pen = pg.mkPen(theme.BAD, width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
        for d in definitions:
            if d.channel not in self.plots or d.kind not in (Kind.HIGH, Kind.LOW):
                continue
            line = pg.InfiniteLine(pos=d.limit, angle=0, pen=pen, label=d.tag)
            line.label.setColor(theme.BAD)
            self.plots[d.channel].addItem(line)
            self.limit_lines[d.channel].append(line)

    def set_band(
        self,
        golden: GoldenBatch | None,
        step_starts_s: tuple[float, ...] | list[float] = (),
        summary: str = "",
    ) -> None:
        """The golden band behind each plotted channel that has one, laid onto this
        run's time axis by its step starts so far (``band_on_run_time``); None clears it.
        Called with every run status: the band is rebuilt only when the golden batch
        (the same object while it is in force) or the step starts change, and the live
        redraws never touch it."""
        starts = tuple(float(t) for t in step_starts_s)
        if golden is None:
            starts = ()
        caption = ""
        if golden is not None:
            caption = f"Blue shading: {summary or f'golden band of {len(golden.run_names)} runs'}"
        if caption != self.band_caption.full_text:
            self.band_caption.set_full_text(caption)
            self.band_caption.setVisible(bool(caption))
        if golden is self._band_key[0] and starts == self._band_key[1]:
            return
        self._band_key = (golden, starts)
        for name, fill in self.band_fills.items():
            self.plots[name].removeItem(fill)
            self.plots[name].removeItem(self.band_medians[name])
        self.band_fills.clear()
        self.band_medians.clear()
        if golden is None:
            return
        median_pen = pg.mkPen(MEDIAN_COLOUR, width=1)
        for name in RUN_TRENDS:
            band = golden.bands.get(name)
            if band is None or not len(band.t_s):
                continue
            t_s, median, low, high = band_on_run_time(band, golden.reference_starts_s, starts)
            x = t_s / 60.0  # process minutes, as the live curves
            fill = BandFill(x, low, high)
            line = pg.PlotCurveItem(x, median, pen=median_pen, connect="finite")
            line.setZValue(MEDIAN_Z)
            plot = self.plots[name]
            plot.addItem(fill)  # counts for the y range (BandFill.dataBounds)
            plot.addItem(line, ignoreBounds=True)
            self.band_fills[name], self.band_medians[name] = fill, line

    def set_window(self, minutes: float | None) -> None:
        self.window_min = minutes
        for button in self.window_group.buttons():
            label = button.text()
            button.setChecked(dict(WINDOWS)[label] == minutes)
        self._dirty = True
        self.redraw()

    def clear(self) -> None:
        self.live = TrendBuffer(LIVE_CAPACITY, BUFFERED)
        self.envelope = MinuteEnvelope(BUFFERED)
        self._dirty = True

    def begin_run(self, clock: RunClock, history: Series | None) -> None:
        """Take up a run under way (a console restarted mid-run): its process clock, and
        its history so far from the historian into the whole-run envelope."""
        self.clear()
        self.live.clock = replace(clock)
        self.envelope.clock = replace(clock)
        if history is not None and len(history):
            minute = history.t_ms // 60000
            envelope = self.envelope
            keep = (minute >= 0) & (minute < len(envelope.low))
            for column, name in enumerate(BUFFERED):
                np.fmin.at(envelope.low[:, column], minute[keep], history.lo[name][keep])
                np.fmax.at(envelope.high[:, column], minute[keep], history.hi[name][keep])
            if keep.any():
                envelope.last = max(envelope.last, int(minute[keep].max()))
        self._dirty = True

    # ------------------------------------------------------------------ drawing
    def _tick(self) -> None:
        """New data is drawn a few plots per timer tick, never all six in one go: each
        tick's painting stays short, so the GUI thread answers touches at once."""
        if self._dirty and not self._stale:
            self._dirty = False
            self._stale = list(RUN_TRENDS)
        if self._stale and self.isVisible():
            now, self._stale = self._stale[:PLOTS_PER_TICK], self._stale[PLOTS_PER_TICK:]
            self._draw(now)

    def redraw(self) -> None:
        """Everything now (a window change, or a test)."""
        if not self._dirty or not self.isVisible():
            return
        self._dirty, self._stale = False, []
        self._draw(RUN_TRENDS)

    def _draw(self, names: list[str] | tuple[str, ...]) -> None:
        self.redraws += 1
        latest = self.live.newest()
        if latest is None:
            return
        window = self.window_min
        if window is not None and window <= 60.0:  # short windows at full rate
            lo = latest - window
            xs, ys = self.live.window(lo)  # that window only, not the whole ring
            lows = None
        else:
            mx, low, high = self.envelope.view()
            lo = 0.0 if window is None else latest - window
            start = int(np.searchsorted(mx, lo))
            xs, ys, lows = mx[start:], high[start:], low[start:]
        left = max(lo, float(xs[0]) if len(xs) else lo)
        for name in names:
            column = RUN_TRENDS.index(name)
            x = xs
            if lows is not None:
                # minutes without a sample (a simulator run fast, a link gap) are left out
                # rather than breaking the line into dots that draw nothing
                finite = np.isfinite(ys[:, column])
                x = xs[finite]
                joined = np.r_[np.diff(x) <= GAP_MIN, False]  # a real gap stays a gap
                self.curves[name].setData(x, ys[finite, column], connect=joined)
                self.lows[name].setData(x, lows[finite, column], connect=joined)  # min and max
            else:
                self.curves[name].setData(xs, ys[:, column], connect="all")
                self.lows[name].setData([], [], connect="all")
            if name in self.setpoint_curves:
                sp_column = BUFFERED.index(SETPOINTS[name])
                sp = ys[:, sp_column] if lows is None else ys[finite, sp_column]
                self.setpoint_curves[name].setData(x, sp)
            self.plots[name].setXRange(left, max(latest, left + 0.05), padding=0)
