"""Whole-run trends for review: four plots with the step timeline aligned under them,
a marker that moves to any event the reviewer taps, and a second run overlaid for
comparison.

The view picks the level: whenever the visible range settles, that range is read again
from the historian at ``POINTS`` buckets (min and max per bucket, so extremes never
vanish), down to raw samples when zoomed in far enough. Queries run on the background
thread; a reply for an earlier run's load is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.review.timeline import RunTimeline, StepSpan
from app.store.historian import Series, query_run
from app.ui import theme
from app.ui.background import Background
from app.ui.plot_axes import MajorTicksAxis
from hardware.protocol import CHANNEL_BY_NAME

DETAIL_TRENDS = ("temp", "ph", "do", "pressure")
POINTS = 1600  # buckets per channel for the visible range (min and max per bucket)
SETTLE_MS = 120  # a zoom or pan is read again once the range has been still this long
STEP_BRUSHES = ("#C9D3E3", "#A9B9D1")
COMPARE_COLOUR = "#6B7280"
TIMELINE_PX = 72


class ReviewTrends(QWidget):
    drawn = Signal()  # curves got data from a query (whole run, zoom or comparison)
    step_tapped = Signal(int)  # a step of the timeline was tapped (its number)

    def __init__(self, db_path: Path, background: Background) -> None:
        super().__init__()
        self.db_path, self.background = db_path, background
        self.run_id: int | None = None
        self.compare_id: int | None = None
        self.scale_ms = 60_000.0  # the x axis: minutes for short runs, hours for long
        self.last_ms = 0.0
        self.queried = (0.0, 0.0)  # the process-time span the curves were last read for
        self.steps: list[StepSpan] = []
        self.exception_ms: list[int] = []  # where the review's exceptions are, for ticks
        self.level = ""
        self._generation = 0  # bumped per load; older replies are dropped
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(theme.SURFACE)
        column.addWidget(self.plots)
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.compare_curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.markers: list[pg.InfiniteLine] = []
        self.first_plot: pg.PlotItem | None = None
        for row, name in enumerate(DETAIL_TRENDS):
            self._add_trend(row, name)
        self.timeline = self._add_timeline(len(DETAIL_TRENDS))
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.timeout.connect(self._requery)
        self.first_plot.sigXRangeChanged.connect(self._range_changed)

    # ------------------------------------------------------------------ building
    def _add_trend(self, row: int, name: str) -> None:
        channel = CHANNEL_BY_NAME[name]
        plot = self.plots.addPlot(row=row, col=0, axisItems={"left": MajorTicksAxis("left")})
        plot.setTitle(f"{channel.label} ({channel.unit})", color=theme.TEXT, size="13pt")
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=True, y=False)
        plot.hideButtons()
        plot.hideAxis("bottom")  # the timeline's axis below serves all (and paints once)
        plot.getAxis("left").setWidth(64)
        if self.first_plot is None:
            self.first_plot = plot
        else:
            plot.setXLink(self.first_plot)
        colour = theme.TREND_COLOURS[name]
        compare = pg.mkPen(COMPARE_COLOUR, width=1)
        self.compare_curves[name] = (plot.plot([], [], pen=compare), plot.plot([], [], pen=compare))
        pen = pg.mkPen(colour, width=1)
        self.curves[name] = (plot.plot([], [], pen=pen), plot.plot([], [], pen=pen))
        marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.BAD, width=2))
        marker.hide()
        plot.addItem(marker)
        self.markers.append(marker)

    def _add_timeline(self, row: int) -> pg.PlotItem:
        plot = self.plots.addPlot(row=row, col=0)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=True, y=False)
        plot.hideButtons()
        plot.setXLink(self.first_plot)
        plot.setYRange(0, 1, padding=0)
        plot.getAxis("left").setWidth(64)
        plot.getAxis("left").setStyle(showValues=False)
        plot.getAxis("left").setTicks([])
        plot.setLabel("left", "Steps", color=theme.TEXT)
        plot.setMaximumHeight(TIMELINE_PX + 40)
        plot.setMinimumHeight(TIMELINE_PX + 40)
        self.step_bars = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], brushes=[])
        plot.addItem(self.step_bars)
        self.step_labels: list[pg.TextItem] = []
        self.exception_ticks = pg.ScatterPlotItem(
            symbol="t", size=14, brush=pg.mkBrush(theme.BAD), pen=pg.mkPen(theme.BAD)
        )
        plot.addItem(self.exception_ticks)
        marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.BAD, width=2))
        marker.hide()
        plot.addItem(marker)
        self.markers.append(marker)
        self.plots.scene().sigMouseClicked.connect(self._clicked)
        return plot

    # ------------------------------------------------------------------ loading
    def load(self, run_id: int) -> None:
        """Whole-run trends of ``run_id`` (the comparison, if any, is dropped)."""
        self.run_id, self.compare_id = run_id, None
        self._generation += 1
        self.steps, self.exception_ms = [], []
        self._draw_timeline()
        for marker in self.markers:
            marker.hide()
        for high, low in self.compare_curves.values():
            high.setData([], [])
            low.setData([], [])
        self._query(run_id, None, self._whole_run)

    def _query(
        self, run_id: int, span: tuple[int, int] | None, then: Callable, points: int = POINTS
    ) -> None:
        generation, db = self._generation, self.db_path
        self.background.submit(
            lambda: query_run(db, run_id, DETAIL_TRENDS, span, points),
            lambda ok, series: then(series) if ok and generation == self._generation else None,
        )

    def _whole_run(self, series: Series) -> None:
        last_ms = float(series.t_ms[-1]) if len(series.t_ms) else 0.0
        self.last_ms, self.queried = last_ms, (0.0, last_ms)
        self.scale_ms = 3_600_000.0 if last_ms > 3 * 3_600_000 else 60_000.0
        unit = "h" if self.scale_ms > 60_000 else "min"
        self.timeline.setLabel("bottom", f"process time ({unit})", color=theme.TEXT)
        self._draw(series, self.curves)
        self.first_plot.setXRange(0, max(last_ms, 1.0) / self.scale_ms, padding=0.01)
        self._draw_timeline()

    def _draw(self, series: Series, curves: dict) -> None:
        if curves is self.curves:
            self.level = series.level
        x = series.t_ms / self.scale_ms
        for name, (high, low) in curves.items():
            high.setData(x, series.hi[name])
            low.setData(x, series.lo[name])
        self.drawn.emit()

    def _range_changed(self, *_args) -> None:
        self._settle.start(SETTLE_MS)
        self._label_steps()

    def _requery(self) -> None:
        """The range shown is read again, finer when narrower (and the comparison too),
        with one width either side so a pan stays drawn until the next read lands."""
        if self.run_id is None:
            return
        span, points = self._wanted()
        if span is None:
            return  # what was read last still covers the view at enough detail
        self.queried = span
        self._query(self.run_id, span, lambda s: self._draw(s, self.curves), points)
        if self.compare_id is not None:
            self._query(self.compare_id, span, lambda s: self._draw(s, self.compare_curves), points)

    def _wanted(self) -> tuple[tuple[int, int] | None, int]:
        x0, x1 = self.first_plot.viewRange()[0]
        v0 = min(max(0.0, x0 * self.scale_ms), self.last_ms)
        v1 = min(max(v0, x1 * self.scale_ms), self.last_ms)
        width = max(v1 - v0, 1000.0)
        q0, q1 = self.queried
        if q0 <= v0 and v1 <= q1 and q1 - q0 <= 4 * width:
            return None, 0
        span = (int(max(0.0, v0 - width)), int(min(self.last_ms, v1 + width)))
        return span, int(POINTS * min((span[1] - span[0]) / width, 3.0))

    # ------------------------------------------------------------------ comparison
    def compare_with(self, run_id: int | None) -> None:
        """Overlay ``run_id`` (grey) on the same process-time axis; None removes it."""
        self.compare_id = run_id
        if run_id is None:
            for high, low in self.compare_curves.values():
                high.setData([], [])
                low.setData([], [])
            return
        span = (int(self.queried[0]), int(self.queried[1])) if self.queried[1] else None
        self._query(run_id, span, lambda s: self._draw(s, self.compare_curves))

    # ------------------------------------------------------------------ timeline
    def set_timeline(self, timeline: RunTimeline) -> None:
        self.steps = timeline.steps
        self.exception_ms = [e.run_ms for e in timeline.exceptions if e.run_ms is not None]
        self._draw_timeline()

    def _draw_timeline(self) -> None:
        """Step bars, their numbers and the exceptions' ticks, in the axis's unit."""
        steps = self.steps
        self.exception_ticks.setData(
            x=np.array(self.exception_ms, dtype=float) / self.scale_ms,
            y=np.full(len(self.exception_ms), 0.9),
        )
        last = max(max((s.end_ms or s.start_ms for s in steps), default=0), self.last_ms)
        x0 = np.array([s.start_ms for s in steps], dtype=float) / self.scale_ms
        x1 = np.array([s.end_ms if s.end_ms is not None else last for s in steps], dtype=float)
        brushes = [pg.mkBrush(STEP_BRUSHES[i % 2]) for i in range(len(steps))]
        self.step_bars.setOpts(
            x0=x0,
            x1=x1 / self.scale_ms,
            y0=np.full(len(steps), 0.1),
            y1=np.full(len(steps), 0.75),
            brushes=brushes or None,  # pyqtgraph 0.13 fails on an empty list
            brush=pg.mkBrush(STEP_BRUSHES[0]),
            pen=pg.mkPen(theme.MUTED, width=1),
        )
        for label in self.step_labels:
            self.timeline.removeItem(label)
        self.step_labels = []
        for step in steps:
            label = pg.TextItem(str(step.number), color=theme.TEXT, anchor=(0, 0.5))
            label.setPos(step.start_ms / self.scale_ms, 0.42)
            self.timeline.addItem(label)
            self.step_labels.append(label)
        self._label_steps()

    def _label_steps(self) -> None:
        """A step's number shows where its bar is wide enough to hold it."""
        if not self.step_labels:
            return
        x0, x1 = self.first_plot.viewRange()[0]
        per_px = (x1 - x0) / max(self.timeline.width(), 1.0)
        shown_until = float("-inf")
        last = max(max((s.end_ms or s.start_ms for s in self.steps), default=0), self.last_ms)
        for step, label in zip(self.steps, self.step_labels, strict=True):
            start = step.start_ms / self.scale_ms
            end = (step.end_ms if step.end_ms is not None else last) / self.scale_ms
            fits = (end - start) / per_px >= 22 and start >= shown_until
            label.setVisible(bool(fits))
            if fits:
                shown_until = start + 22 * per_px

    def _clicked(self, event) -> None:
        """A tap on the timeline zooms to the step under it."""
        position: QPointF = event.scenePos()
        if not self.timeline.sceneBoundingRect().contains(position):
            return
        x = self.timeline.vb.mapSceneToView(position).x() * self.scale_ms
        for step in self.steps:
            end = step.end_ms if step.end_ms is not None else self.last_ms  # still running
            if step.start_ms <= x <= max(end, step.start_ms + 1):
                self.show_span(step.start_ms, end)
                self.step_tapped.emit(step.number)
                return

    # ------------------------------------------------------------------ moving the view
    def show_span(self, start_ms: float, end_ms: float) -> None:
        width = max(end_ms - start_ms, 60_000.0)
        pad = width * 0.05
        self.first_plot.setXRange(
            (start_ms - pad) / self.scale_ms, (start_ms + width + pad) / self.scale_ms, padding=0
        )

    def show_moment(self, run_ms: int, window_ms: float | None = None) -> None:
        """Centre the trends on ``run_ms`` with a marker there, keeping the zoom if it is
        already narrower than ``window_ms`` (default: a twentieth of the run, 10 min at
        least)."""
        x0, x1 = self.first_plot.viewRange()[0]
        shown = (x1 - x0) * self.scale_ms
        whole = max(s.end_ms or s.start_ms for s in self.steps) if self.steps else shown
        wanted = window_ms or max(whole / 20.0, 600_000.0)
        width = min(shown, wanted)
        centre = run_ms / self.scale_ms
        half = width / 2.0 / self.scale_ms
        start = max(centre - half, 0.0)  # nothing before the run's start to show
        self.first_plot.setXRange(start, start + 2 * half, padding=0)
        for marker in self.markers:
            marker.setValue(centre)
            marker.show()
