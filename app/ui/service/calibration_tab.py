"""The Calibration tab: four wizards (pH two-point, DO zero and span, load cell tare and
span, temperature offset), each a few steps on one screen, and the calibrations in force
with their due dates.

A step says what to do ("Put the probe in buffer 7.00, then tap Read"), takes the
standard's value by tap (the second pH buffer, the load cell) or keypad (the reference
weight, the reference thermometer), then samples ``RAW? <channel>`` for about ten
seconds with the live reading and its stability in view. The result screen shows the
instrument's coefficients now beside the new ones, the figure of merit and the verdict
of the math (app/service/calibration.py); a refused result cannot be applied.

Apply, in an order that keeps the instrument and the record in agreement:

1. the signature is asked for (password; the user name too at the session's first
   signature), and checked before anything changes: the permission and the password
   (a wrong one counts toward the lockout, and nothing is written or recorded);
2. the new coefficients are written to the instrument (hardware thread) and read back;
3. the calibration is recorded, signed and audited (``CalibrationService.record``),
   with the coefficients as the instrument read them back;
4. if recording fails after the write, the old coefficients are written back and the
   screen says so.

The helpers at the top (``ToolTab``) are shared by the Self-test and Serial console tabs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.service import calibration as math_
from app.service.calibration import (
    CHANNEL_LABELS,
    LOAD_CELLS,
    CalibrationResult,
    Point,
    Readings,
    summarise,
)
from app.store.calibrations import CalibrationRecord, CalibrationService, default_due_days
from app.store.security import Permission
from app.store.signing import SigningRequest, calibration_request
from app.ui import theme
from app.ui.dialogs import KeypadDialog
from app.ui.page_kit import plain_sentence, short_utc, touch_button, touch_table
from app.ui.service.page import ServicePage, ServiceTab
from app.ui.signing_dialog import ask_signature
from hardware.driver import Identity, RawReading

READ_SAMPLES = 20  # RAW? readings averaged per standard ...
READ_INTERVAL_MS = 500  # ... one every half second: about ten seconds


# ------------------------------------------------------------------ shared by the tools
class ToolTab(ServiceTab):
    """A service tool with what the three tools share: calls that report failure to
    the tool as well as on the page's message line, the instrument's identity, the
    data and exports folders, and the page's Background and Records."""

    @property
    def identity(self) -> Identity | None:
        return self.page.identity  # set by the shell at every (re)connection

    @property
    def records(self):
        return self.page.records  # app.records.Records: set by the shell

    @property
    def background(self):
        return self.page.background  # app.ui.background.Background: set by the shell

    @property
    def data_dir(self) -> Path:
        return Path(self.records.path).parent

    @property
    def exports(self) -> Path:
        return self.data_dir / "exports"

    def call(
        self,
        method: str,
        *args: Any,
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """``page.call``; when nothing could be sent, ``failed`` hears it too."""
        if not self.page.call(method, *args, done=done, failed=failed) and failed is not None:
            failed(RuntimeError("nobody is signed in"))


def utc_stamp() -> str:
    """'20250301T123456Z': for export file names."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def repolish(widget: QWidget, object_name: str) -> None:
    widget.setObjectName(object_name)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def big_label(text: str = "", size: int = 24, bold: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(
        f"font-size: {size}px; {'font-weight: bold;' if bold else ''} background: transparent;"
    )
    return label


def coloured(label: QLabel, colour: str, size: int = 24) -> None:
    label.setStyleSheet(
        f"font-size: {size}px; font-weight: bold; color: {colour}; background: transparent;"
    )


# ------------------------------------------------------------------ the wizards
@dataclass(frozen=True)
class Choice:
    """A value the engineer taps: the second buffer, the load cell."""

    prompt: str
    options: tuple[tuple[str, Any], ...]  # (button text, value)


@dataclass(frozen=True)
class Entry:
    """A value typed on the keypad: the reference weight, the reference thermometer."""

    title: str
    unit: str
    low: float
    high: float
    decimals: int


@dataclass(frozen=True)
class Step:
    title: str
    instruction: str  # "{cell}" is replaced by the chosen load cell's name
    reference: float | None = None  # the standard's value, when fixed
    choice: Choice | None = None  # its value is the reference (or the channel)
    entry: Entry | None = None  # its value is the reference


@dataclass(frozen=True)
class Wizard:
    key: str
    title: str
    channel: str | None  # None: chosen in the first step (the load cell)
    steps: tuple[Step, ...]
    unit: str
    digits: int
    sd_limit: float  # what "steady" means (the math's SD limit)
    compute: Callable[[str, list[Point], float, float], CalibrationResult]
    standard: Callable[[Point], str]  # "buffer 7.00", "100 % sat", "500 g"


def _ph(channel: str, points: list[Point], gain: float, offset: float) -> CalibrationResult:
    return math_.ph_two_point(points[0], points[1], gain, offset)


def _do(channel: str, points: list[Point], gain: float, offset: float) -> CalibrationResult:
    return math_.do_zero_span(points[0], points[1], gain, offset)


def _load(channel: str, points: list[Point], gain: float, offset: float) -> CalibrationResult:
    return math_.load_cell_tare_span(channel, points[0], points[1], gain, offset)


def _temp(channel: str, points: list[Point], gain: float, offset: float) -> CalibrationResult:
    return math_.temperature_offset(points[0], gain, offset)


def _cell_name(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel).removesuffix(" load cell")


WIZARDS: tuple[Wizard, ...] = (
    Wizard(
        "ph",
        "pH two-point",
        "ph",
        (
            Step(
                "Buffer 7.00",
                "Rinse the pH probe and put it in buffer 7.00. Tap Read and keep the probe "
                "still until the reading is done.",
                reference=math_.PH_NEUTRAL,
            ),
            Step(
                "Second buffer",
                "Tap the second buffer. Rinse the probe, put it in that buffer, then tap Read.",
                choice=Choice(
                    "Second buffer", tuple((f"pH {b:.2f}", b) for b in math_.PH_SLOPE_BUFFERS)
                ),
            ),
        ),
        "pH",
        3,
        math_.PH_SD_MAX,
        _ph,
        lambda p: f"buffer {p.reference:.2f}",
    ),
    Wizard(
        "do",
        "DO zero and span",
        "do",
        (
            Step(
                "Zero",
                "Put the DO sensor in fresh zero solution (0 % saturation), then tap Read.",
                reference=math_.DO_ZERO_REF,
            ),
            Step(
                "Span",
                "Rinse the sensor and put it in air-saturated water (100 % saturation), "
                "then tap Read.",
                reference=math_.DO_AIR_REF,
            ),
        ),
        "% sat",
        1,
        math_.DO_SD_MAX,
        _do,
        lambda p: f"{p.reference:g} % sat",
    ),
    Wizard(
        "load",
        "Load cell tare and span",
        None,
        (
            Step(
                "Empty hanger",
                "Tap the load cell. Take everything off its hanger, then tap Read.",
                reference=0.0,
                choice=Choice("Load cell", tuple((_cell_name(c), c) for c in LOAD_CELLS)),
            ),
            Step(
                "Reference weight",
                "Enter the reference weight, hang it on the {cell} hanger, then tap Read.",
                entry=Entry("Reference weight", "g", math_.REFERENCE_WEIGHT_MIN_G, 5000.0, 1),
            ),
        ),
        "g",
        1,
        math_.LOAD_CELL_SD_MAX_G,
        _load,
        lambda p: "empty hanger" if p.reference == 0 else f"{p.reference:g} g",
    ),
    Wizard(
        "temp",
        "Temperature offset",
        "temp",
        (
            Step(
                "Reference thermometer",
                "Put the temperature probe and the reference thermometer in the same bath. "
                "When both have settled, enter the reference reading, then tap Read.",
                entry=Entry("Reference thermometer", "°C", 0.0, 60.0, 2),
            ),
        ),
        "°C",
        2,
        math_.TEMP_SD_MAX_C,
        _temp,
        lambda p: f"reference {p.reference:.2f} °C",
    ),
)


# ------------------------------------------------------------------ the tab
class CalibrationTab(ToolTab):
    title = "Calibration"
    needs_service = True

    def __init__(self, page: ServicePage) -> None:
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

    def _build_step(self) -> None:
        self.step_view = QWidget()
        column = QVBoxLayout(self.step_view)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        self.step_title = big_label("", 26, bold=True)
        column.addWidget(self.step_title)
        self.instruction = big_label("", 24)
        self.instruction.setAccessibleName("instruction")
        column.addWidget(self.instruction)

        self.choice_row = QHBoxLayout()
        self.choice_row.setSpacing(12)
        self.choice_label = big_label("", 22)
        self.choice_label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self.choice_row.addWidget(self.choice_label)
        self.choice_group = QButtonGroup(self)
        self.choice_group.setExclusive(True)
        self.choice_buttons: list[QPushButton] = []
        self.choice_row.addStretch(1)
        column.addLayout(self.choice_row)

        self.entry_button = touch_button("", "reference value")
        self.entry_button.setStyleSheet("font-size: 22px; text-align: left; padding-left: 16px;")
        self.entry_button.clicked.connect(self._ask_entry)
        column.addWidget(self.entry_button)

        live = QHBoxLayout()
        self.live = QLabel("")
        self.live.setObjectName("Big")
        self.live.setAccessibleName("live reading")
        live.addWidget(self.live)
        live.addSpacing(24)
        self.stability = big_label("", 22, bold=True)
        self.stability.setAccessibleName("stability")
        live.addWidget(self.stability, 1)
        column.addLayout(live)
        self.progress = big_label("", 20)
        self.progress.setObjectName("Hint")
        column.addWidget(self.progress)
        column.addStretch(1)

        self.cancel_button = touch_button("Cancel", "cancel calibration")
        self.cancel_button.clicked.connect(self.cancel)
        self.read_button = touch_button("Read", "read", "Primary")
        self.read_button.setMinimumWidth(220)
        self.read_button.clicked.connect(self.read)
        self.next_button = touch_button("Next ▶", "next", "Primary")
        self.next_button.setMinimumWidth(220)
        self.next_button.clicked.connect(self.next_step)
        row = QHBoxLayout()
        row.setSpacing(12)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        row.addWidget(self.read_button)
        row.addWidget(self.next_button)
        column.addLayout(row)
        self.views.addWidget(self.step_view)

    def _build_result(self) -> None:
        self.result_view = QWidget()
        column = QVBoxLayout(self.result_view)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        self.result_title = big_label("", 26, bold=True)
        column.addWidget(self.result_title)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(32)
        self.grid.setVerticalSpacing(4)
        column.addLayout(self.grid)
        self.figure = big_label("", 22, bold=True)
        self.figure.setAccessibleName("figure of merit")
        column.addWidget(self.figure)
        self.verdict = big_label("", 22, bold=True)
        self.verdict.setAccessibleName("verdict")
        column.addWidget(self.verdict)
        column.addStretch(1)
        self.result_cancel = touch_button("Cancel", "cancel calibration")
        self.result_cancel.clicked.connect(self.cancel)
        self.again_button = touch_button("Start again", "start again")
        self.again_button.clicked.connect(lambda: self.wizard and self.start(self.wizard))
        self.apply_button = touch_button("Apply and sign", "apply", "Primary")
        self.apply_button.setMinimumWidth(260)
        self.apply_button.clicked.connect(self.apply)
        row = QHBoxLayout()
        row.setSpacing(12)
        row.addWidget(self.result_cancel)
        row.addStretch(1)
        row.addWidget(self.again_button)
        row.addWidget(self.apply_button)
        column.addLayout(row)
        self.views.addWidget(self.result_view)

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

    # ------------------------------------------------------------------ wizard
    def start(self, wizard: Wizard) -> None:
        self._stop_reading()
        self.wizard = wizard
        self.channel = wizard.channel
        self.step_index = 0
        self.readings = [None] * len(wizard.steps)
        self.values = [None] * len(wizard.steps)
        self.result = None
        self.problem = ""
        self.samples = []
        self.last = None
        self.page.say("")
        self._show_step()
        self.views.setCurrentWidget(self.step_view)

    def cancel(self) -> None:
        self._stop_reading()
        self.wizard = None
        self.result = None
        self.views.setCurrentWidget(self.chooser)
        self.page.say("Calibration cancelled: nothing was written.")
        self.load_current()

    @property
    def step(self) -> Step:
        assert self.wizard is not None
        return self.wizard.steps[self.step_index]

    def _show_step(self) -> None:
        wizard, step = self.wizard, self.step
        assert wizard is not None
        count = len(wizard.steps)
        what = wizard.title
        if self.channel and wizard.channel is None:
            what += f" · {_cell_name(self.channel)}"
        self.step_title.setText(f"{what} — step {self.step_index + 1} of {count}: {step.title}")
        cell = _cell_name(self.channel) if self.channel else "load cell"
        self.instruction.setText(step.instruction.format(cell=cell))
        # the choice buttons
        for button in self.choice_buttons:
            self.choice_group.removeButton(button)
            self.choice_row.removeWidget(button)
            button.deleteLater()
        self.choice_buttons = []
        self.choice_label.setVisible(step.choice is not None)
        if step.choice is not None:
            self.choice_label.setText(step.choice.prompt + ":")
            for index, (text, value) in enumerate(step.choice.options):
                button = touch_button(text, f"choose {text}")
                button.setCheckable(True)
                button.setChecked(value == self.values[self.step_index])
                button.clicked.connect(lambda _=False, v=value: self._chosen(v))
                self.choice_group.addButton(button)
                self.choice_row.insertWidget(1 + index, button)
                self.choice_buttons.append(button)
        # the keypad entry
        self.entry_button.setVisible(step.entry is not None)
        if step.entry is not None:
            value = self.values[self.step_index]
            entry = step.entry
            shown = "tap to enter" if value is None else f"{value:.{entry.decimals}f} {entry.unit}"
            self.entry_button.setText(f"✎  {entry.title}: {shown}")
        self._show_reading()

    def _chosen(self, value: Any) -> None:
        index = self.step_index
        wizard = self.wizard
        assert wizard is not None
        if wizard.channel is None and index == 0 and value != self.channel:
            self.channel = value  # another load cell: earlier readings were of the old one
            self.readings = [None] * len(wizard.steps)
        self.values[index] = value
        self._show_step()

    def _ask_entry(self) -> None:
        entry = self.step.entry
        if entry is None:
            return
        dialog = KeypadDialog(
            entry.title,
            entry.unit,
            entry.low,
            entry.high,
            self.values[self.step_index],
            entry.decimals,
            self,
        )
        index = self.step_index

        def entered() -> None:
            if dialog.value() is not None and self.step_index == index:
                self.values[index] = dialog.value()
                self._show_step()

        self.page.open_dialog(dialog, entered)

    def missing(self) -> str:
        """What the step still needs before Read ('' when nothing)."""
        step = self.step
        if step.choice is not None and self.values[self.step_index] is None:
            return f"Tap the {step.choice.prompt.lower()} first."
        if step.entry is not None and self.values[self.step_index] is None:
            return f"Enter the {step.entry.title.lower()} first."
        return ""

    def reference(self, index: int) -> float:
        assert self.wizard is not None
        step = self.wizard.steps[index]
        if step.reference is not None:
            return step.reference
        value = self.values[index]
        assert isinstance(value, float | int), value
        return float(value)

    # ------------------------------------------------------------------ reading
    def read(self) -> None:
        if self.reading or self.missing() or self.channel is None:
            return
        self.samples = []
        self.last = None
        self.readings[self.step_index] = None
        self.reading = True
        self._waiting = False
        self.page.say("")
        self._show_reading()
        self._tick()
        self.timer.start(self.read_interval_ms)

    def _tick(self) -> None:
        if not self.reading or self._waiting or self.channel is None:
            return
        self._waiting = True
        index = self.step_index
        self.call("raw", self.channel, done=lambda r: self._sample(index, r), failed=self._failed)

    def _sample(self, index: int, reading: RawReading) -> None:
        self._waiting = False
        if not self.reading or index != self.step_index:
            return
        self.last = reading
        self.samples.append(reading.raw)
        if len(self.samples) >= self.read_samples:
            self._stop_reading()
            try:
                self.readings[index] = summarise(self.samples)
            except ValueError as exc:
                self.page.say(f"Reading refused: {plain_sentence(exc)}", error=True)
        self._show_reading()

    def _failed(self, _exc: BaseException) -> None:
        self._waiting = False
        if self.reading:
            self._stop_reading()
            self.samples = []
            self._show_reading()

    def _stop_reading(self) -> None:
        self.timer.stop()
        self.reading = False

    def _show_reading(self) -> None:
        wizard = self.wizard
        if wizard is None:
            return
        unit, digits = wizard.unit, wizard.digits
        done = self.readings[self.step_index]
        if self.last is not None and (self.reading or done is not None):
            self.live.setText(f"{self.last.raw:.{digits + 1}f} {unit}")
        else:
            self.live.setText(f"— {unit}")
        sd = None
        if done is not None:
            sd = done.sd
        elif len(self.samples) >= 2:
            sd = summarise(self.samples).sd
        if sd is None:
            self.stability.setText("")
        else:
            steady = sd <= wizard.sd_limit
            word = "Steady" if steady else "Settling" if self.reading else "Not steady"
            self.stability.setText(f"{word} (SD {sd:.{digits + 1}f} {unit})")
            coloured(self.stability, theme.GOOD if steady else theme.WARN, 22)
        missing = self.missing()
        if self.reading:
            self.progress.setText(
                f"Reading {len(self.samples)} of {self.read_samples}: keep the probe still."
            )
        elif done is not None:
            self.progress.setText(
                f"Mean {done.mean:.{digits + 1}f} {unit} over {done.n} readings. "
                + (
                    "Tap Next."
                    if done.sd <= wizard.sd_limit
                    else "Not steady: wait for the reading to settle and read again."
                )
            )
        else:
            self.progress.setText(missing or "Tap Read when the reading has settled.")
        last = self.step_index == len(wizard.steps) - 1
        self.next_button.setText("Show result ▶" if last else "Next ▶")
        self.next_button.setVisible(done is not None)
        self.next_button.setEnabled(done is not None and not self.reading)
        self.read_button.setText("Reading…" if self.reading else "Read again" if done else "Read")
        self.read_button.setEnabled(not self.reading and not missing)
        steady_done = done is not None and done.sd <= wizard.sd_limit
        repolish(self.read_button, "" if steady_done else "Primary")
        repolish(self.next_button, "Primary" if steady_done else "")
        for button in self.choice_buttons:
            button.setEnabled(not self.reading)
        self.entry_button.setEnabled(not self.reading)

    def next_step(self) -> None:
        wizard = self.wizard
        if wizard is None or self.reading or self.readings[self.step_index] is None:
            return
        if self.step_index < len(wizard.steps) - 1:
            self.step_index += 1
            self.last = None
            self.samples = []
            self._show_step()
            return
        self.show_result()

    # ------------------------------------------------------------------ result
    def show_result(self) -> None:
        """Read the instrument's coefficients now (the 'old'), then compute."""
        channel = self.channel
        if self.wizard is None or channel is None:
            return
        self.next_button.setEnabled(False)
        self.call(
            "calibration",
            channel,
            done=self._compute,
            failed=lambda _e: self.next_button.setEnabled(True),
        )

    def _compute(self, old: tuple[float, float]) -> None:
        wizard, channel = self.wizard, self.channel
        if wizard is None or channel is None:
            return
        points = [
            Point.of(self.reference(i), readings)
            for i, readings in enumerate(self.readings)
            if readings is not None
        ]
        try:
            self.result = wizard.compute(channel, points, old[0], old[1])
            self.problem = ""
        except ValueError as exc:  # CalibrationInputError: not a calibration of this kind
            self.result = None
            self.problem = plain_sentence(exc)
        self.old = old
        self._show_result()
        self.views.setCurrentWidget(self.result_view)

    def _show_result(self) -> None:
        wizard, channel, result = self.wizard, self.channel, self.result
        assert wizard is not None and channel is not None
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        what = wizard.title
        if wizard.channel is None:  # the load cell chosen
            what += f" · {CHANNEL_LABELS.get(channel, channel)}"
        self.result_title.setText(f"{what}: result")
        header = ("", "On the instrument now", "New")
        for col, text in enumerate(header):
            cell = big_label(text, 20, bold=True)
            cell.setWordWrap(False)
            cell.setObjectName("Hint")
            self.grid.addWidget(cell, 0, col)
        old_gain, old_offset = self.old
        rows: list[tuple[str, str, str]] = []
        if result is not None:
            rows.append(("Gain", f"{old_gain:.6f}", self._fmt(result.gain, 6)))
            rows.append(("Offset", f"{old_offset:.4f}", self._fmt(result.offset, 4)))
            digits = wizard.digits
            for point in result.points:
                rows.append(
                    (
                        f"{wizard.standard(point).capitalize()} reads",
                        f"{result.old_reading(point.raw):.{digits}f} {wizard.unit}",
                        self._fmt(result.reading(point.raw), digits, wizard.unit),
                    )
                )
        for row, (name, before, after) in enumerate(rows, 1):
            self.grid.addWidget(big_label(name, 22), row, 0)
            old_cell = big_label(before, 24)
            old_cell.setAccessibleName(f"old {name.lower()}")
            self.grid.addWidget(old_cell, row, 1)
            new_cell = big_label(after, 24, bold=True)
            new_cell.setAccessibleName(f"new {name.lower()}")
            self.grid.addWidget(new_cell, row, 2)
        self.grid.setColumnStretch(3, 1)
        if result is None:
            self.figure.setText("")
            self.verdict.setText(f"Refused: {self.problem}")
            coloured(self.verdict, theme.BAD, 22)
        else:
            days = default_due_days(channel)
            due = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")
            self.figure.setText(f"{result.figure_text[0].upper()}{result.figure_text[1:]}")
            if result.plausible:
                self.verdict.setText(
                    f"Plausible. Apply writes it to the instrument and records it under your "
                    f"signature; it falls due in {days} days ({due})."
                )
                coloured(self.verdict, theme.GOOD, 22)
            else:
                self.verdict.setText(f"Refused: {result.refusal}.")
                coloured(self.verdict, theme.BAD, 22)
        plausible = result is not None and result.plausible
        self.apply_button.setEnabled(plausible and not self.applying)
        repolish(self.again_button, "" if plausible else "Primary")  # the way on: again
        self.again_button.setEnabled(not self.applying)
        self.result_cancel.setEnabled(not self.applying)

    @staticmethod
    def _fmt(value: float, digits: int, unit: str = "") -> str:
        if not math.isfinite(value):
            return "—"
        return f"{value:.{digits}f}" + (f" {unit}" if unit else "")

    # ------------------------------------------------------------------ apply
    def apply(self) -> None:
        result = self.result
        if result is None or not result.plausible or self.applying:
            return
        if self.identity is None:
            self.page.say("The instrument has not identified itself yet: try again.", True)
            return
        self._signature(lambda password, username: self._check(result, password, username))

    def _signature(self, then: Callable[[str, str | None], None]) -> None:
        """The signing dialog: what is signed and what it causes, then the password (and,
        at the session's first signature, the user name)."""
        session, result, identity = self.page.session(), self.result, self.identity
        if session is None or result is None or identity is None:
            return
        ask_signature(self.page, self._request(result, identity.serial), session, then)

    @staticmethod
    def _request(result: CalibrationResult, serial: str) -> SigningRequest:
        """The calibration's signature in words (shown, then stored with it)."""
        return calibration_request(CHANNEL_LABELS.get(result.channel, result.channel), serial)

    def _busy(self, busy: bool, text: str = "") -> None:
        self.applying = busy
        if text:
            self.page.say(text)
        self._show_result()

    def _check(self, result: CalibrationResult, password: str, username: str | None) -> None:
        """Step 1: the permission and the password, before anything changes."""
        session = self.page.session()
        identity = self.identity
        if session is None or identity is None:
            return
        serial = identity.serial
        users = self.records.users
        self._busy(True, "Checking your signature…")

        def check() -> None:
            users.require(
                session, Permission.CALIBRATE, "calibration", f"{serial}/{result.channel}"
            )
            users.reauthenticate(session, password, username)

        def checked(ok: bool, value: Any) -> None:
            if not ok:
                self._busy(False)
                self.page.say(
                    f"{plain_sentence(value)} Nothing was written to the instrument or recorded.",
                    error=True,
                )
                return
            self._write(result, serial, password, username)

        self.background.submit(check, checked)

    def _write(
        self, result: CalibrationResult, serial: str, password: str, username: str | None
    ) -> None:
        """Step 2: the new coefficients onto the instrument, and read back."""
        channel = result.channel
        self.page.say("Writing the new coefficients to the instrument…")

        def refused(_exc: BaseException) -> None:
            self._busy(False)
            self.page.say(
                f"{self.page.message.text()} The instrument keeps its old coefficients; "
                "nothing was recorded.",
                error=True,
            )

        def read_back(held: tuple[float, float]) -> None:
            if not (_same(held[0], result.gain) and _same(held[1], result.offset)):
                self._restore(
                    result,
                    f"the instrument holds gain {held[0]:.10g}, offset {held[1]:.10g}, not what "
                    "was written",
                )
                return
            written = replace(result, gain=held[0], offset=held[1])  # as the instrument has it
            self._record(written, serial, password, username)

        self.call(
            "write_calibration",
            channel,
            result.gain,
            result.offset,
            done=lambda _reply: self.call(
                "calibration",
                channel,
                done=read_back,
                failed=lambda exc: self._restore(result, plain_sentence(exc)),
            ),
            failed=refused,
        )

    def _record(
        self, result: CalibrationResult, serial: str, password: str, username: str | None
    ) -> None:
        """Step 3: the signed, audited record."""
        session = self.page.session()
        if session is None:
            self._restore(result, "nobody is signed in")
            return
        service = self._service()
        self.page.say("Recording the calibration under your signature…")

        def recorded(ok: bool, value: Any) -> None:
            if not ok:
                self._restore(result, plain_sentence(value))
                return
            record: CalibrationRecord = value
            self._busy(False)
            label = CHANNEL_LABELS.get(record.channel, record.channel)
            self.page.say(
                f"{label} calibrated on {serial}: gain {record.gain:.6f}, offset "
                f"{record.offset:.4f}, signed by {record.user_name}; due "
                f"{record.due_utc[:10]}. Put the probe or hanger back as the process needs it."
            )
            self.wizard = None
            self.result = None
            self.views.setCurrentWidget(self.chooser)
            self.load_current()

        self.background.submit(
            lambda: service.record(
                session,
                password,
                result,
                serial,
                username=username,
                statement=self._request(result, serial).statement,
            ),
            recorded,
        )

    def _restore(self, result: CalibrationResult, why: str) -> None:
        """Step 4, when the record could not be made: the old coefficients go back."""
        channel = result.channel
        why = why.rstrip(".")

        def restored(_reply: Any) -> None:
            self._busy(False)
            self.page.say(
                f"Not recorded ({why}): the old coefficients (gain {result.old_gain:.6f}, "
                f"offset {result.old_offset:.4f}) were written back to the instrument.",
                error=True,
            )

        def lost(exc: BaseException) -> None:
            self._busy(False)
            self.page.say(
                f"Not recorded ({why}), and writing the old coefficients back failed too "
                f"({plain_sentence(exc).rstrip('.')}): the instrument holds unrecorded "
                "coefficients. Calibrate this channel again before any run.",
                error=True,
            )

        self.call(
            "write_calibration",
            channel,
            result.old_gain,
            result.old_offset,
            done=restored,
            failed=lost,
        )


def _same(a: float, b: float) -> bool:
    """Equal as the wire carries them (ten significant digits)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
