"""Link diagnostics: the port in use and its settings, the link's counters (frames, CRC
errors and their rate, retries, timeouts, reconnects), a histogram of the recent round
trips, the serial ports this workstation has, and a loopback test.

Statistics are read with ``link_statistics`` every second while the tab is in view,
one request at a time. The ports are listed for the engineer to check which adapter is
which; the console's port is not changed here (it is an administrator setting), so a
tap on a port only shows it. The loopback test sends PINGs through the whole path and
needs service mode (it is audited and takes the link for a moment).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme
from app.ui.hardware_calls import ServiceCalls
from app.ui.page_kit import plain_sentence, touch_button
from app.ui.service.kit import (
    BUTTON_PX,
    TOOL_BUTTON,
    ServicePageApi,
    ServiceTab,
    live_label,
    panel,
    scrolled,
)
from hardware.link import serial_ports

REFRESH_MS = 1000
LOOPBACK_COUNT = 100
MAX_BINS = 25
COUNTERS: tuple[tuple[str, str], ...] = (
    ("frames_in", "Frames in"),
    ("frames_out", "Frames out"),
    ("crc_errors", "CRC errors"),
    ("crc_rate", "CRC error rate"),
    ("retries", "Retries"),
    ("timeouts", "Timeouts"),
    ("reconnects", "Reconnects"),
    ("stale_replies", "Stale replies"),
)
NEEDS_SERVICE = (
    f"Sends {LOOPBACK_COUNT} PINGs through port, cable and firmware. Enter service mode to run it."
)
READY = f"Sends {LOOPBACK_COUNT} PINGs through port, cable and firmware."
ADMIN_NOTE = "Changing the console's port is an administrator setting (Admin > Settings)."


def nice_step(span: float) -> float:
    """A bin width of 1, 2 or 5 times a power of ten, near ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    power = 10 ** math.floor(math.log10(span))
    return next(f * power for f in (1, 2, 5, 10) if f * power >= span)


def latency_bins(latencies: list[float]) -> tuple[np.ndarray, np.ndarray, int]:
    """Bin edges (ms), counts, and how many slow outliers were put into the last bin:
    the axis ends at twice the p99 (a retried request takes a whole reply timeout and
    would squash the rest into one bar)."""
    values = np.asarray(latencies, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.array([0.0, 1.0]), np.zeros(1, dtype=int), 0
    p99 = float(np.percentile(values, 99, method="lower"))
    top = float(values.max())
    if p99 > 0:
        top = min(top, 2 * p99)
    width = nice_step(top / MAX_BINS)
    edges = np.arange(0.0, top + width, width)
    if edges.size < 2:
        edges = np.array([0.0, width])
    outliers = int((values > edges[-1]).sum())
    counts, _ = np.histogram(np.clip(values, 0.0, edges[-1]), bins=edges)
    return edges, counts, outliers


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


class HistogramPlot(pg.PlotWidget):
    """A plot that asks for little height and takes what the panel gives: the scroll
    area sizes the tab by preferred heights, and pyqtgraph prefers 480 px."""

    def sizeHint(self) -> QSize:
        return QSize(400, 200)


class LinkTab(ServiceTab):
    title = "Link"
    needs_service = False

    def __init__(self, page: ServicePageApi) -> None:
        super().__init__(page)
        self.stats: dict[str, Any] = {}
        self.refreshing = False  # a link_statistics is on its way: the timer waits
        self.refreshes = 0  # answered refreshes (tests wait on it)
        self.loopback_running = False
        self.loopback_result: list[float] | None = None
        self.ports: list[tuple[str, str]] | None = None  # None: not read yet
        self._drawn: tuple | None = None  # the latencies the histogram shows
        body = QWidget()
        grid = QGridLayout(body)
        grid.setContentsMargins(0, 4, 0, 0)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(10)
        left = QVBoxLayout()
        left.setSpacing(10)
        left.addWidget(self._port_panel())
        left.addWidget(self._counter_panel())
        left.addStretch(1)
        grid.addWidget(self._latency_panel(), 0, 1)
        grid.addLayout(left, 0, 0)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(scrolled(body))
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        self.service_changed(page.active)

    # ------------------------------------------------------------------ building
    def _port_panel(self) -> QFrame:
        """The port in use, its settings, and this workstation's serial ports."""
        frame, column, heading = panel("PORT")
        self.port = live_label("–")
        self.port.setAccessibleName("port in use")
        heading.addStretch(1)
        heading.addWidget(self.port)
        self.settings = QLabel("")
        self.settings.setObjectName("Hint")
        self.settings.setStyleSheet("font-size: 18px;")
        self.settings.setWordWrap(True)
        column.addWidget(self.settings)
        self.port_note = QLabel(f"Serial ports on this workstation. {ADMIN_NOTE}")
        self.port_note.setAccessibleName("selected port")
        self.port_note.setStyleSheet("font-size: 19px; background: transparent;")
        self.port_note.setWordWrap(True)
        column.addWidget(self.port_note)
        row = QHBoxLayout()
        row.setSpacing(10)
        self.port_list = QListWidget()
        self.port_list.setAccessibleName("serial ports")
        self.port_list.setFixedHeight(2 * theme.MIN_TOUCH_PX + 16)  # two ports in view
        self.port_list.setStyleSheet(
            "QListWidget { font-size: 20px; }"
            f" QListWidget::item:selected {{ background: {theme.INFO}; color: white; }}"
        )
        self.port_list.currentRowChanged.connect(self._port_chosen)
        row.addWidget(self.port_list, 1)
        self.refresh_ports_button = touch_button("Refresh", "refresh ports", **TOOL_BUTTON)
        self.refresh_ports_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.refresh_ports_button.clicked.connect(self.read_ports)
        row.addWidget(self.refresh_ports_button, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(row)
        return frame

    def _counter_panel(self) -> QFrame:
        frame, column, _ = panel("COUNTERS")
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(2)
        self.counters: dict[str, QLabel] = {}
        for index, (key, label) in enumerate(COUNTERS):
            name = QLabel(label)
            name.setStyleSheet("font-size: 19px; background: transparent;")
            value = live_label("–")
            value.setAccessibleName(label)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            row, pair = index // 2, index % 2
            grid.addWidget(name, row, pair * 2)
            grid.addWidget(value, row, pair * 2 + 1)
            self.counters[key] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        column.addLayout(grid)
        return frame

    def _latency_panel(self) -> QFrame:
        """The round-trip histogram, and the loopback test that adds to it."""
        frame, column, _ = panel("ROUND-TRIP LATENCY")
        self.latency = live_label("no replies yet")
        self.latency.setAccessibleName("latency summary")
        self.latency.setWordWrap(True)
        column.addWidget(self.latency)
        pg.setConfigOptions(antialias=False, background=theme.SURFACE, foreground=theme.TEXT)
        self.plot = HistogramPlot()
        self.plot.setMinimumHeight(180)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        font = pg.QtGui.QFont()
        font.setPixelSize(16)
        for axis, text in (("bottom", "round trip, ms"), ("left", "replies")):
            item = self.plot.getAxis(axis)
            item.setTickFont(font)
            item.enableAutoSIPrefix(False)
            item.setLabel(text, **{"font-size": "17px"})
        self.bars = pg.BarGraphItem(
            x0=[0.0], x1=[1.0], height=[0], brush=theme.INFO, pen=pg.mkPen(theme.SURFACE)
        )
        self.plot.addItem(self.bars)
        column.addWidget(self.plot, 1)
        row = QHBoxLayout()
        row.setSpacing(12)
        self.loopback_button = touch_button(
            "Loopback test", "loopback test", "Primary", **TOOL_BUTTON
        )
        self.loopback_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.loopback_button.setMinimumWidth(240)
        self.loopback_button.clicked.connect(self.loopback)
        row.addWidget(self.loopback_button, 0, Qt.AlignmentFlag.AlignTop)
        self.loopback_label = QLabel("")
        self.loopback_label.setObjectName("Hint")
        self.loopback_label.setAccessibleName("loopback result")
        self.loopback_label.setStyleSheet("font-size: 19px;")
        self.loopback_label.setWordWrap(True)
        self.loopback_label.setMinimumHeight(BUTTON_PX)
        row.addWidget(self.loopback_label, 1)
        column.addLayout(row)
        return frame

    # ------------------------------------------------------------------ hooks
    def service_changed(self, active: bool) -> None:
        self._show_loopback_button()

    def shown(self) -> None:
        self.timer.start()
        self.refresh()
        if self.ports is None:
            self.read_ports()

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()
        super().hideEvent(event)

    # ------------------------------------------------------------------ statistics
    def _tick(self) -> None:
        if not self.isVisible():  # shown() came while the page was out of view, and it left
            self.timer.stop()
            return
        self.refresh()

    def refresh(self) -> None:
        if self.refreshing:
            return
        self.refreshing = self.page.call(
            ServiceCalls.link_statistics, done=self._answered, failed=self._failed
        )

    def _failed(self, _exc: BaseException) -> None:
        self.refreshing = False  # the page said why; the next tick asks again

    def _answered(self, stats: dict[str, Any]) -> None:
        self.refreshing = False
        self.refreshes += 1
        self.stats = stats
        self.port.setText(str(stats.get("port", "–")))
        self.settings.setText(str(stats.get("settings", "")))
        for key, label in self.counters.items():
            label.setText(self._counter(key, stats))
        self._show_latencies(stats.get("latencies_ms") or [], stats)
        self._show_port_note()

    @staticmethod
    def _counter(key: str, stats: dict[str, Any]) -> str:
        if key == "crc_rate":
            frames = stats.get("frames_in") or 0
            if not frames:
                return "–"
            return f"{100.0 * (stats.get('crc_errors') or 0) / frames:.3f} %"
        value = stats.get(key)
        return "–" if value is None else f"{value:,}".replace(",", " ")

    def crc_error_rate(self) -> float | None:
        """crc_errors / frames_in of the last statistics read (None before any frame)."""
        frames = self.stats.get("frames_in") or 0
        return (self.stats.get("crc_errors") or 0) / frames if frames else None

    def _show_latencies(self, latencies: list[float], stats: dict[str, Any]) -> None:
        key = (len(latencies), latencies[-1] if latencies else None, latencies[:1] or None)
        if key == self._drawn:
            return
        self._drawn = key
        edges, counts, outliers = latency_bins(latencies)
        self.bars.setOpts(x0=edges[:-1], x1=edges[1:], height=counts)
        self.plot.setXRange(0.0, float(edges[-1]), padding=0.02)
        self.plot.setYRange(0.0, max(1.0, float(counts.max()) * 1.1), padding=0)
        if not latencies:
            self.latency.setText("no replies yet")
            return
        median = stats.get("latency_ms_median")
        p99 = stats.get("latency_ms_p99")
        if median is None or p99 is None:
            median = float(np.median(latencies))
            p99 = float(np.percentile(latencies, 99))
        text = f"median {_ms(median)} ms · p99 {_ms(p99)} ms · {len(latencies)} replies"
        if outliers:
            text += f" · {outliers} slower in the last bar"
        self.latency.setText(text)

    # ------------------------------------------------------------------ ports
    def read_ports(self) -> None:
        background = getattr(self.page, "background", None)
        if background is None:
            self.port_note.setText("The port list cannot be read on this page.")
            return
        self.refresh_ports_button.setEnabled(False)
        self.port_note.setText("Reading the serial ports…")
        background.submit(serial_ports, self._ports_read)

    def _ports_read(self, ok: bool, value: Any) -> None:
        self.refresh_ports_button.setEnabled(True)
        if not ok:
            self.port_note.setText(f"The serial ports could not be read: {plain_sentence(value)}")
            return
        self.ports = value
        self.port_list.clear()
        for device, description in value:
            item = QListWidgetItem(f"{device}   {description}" if description else device)
            item.setData(Qt.ItemDataRole.UserRole, device)
            self.port_list.addItem(item)
        self._show_port_note()

    def selected_port(self) -> str | None:
        item = self.port_list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _port_chosen(self, _row: int) -> None:
        self._show_port_note()

    def _show_port_note(self) -> None:
        if self.ports is None:
            return
        device, in_use = self.selected_port(), self.stats.get("port")
        if not self.ports:
            text = f"No serial ports found on this workstation. {ADMIN_NOTE}"
        elif device is None:
            text = f"Serial ports on this workstation: tap one to select it. {ADMIN_NOTE}"
        elif device == in_use:
            text = f"Selected {device}: the port the console uses now."
        else:
            using = f"; the console keeps using {in_use}" if in_use else ""
            text = f"Selected {device}{using}. {ADMIN_NOTE}"
        self.port_note.setText(text)

    # ------------------------------------------------------------------ loopback
    def _show_loopback_button(self) -> None:
        running = self.loopback_running
        self.loopback_button.setEnabled(self.page.active and not running)
        self.loopback_button.setText("Running…" if running else "Loopback test")
        text = self.loopback_label.text()
        if not self.page.active and text in ("", READY):
            self.loopback_label.setText(NEEDS_SERVICE)
        elif self.page.active and text in ("", NEEDS_SERVICE):
            self.loopback_label.setText(READY)

    def loopback(self) -> None:
        if self.loopback_running or not self.page.active:
            return
        self.loopback_running = self.page.call(
            ServiceCalls.loopback,
            LOOPBACK_COUNT,
            done=self._loopback_done,
            failed=self._loopback_failed,
        )
        if self.loopback_running:
            self.loopback_label.setObjectName("Hint")
            self.loopback_label.setText(f"Sending {LOOPBACK_COUNT} PINGs…")
            self._restyle(self.loopback_label)
        self._show_loopback_button()

    def _loopback_done(self, times: list[float]) -> None:
        self.loopback_running = False
        self.loopback_result = list(times)
        good = sorted(t for t in times if math.isfinite(t))
        failed = LOOPBACK_COUNT - len(good)
        if good:
            p99 = good[min(len(good) - 1, int(len(good) * 0.99))]
            text = (
                f"min {_ms(good[0])} · median {_ms(good[len(good) // 2])} · p99 {_ms(p99)}"
                f" · max {_ms(good[-1])} ms\n{len(good)} came back, {failed} failed"
            )
        else:
            text = f"No round trip came back · {failed} failed"
        self.loopback_label.setObjectName("Error" if failed else "Hint")
        self.loopback_label.setText(text)
        self._restyle(self.loopback_label)
        self._show_loopback_button()
        self.refresh()  # the PINGs are in the histogram now

    def _loopback_failed(self, exc: BaseException) -> None:
        self.loopback_running = False
        self.loopback_label.setObjectName("Error")
        self.loopback_label.setText(f"Loopback test failed: {plain_sentence(exc)}")
        self._restyle(self.loopback_label)
        self._show_loopback_button()

    @staticmethod
    def _restyle(label: QLabel) -> None:
        label.style().unpolish(label)
        label.style().polish(label)
