"""What each phase does on the instrument: a generator per phase that sends commands
through the context and yields what it waits for (time, a pump's volume, a channel
crossing a value, an operator's answer). The engine drives the generators.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from app.batch.recipe import Kit
from hardware.commands import InstrumentCommand, RunPump, SetRotor, SetSetpoint, SetValve

CHECK_EVERY_S = 3600.0  # culture: look at the cells once an (instrument) hour
AUTO_FEED_RATE = 40.0  # mL/min for feeds during culture


@dataclass
class Elapsed:
    """Wait for ``seconds`` of instrument time; ``resume`` is sent again after a hold."""

    seconds: float
    resume: list[InstrumentCommand] = field(default_factory=list)


@dataclass
class PumpDone:
    """Wait until a volume-limited pump command has moved its volume."""

    pump: int
    rate: float
    volume: float
    valves: list[str]
    baseline: float = 0.0  # the pump's volume counter before the command was sent


@dataclass
class Until:
    channel: str
    above: bool
    value: float
    timeout_s: float


@dataclass
class Prompt:
    """Wait for the operator: response is confirm, data or signature."""

    message: str
    response: str
    data_label: str = ""
    data_unit: str = ""
    data_low: float | None = None
    data_high: float | None = None
    second_person: bool = False


Wait = Elapsed | PumpDone | Until | Prompt
PhaseRun = Generator[Wait, Any, None]


@dataclass
class PhaseContext:
    send: Callable[[InstrumentCommand], str]
    latest: Callable[[str], float]  # newest value of a channel
    kit: Kit
    note: Callable[[str], None]  # a line for the run's record
    report: Callable[[str, float], None] = lambda name, value: None  # a measured outcome


def move(ctx: PhaseContext, source: str, target: str, volume: float, rate: float) -> PhaseRun:
    """Liquid from one vessel to another. Pump 1 runs bag -> chamber forwards and
    chamber -> bag backwards; bag to bag goes through the chamber."""
    if volume <= 0:
        return
    if source != "chamber" and target != "chamber":
        yield from move(ctx, source, "chamber", volume, rate)
        yield from move(ctx, "chamber", target, volume, rate)
        return
    bag = source if target == "chamber" else target
    signed = rate if target == "chamber" else -rate
    ctx.send(SetValve(bag, True))
    baseline = ctx.latest("p1_vol")
    ctx.send(RunPump(1, signed, volume))
    yield PumpDone(1, signed, volume, [bag], baseline)
    ctx.send(SetValve(bag, False))


def spin(ctx: PhaseContext, rpm: float, seconds: float) -> PhaseRun:
    ctx.send(SetRotor(rpm))
    yield Elapsed(seconds, [SetRotor(rpm)])


def prime(ctx: PhaseContext, a: dict) -> PhaseRun:
    yield from move(ctx, "buffer", "waste", a["volume"], a["rate"])


def transfer(ctx: PhaseContext, a: dict) -> PhaseRun:
    yield from move(ctx, a["from"], a["to"], a["volume"], a["rate"])


def wash(ctx: PhaseContext, a: dict) -> PhaseRun:
    for repeat in range(a["repeats"]):
        ctx.note(f"wash {repeat + 1} of {a['repeats']}")
        yield from spin(ctx, a["spin_speed"], a["spin_time"])
        yield from move(ctx, "chamber", "waste", a["supernatant"], 60.0)  # still spinning
        ctx.send(SetRotor(0))
        yield from move(ctx, "buffer", "chamber", a["buffer"], 60.0)


def select(ctx: PhaseContext, a: dict) -> PhaseRun:
    ctx.note(f"selection beads {a['bead_volume']:g} mL")
    yield from spin(ctx, 30.0, a["incubation"])
    ctx.send(SetRotor(0))


def incubate(temperature_key: str, time_key: str) -> Callable[[PhaseContext, dict], PhaseRun]:
    def run(ctx: PhaseContext, a: dict) -> PhaseRun:
        ctx.send(SetSetpoint("temp_sp", a[temperature_key]))
        yield Elapsed(a[time_key])

    return run


def culture(ctx: PhaseContext, a: dict) -> PhaseRun:
    ctx.send(SetSetpoint("temp_sp", a["temperature"]))
    ctx.send(SetSetpoint("co2_sp", a["co2"]))
    agitation = a.get("agitation", 0.0)
    if agitation:
        ctx.send(SetRotor(agitation))
    left = a["duration"]
    since_feed = 0.0
    while left > 0:
        step = min(CHECK_EVERY_S, left)
        yield Elapsed(step, [SetRotor(agitation)] if agitation else [])
        left -= step
        since_feed += step
        density, volume = ctx.latest("vcd"), ctx.latest("w_chamber")
        total = density * 1e6 * volume
        target = a.get("target_cells")
        if target and total >= target:
            ctx.note(f"target dose reached: {total:.3g} cells after {a['duration'] - left:g} s")
            break
        feed = a.get("feed_volume", 0.0)
        due = (a["feed_rule"] == "density" and density >= a.get("feed_density", 1e9)) or (
            a["feed_rule"] == "schedule" and since_feed >= a.get("feed_every", 1e18)
        )
        if due and feed and volume + feed <= ctx.kit.chamber:
            ctx.note(f"feed {feed:g} mL at {density:.2f} 1e6/mL")
            ctx.send(SetValve("feed", True))
            baseline = ctx.latest("p2_vol")
            ctx.send(RunPump(2, AUTO_FEED_RATE, feed))
            yield PumpDone(2, AUTO_FEED_RATE, feed, ["feed"], baseline)
            ctx.send(SetValve("feed", False))
            since_feed = 0.0
    if agitation:
        ctx.send(SetRotor(0))


def feed(ctx: PhaseContext, a: dict) -> PhaseRun:
    ctx.send(SetValve("feed", True))
    baseline = ctx.latest("p2_vol")
    ctx.send(RunPump(2, a["rate"], a["volume"]))
    yield PumpDone(2, a["rate"], a["volume"], ["feed"], baseline)
    ctx.send(SetValve("feed", False))


def sample(ctx: PhaseContext, a: dict) -> PhaseRun:
    yield from move(ctx, "chamber", "waste", a["volume"], 20.0)


def harvest(ctx: PhaseContext, a: dict) -> PhaseRun:
    speed = a.get("spin_speed")
    excess = ctx.latest("w_chamber") - a["volume"]
    if speed and excess > 1.0:  # concentrate first: spin and take off supernatant
        ctx.send(SetRotor(speed))
        yield Elapsed(120.0, [SetRotor(speed)])
        yield from move(ctx, "chamber", "waste", excess, a["rate"])
        ctx.send(SetRotor(0))
    available = max(0.0, ctx.latest("w_chamber") - 0.5)
    density = ctx.latest("vcd")  # 1e6/mL, in-line, just before the cells leave
    volume = min(a["volume"], available)
    yield from move(ctx, "chamber", "product", volume, a["rate"])
    ctx.report("product_cells", density * 1e6 * volume)


def formulate(ctx: PhaseContext, a: dict) -> PhaseRun:
    yield from move(ctx, "buffer", "product", a["buffer"], a["rate"])


def prompt(ctx: PhaseContext, a: dict) -> PhaseRun:
    answer = yield Prompt(
        a["message"],
        a["response"],
        a.get("data_label", ""),
        a.get("data_unit", ""),
        a.get("data_low"),
        a.get("data_high"),
        bool(a.get("second_person", False)),
    )
    ctx.note(f"answer: {answer}")


def wait(ctx: PhaseContext, a: dict) -> PhaseRun:
    yield Elapsed(a["duration"])


def hold_until(ctx: PhaseContext, a: dict) -> PhaseRun:
    yield Until(a["channel"], a["condition"] == "above", float(a["value"]), a["timeout"])


EXECUTORS: dict[str, Callable[[PhaseContext, dict], PhaseRun]] = {
    "prime": prime,
    "transfer": transfer,
    "wash": wash,
    "select": select,
    "activate": incubate("temperature", "incubation"),
    "transduce": incubate("temperature", "hold"),
    "culture": culture,
    "feed": feed,
    "sample": sample,
    "harvest": harvest,
    "formulate": formulate,
    "prompt": prompt,
    "wait": wait,
    "hold_until": hold_until,
}


def nominal_seconds(phase: str, a: dict) -> float:
    """How long a step should take as written (process seconds), for "time left" and
    for review's "ran longer than expected". Prompts count as no time."""

    def pumping(volume: float, rate: float, legs: int = 1) -> float:
        return legs * volume / rate * 60.0 if rate > 0 else 0.0

    bag_to_bag = "chamber" not in (a.get("from"), a.get("to"))
    estimates: dict[str, Callable[[], float]] = {
        "prime": lambda: pumping(a["volume"], a["rate"], 2),
        "transfer": lambda: pumping(a["volume"], a["rate"], 2 if bag_to_bag else 1),
        "wash": lambda: (
            a["repeats"] * (a["spin_time"] + pumping(a["supernatant"] + a["buffer"], 60.0))
        ),
        "select": lambda: a["incubation"],
        "activate": lambda: a["incubation"],
        "transduce": lambda: a["hold"],
        "culture": lambda: a["duration"],
        "feed": lambda: pumping(a["volume"], a["rate"]),
        "sample": lambda: pumping(a["volume"], 20.0),
        "harvest": lambda: (
            (120.0 if a.get("spin_speed") else 0.0) + pumping(a["volume"], a["rate"])
        ),
        "formulate": lambda: pumping(a["buffer"], a["rate"], 2),
        "wait": lambda: a["duration"],
        "hold_until": lambda: a["timeout"],
    }
    estimate = estimates.get(phase)
    return float(estimate()) if estimate else 0.0
