"""Live trends of temperature, pH, DO and line pressure.

Samples go into bounded numpy ring buffers as batches arrive; the plots redraw on a
timer (never per sample), with clip-to-view and peak downsampling, as in pyqtgraph's
scrollingPlots example. The x axis is process time in minutes, continuous across a
firmware reset (whose clock restarts at zero), by the same RunClock the historian uses.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGridLayout, QWidget

from app.store.historian import RunClock
from app.ui import theme
from hardware.protocol import CHANNEL_BY_NAME, CHANNEL_INDEX

TREND_CHANNELS: tuple[str, ...] = ("temp", "ph", "do", "pressure")
CAPACITY = 100_000  # samples kept per channel (2.7 h at 10 Hz)
WINDOW_MIN = 10.0
REDRAW_MS = 66  # 15 Hz


class TrendBuffer:
    """Fixed-size ring of (x minutes, value per trend channel)."""

    def __init__(self, capacity: int = CAPACITY, channels: tuple[str, ...] = TREND_CHANNELS):
        self.capacity = capacity
        self.columns = [CHANNEL_INDEX[name] for name in channels]
        self.x = np.zeros(capacity)
        self.y = np.zeros((capacity, len(channels)))
        self.count = 0  # total ever written
        self.clock = RunClock()
        self._newest = -(2**62)

    def append(self, boot: np.ndarray, t_ms: np.ndarray, values: np.ndarray) -> None:
        """Add a batch. Process time comes from the historian's RunClock (continuous
        across firmware resets); samples older than the newest drawn (history read
        back into a hole) are left to the historian: a live trend only moves forward."""
        run_ms = self.clock.convert(np.asarray(boot), np.asarray(t_ms, dtype=np.int64))
        newer = run_ms > self._newest
        if not newer.any():
            return
        run_ms, values = run_ms[newer], values[newer]
        order = np.argsort(run_ms, kind="stable")
        x = run_ms[order] / 60000.0
        y = values[order][:, self.columns]
        self._newest = int(run_ms.max())
        n = len(x)
        if n >= self.capacity:
            x, y, n = x[-self.capacity :], y[-self.capacity :], self.capacity
        start = self.count % self.capacity
        first = min(n, self.capacity - start)
        self.x[start : start + first] = x[:first]
        self.y[start : start + first] = y[:first]
        self.x[: n - first] = x[first:]
        self.y[: n - first] = y[first:]
        self.count += n

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        """Samples in time order (copies, safe to hand to the plots)."""
        if self.count <= self.capacity:
            return self.x[: self.count].copy(), self.y[: self.count].copy()
        start = self.count % self.capacity
        order = np.r_[start : self.capacity, 0:start]
        return self.x[order], self.y[order]


class TrendPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=False, background=theme.SURFACE, foreground=theme.TEXT)
        self.buffer = TrendBuffer()
        self.window_min = WINDOW_MIN
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.plots: dict[str, pg.PlotWidget] = {}
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        axis_font = pg.QtGui.QFont()
        axis_font.setPixelSize(15)
        for index, name in enumerate(TREND_CHANNELS):
            channel = CHANNEL_BY_NAME[name]
            plot = pg.PlotWidget()
            plot.setTitle(
                f"<span style='font-size:18px;font-weight:600'>{channel.label}</span>"
                f"<span style='font-size:16px'>  ({channel.unit})</span>"
            )
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTickFont(axis_font)
                plot.getAxis(axis).enableAutoSIPrefix(False)  # no "(x0.001)" on minutes
            plot.setLabel("bottom", "process time (min)")
            item = plot.getPlotItem()
            item.setClipToView(True)
            item.setDownsampling(auto=True, mode="peak")
            pen = pg.mkPen(theme.TREND_COLOURS[name], width=2)
            self.curves[name] = plot.plot([], [], pen=pen)
            self.plots[name] = plot
            layout.addWidget(plot, index // 2, index % 2)
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.redraw)
        self._timer.start(REDRAW_MS)

    def add_batch(self, boot: np.ndarray, t_ms: np.ndarray, values: np.ndarray) -> None:
        self.buffer.append(boot, t_ms, values)
        self._dirty = True

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        x, y = self.buffer.view()
        if not len(x):
            return
        latest = x[-1]
        lo = latest - self.window_min
        start = int(np.searchsorted(x, lo))
        xs = x[start:]
        for column, name in enumerate(TREND_CHANNELS):
            self.curves[name].setData(xs, y[start:, column])
            self.plots[name].setXRange(max(lo, x[0]), max(latest, x[0] + 0.05), padding=0)
