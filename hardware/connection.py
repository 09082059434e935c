"""Keeps one instrument attached: connect, heartbeat, detect loss, reconnect with a
bounded backoff, re-identify, re-apply the telemetry rate, and back-fill any gap from
the instrument's history so that the stream of samples has no holes. No Qt.

The owner calls ``step()`` repeatedly from one thread; each call blocks for at most
one serial read timeout and returns how long the owner may wait before the next call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from hardware.commands import InstrumentCommand, SetTelemetryRate
from hardware.driver import (
    HISTORY_STEP_MS,
    History,
    Identity,
    Instrument,
    InstrumentError,
    ReplyTimeout,
)
from hardware.link import LinkError, SerialLink
from hardware.protocol import Event

HEARTBEAT_S = 1.0
LOST_AFTER_S = 3.0
STALE_MS = 5000  # telemetry this far behind the instrument's clock is not live
HOLE_MS = 1500  # live samples further apart than this: fill in from history (1 Hz)
MAX_HOLES = 100
MAX_GUESSED_HOLE_MS = 120_000

log = logging.getLogger(__name__)


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
        link_factory: Callable[[str], SerialLink] | None = None,
        backoff: Backoff | None = None,
        resume_from: tuple[int, int] | None = None,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``resume_from`` (boot, t_ms) is the newest sample already on record, for a
        console restarting during a run: the first attach back-fills from there.
        ``cancel`` set from another thread makes any request in progress give up.
        ``clock`` (monotonic seconds) times attempts, heartbeats and silence; a
        ``link_factory`` given with a fake clock builds its link on the same clock."""
        self._now = clock
        self.link = link_factory(url) if link_factory else SerialLink(url, clock=clock)
        self.instrument = Instrument(self.link, cancel=cancel)
        self.listener = listener
        self.telemetry_hz = telemetry_hz
        self.heartbeat_s = heartbeat_s
        self.lost_after_s = lost_after_s
        self.backoff = backoff or Backoff()
        self.state = LinkState.DISCONNECTED
        self._detail = ""
        self.identity: Identity | None = None
        self._boot: int | None = resume_from[0] if resume_from else None
        self._last_t: int | None = resume_from[1] if resume_from else None
        self.events = EventSequence()
        self.clock = ClockRate()
        self._next_attempt = 0.0
        self._next_heartbeat = 0.0
        self._reattach = False
        self._holes: list[tuple[int, int]] = []  # stretches live telemetry lost on the wire
        self._resuming = resume_from is not None
        self._events_after = resume_from  # events at or before this are already on record

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._set_state(LinkState.CONNECTING, self.link.url)
        self._next_attempt = self._now()

    def close(self) -> None:
        self.link.close()
        self._set_state(LinkState.DISCONNECTED, "closed")

    def _set_state(self, state: LinkState, detail: str = "") -> None:
        """Report a new state, or a new reason for the same one (each failed attempt)."""
        if state != self.state or detail != self._detail:
            self.state, self._detail = state, detail
            self.listener.on_state(state, detail)

    # ------------------------------------------------------------------ work loop
    def step(self) -> float:
        """Do one slice of work; return seconds the caller may wait before the next."""
        now = self._now()
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
            elif self.events.replay_wanted():
                self._replay_events()
            elif self._holes:
                self._fill_holes()
            elif self._now() >= self._next_heartbeat:
                self._next_heartbeat = self._now() + self.heartbeat_s
                self.instrument.ping()
                self._deliver()
        except (LinkError, InstrumentError) as exc:
            self._lose(str(exc))
            return 0.0
        if self._now() - self.link.last_rx > self.lost_after_s:
            self._lose(f"no frame for {self.lost_after_s:g} s")
        return 0.0

    def keepalive(self) -> None:
        """The heartbeat alone, for when the owner's thread must wait (for the records
        to reach the disk): nothing is delivered (what arrives is kept for the next
        ``step``) and no state is reported, so no listener runs inside the wait. A
        failure here is noticed by the next ``step``. Never raises."""
        if self.state is not LinkState.CONNECTED or self._now() < self._next_heartbeat:
            return
        self._next_heartbeat = self._now() + self.heartbeat_s
        try:
            self.instrument.ping()
        except (LinkError, InstrumentError) as exc:
            log.warning("heartbeat while waiting for the records failed: %s", exc)

    def execute(self, command: InstrumentCommand) -> str:
        """Carry out a command now; raises LinkError when not attached or the link fails,
        InstrumentError when the instrument refuses."""
        if self.state is not LinkState.CONNECTED:
            raise LinkError(f"instrument not connected ({self.state.value.lower()})")
        try:
            result = command.run(self.instrument)
        except LinkError as exc:  # ReplyTimeout included
            self._lose(str(exc))
            raise
        if isinstance(command, SetTelemetryRate):
            self.telemetry_hz = command.hz  # and so re-applied after a reconnect
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
            delay = self.backoff.next()
            self._next_attempt = self._now() + delay
            self._set_state(LinkState.RECONNECTING, f"{exc}; retry in {delay:g} s")
            return
        self.backoff.reset()
        self._set_state(LinkState.CONNECTED, f"{self.identity.model} {self.identity.serial}")

    def _is_new_boot(self, identity: Identity) -> bool:
        """A firmware that restarted since we last saw it: another boot number, a clock
        behind the newest sample we have (a power cycle restarts the counter too), or
        another instrument altogether."""
        if self._boot is None:
            return False
        previous = self.identity
        return (
            identity.boot != self._boot
            or (self._last_t is not None and identity.t_ms < self._last_t)
            or (previous is not None and identity.serial != previous.serial)
        )

    def _attach(self) -> None:
        """Identify, back-fill the gap since the last delivered sample, read back missed
        events, and set the telemetry rate."""
        self._reattach = False
        identity = self.instrument.identify()
        anchor_utc = time.time()
        restarted = self._is_new_boot(identity)
        if restarted:
            self.clock.reset()
        if self._boot is None:
            start = None  # first attach: the record starts now
        elif restarted:
            start, self._last_t = 0, None  # firmware restarted: all of its new history
        else:
            start = None if self._last_t is None else self._last_t + 1
        self._drop_stale_telemetry(identity)
        self._boot = identity.boot
        self.identity = identity
        if self._resuming and not restarted and start is not None:
            self.events.resume_after_restart()  # the console's own restart: read them back
        self._resuming = False
        self.events.attach(identity.events, restarted, first=start is None and not restarted)
        self.listener.on_identity(identity)
        if start is not None and start <= identity.t_ms:
            self._backfill(start, identity, anchor_utc)
        if self.events.replay_wanted():
            self._replay_events()
        self.instrument.telemetry_rate(self.telemetry_hz)
        self._next_heartbeat = self._now() + self.heartbeat_s
        self._deliver()

    def _drop_stale_telemetry(self, identity: Identity) -> None:
        """Frames that waited in a port buffer from before this attach are not live;
        the back-fill supplies that stretch from the instrument's history instead."""
        received, events = self.instrument.drain()
        fresh = [r for r in received if r.t_ms >= identity.t_ms - STALE_MS]
        self.instrument.requeue(fresh, events)

    def _backfill(self, start: int, identity: Identity, anchor_utc: float) -> None:
        try:
            history = self.instrument.history(start, identity.t_ms)
        except ReplyTimeout as exc:  # the link is judged by the heartbeat, not by this
            history = History(gaps=[(start, identity.t_ms)])
            log.warning("history read-back failed: %s", exc)
        history.gaps[:0] = unheld_start(history, start, identity.t_ms)
        samples = [
            Sample(
                f.t_ms,
                f.values,
                anchor_utc - (identity.t_ms - f.t_ms) / 1000.0 / self.clock.rate,
                identity.boot,
                True,
            )
            for f in history.frames
        ]
        self._emit_samples(samples)
        self._report_gaps(history)

    def _watch_for_hole(self, gap_ms: int) -> None:
        """A live frame lost on the wire shows as a gap well beyond the spacing the
        telemetry rate and the instrument's clock rate give. Only a stream at least as
        fine as the 1 Hz history is filled from it (a simulator run thousands of times
        faster sends frames hours of process time apart: nothing to fill at the same
        resolution); until the clock rate is known, only short gaps count."""
        if self.telemetry_hz <= 0:
            return
        expected = 1000.0 / self.telemetry_hz * self.clock.rate
        if not self.clock.known and gap_ms > MAX_GUESSED_HOLE_MS:
            return  # clock rate not learnt yet: a long gap may just be a fast simulator
        lost = expected <= 1000 and gap_ms > max(HOLE_MS, 1.5 * expected)
        if lost and len(self._holes) < MAX_HOLES:
            self._holes.append((self._last_t + 1, self._last_t + gap_ms - 1))

    def _fill_holes(self) -> None:
        """Read back from the instrument's history what live telemetry lost on the wire
        (frames dropped for a bad CRC); delivered late, marked back-filled."""
        holes, self._holes = self._holes, []
        anchor_utc, identity = time.time(), self.identity
        if identity is None:
            return
        for t0, t1 in holes:
            try:
                history = self.instrument.history(t0, t1)
            except ReplyTimeout as exc:
                log.warning("could not fill telemetry hole %s..%s: %s", t0, t1, exc)
                history = History(gaps=[(t0, t1)])
            history.gaps[:0] = unheld_start(history, t0, t1)
            newest = self._last_t or t1
            samples = [
                Sample(
                    f.t_ms,
                    f.values,
                    anchor_utc - (newest - f.t_ms) / 1000.0 / self.clock.rate,
                    self._boot or 0,
                    True,
                )
                for f in history.frames
            ]
            if samples:
                self.listener.on_samples(samples)
            self._report_gaps(history)

    def _report_gaps(self, history: History) -> None:
        gaps = [
            Event(t0, "HISTORY_GAP", {"boot": str(self._boot), "from": str(t0), "to": str(t1)})
            for t0, t1 in history.gaps
        ]
        if gaps:
            self.listener.on_events(gaps)

    def _replay_events(self) -> None:
        n0, n1 = self.events.take_replay()
        available = self.instrument.replay_events(n0, n1)
        self._deliver()
        lost = self.events.give_up_below(n1 + 1)
        if lost:
            log.warning("instrument events %s..%s lost (%d still logged)", n0, n1, available)
            boot = str(self._boot)
            self.listener.on_events(
                [Event(self._last_t or 0, "EVENT_GAP", {"boot": boot, "missing": str(lost)})]
            )

    def _lose(self, reason: str) -> None:
        self.link.close()
        self.link.stats.reconnects += 1
        self._set_state(LinkState.LOST, reason)
        delay = self.backoff.next()
        self._next_attempt = self._now() + delay
        self._set_state(LinkState.RECONNECTING, f"retry in {delay:g} s")

    # ------------------------------------------------------------------ delivery
    def _deliver(self) -> None:
        received, events = self.instrument.drain()
        fresh_events = []
        for event in events:
            if event.code == "BOOT" and event.data.get("boot") != str(self._boot):
                self._reattach = True  # firmware restarted under us: attach afresh
                self.events.new_boot()
            if self.events.accept(event) and not self._already_recorded(event):
                fresh_events.append(event)
        if fresh_events:
            self.listener.on_events(fresh_events)
        if received:
            self.clock.observe(received[0].t_ms, received[0].received)
            boot = self._boot or 0
            self._emit_samples(
                [Sample(r.t_ms, r.values, r.received, boot, False) for r in received]
            )

    def _already_recorded(self, event: Event) -> bool:
        """After a console restart, events read back from before the newest recorded
        sample were seen by the console that died."""
        after = self._events_after
        if after is None:
            return False
        if self._boot != after[0]:
            self._events_after = None  # a new boot: all of its events are new
            return False
        return event.t_ms <= after[1]

    def _emit_samples(self, samples: list[Sample]) -> None:
        fresh = []
        for sample in samples:
            if self._last_t is not None and sample.t_ms <= self._last_t:
                if sample.t_ms < self._last_t - STALE_MS and not sample.backfilled:
                    self._reattach = True  # instrument clock went back: it was reset
                continue
            if not sample.backfilled and self._last_t is not None:
                self._watch_for_hole(sample.t_ms - self._last_t)
            fresh.append(sample)
            self._last_t = sample.t_ms
        if fresh:
            self.listener.on_samples(fresh)


def unheld_start(history: History, t0: int, t1: int) -> list[tuple[int, int]]:
    """The oldest part of [t0, t1] the instrument no longer holds (its ring buffer rolled
    past it during a long outage), as a gap, unless already reported. The reply's count
    then matches the frames sent, so the driver sees nothing missing; without this the
    stretch would pass unreported. Only whole seconds before t1 are due (t=0 and the
    second the instrument is in may not be recorded yet)."""
    first_due = max(-(-t0 // HISTORY_STEP_MS), 1) * HISTORY_STEP_MS
    first_held = min((f.t_ms for f in history.frames), default=t1 + 1)
    if first_due >= min(first_held, t1) or any(a <= first_due <= b for a, b in history.gaps):
        return []
    return [(t0, first_held - 1)]


class ClockRate:
    """Instrument milliseconds per wall-clock millisecond, learnt from live telemetry:
    1 for a real instrument, the speed factor for a simulator run faster than real
    time. Back-filled samples get their UTC from it."""

    MIN_SPAN_S = 2.0

    def __init__(self) -> None:
        self.rate = 1.0
        self.known = False  # True once two seconds of live telemetry have set the rate
        self._first: tuple[int, float] | None = None

    def reset(self) -> None:
        self._first = None

    def observe(self, t_ms: int, wall: float) -> None:
        if self._first is None or t_ms < self._first[0]:
            self._first = (t_ms, wall)
            return
        t0, wall0 = self._first
        if wall - wall0 >= self.MIN_SPAN_S:
            rate = (t_ms - t0) / 1000.0 / (wall - wall0)
            self.rate = 1.0 if abs(rate - 1.0) < 0.02 else max(rate, 1e-3)
            self.known = True


class EventSequence:
    """Which of the instrument's numbered events (n=1, 2, ... per boot) were delivered:
    drops repeats, notices holes, and says which numbers to ask for again."""

    def __init__(self) -> None:
        self.fresh_boot = False  # new_boot() already reset the numbering
        self.next_n: int | None = None  # lowest number not yet delivered
        self.ahead: set[int] = set()  # delivered numbers above next_n (a hole below)
        self._replay: tuple[int, int] | None = None
        self._asked: set[int] = set()  # holes already asked for once

    def new_boot(self) -> None:
        """A BOOT event announced a restart: numbering starts again at 1."""
        self.next_n, self.ahead, self._asked = 1, set(), set()
        self.fresh_boot = True

    def attach(self, count: int, restarted: bool, first: bool) -> None:
        """At attach, when the firmware says it has raised ``count`` events: on first
        attach only later events are ours; after a restart the new boot's events are
        wanted whole (unless its BOOT event already told us); otherwise resume."""
        if first and self.next_n is None:
            self.next_n = count + 1
        elif restarted and not self.fresh_boot:
            self.next_n, self.ahead, self._asked = 1, set(), set()
        self.fresh_boot = False
        if self.next_n is not None and count >= self.next_n:
            self._replay = (self.next_n, count)

    def accept(self, event: Event) -> bool:
        """True when the event is to be delivered (not seen before)."""
        text = event.data.get("n", "")
        if not text.isdigit() or self.next_n is None:
            return True
        n = int(text)
        if n < self.next_n or n in self.ahead:
            return False
        self.ahead.add(n)
        while self.next_n in self.ahead:
            self.ahead.discard(self.next_n)
            self.next_n += 1
        if self.ahead and self.next_n not in self._asked:
            self._replay = (self.next_n, min(self.ahead) - 1)
        return True

    def resume_after_restart(self) -> None:
        """A console restarted mid-run: every event of this boot is read back (the
        connection keeps those after its newest recorded sample)."""
        self.next_n, self.ahead, self._asked = 1, set(), set()

    def replay_wanted(self) -> bool:
        return self._replay is not None

    def take_replay(self) -> tuple[int, int]:
        replay, self._replay = self._replay, None
        assert replay is not None
        self._asked.update(range(replay[0], replay[1] + 1))
        return replay

    def give_up_below(self, n: int) -> int:
        """After a replay: numbers below ``n`` still missing are lost; skip past them."""
        if self.next_n is None or self.next_n >= n:
            return 0
        lost = sum(1 for k in range(self.next_n, n) if k not in self.ahead)
        self.ahead = {k for k in self.ahead if k >= n}
        self.next_n = n
        while self.next_n in self.ahead:
            self.ahead.discard(self.next_n)
            self.next_n += 1
        return lost
