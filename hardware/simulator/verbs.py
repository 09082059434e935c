"""The simulated firmware's command handlers: one method per verb of the protocol
(docs/protocol.md), each checking its arguments and answering with the fields of its OK
reply, or raising ``CommandError`` for ``<seq> ERR <code> <message>``.

``VerbHandlers`` is a mixin of ``Firmware`` (firmware.py): the handlers read and change
the firmware's state (plant, sensors, set-points, state, history, faults) and call its
state changes (``enter_safe``, ``apply_fault``, ...). Dispatch, the retry cache and
the control loop stay in the firmware.
"""

from __future__ import annotations

from collections.abc import Callable

from hardware.protocol import (
    CALIBRATABLE,
    CHANNEL_INDEX,
    MAX_PUMP_RATE,
    MAX_PUMP_VOLUME,
    MAX_RPM,
    MAX_TLM_HZ,
    SETPOINT_LIMITS,
    VALUE_LIMIT,
    VALVES,
    Command,
    ErrorCode,
    FirmwareState,
    adc_counts,
    encode_frame,
    format_value,
    telemetry_payload,
)
from hardware.simulator.faults import FaultError, parse_fault
from hardware.simulator.sensors import Calibration, true_values

MODEL = "CD-1000"
FIRMWARE_VERSION = "1.0.0"
MAX_HISTORY_REPLY = 3600  # frames per HIST? reply; the reply's next= says where to go on

SETTABLE = SETPOINT_LIMITS


class CommandError(Exception):
    """Raised by a verb handler; becomes ``<seq> ERR <code> <message>``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _float(text: str, what: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(ErrorCode.BADARG, f"{what} must be a number") from None
    if not low <= value <= high:  # also refuses nan
        raise CommandError(ErrorCode.RANGE, f"{what} {text} outside {low:g}..{high:g}")
    return value


def _argc(cmd: Command, low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(cmd.args) <= high:
        want = str(low) if low == high else f"{low}..{high}"
        raise CommandError(ErrorCode.BADARG, f"{cmd.verb} takes {want} arguments")


def _number_range(cmd: Command, what: str) -> tuple[int, int]:
    """The ``<from> <to>`` arguments of HIST? (milliseconds) and EVT? (event numbers)."""
    _argc(cmd, 2)
    if not all(a.isdigit() and len(a) < 16 for a in cmd.args):
        raise CommandError(ErrorCode.BADARG, f"{what} must be whole numbers")
    low, high = int(cmd.args[0]), int(cmd.args[1])
    if low > high:
        raise CommandError(ErrorCode.RANGE, "range ends before it starts")
    return low, high


def _clamp(value: float) -> float:
    """A reading as the firmware reports it: never beyond ±VALUE_LIMIT."""
    return min(max(value, -VALUE_LIMIT), VALUE_LIMIT)


class VerbHandlers:
    """The verbs of the protocol, for ``Firmware`` to dispatch (see the module's note)."""

    def _verb_table(self) -> dict[str, Callable[[Command], tuple[str, ...]]]:
        return {
            "IDN?": self._idn,
            "PING": self._ping,
            "GET": self._get,
            "SET": self._set,
            "PUMP": self._pump,
            "VALVE": self._valve,
            "ROTOR": self._rotor,
            "TLM": self._tlm,
            "HIST?": self._hist,
            "EVT?": self._evt,
            "SAFE": self._safe,
            "SERVICE": self._service,
            "RAW?": self._raw,
            "RESET": self._reset,
            "CAL": self._cal,
            "FAULT": self._fault,
            "FAULT?": self._fault_list,
        }

    def _idn(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 0)
        return (
            f"model={MODEL}",
            f"serial={self.serial}",
            f"fw={FIRMWARE_VERSION}",
            f"kit={self.kit_id}",
            f"boot={self.boot}",
            f"t={self.t_ms}",
            f"ev={self.event_count}",
        )

    def _ping(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 0)
        return (f"t={self.t_ms}",)

    def _get(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 1)
        name = cmd.args[0]
        if name in CHANNEL_INDEX:
            value = format_value(self.readings()[CHANNEL_INDEX[name]])
        elif name in self.setpoints:
            value = format_value(self.setpoints[name])
        elif name == "tlm":
            value = format_value(self.tlm_hz)
        elif name == "kit":
            value = self.kit_id
        else:
            raise CommandError(ErrorCode.BADARG, f"unknown name {name[:20]}")
        return (f"{name}={value}",)

    def _set(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 2)
        name, text = cmd.args
        if name not in SETTABLE:
            if name in CHANNEL_INDEX:
                raise CommandError(ErrorCode.READONLY, f"{name} is a measurement")
            raise CommandError(ErrorCode.BADARG, f"unknown name {name[:20]}")
        low, high = SETTABLE[name]
        value = _float(text, name, low, high)
        self.setpoints[name] = value
        return (f"{name}={format_value(value)}",)

    def _refuse_motion(self, what: str) -> None:
        if self.state is FirmwareState.SAFE:
            raise CommandError(ErrorCode.SAFE, f"{what} refused in safe state")
        blocking = self.interlocks & {"DOOR", "PRESSURE", "BUBBLE"}
        if blocking:
            raise CommandError(ErrorCode.INTERLOCK, f"{what} refused: {','.join(sorted(blocking))}")

    def _pump(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 2, 3)
        if cmd.args[0] not in ("1", "2"):
            raise CommandError(ErrorCode.BADARG, "pump must be 1 or 2")
        index = int(cmd.args[0])
        rate = _float(cmd.args[1], "rate", -MAX_PUMP_RATE, MAX_PUMP_RATE)
        volume = None
        if len(cmd.args) == 3:
            volume = _float(cmd.args[2], "volume", 0.001, MAX_PUMP_VOLUME)
        if rate:
            self._refuse_motion("pump")
        self.plant.pumps[index - 1].run(rate, volume)
        return (f"pump={index}", f"rate={format_value(rate)}")

    def _valve(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 2)
        name, action = cmd.args
        if name not in VALVES:
            raise CommandError(ErrorCode.BADARG, f"unknown valve {name[:20]}")
        if action not in ("OPEN", "CLOSE"):
            raise CommandError(ErrorCode.BADARG, "action must be OPEN or CLOSE")
        if action == "OPEN":
            if self.state is FirmwareState.SAFE:
                raise CommandError(ErrorCode.SAFE, "valve refused in safe state")
            self.plant.valves.add(name)
        else:
            self.plant.valves.discard(name)
        return (f"valve={name}", f"state={action}")

    def _rotor(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 1)
        rpm = _float(cmd.args[0], "rpm", 0.0, MAX_RPM)
        if rpm:
            self._refuse_motion("rotor")
        self.plant.rotor_setpoint = rpm
        return (f"rpm_sp={format_value(rpm)}",)

    def _tlm(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 1)
        self.tlm_hz = _float(cmd.args[0], "rate", 0.0, MAX_TLM_HZ)
        return (f"hz={format_value(self.tlm_hz)}",)

    def _hist(self, cmd: Command) -> tuple[str, ...]:
        t0, t1 = _number_range(cmd, "times in ms")
        rows = self.history_rows(t0, t1)
        more: tuple[str, ...] = ()
        if len(rows) > MAX_HISTORY_REPLY:
            more = (f"next={int(rows[MAX_HISTORY_REPLY, 0])}",)
            rows = rows[:MAX_HISTORY_REPLY]
        self.output_for_request = [
            encode_frame(telemetry_payload(int(row[0]), row[1:].tolist(), history_seq=cmd.seq))
            for row in rows
        ]
        oldest = self.history_rows(0, 2**62)[:1]
        first = int(oldest[0, 0]) if len(oldest) else self.t_ms
        return (f"count={len(rows)}", f"oldest={first}", *more)

    def _evt(self, cmd: Command) -> tuple[str, ...]:
        n0, n1 = _number_range(cmd, "event numbers")
        events = [e for e in self.event_log if n0 <= int(e.data["n"]) <= n1]
        self.output_for_request = [encode_frame(e.payload()) for e in events]
        return (f"count={len(events)}",)

    def _safe(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 0, 1)
        action = cmd.args[0] if cmd.args else "ON"
        if action == "ON":
            if self.state is not FirmwareState.SAFE:
                self.enter_safe()
        elif action == "CLEAR":
            if self.state is FirmwareState.SAFE:
                self._change_state(FirmwareState.READY)
        else:
            raise CommandError(ErrorCode.BADARG, "SAFE takes ON or CLEAR")
        return (f"state={self.state.value}",)

    def _service(self, cmd: Command) -> tuple[str, ...]:
        """SERVICE [ON|OFF]: the state for manual control and calibration. ON (from READY
        or SAFE) and OFF (back to READY) both leave the instrument quiet; either one
        when already there changes nothing."""
        _argc(cmd, 0, 1)
        action = cmd.args[0] if cmd.args else "ON"
        if action not in ("ON", "OFF"):
            raise CommandError(ErrorCode.BADARG, "SERVICE takes ON or OFF")
        if action == "ON" and self.state is not FirmwareState.SERVICE:
            self._quiet()
            self._change_state(FirmwareState.SERVICE)
        elif action == "OFF" and self.state is FirmwareState.SERVICE:
            self._quiet()
            self._change_state(FirmwareState.READY)
        return (f"state={self.state.value}",)

    def _raw(self, cmd: Command) -> tuple[str, ...]:
        """RAW? <ch>: one fresh sample of a calibratable sensor before and after its
        calibration, with the ADC count the raw value stands for."""
        _argc(cmd, 1)
        name = cmd.args[0]
        if name not in CALIBRATABLE:
            raise CommandError(ErrorCode.BADARG, f"{name[:20]} has no raw reading")
        cal = self.sensors.calibration[name]
        stuck = name in self.sensors.stuck
        frozen = self.sensors.stuck.get(name)
        if frozen is not None:  # a stuck sensor: its raw reading is stuck as well
            raw = (frozen - cal.offset) / cal.gain
        else:
            raw = self.sensors.raw(name, true_values(self.plant)[name], self.t_s)
        raw = round(_clamp(raw), 4)
        value = round(_clamp(cal.gain * raw + cal.offset), 4)
        if frozen is not None:
            value = frozen
        elif stuck:  # frozen at its next reading, as T frames would be
            self.sensors.stuck[name] = value
        return (
            f"name={name}",
            f"counts={adc_counts(name, raw)}",
            f"raw={format_value(raw)}",
            f"value={format_value(value)}",
        )

    def _reset(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 0)
        self.reset_requested = True  # the transport reboots us after sending the reply
        return ()

    def _cal(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 1, 3)
        name = cmd.args[0]
        if name not in CALIBRATABLE:
            raise CommandError(ErrorCode.BADARG, f"{name[:20]} has no calibration")
        if len(cmd.args) == 2:
            raise CommandError(ErrorCode.BADARG, "CAL takes a channel, or channel gain offset")
        if len(cmd.args) == 3:
            gain = _float(cmd.args[1], "gain", 0.5, 2.0)
            offset = _float(cmd.args[2], "offset", -1000.0, 1000.0)
            if self.state is not FirmwareState.SERVICE:
                raise CommandError(ErrorCode.STATE, "calibration needs service state")
            self.sensors.calibration[name] = Calibration(gain, offset)
        cal = self.sensors.calibration[name]
        return (
            f"name={name}",
            f"gain={format_value(cal.gain)}",
            f"offset={format_value(cal.offset)}",
        )

    def _fault(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 1, 2)
        if cmd.args[0] == "CLEAR":
            self.clear_fault(cmd.args[1] if len(cmd.args) == 2 else None)
            return ()
        if len(cmd.args) != 1:
            raise CommandError(ErrorCode.BADARG, "FAULT takes NAME[=VALUE] or CLEAR [NAME]")
        try:
            fault = parse_fault(cmd.args[0])
        except FaultError as exc:
            raise CommandError(ErrorCode.BADARG, str(exc)) from None
        self.apply_fault(fault)
        return (f"fault={fault.name}",)

    def _fault_list(self, cmd: Command) -> tuple[str, ...]:
        _argc(cmd, 0)
        return tuple(
            f"{f.name}={format_value(f.value)}" if f.value is not None else f.name
            for f in self.faults.values()
        )
