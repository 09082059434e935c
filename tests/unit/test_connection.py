"""``Connection`` byte for byte against scripted ports, on a fake clock.

Each open of the link takes the next scripted port (or fails), every frame the console
writes must be the next one scripted (PyMeasure's ``expected_protocol`` style, see
fake_port.py), and time only moves when a test moves it: the reconnect backoff, the
heartbeat and the silence that means a lost link are asserted on the fake clock, with
no real sleep anywhere.
"""

from __future__ import annotations

import itertools
import time

import pytest

from hardware.connection import Connection, LinkState, Sample
from hardware.driver import Identity
from hardware.link import LinkError, SerialLink
from hardware.protocol import CHANNEL_NAMES, Event, encode_frame, telemetry_payload
from tests.unit.fake_port import FakePort

VALUES = [1.0] * len(CHANNEL_NAMES)
TICK = 0.01  # how far the fake clock moves when step() says "call again at once"


# --------------------------------------------------------------------------- fakes
class FakeClock:
    """Monotonic seconds that move only when told to."""

    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class Port(FakePort):
    """A scripted port whose cable can be pulled: reads and writes then fail."""

    def __init__(self, script) -> None:
        super().__init__(script)
        self.cut = False
        self.clock: FakeClock | None = None  # set when opened
        self.written_at: list[float] = []

    def feed(self, *frames: bytes) -> None:
        """Unsolicited frames from the instrument, readable from now on."""
        for frame in frames:
            self.incoming += frame

    @property
    def in_waiting(self) -> int:
        if self.cut:
            raise OSError("device disconnected")
        return len(self.incoming)

    def write(self, data: bytes) -> int:
        if self.cut:
            raise OSError("device disconnected")
        self.written_at.append(self.clock())
        return super().write(data)


class Wire:
    """The opener: each open takes the next port, or fails when none is left (nothing
    at the other end). Records the fake-clock time of every attempt."""

    def __init__(self, clock: FakeClock, *ports: Port) -> None:
        self.clock = clock
        self.ports = list(ports)
        self.used: list[Port] = []
        self.opened_at: list[float] = []

    def open(self, url: str) -> Port:
        self.opened_at.append(self.clock())
        if not self.ports:
            raise LinkError(f"cannot open {url}: no such device")
        port = self.ports.pop(0)
        port.clock = self.clock
        self.used.append(port)
        return port

    def all_sent(self) -> None:
        for port in self.used:
            assert not port.script, f"not sent: {port.script[0][0]!r}"


class Recorder:
    """The listener: what the console was told, with the fake-clock time of each state."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.states: list[tuple[float, LinkState, str]] = []
        self.identities: list[Identity] = []
        self.samples: list[Sample] = []
        self.events: list[Event] = []

    def on_state(self, state: LinkState, detail: str) -> None:
        self.states.append((self.clock(), state, detail))

    def on_identity(self, identity: Identity) -> None:
        self.identities.append(identity)

    def on_samples(self, samples: list[Sample]) -> None:
        self.samples.extend(samples)

    def on_events(self, events: list[Event]) -> None:
        self.events.extend(events)

    def times(self, state: LinkState) -> list[float]:
        return [t for t, s, _ in self.states if s is state]

    def numbered(self) -> list[int]:
        return [int(e.data["n"]) for e in self.events if "n" in e.data]

    def host_events(self, code: str) -> list[Event]:
        return [e for e in self.events if e.code == code]


# --------------------------------------------------------------------------- frames
def f(payload: str) -> bytes:
    return encode_frame(payload)


def idn(seq: int, boot: int, t: int, ev: int) -> bytes:
    return f(f"{seq} OK model=CD-1000 serial=S1 fw=1.0.0 kit=K1 boot={boot} t={t} ev={ev}")


def tlm(t: int) -> bytes:
    return f(telemetry_payload(t, VALUES))


def hist(seq: int, *times: int) -> bytes:
    return b"".join(f(telemetry_payload(t, VALUES, history_seq=seq)) for t in times)


def evt(t: int, n: int, code: str = "STATE", **data: str) -> bytes:
    return f(Event(t, code, {"n": str(n), **data}).payload())


def attach_script(seq: int, boot: int, t: int, ev: int, *middle, hz: str = "1"):
    """IDN?, whatever the attach asks in between (HIST?, EVT?), then TLM."""
    n = seq + len({sent for sent, _ in middle})  # a retry repeats its sequence number
    return [
        (f(f"{seq} IDN?"), idn(seq, boot, t, ev)),
        *middle,
        (f(f"{n + 1} TLM {hz}"), f(f"{n + 1} OK hz={hz}")),
    ]


# --------------------------------------------------------------------------- driving
def make(clock: FakeClock, wire: Wire, **kwargs) -> tuple[Connection, Recorder]:
    recorder = Recorder(clock)
    kwargs.setdefault("telemetry_hz", 1.0)
    kwargs.setdefault("heartbeat_s", 60.0)  # pings only where a test scripts them
    connection = Connection(
        "fake://",
        recorder,
        link_factory=lambda url: SerialLink(url, opener=wire.open, clock=clock),
        clock=clock,
        **kwargs,
    )
    connection.instrument._seq = 0  # a session starts at a random number: 1 here
    connection.instrument.reply_timeout = 0.002  # a missing scripted reply fails fast
    return connection, recorder


def run(connection: Connection, clock: FakeClock, seconds: float) -> None:
    """Call step() as its owner does, moving the fake clock by what it says to wait."""
    end = clock() + seconds
    while clock() < end:
        wait = connection.step()
        clock.advance(wait if wait > 0 else TICK)


def run_until(connection: Connection, clock: FakeClock, done, limit_s: float = 30.0) -> None:
    end = clock() + limit_s
    while not done():
        assert clock() < end, "condition not met in time"
        wait = connection.step()
        clock.advance(wait if wait > 0 else TICK)


def outage(connection: Connection, clock: FakeClock, port: Port) -> None:
    """Pull the cable of ``port``; return once the link is lost and attached again."""
    port.cut = True
    run_until(connection, clock, reconnecting(connection))
    run_until(connection, clock, connected(connection))


def connected(connection: Connection):
    return lambda: connection.state is LinkState.CONNECTED


def reconnecting(connection: Connection):
    return lambda: connection.state is LinkState.RECONNECTING


@pytest.fixture(autouse=True)
def no_real_time(monkeypatch):
    """Nothing here may sleep, and each test stays well under a second."""

    def refuse(seconds):
        raise AssertionError(f"real sleep({seconds}) in a fake-clock test")

    monkeypatch.setattr(time, "sleep", refuse)
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < 0.5


# --------------------------------------------------------------------------- backoff
def test_reconnect_backoff_grows_to_its_bound_and_restarts_after_an_attach():
    clock = FakeClock(100.0)
    wire = Wire(clock)  # nothing at the other end yet
    connection, seen = make(clock, wire)
    connection.start()
    run(connection, clock, 20.0)

    assert wire.opened_at[0] == 100.0
    delays = [b - a for a, b in zip(wire.opened_at, wire.opened_at[1:], strict=False)]
    assert delays == pytest.approx([0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0])
    assert connection.state is LinkState.RECONNECTING
    assert seen.states[-1][2].endswith("retry in 4 s")

    # The instrument appears: the next attempt (4 s after the last) attaches.
    port = Port(attach_script(1, boot=1, t=5000, ev=1))
    wire.ports.append(port)
    run_until(connection, clock, connected(connection))
    assert wire.opened_at[-1] - wire.opened_at[-2] == pytest.approx(4.0)
    assert seen.identities[-1].serial == "S1"

    # Lost again: the backoff starts over at 0.25 s, then grows again.
    port.cut = True
    attempts = len(wire.opened_at)
    run_until(connection, clock, reconnecting(connection))
    lost_at = seen.times(LinkState.LOST)[-1]
    run(connection, clock, 2.0)
    retries = wire.opened_at[attempts:]
    assert retries[:3] == pytest.approx([lost_at + 0.25, lost_at + 0.75, lost_at + 1.75])
    wire.all_sent()


def test_heartbeat_every_second_and_an_unanswered_one_drops_the_link():
    clock = FakeClock(0.0)
    script = [
        *attach_script(1, boot=1, t=5000, ev=0),
        (f("3 PING"), f("3 OK t=6000")),
        (f("4 PING"), f("4 OK t=7000")),
        *[(f("5 PING"), b"")] * 3,  # no answer: sent three times with the same seq
    ]
    port = Port(script)
    wire = Wire(clock, port)
    connection, seen = make(clock, wire, heartbeat_s=1.0)
    connection.start()
    run_until(connection, clock, reconnecting(connection))

    attached, pings = port.written_at[1], port.written_at[2:]
    assert len(pings) == 5
    assert pings[0] - attached == pytest.approx(1.0, abs=TICK)
    assert pings[1] - pings[0] == pytest.approx(1.0, abs=TICK)
    assert pings[2] - pings[1] == pytest.approx(1.0, abs=TICK)
    assert pings[2:] == [pings[2]] * 3  # the retries take no fake time
    lost_at, reason = [(t, d) for t, s, d in seen.states if s is LinkState.LOST][-1]
    assert lost_at == pings[-1]
    assert "no reply to PING" in reason
    wire.all_sent()


def test_a_silent_link_is_judged_lost_only_after_lost_after_s():
    clock = FakeClock(0.0)
    wire = Wire(clock, Port(attach_script(1, boot=1, t=5000, ev=0)))
    connection, seen = make(clock, wire)
    connection.start()
    run_until(connection, clock, connected(connection))
    last_rx = connection.link.last_rx
    run(connection, clock, 2.9)
    assert connection.state is LinkState.CONNECTED
    run_until(connection, clock, reconnecting(connection))
    lost_at = seen.times(LinkState.LOST)[-1]
    assert 3.0 < lost_at - last_rx <= 3.0 + TICK + 1e-9
    assert "no frame for 3 s" in [d for _, s, d in seen.states if s is LinkState.LOST][-1]


# --------------------------------------------------------------------------- back-fill
def attached_with_live_telemetry(clock, *later_ports, **kwargs):
    """Attached at t=5000 of boot 1 with live samples 6000 and 7000 delivered."""
    first = Port(attach_script(1, boot=1, t=5000, ev=1))
    wire = Wire(clock, first, *later_ports)
    connection, seen = make(clock, wire, **kwargs)
    connection.start()
    run_until(connection, clock, connected(connection))
    first.feed(tlm(6000), tlm(7000))
    run_until(connection, clock, lambda: len(seen.samples) == 2)
    return connection, seen, wire, first


def test_backfill_after_a_reconnect_delivers_the_missing_samples_once_in_order():
    clock = FakeClock(0.0)
    again = Port(
        attach_script(
            3,
            1,
            12000,
            1,
            # asked from the newest delivered sample on, up to the instrument's clock;
            # a live frame the instrument sent meanwhile overlaps the read-back
            (
                f("4 HIST? 7001 12000"),
                hist(4, 8000, 9000, 10000, 11000, 12000)
                + tlm(12000)
                + f("4 OK count=5 oldest=1000"),
            ),
        )
    )
    connection, seen, wire, first = attached_with_live_telemetry(clock, again)

    outage(connection, clock, first)
    again.feed(tlm(12000), tlm(13000))  # live again; 12000 also came from the history
    run(connection, clock, 0.1)

    times = [s.t_ms for s in seen.samples]
    assert times == [6000, 7000, 8000, 9000, 10000, 11000, 12000, 13000]
    assert [s.backfilled for s in seen.samples] == [False, False] + [True] * 5 + [False]
    assert {s.boot for s in seen.samples} == {1}
    backfilled = [s.utc for s in seen.samples if s.backfilled]
    steps = [b - a for a, b in itertools.pairwise(backfilled)]
    assert steps == pytest.approx([1.0] * 4)  # instrument seconds at the learnt rate (1)
    assert seen.host_events("HISTORY_GAP") == []
    assert connection.link.stats.reconnects == 1
    wire.all_sent()


def test_history_the_instrument_no_longer_holds_is_reported_never_skipped():
    """A long outage: the ring buffer rolled past the last delivered sample. The reply's
    count matches the frames sent, yet 7001..9999 is gone: a HISTORY_GAP says so."""
    clock = FakeClock(0.0)
    again = Port(
        attach_script(
            3,
            1,
            12000,
            1,
            (
                f("4 HIST? 7001 12000"),
                hist(4, 10000, 11000, 12000) + f("4 OK count=3 oldest=10000"),
            ),
        )
    )
    connection, seen, wire, first = attached_with_live_telemetry(clock, again)
    outage(connection, clock, first)

    assert [s.t_ms for s in seen.samples] == [6000, 7000, 10000, 11000, 12000]
    gaps = seen.host_events("HISTORY_GAP")
    assert [(g.t_ms, g.data) for g in gaps] == [(7001, {"boot": "1", "from": "7001", "to": "9999"})]
    wire.all_sent()


def test_a_stretch_lost_twice_on_the_wire_is_reported_as_a_gap():
    clock = FakeClock(0.0)
    again = Port(
        attach_script(
            3,
            1,
            12000,
            1,
            # 10000 is lost on the wire (bad CRC); asked for again, it is lost again
            (
                f("4 HIST? 7001 12000"),
                hist(4, 8000, 9000)
                + b"H 4 10000 garbled*0000\n"
                + hist(4, 11000, 12000)
                + f("4 OK count=5 oldest=1000"),
            ),
            (f("5 HIST? 9001 10999"), b"H 5 10000 garbled*0000\n" + f("5 OK count=1")),
        )
    )
    connection, seen, wire, first = attached_with_live_telemetry(clock, again)
    outage(connection, clock, first)

    assert [s.t_ms for s in seen.samples] == [6000, 7000, 8000, 9000, 11000, 12000]
    gaps = seen.host_events("HISTORY_GAP")
    assert [g.data for g in gaps] == [{"boot": "1", "from": "9001", "to": "10999"}]
    wire.all_sent()


def test_a_backfill_that_times_out_is_one_gap_and_the_attach_goes_on():
    clock = FakeClock(0.0)
    no_answer = (f("4 HIST? 7001 12000"), b"")
    again = Port(attach_script(3, 1, 12000, 1, no_answer, no_answer, no_answer))
    connection, seen, wire, first = attached_with_live_telemetry(clock, again)
    outage(connection, clock, first)  # attached all the same: TLM was sent

    assert connection.state is LinkState.CONNECTED
    assert [s.t_ms for s in seen.samples] == [6000, 7000]
    gaps = seen.host_events("HISTORY_GAP")
    assert [g.data for g in gaps] == [{"boot": "1", "from": "7001", "to": "12000"}]
    wire.all_sent()


def test_a_frame_lost_live_is_read_back_from_history_and_marked_backfilled():
    clock = FakeClock(0.0)
    port = Port(
        [
            *attach_script(1, 1, 5000, 0),
            (f("3 HIST? 6001 7999"), hist(3, 7000) + f("3 OK count=1 oldest=1000")),
        ]
    )
    wire = Wire(clock, port)
    connection, seen = make(clock, wire)
    connection.start()
    run_until(connection, clock, connected(connection))
    bad = bytearray(tlm(7000))
    bad[3] ^= 0x01
    port.feed(tlm(5000), tlm(6000), bytes(bad), tlm(8000))
    run(connection, clock, 0.1)

    assert [(s.t_ms, s.backfilled) for s in seen.samples] == [
        (5000, False),
        (6000, False),
        (8000, False),
        (7000, True),
    ]
    assert seen.host_events("HISTORY_GAP") == []
    wire.all_sent()


def test_a_restarted_instrument_is_read_back_from_the_start_of_its_new_boot():
    clock = FakeClock(0.0)
    again = Port(
        attach_script(
            3,
            2,
            3000,
            1,
            (f("4 HIST? 0 3000"), hist(4, 1000, 2000, 3000) + f("4 OK count=3 oldest=1000")),
            (f("5 EVT? 1 1"), evt(0, 1, "BOOT", boot="2", reason="reset") + f("5 OK count=1")),
        )
    )
    connection, seen, wire, first = attached_with_live_telemetry(clock, again)
    outage(connection, clock, first)

    assert [(s.boot, s.t_ms) for s in seen.samples] == [
        (1, 6000),
        (1, 7000),
        (2, 1000),
        (2, 2000),
        (2, 3000),
    ]
    assert [e.code for e in seen.events] == ["BOOT"]  # no gap: t=0 holds no frame
    wire.all_sent()


# --------------------------------------------------------------------------- events
def test_events_missed_during_an_outage_are_read_back_and_delivered_once():
    clock = FakeClock(0.0)
    first = Port(attach_script(1, boot=1, t=5000, ev=1))
    again = Port(
        attach_script(
            3,
            1,
            9000,
            4,
            (f("4 EVT? 3 4"), evt(7000, 3) + evt(8000, 4) + f("4 OK count=2")),
        )
    )
    wire = Wire(clock, first, again)
    connection, seen = make(clock, wire)
    connection.start()
    run_until(connection, clock, connected(connection))
    first.feed(evt(5000, 1, "BOOT", boot="1"), evt(6000, 2))  # n=1 was before attach
    run(connection, clock, 0.1)
    assert seen.numbered() == [2]

    outage(connection, clock, first)
    again.feed(evt(8000, 4), evt(9500, 5))  # a late repeat of 4, then a new one
    run(connection, clock, 0.1)

    assert seen.numbered() == [2, 3, 4, 5]
    assert seen.host_events("EVENT_GAP") == []
    wire.all_sent()


def test_events_the_instrument_no_longer_holds_are_reported_as_an_event_gap():
    clock = FakeClock(0.0)
    first = Port(attach_script(1, boot=1, t=5000, ev=1))
    again = Port(
        attach_script(
            3,
            1,
            9000,
            5,
            # 3 and 4 fell out of the instrument's event log
            (f("4 EVT? 2 5"), evt(8500, 5) + f("4 OK count=1")),
        )
    )
    wire = Wire(clock, first, again)
    connection, seen = make(clock, wire)
    connection.start()
    run_until(connection, clock, connected(connection))
    outage(connection, clock, first)
    again.feed(evt(7000, 3))  # too late: already given up, not delivered out of the blue
    run(connection, clock, 0.1)

    assert seen.numbered() == [5]
    gaps = seen.host_events("EVENT_GAP")
    assert [g.data for g in gaps] == [{"boot": "1", "missing": "3"}]
    wire.all_sent()


def test_an_event_lost_live_is_asked_for_once_while_connected():
    clock = FakeClock(0.0)
    port = Port(
        [*attach_script(1, 1, 5000, 1), (f("3 EVT? 3 3"), evt(6500, 3) + f("3 OK count=1"))]
    )
    wire = Wire(clock, port)
    connection, seen = make(clock, wire)
    connection.start()
    run_until(connection, clock, connected(connection))
    bad = bytearray(evt(6500, 3))
    bad[2] ^= 0x01
    port.feed(evt(6000, 2), bytes(bad), evt(7000, 4))
    run(connection, clock, 0.1)
    port.feed(evt(7000, 4))  # a repeat changes nothing
    run(connection, clock, 0.1)

    assert seen.numbered() == [2, 4, 3]
    assert seen.host_events("EVENT_GAP") == []
    wire.all_sent()
