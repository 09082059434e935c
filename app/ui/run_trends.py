"""The run screen's live trends: temperature, pH, DO, CO2, line pressure and cell
density, with set-point and alarm-limit lines and a choice of window (10 min, 1 h,
1 day, whole run).

Memory stays bounded over a 14-day run: the last hours at full rate in a ring
(TrendBuffer), and the whole run as one min/max pair per process minute (MinuteEnvelope,
20 160 rows for 14 days). Plots redraw on a timer, only when new data came and only
while shown; clip-to-view and peak downsampling keep each redraw cheap.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QHBoxLayout, QPushButton, QWidget

from app.batch.alarms import AlarmDefinition, Kind
from app.store.historian import RunClock, Series
from app.ui import theme
from app.ui.trends import TrendBuffer
from hardware.protocol import CHANNEL_BY_NAME, CHANNEL_INDEX

RUN_TRENDS = ("temp", "ph", "do", "co2", "pressure", "vcd")
SETPOINTS = {"temp": "temp_sp", "co2": "co2_sp"}
BUFFERED = (*RUN_TRENDS, *SETPOINTS.values())
WINDOWS = (("10 min", 10.0), ("1 h", 60.0), ("1 day", 1440.0), ("Whole run", None))
LIVE_CAPACITY = 200_000  # ~5.5 h at 10 Hz: the 10 min and 1 h windows at full rate
REDRAW_MS = 16  # a plot per tick: each of the six redrawn about 10 times a second
COLUMNS = 2
PLOTS_PER_TICK = 1  # six plots redrawn over six ticks (~10 Hz each): short paints


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
        self.redraws = 0
        self.setToolTip("x axis: process time in minutes")
        root = QGridLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(8)
        root.addLayout(self._window_buttons(), 0, 0, 1, COLUMNS)
        axis_font = pg.QtGui.QFont()
        axis_font.setPixelSize(14)
        for index, name in enumerate(RUN_TRENDS):
            plot = self._plot(name, axis_font)
            root.addWidget(plot, 1 + index // COLUMNS, index % COLUMNS)
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

    def _plot(self, name: str, axis_font) -> pg.PlotWidget:
        channel = CHANNEL_BY_NAME[name]
        plot = pg.PlotWidget()
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
        x, y = self.live.view()
        if not len(x):
            return
        latest = x[-1]
        window = self.window_min
        if window is not None and window <= 60.0:  # short windows at full rate
            lo = latest - window
            start = int(np.searchsorted(x, lo))
            xs, ys, lows = x[start:], y[start:], None
        else:
            mx, low, high = self.envelope.view()
            lo = 0.0 if window is None else latest - window
            start = int(np.searchsorted(mx, lo))
            xs, ys, lows = mx[start:], high[start:], low[start:]
        left = max(lo, float(xs[0]) if len(xs) else lo)
        for name in names:
            column = RUN_TRENDS.index(name)
            self.curves[name].setData(xs, ys[:, column])
            if lows is not None:  # long windows: the band between each minute's min and max
                self.lows[name].setData(xs, lows[:, column])
            else:
                self.lows[name].setData([], [])
            if name in self.setpoint_curves:
                sp_column = BUFFERED.index(SETPOINTS[name])
                self.setpoint_curves[name].setData(xs, ys[:, sp_column])
            self.plots[name].setXRange(left, max(latest, left + 0.05), padding=0)
