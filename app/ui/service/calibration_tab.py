"""The Calibration tab: four wizards (pH two-point, DO zero and span, load cell tare and
span, temperature offset), each a few steps on one screen, and the calibrations in force
with their due dates.

The tab is put together from its parts, each in a file of its own:

* ``calibration_wizards.py``: the wizards as data (steps, standards, the math to call);
* ``calibration_steps.py``: the point capture (``PointCapture``): a step's instruction,
  the standard's value by tap or keypad, ``RAW? <channel>`` sampled for about ten
  seconds with the live reading and its stability;
* ``calibration_result.py``: the result beside the instrument's coefficients now, and
  Apply (``ResultAndSign``): the signature, then ``ServiceHost.apply_calibration``
  (write, read back, record, or write the old ones back) on the service host.

This file holds the chooser, the calibrations in force and the tab's state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.service.calibration import CalibrationResult, Readings
from app.store.calibrations import CalibrationRecord, CalibrationService
from app.ui import theme
from app.ui.page_kit import plain_sentence, short_utc, touch_button, touch_table
from app.ui.service.calibration_result import ResultAndSign
from app.ui.service.calibration_steps import PointCapture
from app.ui.service.calibration_wizards import WIZARDS, Wizard
from app.ui.service.kit import ServicePageApi, ToolTab, big_label
from hardware.driver import RawReading
from hardware.protocol import CHANNEL_LABELS

READ_SAMPLES = 20  # RAW? readings averaged per standard ...
READ_INTERVAL_MS = 500  # ... one every half second: about ten seconds


class CalibrationTab(PointCapture, ResultAndSign, ToolTab):
    title = "Calibration"
    needs_service = True
    apply_stage = Signal(object)  # ApplyStage, from the procedure thread

    def __init__(self, page: ServicePageApi) -> None:
        super().__init__(page)
        self.read_samples = READ_SAMPLES
        self.read_interval_ms = READ_INTERVAL_MS
        self.wizard: Wizard | None = None
        self.channel: str | None = None
        self.step_index = 0
        self.readings: list[Readings | None] = []  # per step
        self.values: list[Any] = []  # per step: the choice or entry value
        self.samples: list[float] = []
        self.last: RawReading | None = None
        self.reading = False
        self._waiting = False
        self.result: CalibrationResult | None = None
        self.problem = ""  # a CalibrationInputError's sentence: no result at all
        self.old = (1.0, 0.0)  # the instrument's coefficients when the result was computed
        self.applying = False
        self.current: list[CalibrationRecord] = []
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.apply_stage.connect(self._stage)

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 4, 0, 0)
        self.views = QStackedWidget()
        column.addWidget(self.views, 1)
        self._build_chooser()
        self._build_step()
        self._build_result()
        self.views.setCurrentWidget(self.chooser)

    # ------------------------------------------------------------------ views
    def _build_chooser(self) -> None:
        self.chooser = QWidget()
        column = QVBoxLayout(self.chooser)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(big_label("Choose a calibration", 24, bold=True))
        row = QHBoxLayout()
        row.setSpacing(12)
        self.wizard_buttons: dict[str, QPushButton] = {}
        for wizard in WIZARDS:
            button = touch_button(wizard.title, f"calibrate {wizard.key}", "Tile")
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _=False, w=wizard: self.start(w))
            self.wizard_buttons[wizard.key] = button
            row.addWidget(button)
        column.addLayout(row)
        self.in_force_title = big_label("Calibrations in force", 20, bold=True)
        column.addWidget(self.in_force_title)
        self.table = touch_table(
            ("Channel", "Method", "Figure", "Performed", "Due", "By"),
            "calibrations in force",
            QAbstractItemView.SelectionMode.NoSelection,
            2,
        )
        column.addWidget(self.table, 1)
        self.views.addWidget(self.chooser)

    # ------------------------------------------------------------------ hooks
    def shown(self) -> None:
        if self.views.currentWidget() is self.chooser:
            self.load_current()

    def service_changed(self, active: bool) -> None:
        if not active:
            self._stop_reading()
            if not self.applying:
                self.views.setCurrentWidget(self.chooser)
        elif self.views.currentWidget() is self.chooser:
            self.load_current()

    # ------------------------------------------------------------------ calibrations in force
    def load_current(self) -> None:
        identity = self.identity
        if identity is None or getattr(self.page, "records", None) is None:
            self.in_force_title.setText("Calibrations in force: waiting for the instrument")
            return
        serial = identity.serial
        self.in_force_title.setText(f"Calibrations in force on {serial}")
        service = self._service()
        self.background.submit(lambda: service.current(serial), self._show_current)

    def _show_current(self, ok: bool, value: Any) -> None:
        if not ok:
            self.page.say(f"Calibrations not read: {plain_sentence(value)}", error=True)
            return
        self.current = list(value)
        now = datetime.now(UTC)
        self.table.setRowCount(len(self.current))
        for row, record in enumerate(self.current):
            expired = record.expired(now)
            due = short_utc(record.due_utc)[:10] + ("  EXPIRED" if expired else "")
            cells = (
                CHANNEL_LABELS.get(record.channel, record.channel),
                record.method,
                record.figure_text,
                short_utc(record.performed_utc),
                due,
                record.user_name,
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if expired:
                    item.setForeground(QColor(theme.BAD))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, col, item)
        if not self.current:
            self.table.setRowCount(1)
            self.table.setItem(0, 0, QTableWidgetItem("none on record"))
            self.table.setItem(
                0, 2, QTableWidgetItem("the instrument uses its factory calibration")
            )

    def _service(self) -> CalibrationService:
        records = self.records
        return CalibrationService(records.writer, records.path, records.users, records.signatures)

    def cancel(self) -> None:
        self._stop_reading()
        self.wizard = None
        self.result = None
        self.views.setCurrentWidget(self.chooser)
        self.page.say("Calibration cancelled: nothing was written.")
        self.load_current()
