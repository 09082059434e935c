"""Manual control in service mode: each pump (rate, direction, optional volume, start,
stop), each pinch valve, the rotor, the heater's set-point and the CO2 set-point.

Every act goes to the service host on the hardware thread through the page, so it is
permission-checked and audited there, and the firmware's interlocks still apply: a
refusal reaches the page's message line and is shown again, with its reason, next to
the control that was refused. What the instrument is actually doing (rates, volume
pumped, valve states, speeds, temperatures) comes from telemetry (``show_values``),
never from what was asked for.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme
from app.ui.dialogs import KeypadDialog
from app.ui.hardware_calls import ServiceCalls
from app.ui.page_kit import plain_sentence, touch_button
from app.ui.service.kit import (
    TOOL_BUTTON,
    Request,
    ServicePageApi,
    ServiceTab,
    live_label,
    number,
    panel,
    refusal_label,
    scrolled,
)
from hardware.driver import InstrumentError
from hardware.protocol import (
    CHANNEL_BY_NAME,
    MAX_PUMP_RATE,
    MAX_PUMP_VOLUME,
    MAX_RPM,
    SETPOINT_LIMITS,
    STATES,
    VALVES,
    active_interlocks,
    valve_states,
)

# A chosen setting (direction) is outlined, not filled: filled blue is Start, an action.
CHOSEN_STYLE = (
    "QPushButton { padding: 0 4px; }"
    f" QPushButton:checked {{ background: white; color: {theme.INFO};"
    f" border: 4px solid {theme.INFO}; font-weight: bold; }}"
)
MOTION_INTERLOCKS = ("DOOR", "PRESSURE", "BUBBLE")  # the firmware stops and refuses motion
# Interlocks and what the engineer does about them (the firmware's refusal names one).
INTERLOCK_HINTS = {
    "DOOR": "close the door",
    "PRESSURE": "the line pressure is over its limit",
    "BUBBLE": "a bubble is in the line",
    "OVERTEMP": "the chamber is over temperature",
}


# --------------------------------------------------------------------------- refusals


def refusal_text(exc: BaseException) -> str:
    """A refusal as the line beside the control: the firmware's reason and what to do
    (``pump refused: DOOR`` becomes ``Refused: DOOR interlock (close the door).``)."""
    if not isinstance(exc, InstrumentError):
        return plain_sentence(exc)
    if exc.code == "INTERLOCK":
        names = exc.message.rsplit(":", 1)[-1].strip() or exc.message
        hints = [hint for name, hint in INTERLOCK_HINTS.items() if name in names]
        text = f"Refused: {names.replace(',', ', ')} interlock"
        return text + (f" ({'; '.join(hints)})." if hints else ".")
    if exc.code == "SAFE":
        return "Refused: the instrument is in its safe state."
    return plain_sentence(RuntimeError(f"refused: {exc.message or exc.code}"))


# --------------------------------------------------------------------------- controls


class Control:
    """A group of buttons acting on one part of the instrument, with its refusal line."""

    def __init__(self, tab: ManualTab, name: str) -> None:
        self.tab, self.name = tab, name
        self.refusal = refusal_label(f"{name} refusal")

    def act(self, request: Request, *args: Any, said: str) -> None:
        def done(result: Any) -> None:
            self.refusal.setVisible(False)
            self.tab.page.say(f"{said}: {result}.")

        def failed(exc: BaseException) -> None:
            self.refusal.setText(refusal_text(exc))
            self.refusal.setVisible(True)

        self.tab.page.call(request, *args, done=done, failed=failed)


class PumpControl(Control):
    def __init__(self, tab: ManualTab, pump: int) -> None:
        super().__init__(tab, f"pump {pump}")
        self.pump = pump
        self.rate: float | None = None  # mL/min, unsigned: the direction gives the sign
        self.volume: float | None = None  # mL; None: runs until stopped
        self.frame, column, heading = panel(f"PUMP {pump}")
        self.live = live_label()
        heading.addStretch(1)
        heading.addWidget(self.live)
        self.rate_button = touch_button("", f"pump {pump} rate", **TOOL_BUTTON)
        self.rate_button.clicked.connect(self._ask_rate)
        self.volume_button = touch_button("", f"pump {pump} volume", **TOOL_BUTTON)
        self.volume_button.clicked.connect(self._ask_volume)
        row = QHBoxLayout()
        row.setSpacing(10)
        row.addWidget(self.rate_button, 3)
        row.addWidget(self.volume_button, 3)
        column.addLayout(row)
        self.forward = touch_button(
            "Forward", f"pump {pump} forward", checkable=True, **TOOL_BUTTON
        )
        self.reverse = touch_button(
            "Reverse", f"pump {pump} reverse", checkable=True, **TOOL_BUTTON
        )
        for button in (self.forward, self.reverse):
            button.setStyleSheet(CHOSEN_STYLE)
        self.forward.setChecked(True)
        self.direction = QButtonGroup(self.frame)
        self.direction.addButton(self.forward)
        self.direction.addButton(self.reverse)
        self.start_button = touch_button("Start", f"pump {pump} start", "Primary", **TOOL_BUTTON)
        self.start_button.clicked.connect(self.start)
        self.stop_button = touch_button("Stop", f"pump {pump} stop", "Danger", **TOOL_BUTTON)
        self.stop_button.clicked.connect(self.stop)
        row = QHBoxLayout()
        row.setSpacing(10)
        for button in (self.forward, self.reverse):
            row.addWidget(button, 2)
        row.addSpacing(12)  # direction apart from motion: no Start hit for Reverse
        row.addWidget(self.start_button, 2)
        row.addWidget(self.stop_button, 2)
        column.addLayout(row)
        column.addWidget(self.refusal)
        self._show_settings()

    def _show_settings(self) -> None:
        self.rate_button.setText(
            "Rate: tap to set" if self.rate is None else f"Rate {number(self.rate, 1)} mL/min"
        )
        self.volume_button.setText(
            "Volume: no limit" if self.volume is None else f"Volume {self.volume:g} mL"
        )
        self.start_button.setEnabled(self.rate is not None)

    def _ask_rate(self) -> None:
        dialog = KeypadDialog(
            f"Pump {self.pump} rate", "mL/min", 0.1, MAX_PUMP_RATE, self.rate, 1, self.tab
        )

        def chosen() -> None:
            self.rate = dialog.value()
            self._show_settings()

        self.tab.page.open_dialog(dialog, chosen)

    def _ask_volume(self) -> None:
        dialog = KeypadDialog(
            f"Pump {self.pump} volume (0: no limit)",
            "mL",
            0.0,
            MAX_PUMP_VOLUME,
            self.volume,
            1,
            self.tab,
        )

        def chosen() -> None:
            value = dialog.value()
            self.volume = value if value else None
            self._show_settings()

        self.tab.page.open_dialog(dialog, chosen)

    def signed_rate(self) -> float:
        rate = self.rate or 0.0
        return -rate if self.reverse.isChecked() else rate

    def start(self) -> None:
        if self.rate is None:
            return
        self.act(
            ServiceCalls.pump, self.pump, self.signed_rate(), self.volume, said=f"Pump {self.pump}"
        )

    def stop(self) -> None:
        self.act(ServiceCalls.pump, self.pump, 0.0, said=f"Pump {self.pump}")

    def show_values(self, values: dict[str, float]) -> None:
        rate = values.get(f"p{self.pump}_rate")
        volume = values.get(f"p{self.pump}_vol")
        if rate is None or volume is None:
            return
        state = "stopped" if rate == 0 else f"{number(rate, 1)} mL/min"
        self.live.setText(f"{state} · {number(volume, 2)} mL pumped")


class ValveControl(Control):
    """One toggle per pinch valve; checked (blue) is open, as telemetry reports it."""

    def __init__(self, tab: ManualTab) -> None:
        super().__init__(tab, "valves")
        self.frame, column, _ = panel("VALVES")
        self.open: dict[str, bool] = dict.fromkeys(VALVES, False)
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(10)
        for index, name in enumerate(VALVES):
            button = touch_button("", f"valve {name}", checkable=True, **TOOL_BUTTON)
            button.clicked.connect(lambda _=False, n=name: self.toggle(n))
            grid.addWidget(button, index // 3, index % 3)
            self.buttons[name] = button
        column.addLayout(grid)
        column.addWidget(self.refusal)
        self._show()

    def toggle(self, name: str) -> None:
        self._show()  # the button shows what telemetry says, not the tap, until it changes
        opening = not self.open[name]
        self.act(ServiceCalls.valve, name, opening, said=f"Valve {name}")

    def _show(self) -> None:
        for name, button in self.buttons.items():
            button.setChecked(self.open[name])
            button.setText(f"{name.title()}\n{'OPEN' if self.open[name] else 'closed'}")

    def show_values(self, values: dict[str, float]) -> None:
        mask = values.get("valves")
        if mask is None:
            return
        self.open = valve_states(mask)
        self._show()


class RotorControl(Control):
    def __init__(self, tab: ManualTab) -> None:
        super().__init__(tab, "rotor")
        self.rpm: float | None = None
        self.frame, column, heading = panel("ROTOR")
        self.live = live_label()
        heading.addStretch(1)
        heading.addWidget(self.live)
        self.speed_button = touch_button("", "rotor speed", **TOOL_BUTTON)
        self.speed_button.clicked.connect(self._ask_speed)
        self.start_button = touch_button("Start", "rotor start", "Primary", **TOOL_BUTTON)
        self.start_button.clicked.connect(self.start)
        self.stop_button = touch_button("Stop", "rotor stop", "Danger", **TOOL_BUTTON)
        self.stop_button.clicked.connect(self.stop)
        row = QHBoxLayout()
        row.setSpacing(10)
        row.addWidget(self.speed_button, 3)
        row.addWidget(self.start_button, 2)
        row.addWidget(self.stop_button, 2)
        column.addLayout(row)
        column.addWidget(self.refusal)
        self._show_settings()

    def _show_settings(self) -> None:
        self.speed_button.setText(
            "Speed: tap to set" if self.rpm is None else f"Speed {self.rpm:g} rpm"
        )
        self.start_button.setEnabled(bool(self.rpm))

    def _ask_speed(self) -> None:
        dialog = KeypadDialog("Rotor speed", "rpm", 0.0, MAX_RPM, self.rpm, 0, self.tab)

        def chosen() -> None:
            self.rpm = dialog.value()
            self._show_settings()

        self.tab.page.open_dialog(dialog, chosen)

    def start(self) -> None:
        if self.rpm:
            self.act(ServiceCalls.rotor, self.rpm, said="Rotor")

    def stop(self) -> None:
        self.act(ServiceCalls.rotor, 0.0, said="Rotor")

    def show_values(self, values: dict[str, float]) -> None:
        rpm, target = values.get("rpm"), values.get("rpm_sp")
        if rpm is None or target is None:
            return
        self.live.setText(f"{rpm:.0f} rpm (set {target:.0f})")


class SetpointControl(Control):
    """A set-point the firmware's loop holds (heater, gas): tap, type, sent at once."""

    def __init__(self, tab: ManualTab, name: str, title: str, measured: str, extra: str = ""):
        super().__init__(tab, name)
        self.setpoint, self.measured, self.extra = name, measured, extra
        self.channel = CHANNEL_BY_NAME[name]
        self.current: float | None = None
        self.frame, column, heading = panel(title)
        self.live = live_label()
        heading.addStretch(1)
        heading.addWidget(self.live)
        self.button = touch_button(
            f"Set-point – {self.channel.unit}", f"{name} set-point", **TOOL_BUTTON
        )
        self.button.clicked.connect(self._ask)
        row = QHBoxLayout()
        row.setSpacing(10)
        row.addWidget(self.button, 1)
        self.output = QLabel("")  # what the loop drives (the heater's power)
        self.output.setObjectName("Hint")
        self.output.setStyleSheet("font-size: 19px;")
        self.output.setVisible(bool(extra))
        row.addWidget(self.output)
        column.addLayout(row)
        column.addWidget(self.refusal)

    def _ask(self) -> None:
        low, high = SETPOINT_LIMITS[self.setpoint]
        dialog = KeypadDialog(
            self.channel.label, self.channel.unit, low, high, self.current, 1, self.tab
        )

        def chosen() -> None:
            value = dialog.value()
            if value is not None:
                self.act(ServiceCalls.setpoint, self.setpoint, value, said=self.channel.label)

        self.tab.page.open_dialog(dialog, chosen)

    def show_values(self, values: dict[str, float]) -> None:
        current, measured = values.get(self.setpoint), values.get(self.measured)
        if current is None or measured is None:
            return
        self.current = current
        unit = self.channel.unit
        decimals = self.channel.decimals
        self.button.setText(f"Set-point {number(current, decimals)} {unit}")
        unit_measured = CHANNEL_BY_NAME[self.measured].unit
        self.live.setText(
            f"{number(measured, CHANNEL_BY_NAME[self.measured].decimals)} {unit_measured}"
        )
        if self.extra and self.extra in values:
            self.output.setText(f"output\n{values[self.extra]:.0f} %")


# --------------------------------------------------------------------------- the tab


class ManualTab(ServiceTab):
    title = "Manual control"
    needs_service = True

    def __init__(self, page: ServicePageApi) -> None:
        super().__init__(page)
        body = QWidget()
        grid = QGridLayout(body)
        grid.setContentsMargins(0, 4, 0, 0)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(10)
        self.status = QLabel("Waiting for the instrument's readings…")
        self.status.setObjectName("Hint")
        self.status.setAccessibleName("instrument state")
        self.status.setStyleSheet("font-size: 20px;")
        self.status.setWordWrap(True)
        self.pumps = {pump: PumpControl(self, pump) for pump in (1, 2)}
        self.valves = ValveControl(self)
        self.rotor = RotorControl(self)
        self.heater = SetpointControl(self, "temp_sp", "HEATER", "temp", "heater")
        self.gas = SetpointControl(self, "co2_sp", "GAS CO2", "co2")
        left = QVBoxLayout()
        left.setSpacing(10)
        left.addWidget(self.status)
        left.addWidget(self.pumps[1].frame)
        left.addWidget(self.pumps[2].frame)
        left.addStretch(1)
        right = QVBoxLayout()
        right.setSpacing(10)
        right.addWidget(self.valves.frame)
        right.addWidget(self.rotor.frame)
        loops = QHBoxLayout()
        loops.setSpacing(10)
        loops.addWidget(self.heater.frame, 3)
        loops.addWidget(self.gas.frame, 2)
        right.addLayout(loops)
        right.addStretch(1)
        grid.addLayout(left, 0, 0)
        grid.addLayout(right, 0, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(scrolled(body))
        self.controls: list[Control] = [
            *self.pumps.values(),
            self.valves,
            self.rotor,
            self.heater,
            self.gas,
        ]
        self.service_changed(page.active)

    def service_changed(self, active: bool) -> None:
        if not active:  # an old refusal says nothing about the next time
            for control in self.controls:
                control.refusal.setVisible(False)

    def show_values(self, values: dict[str, float]) -> None:
        """The newest telemetry sample, by channel name (the shell forwards it)."""
        for control in self.controls:
            control.show_values(values)
        state, interlocks = values.get("state"), values.get("ilk")
        if state is None or interlocks is None:
            return
        index = int(state)
        name = STATES[index].value if 0 <= index < len(STATES) else f"? {index}"
        active = active_interlocks(interlocks)
        text = f"Instrument {name} · " + (
            f"interlock {' '.join(active)}" if active else "no interlock active"
        )
        if name == "SAFE":
            text += ": pumps, rotor and opening a valve are refused"
        elif any(n in MOTION_INTERLOCKS for n in active):
            text += ": pumps and rotor are refused"
        self.status.setText(text)
        self.status.setObjectName("Error" if active or name == "SAFE" else "Hint")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
