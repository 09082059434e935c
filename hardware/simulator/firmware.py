"""The simulated instrument's firmware: command handling, control loops, interlocks,
host watchdog, telemetry and its history ring buffer.

No I/O and no wall clock: the transport (server.py) feeds it received lines with the
real time they arrived, advances instrument time with ``advance``, and sends what it
returns. That keeps it deterministic enough to fuzz with thousands of lines.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hardware.protocol import (
    CALIBRATABLE,
    CHANNEL_INDEX,
    CHANNEL_NAMES,
    MAX_PUMP_RATE,
    MAX_PUMP_VOLUME,
    MAX_RPM,
    MAX_TLM_HZ,
    SETPOINT_LIMITS,
    VALUE_LIMIT,
    VALVES,
    Command,
    ErrorCode,
    Event,
    FirmwareState,
    FrameError,
    ParseError,
    Reply,
    adc_counts,
    decode_frame,
    encode_frame,
    format_value,
    interlock_mask,
    parse_command,
    telemetry_payload,
)
from hardware.simulator.faults import LINK_FAULTS, Fault, FaultError, parse_fault
from hardware.simulator.physics import Plant
from hardware.simulator.sensors import Calibration, Sensors, true_values

MODEL = "CD-1000"
FIRMWARE_VERSION = "1.0.0"
WATCHDOG_S = 5.0
HISTORY_SECONDS = 48 * 3600  # ring buffer of 1 Hz frames (spec: at least 24 h)
EVENT_LOG_SIZE = 2000  # events kept for read-back with EVT?
MAX_HISTORY_REPLY = 3600  # frames per HIST? reply; the reply's next= says where to go on
MAX_STEP_S = 1.0
OVERTEMP_C, OVERTEMP_CLEAR_C = 40.0, 39.5

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


@dataclass
class PidController:
    """Heater PI controller with anti-windup, output 0..1."""

    kp: float = 0.15  # per °C
    ti: float = 600.0  # s
    integral: float = 0.3

    def update(self, error: float, dt: float) -> float:
        proposed = self.integral + self.kp * error * dt / self.ti
        output = self.kp * error + proposed
        if 0.0 <= output <= 1.0:
            self.integral = min(max(proposed, 0.0), 1.0)
        return min(max(output, 0.0), 1.0)


class Firmware:
    """One instrument. Call ``handle_line`` for each received line, ``advance`` as time
    passes, ``check_watchdog`` with the wall clock, and send what ``take_output`` gives."""

    def __init__(
        self,
        plant: Plant | None = None,
        serial: str = "SIM-0001",
        kit_id: str = "KIT-CART-0001",
        seed: int | None = None,
    ) -> None:
        self.plant = plant or Plant()
        self.serial = serial
        self.kit_id = kit_id
        self.rng = random.Random(seed)
        self.sensors = Sensors(self.rng)  # calibration lives in non-volatile memory
        self.setpoints = {"temp_sp": 37.0, "co2_sp": 5.0, "p_limit": 300.0}  # also NV
        self.boot = 0
        self.faults: dict[str, Fault] = {}
        self.link_faults: dict[str, float] = {}
        self.frames_ok = 0
        self.frames_bad = 0
        self._handlers: dict[str, Callable[[Command], tuple[str, ...]]] = {
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
        self.power_on("power-on")

    # ------------------------------------------------------------------ boot
    def power_on(self, reason: str) -> None:
        """(Re)start the controller. The plant (cells, liquids, heat) carries on;
        set-points and calibration are non-volatile; everything else is volatile."""
        self.boot += 1
        previous_t = getattr(self, "t_s", 0.0)
        for name in self.sensors.drift_per_h:  # a drifting probe keeps drifting
            self.sensors.drift_since_s[name] -= previous_t
        self.t_s = 0.0
        self.tlm_hz = 1.0
        self.state = FirmwareState.READY
        self.interlocks: set[str] = set()
        self.pid = PidController()
        self.plant.stop_pumps()
        self.plant.valves.clear()
        self.plant.rotor_setpoint = 0.0
        self.plant.co2_setpoint = self.setpoints["co2_sp"]
        self.history = np.zeros((HISTORY_SECONDS, len(CHANNEL_NAMES) + 1))
        self.history_count = 0
        self.event_log: deque[Event] = deque(maxlen=EVENT_LOG_SIZE)
        self.last_host_frame: float | None = None  # wall clock; watchdog armed once set
        # The reply cache survives a reset only for the command that caused it, so that a
        # retried RESET is answered instead of rebooting twice.
        cached = getattr(self, "last_seq", None)
        words = cached[1].split(b" ")[1:3] if cached else []
        if words[:1] != [b"RESET"] and not (words[:1] == [b"FAULT"] and words[1:2] == [b"reset"]):
            cached = None
        self.last_seq: tuple[int, bytes, list[bytes]] | None = cached
        self.event_count = 0
        self.output: list[bytes] = []
        self.output_for_request: list[bytes] = []  # history frames that precede a reply
        self.reset_requested = False
        self.emit("BOOT", boot=self.boot, reason=reason)

    # ------------------------------------------------------------------ output
    def emit(self, code: str, **data: object) -> None:
        """Queue an unsolicited event frame."""
        self.event_count += 1  # n= lets the host notice an event lost on the wire
        fields = {"n": str(self.event_count), **{k: str(v) for k, v in data.items()}}
        event = Event(self.t_ms, code, fields)
        self.event_log.append(event)
        self.output.append(encode_frame(event.payload()))

    def take_output(self) -> list[bytes]:
        out, self.output = self.output, []
        return out

    @property
    def t_ms(self) -> int:
        return int(self.t_s * 1000.0)

    def readings(self) -> list[float]:
        mask = interlock_mask(self.interlocks)
        return self.sensors.read(self.plant, self.t_s, self.setpoints, mask, self.state)

    def telemetry_frame(self) -> bytes:
        return encode_frame(telemetry_payload(self.t_ms, self.readings()))

    # ------------------------------------------------------------------ time
    def advance(self, dt: float) -> None:
        """Let ``dt`` seconds of instrument time pass, in steps of at most a second,
        recording a history frame at every whole second."""
        while dt > 1e-9:
            step = min(dt, MAX_STEP_S, (int(self.t_s) + 1) - self.t_s)
            self._control(step)
            self.plant.step(step)
            self._interlocks()
            before = int(self.t_s)
            self.t_s += step
            dt -= step
            if int(self.t_s + 1e-9) > before:
                self.t_s = round(self.t_s, 6)
                self._record_history()

    def _control(self, dt: float) -> None:
        temp = self.readings_temp()
        if "OVERTEMP" in self.interlocks:
            self.plant.heater_power = 0.0
        else:
            self.plant.heater_power = self.pid.update(self.setpoints["temp_sp"] - temp, dt)
        self.plant.co2_setpoint = self.setpoints["co2_sp"]

    def readings_temp(self) -> float:
        cal = self.sensors.calibration["temp"]
        if "temp" in self.sensors.stuck and self.sensors.stuck["temp"] is not None:
            return self.sensors.stuck["temp"]
        return cal.gain * self.sensors.raw("temp", self.plant.temp, self.t_s) + cal.offset

    def _record_history(self) -> None:
        row = self.history_count % HISTORY_SECONDS
        self.history[row, 0] = self.t_ms
        self.history[row, 1:] = self.readings()
        self.history_count += 1

    def _interlocks(self) -> None:
        plant = self.plant
        self._interlock("DOOR", plant.door_open, plant.door_open)
        limit = self.setpoints["p_limit"]
        self._interlock("PRESSURE", plant.pressure > limit, plant.pressure > 0.8 * limit)
        self._interlock("OVERTEMP", plant.temp > OVERTEMP_C, plant.temp > OVERTEMP_CLEAR_C)
        self._interlock("BUBBLE", plant.bubble, plant.bubble)
        if self.interlocks & {"DOOR", "PRESSURE", "BUBBLE"}:
            plant.stop_pumps()
        if "DOOR" in self.interlocks:
            plant.rotor_setpoint = 0.0
        while plant.completed:
            index = plant.completed.pop(0)
            pump = plant.pumps[index]
            self.emit(
                "PUMP_DONE",
                pump=index + 1,
                volume=format_value(pump.command_volume or 0.0),
                total=format_value(round(pump.delivered, 3)),
            )

    def _interlock(self, name: str, trip: bool, hold: bool) -> None:
        active = name in self.interlocks
        if not active and trip:
            self.interlocks.add(name)
            self.emit("INTERLOCK", name=name, state="ON")
        elif active and not hold:
            self.interlocks.discard(name)
            self.emit("INTERLOCK", name=name, state="OFF")

    def check_watchdog(self, now: float) -> None:
        """Safe state when the host has been silent for WATCHDOG_S wall-clock seconds."""
        if self.last_host_frame is None or now - self.last_host_frame < WATCHDOG_S:
            return
        self.last_host_frame = None  # disarmed until the host speaks again
        if self.state is not FirmwareState.SAFE:
            self.enter_safe()
            self.emit("WATCHDOG", silent_s=format_value(WATCHDOG_S))

    def enter_safe(self) -> None:
        """Pumps stop, valves close, rotor stops; temperature and gas control continue."""
        self._quiet()
        self._change_state(FirmwareState.SAFE)

    def _quiet(self) -> None:
        """No motion: pumps stopped, valves closed, rotor set-point 0 (set-points kept)."""
        self.plant.stop_pumps()
        self.plant.valves.clear()
        self.plant.rotor_setpoint = 0.0

    def _change_state(self, state: FirmwareState) -> None:
        self.state = state
        self.emit("STATE", state=state.value)

    # ------------------------------------------------------------------ input
    def handle_line(self, line: bytes, now: float = 0.0) -> list[bytes]:
        """Handle one received line; returns the reply frames (none for a bad frame)."""
        try:
            payload = decode_frame(line)
        except FrameError:
            self.frames_bad += 1
            return []
        self.frames_ok += 1
        self.last_host_frame = now
        try:
            cmd = parse_command(payload)
        except ParseError as exc:
            return [
                encode_frame(Reply(0, False, code=ErrorCode.BADSEQ, message=str(exc)).payload())
            ]
        raw = payload.encode("ascii")
        if self.last_seq and self.last_seq[0] == cmd.seq and self.last_seq[1] == raw:
            return list(self.last_seq[2])  # a retry of the last command: same answer, no re-run
        reply = self.execute(cmd)
        frames = [*self.output_for_request, encode_frame(reply.payload())]
        self.output_for_request = []
        self.last_seq = (cmd.seq, raw, frames)
        return frames

    def execute(self, cmd: Command) -> Reply:
        handler = self._handlers.get(cmd.verb)
        try:
            if handler is None:
                raise CommandError(ErrorCode.BADCMD, f"unknown verb {cmd.verb[:20]}")
            return Reply(cmd.seq, True, handler(cmd))
        except CommandError as exc:
            return Reply(cmd.seq, False, code=exc.code, message=exc.message)

    # ------------------------------------------------------------------ verbs
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

    def history_rows(self, t0: int, t1: int) -> np.ndarray:
        """History frames with t0 <= t <= t1 in time order (rows: t_ms, channels...)."""
        count = min(self.history_count, HISTORY_SECONDS)
        start = self.history_count - count
        order = (np.arange(start, self.history_count)) % HISTORY_SECONDS
        rows = self.history[order]
        times = rows[:, 0]
        return rows[(times >= t0) & (times <= t1)]

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

    # ------------------------------------------------------------------ faults
    def apply_fault(self, fault: Fault) -> None:
        """Make a parsed fault take effect (link faults are read by the transport)."""
        kind, channel = fault.kind, fault.channel
        if fault.name in LINK_FAULTS:
            self.link_faults[fault.name] = fault.value or 0.0
        elif fault.name == "ph-slope":
            self.sensors.ph_slope = float(fault.value or 1.0)
        elif kind == "probe":
            self.sensors.probe[channel] = float(fault.value or 0.0)
        elif kind == "ref":
            self.sensors.reference_g[channel] = float(fault.value or 0.0)
        elif kind == "bias":
            self.sensors.bias[channel] = float(fault.value or 0.0)
        elif kind == "stuck":
            self.sensors.stuck[channel] = fault.value
        elif kind == "drift":
            self.sensors.drift_per_h[channel] = 0.1 if fault.value is None else fault.value
            self.sensors.drift_since_s[channel] = self.t_s
        elif fault.name == "noise":
            self.sensors.noise_factor = 10.0 if fault.value is None else fault.value
        elif fault.name == "occlusion":
            self.plant.occluded.add(int(fault.value or 1) - 1)
        elif fault.name == "door":
            self.plant.door_open = fault.value != 0
        self.faults[fault.name] = fault

    def clear_fault(self, name: str | None) -> None:
        names = list(self.faults) if name is None else [name]
        for fault_name in names:
            fault = self.faults.pop(fault_name, None)
            if fault is None:
                raise CommandError(ErrorCode.BADARG, f"fault {fault_name[:20]} is not active")
            kind, channel = fault.kind, fault.channel
            if fault.name in LINK_FAULTS:
                self.link_faults.pop(fault.name, None)
            elif fault.name == "ph-slope":
                self.sensors.ph_slope = 1.0
            elif kind == "probe":
                self.sensors.probe.pop(channel, None)
            elif kind == "ref":
                self.sensors.reference_g.pop(channel, None)
            elif kind == "bias":
                self.sensors.bias.pop(channel, None)
            elif kind == "stuck":
                self.sensors.stuck.pop(channel, None)
            elif kind == "drift":
                self.sensors.drift_per_h.pop(channel, None)
            elif fault.name == "noise":
                self.sensors.noise_factor = 1.0
            elif fault.name == "occlusion":
                self.plant.occluded.clear()
            elif fault.name == "door":
                self.plant.door_open = False
