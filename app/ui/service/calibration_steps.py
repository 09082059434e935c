"""The Calibration tab's point capture: a wizard's steps on one screen. A step says
what to do ("Put the probe in buffer 7.00, then tap Read"), takes the standard's value by
tap (the second pH buffer, the load cell) or keypad (the reference weight, the reference
thermometer), then samples ``RAW? <channel>`` for about ten seconds with the live reading
and its stability in view.

``PointCapture`` is a part of ``CalibrationTab`` (app/ui/service/calibration_tab.py),
which holds the state it works on.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.service.calibration import Readings, summarise
from app.ui import theme
from app.ui.dialogs import KeypadDialog
from app.ui.hardware_calls import ServiceCalls
from app.ui.page_kit import plain_sentence, touch_button
from app.ui.service.calibration_wizards import Step, Wizard, cell_name
from app.ui.service.kit import big_label, coloured, repolish
from hardware.driver import RawReading


class PointCapture:
    """The step screen and the readings of a wizard's points (a mixin of the tab)."""

    wizard: Wizard | None
    channel: str | None
    step_index: int
    readings: list[Readings | None]  # per step
    values: list[Any]  # per step: the choice or entry value
    samples: list[float]
    last: RawReading | None
    reading: bool
    _waiting: bool
    read_samples: int
    read_interval_ms: int
    timer: QTimer

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
            what += f" · {cell_name(self.channel)}"
        self.step_title.setText(f"{what} — step {self.step_index + 1} of {count}: {step.title}")
        cell = cell_name(self.channel) if self.channel else "load cell"
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
        self.call(
            ServiceCalls.raw,
            self.channel,
            done=lambda r: self._sample(index, r),
            failed=self._failed,
        )

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
