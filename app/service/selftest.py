"""The instrument self-test: a scripted check of every actuator and sensor, each item
passing or failing on what the sensors show, as an operational-qualification aid.

It needs a test kit: water in the buffer and media bags (``TEST_KIT_FILL``), the door
closed, no process. Items act and then watch telemetry in instrument time, so a
simulator run faster than real time finishes in seconds and a real instrument in a few
minutes. Each item leaves the instrument as it found it (pumps stopped, valves closed,
set-points restored), so a failing item does not fail the next one: an occluded pump
fails its own transfer and nothing else, a stuck pressure sensor fails the items that
read pressure and nothing else.

Plain Python, no Qt: ``SelfTest`` is a connection listener fed telemetry by whoever
steps the connection (the headless CLI's loop, or the console's hardware thread).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from hardware.commands import (
    EnterServiceState,
    InstrumentCommand,
    LeaveServiceState,
    RunPump,
    SetRotor,
    SetSetpoint,
    SetValve,
)
from hardware.connection import LinkState, Sample
from hardware.driver import Identity, InstrumentError
from hardware.protocol import CHANNEL_INDEX, VALVES, Event, active_interlocks

TEST_KIT_FILL = {"buffer": 300.0, "media": 300.0}  # mL of water the test kit carries
TRANSFER_ML = 10.0
TRANSFER_RATE = 60.0  # mL/min
TRANSFER_TOLERANCE = 0.15  # the bags' weights agree with the pumped volume within 15 %
PRESSURE_RISE_MBAR = 50.0  # a pump against a closed line must raise pressure this much
HEATER_RISE_C = 0.3  # within HEATER_WAIT_S of a set-point 1 °C higher
HEATER_WAIT_S = 900.0
HEATER_MIN_DRIVE = 20.0  # % heater power the controller must apply for a 1 °C step
ROTOR_RPM = 500.0
GAS_TOLERANCE = 1.0  # % CO2 from its set-point
WINDOW = 20  # samples a sensor is judged over

# Plausible readings of an idle instrument with a test kit (channel: low, high).
SENSOR_RANGES = {
    "temp": (15.0, 40.0),
    "ph": (5.5, 8.5),
    "do": (0.0, 150.0),
    "co2": (0.0, 20.0),
    "pressure": (-50.0, 200.0),
    "w_buffer": (-20.0, 5000.0),
    "w_media": (-20.0, 5000.0),
    "w_waste": (-20.0, 5000.0),
    "w_chamber": (-20.0, 5000.0),
}


@dataclass(frozen=True)
class ItemResult:
    name: str
    passed: bool
    measured: str  # what was seen, as figures
    expected: str  # what passing needs


@dataclass
class SelfTestReport:
    started_utc: str
    instrument: str  # serial and firmware
    items: list[ItemResult] = field(default_factory=list)
    finished_utc: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.items) and all(item.passed for item in self.items)

    @property
    def failed(self) -> list[str]:
        return [item.name for item in self.items if not item.passed]

    def lines(self) -> list[str]:
        verdict = "PASS" if self.passed else f"FAIL ({len(self.failed)} of {len(self.items)})"
        out = [
            f"Instrument self-test  {self.instrument}",
            f"started {self.started_utc}  finished {self.finished_utc}",
        ]
        for item in self.items:
            mark = "pass" if item.passed else "FAIL"
            out.append(f"  {mark}  {item.name}: {item.measured} (needs {item.expected})")
        out.append(f"verdict: {verdict}")
        return out


class SelfTestAborted(RuntimeError):
    """The link was lost or the instrument stopped answering: no verdict."""


class SelfTest:
    """Runs the items over a connection that ``step`` advances; ``execute`` carries out
    a typed command on the instrument (raises when it refuses)."""

    def __init__(
        self,
        step: Callable[[], float],
        execute: Callable[[InstrumentCommand], str],
        wall_limit_s: float = 120.0,  # least wall time a wait may take before giving up
        progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.step, self.execute = step, execute
        self.cancel = cancel or threading.Event()
        self.wall_limit_s = wall_limit_s
        self.progress = progress or (lambda _line: None)
        self.recent: deque[tuple[int, tuple[float, ...]]] = deque(maxlen=600)
        self.t_ms = 0
        self.identity: Identity | None = None
        self.link = LinkState.DISCONNECTED
        self.events: list[Event] = []

    # ------------------------------------------------------------------ listener
    def on_state(self, state: LinkState, detail: str) -> None:
        self.link = state

    def on_identity(self, identity: Identity) -> None:
        self.identity = identity

    def on_samples(self, samples: list[Sample]) -> None:
        for sample in samples:
            if not sample.backfilled:
                self.recent.append((sample.t_ms, sample.values))
                self.t_ms = max(self.t_ms, sample.t_ms)

    def on_events(self, events: list[Event]) -> None:
        self.events.extend(events)

    # ------------------------------------------------------------------ helpers
    def value(self, channel: str) -> float:
        if not self.recent:
            raise SelfTestAborted("no telemetry from the instrument")
        return float(self.recent[-1][1][CHANNEL_INDEX[channel]])

    def wait_until(self, done: Callable[[], bool], instrument_s: float) -> bool:
        """Step the link until ``done`` or ``instrument_s`` of instrument time passed
        (counted from the first sample this test has seen, if none yet)."""
        until: int | None = self.t_ms + int(instrument_s * 1000) if self.recent else None
        # Instrument time runs at wall speed on a real instrument: a wait's wall limit is
        # above its instrument limit, so a slow heater fails its item, not the whole test.
        wall_end = time.monotonic() + max(self.wall_limit_s, 1.5 * instrument_s + 30.0)
        while True:
            if until is None and self.recent:
                until = self.t_ms + int(instrument_s * 1000)
            if self.recent and done():
                return True
            if until is not None and self.t_ms >= until:
                return False
            if self.cancel.is_set():
                raise SelfTestAborted("cancelled")
            if time.monotonic() > wall_end:
                raise SelfTestAborted("the instrument's clock stopped advancing")
            if self.link is LinkState.LOST:
                raise SelfTestAborted("the link to the instrument was lost")
            pause = self.step()
            if pause:
                time.sleep(min(pause, 0.02))  # the caller's loop: the hardware thread or CLI

    def settle(self, instrument_s: float) -> None:
        self.wait_until(lambda: False, instrument_s)

    def quiet(self) -> None:
        """Pumps stopped, valves closed, rotor stopped: the state every item starts from."""
        for pump in (1, 2):
            self.execute(RunPump(pump, 0.0))
        for valve in VALVES:
            self.execute(SetValve(valve, False))
        self.execute(SetRotor(0.0))

    # ------------------------------------------------------------------ run
    def run(self, enter_service: bool = True) -> SelfTestReport:
        """Every item in turn. ``enter_service``: put the firmware in its service state
        for the test and take it out after (the console's service mode already has)."""
        self.wait_until(lambda: len(self.recent) >= WINDOW, 120.0)
        identity = self.identity
        report = SelfTestReport(
            started_utc=_utc_now(),
            instrument=f"{identity.serial} firmware {identity.firmware}" if identity else "?",
        )
        if enter_service:
            self.execute(EnterServiceState())
        try:
            for name, item in self.items():
                try:
                    result = replace(item(), name=name)
                except InstrumentError as exc:  # refused (an interlock, say): this item fails
                    result = ItemResult(name, False, f"refused: {exc.message}", "no refusal")
                self.progress(f"{'pass' if result.passed else 'FAIL'}  {result.name}")
                report.items.append(result)
                self.quiet()
        finally:
            self.quiet()
            if enter_service:
                self.execute(LeaveServiceState())
        report.finished_utc = _utc_now()
        return report

    # ------------------------------------------------------------------ items
    def items(self) -> list[tuple[str, Callable[[], ItemResult]]]:
        """Every item's name (as the report prints it) and its check, in order."""
        return [
            ("door closed, no interlock active", self.interlocks_clear),
            *[(f"sensor {c} reads and is live", lambda c=c: self.sensor(c)) for c in SENSOR_RANGES],
            ("pump 1 moves liquid (buffer bag to chamber)", lambda: self.transfer(1, "buffer")),
            ("pump 2 moves liquid (media bag to chamber)", lambda: self.transfer(2, "media")),
            ("valves close: pressure rises against a closed line", self.valve_pressure),
            ("rotor reaches its set-point", self.rotor),
            ("heater warms the chamber", self.heater),
            ("gas mixer holds CO2 at its set-point", self.gas),
        ]

    def interlocks_clear(self) -> ItemResult:
        active = active_interlocks(self.value("ilk"))
        door, bubble = int(self.value("door")), int(self.value("bubble"))
        return ItemResult(
            "door closed, no interlock active",
            not active and not door and not bubble,
            f"door {'open' if door else 'closed'}, bubble {'yes' if bubble else 'no'}, "
            f"interlocks {','.join(active) or 'none'}",
            "door closed, no bubble, no interlock",
        )

    def sensor(self, channel: str) -> ItemResult:
        """A live sensor reads in its plausible range and is not frozen."""
        readings = [v[CHANNEL_INDEX[channel]] for _, v in list(self.recent)[-WINDOW:]]
        low, high = SENSOR_RANGES[channel]
        mean = statistics.fmean(readings)
        spread = max(readings) - min(readings)
        in_range = low <= mean <= high
        return ItemResult(
            f"sensor {channel} reads and is live",
            in_range and spread > 0.0 and len(readings) >= WINDOW,
            f"mean {mean:.3f}, spread {spread:.4f} over {len(readings)} readings",
            f"{WINDOW} readings, mean within {low:g}..{high:g} and a spread > 0 (a frozen "
            "sensor reads the same value every time)",
        )

    def transfer(self, pump: int, bag: str) -> ItemResult:
        """Pump ``TRANSFER_ML`` from a bag into the chamber: both weights follow."""
        valve = bag if pump == 1 else "feed"
        before_bag, before_chamber = self.value(f"w_{bag}"), self.value("w_chamber")
        counter = f"p{pump}_vol"
        before_count = self.value(counter)
        self.execute(SetValve(valve, True))
        self.execute(RunPump(pump, TRANSFER_RATE, TRANSFER_ML))
        expected_s = TRANSFER_ML / TRANSFER_RATE * 60.0
        done = self.wait_until(
            lambda: self.value(counter) - before_count >= TRANSFER_ML - 0.01, 2 * expected_s
        )
        self.execute(RunPump(pump, 0.0))
        self.settle(3.0)
        moved_out = before_bag - self.value(f"w_{bag}")
        moved_in = self.value("w_chamber") - before_chamber
        ok = done and all(
            abs(m - TRANSFER_ML) <= TRANSFER_ML * TRANSFER_TOLERANCE for m in (moved_out, moved_in)
        )
        # Put the water back, so the test kit is as it was (pump 1 runs either way;
        # pump 2 only feeds, so its water stays in the chamber and goes back by pump 1).
        self.execute(SetValve(valve, False))
        if moved_in > 0.5:
            self.execute(SetValve(bag, True))
            self.execute(RunPump(1, -TRANSFER_RATE, moved_in))
            self.wait_until(lambda: self.value("p1_rate") == 0.0, 3 * moved_in / TRANSFER_RATE * 60)
        return ItemResult(
            f"pump {pump} moves liquid ({bag} bag to chamber)",
            ok,
            f"{bag} bag -{moved_out:.1f} g, chamber +{moved_in:.1f} g, pump counter "
            f"{'reached' if done else 'did not reach'} {TRANSFER_ML:g} mL",
            f"{TRANSFER_ML:g} g ± {TRANSFER_TOLERANCE:.0%} out of the bag and into the chamber",
        )

    def valve_pressure(self) -> ItemResult:
        """With every valve closed, a pump pushing against the line raises pressure."""
        start = self.value("pressure")
        peak = [start]

        def risen() -> bool:
            peak[0] = max(peak[0], self.value("pressure"))
            return peak[0] - start >= PRESSURE_RISE_MBAR

        self.execute(RunPump(1, 20.0))
        ok = self.wait_until(risen, 10.0)
        self.execute(RunPump(1, 0.0))
        self.settle(5.0)  # the line relieves (and a pressure interlock clears)
        return ItemResult(
            "valves close: pressure rises against a closed line",
            ok,
            f"pressure {start:.0f} -> peak {peak[0]:.0f} mbar",
            f"a rise of at least {PRESSURE_RISE_MBAR:g} mbar within 10 s",
        )

    def rotor(self) -> ItemResult:
        self.execute(SetRotor(ROTOR_RPM))
        ok = self.wait_until(lambda: self.value("rpm") >= 0.9 * ROTOR_RPM, 10.0)
        reached = self.value("rpm")
        self.execute(SetRotor(0.0))
        self.wait_until(lambda: self.value("rpm") < 10, 10.0)
        return ItemResult(
            "rotor reaches its set-point",
            ok,
            f"{reached:.0f} rpm",
            f"at least {0.9 * ROTOR_RPM:.0f} rpm within 10 s",
        )

    def heater(self) -> ItemResult:
        """A set-point 1 °C above the reading: the heater drives and the chamber warms."""
        setpoint = self.value("temp_sp")
        start = self.value("temp")
        target = min(round(start + 1.0, 1), 39.0)
        drive = [0.0]

        def warmed() -> bool:
            drive[0] = max(drive[0], self.value("heater"))
            return drive[0] >= HEATER_MIN_DRIVE and self.value("temp") - start >= HEATER_RISE_C

        self.execute(SetSetpoint("temp_sp", target))
        try:
            ok = self.wait_until(warmed, HEATER_WAIT_S)
            reached = self.value("temp")
        finally:
            self.execute(SetSetpoint("temp_sp", setpoint))
        return ItemResult(
            "heater warms the chamber",
            ok,
            f"{start:.2f} -> {reached:.2f} °C, heater up to {drive[0]:.0f} % "
            f"(set-point {target:.1f} °C)",
            f"heater drive ≥ {HEATER_MIN_DRIVE:g} % and a rise of {HEATER_RISE_C:g} °C "
            f"within {HEATER_WAIT_S / 60:g} min",
        )

    def gas(self) -> ItemResult:
        co2, setpoint = self.value("co2"), self.value("co2_sp")
        return ItemResult(
            "gas mixer holds CO2 at its set-point",
            abs(co2 - setpoint) <= GAS_TOLERANCE,
            f"CO2 {co2:.2f} % (set-point {setpoint:.1f} %)",
            f"within ± {GAS_TOLERANCE:g} %",
        )


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
