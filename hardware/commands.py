"""Typed commands the console sends to the hardware thread.

Each command checks its own arguments when it is built (so an out-of-range value is
refused with a clear message before it ever reaches the instrument) and knows how to
carry itself out on an ``Instrument``; the worker needs no if/elif chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hardware.driver import Instrument
from hardware.protocol import (
    CALIBRATABLE,
    MAX_PUMP_RATE,
    MAX_PUMP_VOLUME,
    MAX_RPM,
    MAX_TLM_HZ,
    SETPOINT_LIMITS,
    VALVES,
    format_value,
)


def _check_range(what: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not low <= value <= high:  # also refuses nan
        suffix = f" {unit}" if unit else ""
        raise ValueError(f"{what} {value:g}{suffix} is outside {low:g}..{high:g}{suffix}")


class InstrumentCommand:
    """Base of every command: ``run`` carries it out and returns a short result text."""

    label: ClassVar[str] = "command"

    def run(self, instrument: Instrument) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class SetSetpoint(InstrumentCommand):
    name: str  # temp_sp, co2_sp, p_limit
    value: float
    label: ClassVar[str] = "set-point"

    def __post_init__(self) -> None:
        if self.name not in SETPOINT_LIMITS:
            raise ValueError(f"unknown set-point {self.name!r}")
        _check_range(self.name, self.value, *SETPOINT_LIMITS[self.name])

    def run(self, instrument: Instrument) -> str:
        instrument.set(self.name, self.value)
        return f"{self.name} = {format_value(self.value)}"


@dataclass(frozen=True)
class RunPump(InstrumentCommand):
    pump: int  # 1 or 2
    rate_ml_min: float  # negative runs backwards; 0 stops
    volume_ml: float | None = None
    label: ClassVar[str] = "pump"

    def __post_init__(self) -> None:
        if self.pump not in (1, 2):
            raise ValueError("pump must be 1 or 2")
        _check_range("pump rate", self.rate_ml_min, -MAX_PUMP_RATE, MAX_PUMP_RATE, "mL/min")
        if self.volume_ml is not None:
            _check_range("volume", self.volume_ml, 0.001, MAX_PUMP_VOLUME, "mL")

    def run(self, instrument: Instrument) -> str:
        instrument.pump(self.pump, self.rate_ml_min, self.volume_ml)
        return f"pump {self.pump} at {format_value(self.rate_ml_min)} mL/min"


@dataclass(frozen=True)
class SetValve(InstrumentCommand):
    name: str
    open: bool
    label: ClassVar[str] = "valve"

    def __post_init__(self) -> None:
        if self.name not in VALVES:
            raise ValueError(f"unknown valve {self.name!r}")

    def run(self, instrument: Instrument) -> str:
        instrument.valve(self.name, self.open)
        return f"valve {self.name} {'open' if self.open else 'closed'}"


@dataclass(frozen=True)
class SetRotor(InstrumentCommand):
    rpm: float
    label: ClassVar[str] = "rotor"

    def __post_init__(self) -> None:
        _check_range("rotor speed", self.rpm, 0.0, MAX_RPM, "rpm")

    def run(self, instrument: Instrument) -> str:
        instrument.rotor(self.rpm)
        return f"rotor {format_value(self.rpm)} rpm"


@dataclass(frozen=True)
class SetTelemetryRate(InstrumentCommand):
    hz: float
    label: ClassVar[str] = "telemetry rate"

    def __post_init__(self) -> None:
        _check_range("telemetry rate", self.hz, 0.0, MAX_TLM_HZ, "Hz")

    def run(self, instrument: Instrument) -> str:
        instrument.telemetry_rate(self.hz)
        return f"telemetry {format_value(self.hz)} Hz"


@dataclass(frozen=True)
class ClearSafeState(InstrumentCommand):
    label: ClassVar[str] = "clear safe state"

    def run(self, instrument: Instrument) -> str:
        instrument.clear_safe()
        return "safe state cleared"


@dataclass(frozen=True)
class EnterServiceState(InstrumentCommand):
    label: ClassVar[str] = "service state"

    def run(self, instrument: Instrument) -> str:
        instrument.service(True)
        return "service state entered"


@dataclass(frozen=True)
class LeaveServiceState(InstrumentCommand):
    label: ClassVar[str] = "leave service state"

    def run(self, instrument: Instrument) -> str:
        state = instrument.service(False)
        return "service state left" if state == "READY" else f"not in service state ({state})"


@dataclass(frozen=True)
class ReadRaw(InstrumentCommand):
    """One raw sample of a calibratable sensor; ``run`` returns it as text
    (``ph: 27853 counts, raw 5.949, value 5.949``). Callers that want the numbers
    call ``Instrument.raw`` directly."""

    channel: str
    label: ClassVar[str] = "raw reading"

    def __post_init__(self) -> None:
        if self.channel not in CALIBRATABLE:
            raise ValueError(f"{self.channel!r} has no raw reading")

    def run(self, instrument: Instrument) -> str:
        reading = instrument.raw(self.channel)
        return (
            f"{reading.channel}: {reading.counts} counts, raw {format_value(reading.raw)},"
            f" value {format_value(reading.value)}"
        )


@dataclass(frozen=True)
class ResetFirmware(InstrumentCommand):
    label: ClassVar[str] = "firmware reset"

    def run(self, instrument: Instrument) -> str:
        instrument.reset()
        return "firmware reset"


@dataclass(frozen=True)
class WriteCalibration(InstrumentCommand):
    """Write a calibration. The firmware takes it only in service state: send
    ``EnterServiceState`` first (otherwise InstrumentError, code STATE)."""

    channel: str
    gain: float
    offset: float
    label: ClassVar[str] = "calibration"

    def __post_init__(self) -> None:
        if self.channel not in CALIBRATABLE:
            raise ValueError(f"{self.channel!r} has no calibration")
        _check_range("gain", self.gain, 0.5, 2.0)
        _check_range("offset", self.offset, -1000.0, 1000.0)

    def run(self, instrument: Instrument) -> str:
        instrument.set_calibration(self.channel, self.gain, self.offset)
        return f"{self.channel} gain {self.gain:g} offset {self.offset:g}"


@dataclass(frozen=True)
class InjectFault(InstrumentCommand):
    """Simulator only: inject (``spec`` = NAME[=VALUE]) or clear (``clear=True``) a fault."""

    spec: str
    clear: bool = False
    label: ClassVar[str] = "fault"

    def run(self, instrument: Instrument) -> str:
        if self.clear:
            instrument.clear_fault(self.spec or None)
            return f"fault {self.spec or 'all'} cleared"
        instrument.fault(self.spec)
        return f"fault {self.spec} injected"
