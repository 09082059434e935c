"""The simulated instrument's firmware: state, control loops, interlocks, host
watchdog, telemetry and its history ring buffer, faults, and the dispatch of received
commands to their handlers (verbs.py).

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
    CHANNEL_NAMES,
    Command,
    ErrorCode,
    Event,
    FirmwareState,
    FrameError,
    ParseError,
    Reply,
    decode_frame,
    encode_frame,
    format_value,
    interlock_mask,
    parse_command,
    telemetry_payload,
)
from hardware.simulator.faults import LINK_FAULTS, Fault
from hardware.simulator.physics import Plant
from hardware.simulator.sensors import Sensors
from hardware.simulator.verbs import (
    FIRMWARE_VERSION,
    MAX_HISTORY_REPLY,
    MODEL,
    SETTABLE,
    CommandError,
    VerbHandlers,
)

__all__ = [
    "EVENT_LOG_SIZE",
    "FIRMWARE_VERSION",
    "HISTORY_SECONDS",
    "MAX_HISTORY_REPLY",
    "MAX_STEP_S",
    "MODEL",
    "OVERTEMP_C",
    "OVERTEMP_CLEAR_C",
    "SETTABLE",
    "WATCHDOG_S",
    "CommandError",
    "Firmware",
    "PidController",
]

WATCHDOG_S = 5.0
HISTORY_SECONDS = 48 * 3600  # ring buffer of 1 Hz frames (spec: at least 24 h)
EVENT_LOG_SIZE = 2000  # events kept for read-back with EVT?
MAX_STEP_S = 1.0
OVERTEMP_C, OVERTEMP_CLEAR_C = 40.0, 39.5


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


class Firmware(VerbHandlers):
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
        self._handlers: dict[str, Callable[[Command], tuple[str, ...]]] = self._verb_table()
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

    def history_rows(self, t0: int, t1: int) -> np.ndarray:
        """History frames with t0 <= t <= t1 in time order (rows: t_ms, channels...)."""
        count = min(self.history_count, HISTORY_SECONDS)
        start = self.history_count - count
        order = (np.arange(start, self.history_count)) % HISTORY_SECONDS
        rows = self.history[order]
        times = rows[:, 0]
        return rows[(times >= t0) & (times <= t1)]

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
