"""Keeps one instrument attached: connect, heartbeat, detect loss, reconnect with a
bounded backoff, re-identify, re-apply the telemetry rate, and back-fill any gap from
the instrument's history so that the stream of samples has no holes. No Qt.

The owner calls ``step()`` repeatedly from one thread; each call blocks for at most
one serial read timeout and returns how long the owner may wait before the next call.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from hardware.commands import InstrumentCommand
from hardware.driver import Identity, Instrument, InstrumentError, ReplyTimeout
from hardware.link import LinkError, SerialLink
from hardware.protocol import Event

HEARTBEAT_S = 1.0
LOST_AFTER_S = 3.0


class LinkState(StrEnum):
    DISCONNECTED = "DISCONNECTED"  # not started, or stopped
    CONNECTING = "CONNECTING"  # first attempt after start
    CONNECTED = "CONNECTED"
    LOST = "LOST"  # silence or a failed read/write just detected
    RECONNECTING = "RECONNECTING"


@dataclass
class Backoff:
    """Delays 0.25, 0.5, 1, 2, 4, 4, ... seconds between reconnect attempts."""

    initial: float = 0.25
    maximum: float = 4.0
    _next: float = 0.0

    def next(self) -> float:
        delay = self._next or self.initial
        self._next = min(delay * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = 0.0


@dataclass(frozen=True)
class Sample:
    """One telemetry frame for the console: instrument time, UTC, which boot of the
    firmware produced it, and whether it came from the history back-fill."""

    t_ms: int
    values: tuple[float, ...]
    utc: float
    boot: int
    backfilled: bool


class ConnectionListener(Protocol):
    def on_state(self, state: LinkState, detail: str) -> None: ...
    def on_identity(self, identity: Identity) -> None: ...
    def on_samples(self, samples: list[Sample]) -> None: ...
    def on_events(self, events: list[Event]) -> None: ...


class Connection:
    """The instrument as the console sees it: always trying to be attached."""

    def __init__(
        self,
        url: str,
        listener: ConnectionListener,
        telemetry_hz: float = 10.0,
        heartbeat_s: float = HEARTBEAT_S,
        lost_after_s: float = LOST_AFTER_S,
        link_factory: Callable[[str], SerialLink] = SerialLink,
        backoff: Backoff | None = None,
        resume_from: tuple[int, int] | None = None,
    ) -> None:
        """``resume_from`` (boot, t_ms) is the newest sample already on record, for a
        console restarting during a run: the first attach back-fills from there."""
        self.link = link_factory(url)
        self.instrument = Instrument(self.link)
        self.listener = listener
        self.telemetry_hz = telemetry_hz
        self.heartbeat_s = heartbeat_s
        self.lost_after_s = lost_after_s
        self.backoff = backoff or Backoff()
        self.state = LinkState.DISCONNECTED
        self.identity: Identity | None = None
        self._boot: int | None = resume_from[0] if resume_from else None
        self._last_t: int | None = resume_from[1] if resume_from else None
        self._last_event_t: int | None = self._last_t  # newest event delivered this boot
        self._recent_events: deque[tuple] = deque(maxlen=64)  # to drop replayed duplicates
        self._next_attempt = 0.0
        self._next_heartbeat = 0.0
        self._reattach = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._set_state(LinkState.CONNECTING, self.link.url)
        self._next_attempt = time.monotonic()

    def close(self) -> None:
        self.link.close()
        self._set_state(LinkState.DISCONNECTED, "closed")

    def _set_state(self, state: LinkState, detail: str = "") -> None:
        if state != self.state:
            self.state = state
            self.listener.on_state(state, detail)

    # ------------------------------------------------------------------ work loop
    def step(self) -> float:
        """Do one slice of work; return seconds the caller may wait before the next."""
        now = time.monotonic()
        if self.state in (LinkState.CONNECTING, LinkState.RECONNECTING):
            if now < self._next_attempt:
                return min(self._next_attempt - now, 0.05)
            self._attempt()
            return 0.0
        if self.state is not LinkState.CONNECTED:
            return 0.05
        try:
            self.instrument.poll()
            self._deliver()
            if self._reattach:
                self._attach()
            elif time.monotonic() >= self._next_heartbeat:
                self._next_heartbeat = time.monotonic() + self.heartbeat_s
                self.instrument.ping()
                self._deliver()
        except (LinkError, InstrumentError) as exc:
            self._lose(str(exc))
            return 0.0
        if time.monotonic() - self.link.last_rx > self.lost_after_s:
            self._lose(f"no frame for {self.lost_after_s:g} s")
        return 0.0

    def execute(self, command: InstrumentCommand) -> str:
        """Carry out a command now; raises LinkError when not attached or the link fails,
        InstrumentError when the instrument refuses."""
        if self.state is not LinkState.CONNECTED:
            raise LinkError(f"instrument not connected ({self.state.value.lower()})")
        try:
            result = command.run(self.instrument)
        except ReplyTimeout as exc:
            self._lose(str(exc))
            raise
        except LinkError as exc:
            self._lose(str(exc))
            raise
        self._deliver()
        return result

    # ------------------------------------------------------------------ attach
    def _attempt(self) -> None:
        try:
            if not self.link.is_open:
                self.link.open()
            self._attach()
        except (LinkError, InstrumentError) as exc:
            self.link.close()
            if self.state is LinkState.CONNECTED:
                self._lose(str(exc))
            delay = self.backoff.next()
            self._next_attempt = time.monotonic() + delay
            if self.state is LinkState.LOST:
                self._set_state(LinkState.RECONNECTING, f"retry in {delay:g} s: {exc}")
            return
        self.backoff.reset()
        self._set_state(LinkState.CONNECTED, f"{self.identity.model} {self.identity.serial}")

    def _attach(self) -> None:
        """Identify, back-fill the gap since the last delivered sample, set telemetry."""
        self._reattach = False
        identity = self.instrument.identify()
        anchor_utc = time.time()
        if self._boot is None:
            start = None  # first attach: the record starts now
        elif identity.boot != self._boot:
            start, self._last_t = 0, None  # firmware restarted: all of its new history
            self._last_event_t = -1
        else:
            start = None if self._last_t is None else self._last_t + 1
        self._boot = identity.boot
        self.identity = identity
        self.listener.on_identity(identity)
        if start is not None and start <= identity.t_ms:
            self._backfill(start, identity, anchor_utc)
        if self._last_event_t is None:
            self._last_event_t = identity.t_ms  # events from here on are ours to deliver
        elif self._last_event_t < identity.t_ms:
            self.instrument.replay_events(self._last_event_t + 1, identity.t_ms)
        self.instrument.telemetry_rate(self.telemetry_hz)
        self._next_heartbeat = time.monotonic() + self.heartbeat_s
        self._deliver()

    def _backfill(self, start: int, identity: Identity, anchor_utc: float) -> None:
        frames = self.instrument.history(start, identity.t_ms)
        samples = [
            Sample(
                f.t_ms,
                f.values,
                anchor_utc - (identity.t_ms - f.t_ms) / 1000.0,
                identity.boot,
                True,
            )
            for f in frames
        ]
        self._emit_samples(samples)

    def _lose(self, reason: str) -> None:
        self.link.close()
        self.link.stats.reconnects += 1
        self._set_state(LinkState.LOST, reason)
        delay = self.backoff.next()
        self._next_attempt = time.monotonic() + delay
        self._set_state(LinkState.RECONNECTING, f"retry in {delay:g} s")

    # ------------------------------------------------------------------ delivery
    def _deliver(self) -> None:
        received, events = self.instrument.drain()
        events = self._fresh_events(events)
        if events:
            booted = {e.data.get("boot") for e in events if e.code == "BOOT"}
            if booted - {str(self._boot)}:
                self._reattach = True  # firmware restarted under us: attach afresh
            self.listener.on_events(events)
        if received:
            boot = self._boot or 0
            self._emit_samples(
                [Sample(r.t_ms, r.values, r.received, boot, False) for r in received]
            )

    def _fresh_events(self, events: list[Event]) -> list[Event]:
        """Events not delivered before (a replay after reconnecting may repeat some)."""
        fresh = []
        for event in events:
            key = (event.t_ms, event.code, tuple(sorted(event.data.items())))
            if key in self._recent_events:
                continue
            self._recent_events.append(key)
            fresh.append(event)
            self._last_event_t = max(self._last_event_t or 0, event.t_ms)
        return fresh

    def _emit_samples(self, samples: list[Sample]) -> None:
        fresh = []
        for sample in samples:
            if self._last_t is not None and sample.t_ms <= self._last_t:
                if sample.t_ms < self._last_t - 5000 and not sample.backfilled:
                    self._reattach = True  # instrument clock went back: it was reset
                continue
            fresh.append(sample)
            self._last_t = sample.t_ms
        if fresh:
            self.listener.on_samples(fresh)
