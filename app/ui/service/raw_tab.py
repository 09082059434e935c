"""Live raw readings of every calibratable sensor: the ADC count, the raw (uncalibrated)
value and the calibrated value of one sample, and the calibrated value's min, max and
mean over a window the engineer chooses (10 s, 1 min, 10 min).

Polled with ``raw_all`` every 0.5 s while the tab is in view, one poll at a time: a
poll that has not been answered yet is never followed by another (a slow or lost link
does not pile requests up on the hardware thread). Needs no service mode: reading
changes nothing.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.ui.hardware_calls import ServiceCalls
from app.ui.page_kit import touch_button
from app.ui.service.kit import TOOL_BUTTON, ServicePageApi, ServiceTab, number
from hardware.driver import RawReading
from hardware.protocol import CALIBRATABLE, CHANNEL_BY_NAME

POLL_MS = 500
WINDOWS: tuple[tuple[str, float], ...] = (("10 s", 10.0), ("1 min", 60.0), ("10 min", 600.0))
LONGEST_S = max(seconds for _, seconds in WINDOWS)
COLUMNS = ("Sensor", "Counts", "Raw", "Calibrated", "Min", "Mean", "Max")
ROW_PX = 34  # read-only rows (nothing to tap): all eleven sensors fit without scrolling
TABLE_STYLE = (
    "QTableWidget { font-size: 20px; }"
    " QHeaderView::section { font-size: 18px; min-height: 34px; max-height: 34px; }"
)


class Samples:
    """One channel's calibrated values with their receive times, for the longest
    window; ``stats(seconds)`` is (min, mean, max, n) over the newest ``seconds``."""

    def __init__(self) -> None:
        self.items: deque[tuple[float, float]] = deque(maxlen=int(LONGEST_S * 1000 / POLL_MS) + 8)

    def add(self, t: float, value: float) -> None:
        self.items.append((t, value))
        while self.items and self.items[0][0] < t - LONGEST_S:
            self.items.popleft()

    def stats(self, seconds: float, now: float) -> tuple[float, float, float, int] | None:
        values = [v for t, v in self.items if t >= now - seconds]
        if not values:
            return None
        return min(values), sum(values) / len(values), max(values), len(values)


class RawTab(ServiceTab):
    title = "Raw readings"
    needs_service = False

    def __init__(self, page: ServicePageApi) -> None:
        super().__init__(page)
        self.window_s = 60.0
        self.samples = {name: Samples() for name in CALIBRATABLE}
        self.readings: dict[str, RawReading] = {}
        self.polling = False  # a raw_all is on its way: the timer waits for its answer
        self.polls = 0  # answered polls (tests wait on it)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 4, 0, 0)
        column.setSpacing(8)
        row = QHBoxLayout()
        row.setSpacing(10)
        caption = QLabel("Min, mean, max over")
        caption.setStyleSheet("font-size: 20px;")
        row.addWidget(caption)
        self.window_group = QButtonGroup(self)
        self.window_buttons = {}
        for label, seconds in WINDOWS:
            button = touch_button(label, f"window {label}", checkable=True, **TOOL_BUTTON)
            button.setMinimumWidth(110)
            button.setChecked(seconds == self.window_s)
            button.clicked.connect(lambda _=False, s=seconds: self.set_window(s))
            self.window_group.addButton(button)
            self.window_buttons[label] = button
            row.addWidget(button)
        self.note = QLabel("")
        self.note.setObjectName("Hint")
        self.note.setStyleSheet("font-size: 18px;")
        self.note.setWordWrap(True)
        row.addWidget(self.note, 1)
        column.addLayout(row)
        self.table = self._table()
        column.addWidget(self.table, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._tick)

    def _table(self) -> QTableWidget:
        table = QTableWidget(len(CALIBRATABLE), len(COLUMNS))
        table.setAccessibleName("raw readings")
        table.setHorizontalHeaderLabels(list(COLUMNS))
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(ROW_PX)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.setStyleSheet(TABLE_STYLE)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row, name in enumerate(CALIBRATABLE):
            channel = CHANNEL_BY_NAME[name]
            label = (
                channel.label
                if channel.unit == channel.label
                else f"{channel.label}, {channel.unit}"
            )
            table.setItem(row, 0, QTableWidgetItem(label))
            for col in range(1, len(COLUMNS)):
                item = QTableWidgetItem("–")
                item.setTextAlignment(right)
                table.setItem(row, col, item)
        return table

    # ------------------------------------------------------------------ polling
    def shown(self) -> None:
        self.timer.start()
        self.poll()

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()
        super().hideEvent(event)

    def _tick(self) -> None:
        if not self.isVisible():  # shown() came while the page was out of view, and it left
            self.timer.stop()
            return
        self.poll()

    def poll(self) -> None:
        if self.polling:
            return
        self.polling = self.page.call(
            ServiceCalls.raw_all, CALIBRATABLE, done=self._answered, failed=self._failed
        )

    def _answered(self, readings: list[RawReading]) -> None:
        self.polling = False
        self.polls += 1
        now = time.monotonic()
        for reading in readings:
            self.readings[reading.channel] = reading
            self.samples[reading.channel].add(now, reading.value)
        self._show(now)

    def _failed(self, _exc: BaseException) -> None:
        self.polling = False  # the page said why; the next tick tries again

    # ------------------------------------------------------------------ showing
    def set_window(self, seconds: float) -> None:
        self.window_s = seconds
        self._show(time.monotonic())

    def stats(self, name: str) -> tuple[float, float, float, int] | None:
        """(min, mean, max, n) of a channel's calibrated value over the chosen window."""
        return self.samples[name].stats(self.window_s, time.monotonic())

    def _show(self, now: float) -> None:
        counts = []
        for row, name in enumerate(CALIBRATABLE):
            reading = self.readings.get(name)
            if reading is None:
                continue
            decimals = CHANNEL_BY_NAME[name].decimals + 1  # raw work wants a digit more
            cells = [str(reading.counts), number(reading.raw, decimals)]
            cells.append(number(reading.value, decimals))
            stats = self.samples[name].stats(self.window_s, now)
            if stats is not None:
                *values, n = stats
                cells += [number(value, decimals) for value in values]
                counts.append(n)
            for col, text in enumerate(cells, start=1):
                self.table.item(row, col).setText(text)
        label = next(label for label, s in WINDOWS if s == self.window_s)
        if counts:
            self.note.setText(
                f"{min(counts)} samples in the last {label} (every {POLL_MS / 1000:g} s while"
                " this tab is shown)"
            )
