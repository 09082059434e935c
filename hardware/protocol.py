"""CellDeck wire protocol: framing, CRC, and encode/decode of every message kind.

Pure functions and small value types, no I/O, so that both the console's driver and
the simulated firmware share one definition and it can be fuzzed in isolation.
The format is documented for humans in docs/protocol.md.

Frame on the wire: ``<payload>*<CRC>\\n`` where CRC is CRC-16/CCITT-FALSE over the
payload bytes as four upper-case hex digits.
"""

from __future__ import annotations

import binascii
import math
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

MAX_FRAME_BYTES = 1024
"""Longest frame either side accepts (payload, '*', CRC and newline)."""

SEQ_MIN, SEQ_MAX = 1, 65535


class FrameError(ValueError):
    """A line that is not a valid frame (bad CRC, no CRC, too long, not ASCII)."""


class ParseError(ValueError):
    """A frame whose CRC is good but whose contents do not follow the protocol."""


class ErrorCode(StrEnum):
    """Codes the firmware puts in ``<seq> ERR <CODE> <message>`` replies."""

    BADSEQ = "BADSEQ"  # sequence number missing or outside 1..65535
    BADCMD = "BADCMD"  # unknown verb
    BADARG = "BADARG"  # wrong number or type of arguments, unknown name
    RANGE = "RANGE"  # value outside the allowed range
    INTERLOCK = "INTERLOCK"  # refused because an interlock is active
    SAFE = "SAFE"  # refused because the instrument is in its safe state
    READONLY = "READONLY"  # the named value cannot be written
    STATE = "STATE"  # refused in the firmware's current state (CAL write outside SERVICE)


# --------------------------------------------------------------------------- channels


@dataclass(frozen=True)
class Channel:
    """One telemetry channel: its wire name, unit, and a human label."""

    name: str
    unit: str
    label: str
    decimals: int = 2


CHANNELS: tuple[Channel, ...] = (
    Channel("temp", "°C", "Temperature", 2),
    Channel("temp_sp", "°C", "Temp. set-point", 1),
    Channel("heater", "%", "Heater", 1),
    Channel("ph", "pH", "pH", 3),
    Channel("do", "%", "Dissolved O2", 1),
    Channel("co2", "%", "CO2", 2),
    Channel("co2_sp", "%", "CO2 set-point", 1),
    Channel("pressure", "mbar", "Line pressure", 1),
    Channel("rpm", "rpm", "Rotor speed", 0),
    Channel("rpm_sp", "rpm", "Rotor set-point", 0),
    Channel("vcd", "1e6/mL", "Cell density", 3),
    Channel("w_source", "g", "Source bag", 1),
    Channel("w_media", "g", "Media bag", 1),
    Channel("w_buffer", "g", "Buffer bag", 1),
    Channel("w_waste", "g", "Waste bag", 1),
    Channel("w_product", "g", "Product bag", 1),
    Channel("w_chamber", "g", "Chamber", 1),
    Channel("p1_rate", "mL/min", "Pump 1 rate", 1),
    Channel("p1_vol", "mL", "Pump 1 volume", 2),
    Channel("p2_rate", "mL/min", "Pump 2 rate", 1),
    Channel("p2_vol", "mL", "Pump 2 volume", 2),
    Channel("valves", "", "Valves open", 0),
    Channel("bubble", "", "Bubble", 0),
    Channel("door", "", "Door", 0),
    Channel("ilk", "", "Interlocks", 0),
    Channel("state", "", "Firmware state", 0),
)
CHANNEL_NAMES: tuple[str, ...] = tuple(c.name for c in CHANNELS)
CHANNEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(CHANNEL_NAMES)}
CHANNEL_BY_NAME: dict[str, Channel] = {c.name: c for c in CHANNELS}

SETPOINT_LIMITS: dict[str, tuple[float, float]] = {
    "temp_sp": (4.0, 39.0),  # °C
    "co2_sp": (0.0, 20.0),  # %
    "p_limit": (50.0, 1000.0),  # mbar
}
"""Values ``SET`` accepts, with their allowed ranges (inclusive)."""

CALIBRATABLE: tuple[str, ...] = (
    "temp",
    "ph",
    "do",
    "co2",
    "pressure",
    "w_source",
    "w_media",
    "w_buffer",
    "w_waste",
    "w_product",
    "w_chamber",
)
"""Channels with a calibration (reading = gain * raw + offset) that ``CAL`` reads/writes."""

LOAD_CELLS: tuple[str, ...] = tuple(name for name in CALIBRATABLE if name.startswith("w_"))
"""The calibratable load cells (grams), one per bag hanger and the chamber."""

CHANNEL_LABELS: dict[str, str] = {
    "temp": "temperature",
    "ph": "pH",
    "do": "DO",
    "co2": "CO2",
    "pressure": "pressure",
    "w_source": "source load cell",
    "w_media": "media load cell",
    "w_buffer": "buffer load cell",
    "w_waste": "waste load cell",
    "w_product": "product load cell",
    "w_chamber": "chamber load cell",
}
"""How a sentence names each calibratable channel's sensor ("the pH calibration is
due", "source load cell"): calibration records, the pre-start check, the service
screen."""
assert tuple(CHANNEL_LABELS) == CALIBRATABLE

ADC_FULL_SCALE = 65535
"""Highest count of the instrument's 16-bit sensor ADC."""

_WEIGHT_RANGE = (-100.0, 5000.0)  # g, every load cell
ADC_RANGES: dict[str, tuple[float, float]] = {
    "temp": (-10.0, 60.0),  # °C
    "ph": (0.0, 14.0),  # pH
    "do": (0.0, 200.0),  # % air saturation
    "co2": (0.0, 20.0),  # %
    "pressure": (-100.0, 1000.0),  # mbar
    **{name: _WEIGHT_RANGE for name in LOAD_CELLS},
}
"""Input range of each calibratable sensor: the raw values its ADC count 0 and 65535
stand for (``RAW?`` reports ``counts``)."""
assert tuple(ADC_RANGES) == CALIBRATABLE


def adc_counts(channel: str, raw: float) -> int:
    """The 16-bit ADC count a raw reading of ``channel`` corresponds to, clamped."""
    low, high = ADC_RANGES[channel]
    counts = round((raw - low) / (high - low) * ADC_FULL_SCALE)
    return min(max(counts, 0), ADC_FULL_SCALE)


MAX_TLM_HZ = 500.0
MAX_PUMP_RATE = 200.0  # mL/min, either direction
MAX_PUMP_VOLUME = 5000.0  # mL
MAX_RPM = 3000.0

VALVES: tuple[str, ...] = ("source", "media", "buffer", "waste", "product", "feed")
"""Pinch valves, in bitmask order (bit 0 = source)."""

INTERLOCKS: tuple[str, ...] = ("DOOR", "PRESSURE", "OVERTEMP", "BUBBLE")
"""Interlocks, in bitmask order (bit 0 = DOOR)."""


def valve_states(mask: float) -> dict[str, bool]:
    """Which pinch valves the telemetry's ``valves`` bitmask opens (bit 0 = source, as
    VALVES); every valve named, open or not."""
    bits = int(mask)
    return {name: bool(bits >> bit & 1) for bit, name in enumerate(VALVES)}


def open_valves(mask: float) -> list[str]:
    """The open valves of a ``valves`` bitmask, in VALVES order."""
    return [name for name, is_open in valve_states(mask).items() if is_open]


def valve_mask(open_names: Container[str]) -> int:
    """The ``valves`` bitmask of the valves named open (any container of names)."""
    return sum(1 << bit for bit, name in enumerate(VALVES) if name in open_names)


def active_interlocks(mask: float) -> list[str]:
    """The interlocks an ``ilk`` bitmask says are active, in INTERLOCKS order."""
    bits = int(mask)
    return [name for bit, name in enumerate(INTERLOCKS) if bits >> bit & 1]


def interlock_mask(names: Iterable[str]) -> int:
    """The ``ilk`` bitmask of the interlocks named (any iterable of names in
    INTERLOCKS; an unknown name raises ValueError)."""
    return sum(1 << INTERLOCKS.index(name) for name in set(names))


class FirmwareState(StrEnum):
    """What the firmware is doing; telemetry carries the index into STATES
    (0 READY, 1 SAFE, 2 SERVICE: entered with ``SERVICE ON``, left with ``SERVICE OFF``)."""

    READY = "READY"
    SAFE = "SAFE"
    SERVICE = "SERVICE"


STATES: tuple[FirmwareState, ...] = tuple(FirmwareState)

# --------------------------------------------------------------------------- framing


def crc16(payload: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of ``payload``."""
    return binascii.crc_hqx(payload, 0xFFFF)


def encode_frame(payload: str) -> bytes:
    """Wrap a payload into ``<payload>*<CRC>\\n`` bytes."""
    data = payload.encode("ascii")
    if b"*" in data or b"\n" in data:
        raise ValueError("payload may not contain '*' or newline")
    return b"%s*%04X\n" % (data, crc16(data))


def decode_frame(line: bytes) -> str:
    """Check one received line (with or without its newline) and return its payload.

    Raises FrameError for anything that is not a well-formed frame with a matching CRC.
    """
    if len(line) > MAX_FRAME_BYTES:
        raise FrameError("frame too long")
    line = line.rstrip(b"\r\n")
    star = line.rfind(b"*")
    if star < 0 or len(line) - star != 5:
        raise FrameError("no CRC")
    payload, crc_text = line[:star], line[star + 1 :]
    if crc_text.strip(b"0123456789ABCDEF"):
        raise FrameError("CRC is not four upper-case hex digits")
    if int(crc_text, 16) != crc16(payload):
        raise FrameError("CRC mismatch")
    try:
        return payload.decode("ascii")
    except UnicodeDecodeError:
        raise FrameError("not ASCII") from None


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Command:
    """A host-to-instrument command ``<seq> <VERB> <args...>``."""

    seq: int
    verb: str
    args: tuple[str, ...] = ()

    def payload(self) -> str:
        return " ".join((str(self.seq), self.verb, *self.args))


@dataclass(frozen=True)
class Reply:
    """``<seq> OK [fields]`` or ``<seq> ERR <CODE> <message>``."""

    seq: int
    ok: bool
    fields: tuple[str, ...] = ()
    code: str = ""
    message: str = ""

    def payload(self) -> str:
        if self.ok:
            return " ".join((str(self.seq), "OK", *self.fields))
        return f"{self.seq} ERR {self.code} {printable(self.message)}".rstrip()

    def named(self) -> dict[str, str]:
        """The ``name=value`` fields of an OK reply as a dict."""
        return dict(f.split("=", 1) for f in self.fields if "=" in f)


@dataclass(frozen=True)
class Telemetry:
    """An unsolicited telemetry frame ``T <ms> name=value ...`` with every channel.

    History read-back frames ``H <seq> <ms> name=value ...`` decode to the same type
    with ``history_seq`` set to the request's sequence number.
    """

    t_ms: int
    values: tuple[float, ...]
    history_seq: int = 0


@dataclass(frozen=True)
class Event:
    """An unsolicited event ``E <ms> <CODE> [name=value ...]``."""

    t_ms: int
    code: str
    data: dict[str, str] = field(default_factory=dict)

    def payload(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.data.items())
        return f"E {self.t_ms} {self.code} {extra}".rstrip()


Message = Reply | Telemetry | Event


def printable(text: str) -> str:
    """Text safe inside a payload: printable ASCII without '*' (echoed input may hold any)."""
    return "".join(c if " " <= c <= "~" and c != "*" else "?" for c in text)


VALUE_LIMIT = 1e12
"""Magnitude beyond which the firmware clamps a reading (no infinities on the wire)."""


def format_value(value: float) -> str:
    """Short faithful text for a channel value (integers without a decimal point);
    ten significant digits keep 0.001 mL on pump volumes up to a million mL."""
    if not math.isfinite(value):
        raise ValueError(f"cannot send non-finite value {value}")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def telemetry_payload(
    t_ms: int, values: tuple[float, ...] | list[float], history_seq: int = 0
) -> str:
    """Payload of a telemetry (or, with ``history_seq``, a history) frame."""
    body = " ".join(f"{n}={format_value(v)}" for n, v in zip(CHANNEL_NAMES, values, strict=True))
    if history_seq:
        return f"H {history_seq} {t_ms} {body}"
    return f"T {t_ms} {body}"


def parse_seq(text: str, allow_zero: bool = False) -> int:
    """A sequence number 1..65535 written in plain decimal, or ParseError. Replies may
    carry 0: the answer to a command whose own sequence number was unreadable."""
    if not text.isdigit() or len(text) > 5:
        raise ParseError(f"bad sequence number {printable(text[:20])!r}")
    seq = int(text)
    if seq == 0 and allow_zero:
        return 0
    if not SEQ_MIN <= seq <= SEQ_MAX:
        raise ParseError(f"sequence number {seq} outside 1..65535")
    return seq


def parse_command(payload: str) -> Command:
    """Parse a host command payload. Raises ParseError (with a BADSEQ meaning)."""
    parts = payload.split(" ")
    if len(parts) < 2 or not parts[1]:
        raise ParseError("expected '<seq> <VERB> [args]'")
    seq = parse_seq(parts[0])
    args = tuple(p for p in parts[2:] if p)
    return Command(seq, parts[1], args)


def _parse_time(text: str) -> int:
    if not text.isdigit():
        raise ParseError(f"bad instrument time {text!r}")
    return int(text)


def _parse_channel_values(parts: list[str]) -> tuple[float, ...]:
    """Values of a full telemetry body, strictly in channel order and all finite."""
    if len(parts) != len(CHANNEL_NAMES):
        raise ParseError(f"expected {len(CHANNEL_NAMES)} channels, got {len(parts)}")
    values = []
    for part, name in zip(parts, CHANNEL_NAMES, strict=True):
        key, sep, text = part.partition("=")
        if key != name or not sep:
            raise ParseError(f"expected channel {name!r}, got {part!r}")
        try:
            value = float(text)
        except ValueError:
            raise ParseError(f"bad value for {name}: {text!r}") from None
        if not math.isfinite(value):
            raise ParseError(f"non-finite value for {name}")
        values.append(value)
    return tuple(values)


def parse_message(payload: str) -> Message:
    """Parse an instrument-to-host payload: a reply, telemetry, history or event."""
    parts = payload.split(" ")
    head = parts[0]
    if head == "T":
        if len(parts) < 2:
            raise ParseError("telemetry without time")
        return Telemetry(_parse_time(parts[1]), _parse_channel_values(parts[2:]))
    if head == "H":
        if len(parts) < 3:
            raise ParseError("history frame without sequence and time")
        return Telemetry(
            _parse_time(parts[2]), _parse_channel_values(parts[3:]), history_seq=parse_seq(parts[1])
        )
    if head == "E":
        if len(parts) < 3 or not parts[2]:
            raise ParseError("event without time and code")
        data = {}
        for part in parts[3:]:
            key, sep, value = part.partition("=")
            if not sep or not key:
                raise ParseError(f"bad event field {part!r}")
            data[key] = value
        return Event(_parse_time(parts[1]), parts[2], data)
    seq = parse_seq(head, allow_zero=True)
    if len(parts) >= 2 and parts[1] == "OK":
        return Reply(seq, True, tuple(p for p in parts[2:] if p))
    if len(parts) >= 3 and parts[1] == "ERR":
        return Reply(seq, False, code=parts[2], message=" ".join(parts[3:]))
    raise ParseError(f"unknown message {payload[:40]!r}")


RESET_GAP_MS = 1000
"""Process time across a firmware reset (the instrument clock restarts at 0 on its new
boot): the new boot's first sample counts this long after the old boot's last. One rule
for every clock that follows a run's process time (the historian, the batch engine), so
a run's samples and its steps stay on one time axis however often the firmware reset."""
