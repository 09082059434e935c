"""``Instrument``: typed calls to the instrument over a ``SerialLink``. No Qt.

Requests are matched to replies by sequence number. A request that gets no reply in
time is sent again with the same sequence number (the firmware answers a repeated
frame from its cache instead of running it twice). Telemetry and events that arrive
meanwhile are kept for ``drain``.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from hardware.link import LinkError, SerialLink
from hardware.protocol import (
    SEQ_MAX,
    Command,
    Event,
    ParseError,
    Reply,
    Telemetry,
    format_value,
    parse_message,
)

REPLY_TIMEOUT_S = 0.5
RETRIES = 2
HISTORY_CHUNK_MS = 300_000  # five minutes of 1 Hz frames (~100 kB: 9 s at 115200 baud)
HISTORY_STEP_MS = 1000  # the instrument records one history frame per second


class InstrumentError(Exception):
    """The instrument answered ERR: ``code`` and ``message`` say why."""

    def __init__(self, verb: str, code: str, message: str) -> None:
        super().__init__(f"{verb} refused: {code} {message}")
        self.verb = verb
        self.code = code
        self.message = message


class ReplyTimeout(LinkError):
    """No reply after all retries: the link is presumed lost."""


@dataclass(frozen=True)
class Identity:
    model: str
    serial: str
    firmware: str
    kit: str
    boot: int
    t_ms: int
    events: int = 0  # events the firmware has raised since this boot (their n= numbers)


@dataclass(frozen=True)
class RawReading:
    """One ``RAW?`` sample of a calibratable sensor: ADC count, raw (uncalibrated)
    value and calibrated value (gain * raw + offset) of the same sample."""

    channel: str
    counts: int
    raw: float
    value: float


@dataclass(frozen=True)
class Received:
    """A telemetry frame as the host got it: instrument time, host receive time."""

    t_ms: int
    values: tuple[float, ...]
    received: float  # time.time() when read (for back-filled frames: when fetched)


@dataclass
class History:
    """Frames read back from the instrument, and the ranges it could not deliver."""

    frames: list[Telemetry] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (t0_ms, t1_ms) inclusive


def missing_ranges(times: list[int], t0: int, t1: int) -> list[tuple[int, int]]:
    """Ranges of [t0, t1] with no frame, given one frame per HISTORY_STEP_MS."""
    ranges: list[tuple[int, int]] = []
    previous: int | None = None
    for t in sorted(times):
        if previous is None:
            if t - t0 >= HISTORY_STEP_MS:
                ranges.append((t0, t - 1))
        elif t - previous > HISTORY_STEP_MS:
            ranges.append((previous + 1, t - 1))
        previous = t
    if previous is None:
        ranges.append((t0, t1))
    elif t1 - previous >= HISTORY_STEP_MS:
        ranges.append((previous + 1, t1))
    return ranges


class Instrument:
    """The instrument as typed Python calls. One owner thread; ``cancel`` (set from any
    thread) makes a request in progress give up within one read timeout."""

    def __init__(
        self,
        link: SerialLink,
        reply_timeout: float = REPLY_TIMEOUT_S,
        retries: int = RETRIES,
        first_seq: int | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.link = link
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.cancel = cancel or threading.Event()
        # A fresh session starts at a random sequence number, so that a reply cached by
        # the instrument for an earlier session is never taken for ours.
        self._seq = random.randrange(SEQ_MAX) if first_seq is None else first_seq - 1
        self._telemetry: list[Received] = []
        self._events: list[Event] = []
        self._history: list[Telemetry] = []
        self._history_seq = 0
        self.parse_errors = 0
        self.last_parse_error = ""

    # ------------------------------------------------------------------ plumbing
    def _next_seq(self) -> int:
        self._seq = self._seq % SEQ_MAX + 1
        return self._seq

    def request(self, verb: str, *args: str, timeout: float | None = None) -> Reply:
        """Send a command and return its OK reply; InstrumentError on ERR,
        ReplyTimeout when no reply arrives after the retries."""
        command = Command(self._next_seq(), verb, tuple(args))
        payload = command.payload()
        timeout = self.reply_timeout if timeout is None else timeout
        stats = self.link.stats
        for attempt in range(self.retries + 1):
            if attempt:
                stats.retries += 1
            sent = time.perf_counter()
            self.link.send(payload)
            deadline = sent + timeout
            while True:
                if self.cancel.is_set():
                    raise LinkError("stopping")
                history_before = len(self._history)
                reply = self._read_until_reply(command.seq)
                if reply is not None:
                    stats.latencies_ms.append((time.perf_counter() - sent) * 1000.0)
                    if not reply.ok:
                        raise InstrumentError(verb, reply.code, reply.message)
                    return reply
                now = time.perf_counter()
                if len(self._history) > history_before:
                    deadline = now + timeout  # a long read-back is still arriving
                if now >= deadline:
                    break
        stats.timeouts += 1
        raise ReplyTimeout(f"no reply to {verb} after {self.retries + 1} attempts")

    def _read_until_reply(self, seq: int) -> Reply | None:
        """Dispatch everything one read brings (frames after the reply included)."""
        found = None
        for payload in self.link.receive():
            message = self._dispatch(payload)
            if isinstance(message, Reply):
                if message.seq == seq and found is None:
                    found = message
                else:
                    self.link.stats.stale_replies += 1
        return found

    def _dispatch(self, payload: str) -> Reply | Telemetry | Event | None:
        try:
            message = parse_message(payload)
        except ParseError as exc:
            self.parse_errors += 1
            self.last_parse_error = f"{exc}: {payload[:80]}"
            return None
        if isinstance(message, Telemetry):
            if message.history_seq:
                if message.history_seq == self._history_seq:
                    self._history.append(message)
            else:
                self._telemetry.append(Received(message.t_ms, message.values, time.time()))
        elif isinstance(message, Event):
            self._events.append(message)
        return message

    def poll(self) -> None:
        """Read what arrives within one read timeout and keep it for ``drain``."""
        for payload in self.link.receive():
            if isinstance(self._dispatch(payload), Reply):
                self.link.stats.stale_replies += 1

    def requeue(self, telemetry: list[Received], events: list[Event]) -> None:
        """Put drained items back in front of anything received since."""
        self._telemetry[:0] = telemetry
        self._events[:0] = events

    def drain(self) -> tuple[list[Received], list[Event]]:
        """Telemetry and events received since the last drain, in arrival order."""
        telemetry, self._telemetry = self._telemetry, []
        events, self._events = self._events, []
        return telemetry, events

    # ------------------------------------------------------------------ typed calls
    def identify(self) -> Identity:
        fields = self.request("IDN?").named()
        try:
            return Identity(
                fields["model"],
                fields["serial"],
                fields["fw"],
                fields["kit"],
                int(fields["boot"]),
                int(fields["t"]),
                int(fields.get("ev", "0")),
            )
        except (KeyError, ValueError) as exc:
            raise InstrumentError("IDN?", "BADREPLY", f"incomplete identity: {exc}") from None

    def ping(self) -> int:
        """Heartbeat; returns the instrument's clock in ms."""
        return _int_field(self.request("PING"), "PING", "t")

    def get(self, name: str) -> str:
        reply = self.request("GET", name).named()
        if name not in reply:
            raise InstrumentError("GET", "BADREPLY", f"no {name} in reply")
        return reply[name]

    def set(self, name: str, value: float) -> None:
        self.request("SET", name, format_value(value))

    def pump(self, pump: int, rate_ml_min: float, volume_ml: float | None = None) -> None:
        args = [str(pump), format_value(rate_ml_min)]
        if volume_ml is not None:
            args.append(format_value(volume_ml))
        self.request("PUMP", *args)

    def valve(self, name: str, open_: bool) -> None:
        self.request("VALVE", name, "OPEN" if open_ else "CLOSE")

    def rotor(self, rpm: float) -> None:
        self.request("ROTOR", format_value(rpm))

    def telemetry_rate(self, hz: float) -> None:
        self.request("TLM", format_value(hz))

    def safe(self) -> None:
        self.request("SAFE", "ON")

    def clear_safe(self) -> None:
        self.request("SAFE", "CLEAR")

    def service(self, on: bool) -> str:
        """Enter (``on``) or leave service state; returns the firmware state after it
        (``SERVICE``, ``READY``, or ``SAFE`` when leaving while not in service)."""
        reply = self.request("SERVICE", "ON" if on else "OFF").named()
        if "state" not in reply:
            raise InstrumentError("SERVICE", "BADREPLY", "no state in reply")
        return reply["state"]

    def raw(self, channel: str) -> RawReading:
        """A fresh sample of a calibratable sensor: ADC counts, raw and calibrated value."""
        fields = self.request("RAW?", channel).named()
        try:
            return RawReading(
                fields["name"], int(fields["counts"]), float(fields["raw"]), float(fields["value"])
            )
        except (KeyError, ValueError):
            raise InstrumentError("RAW?", "BADREPLY", f"bad raw reading reply {fields}") from None

    def reset(self) -> None:
        self.request("RESET")

    def calibration(self, channel: str) -> tuple[float, float]:
        fields = self.request("CAL", channel).named()
        try:
            return float(fields["gain"]), float(fields["offset"])
        except (KeyError, ValueError):
            raise InstrumentError("CAL", "BADREPLY", f"bad calibration reply {fields}") from None

    def set_calibration(self, channel: str, gain: float, offset: float) -> None:
        """Write a calibration; the instrument accepts it only in service state
        (``service(True)`` first), otherwise InstrumentError with code STATE."""
        self.request("CAL", channel, format_value(gain), format_value(offset))

    def fault(self, spec: str) -> None:
        self.request("FAULT", spec)

    def clear_fault(self, name: str | None = None) -> None:
        self.request("FAULT", "CLEAR", *([name] if name else []))

    def replay_events(self, n0: int, n1: int) -> int:
        """Ask the instrument to send again its logged events numbered n0..n1 (they
        arrive as ordinary events, before the reply); returns how many it still had."""
        return _int_field(self.request("EVT?", str(n0), str(n1)), "EVT?", "count")

    def history(self, t0_ms: int, t1_ms: int) -> History:
        """History frames with t0 <= t <= t1, fetched in bounded chunks. Frames lost on
        the wire are asked for once more; what still cannot be had is listed in gaps."""
        result = History()
        start = t0_ms
        while start <= t1_ms:
            end = min(t1_ms, start + HISTORY_CHUNK_MS - 1)
            try:
                frames, expected = self._history_request(start, end)
            except ReplyTimeout:  # keep what was read; the rest is a gap
                result.gaps.append((start, t1_ms))
                break
            if len(frames) < expected:
                for gap_start, gap_end in missing_ranges([f.t_ms for f in frames], start, end):
                    more, more_expected = self._history_request(gap_start, gap_end)
                    frames.extend(more)
                    if len(more) < more_expected:
                        found = [f.t_ms for f in more]
                        result.gaps.extend(missing_ranges(found, gap_start, gap_end))
            result.frames.extend(sorted(frames, key=lambda f: f.t_ms))
            start = end + 1
        return result

    def _history_request(self, t0_ms: int, t1_ms: int) -> tuple[list[Telemetry], int]:
        """One HIST? exchange: the frames that arrived intact, and how many were sent."""
        self._history = []
        self._history_seq = self._seq % SEQ_MAX + 1  # the seq request() will use
        try:
            reply = self.request("HIST?", str(t0_ms), str(t1_ms))
        finally:
            got, self._history, self._history_seq = self._history, [], 0
        unique = list({frame.t_ms: frame for frame in got}.values())  # a retry resends
        return unique, _int_field(reply, "HIST?", "count")


def _int_field(reply: Reply, verb: str, name: str) -> int:
    """An integer field of an OK reply, or InstrumentError for a malformed reply."""
    try:
        return int(reply.named()[name])
    except (KeyError, ValueError):
        raise InstrumentError(verb, "BADREPLY", f"no integer {name} in reply") from None
