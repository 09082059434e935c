"""The four calibration wizards as data: each a few steps (what to do, the standard's
value fixed, tapped or typed on the keypad), the unit and digits the readings are shown
in, what "steady" means, and the math (app/service/calibration.py) that turns the points
into a result. The Calibration tab walks them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.service import calibration as math_
from app.service.calibration import CalibrationResult, Point
from hardware.protocol import CHANNEL_LABELS, LOAD_CELLS


# ------------------------------------------------------------------ the wizards
@dataclass(frozen=True)
class Choice:
    """A value the engineer taps: the second buffer, the load cell."""

    prompt: str
    options: tuple[tuple[str, Any], ...]  # (button text, value)


@dataclass(frozen=True)
class Entry:
    """A value typed on the keypad: the reference weight, the reference thermometer."""

    title: str
    unit: str
    low: float
    high: float
    decimals: int


@dataclass(frozen=True)
class Step:
    title: str
    instruction: str  # "{cell}" is replaced by the chosen load cell's name
    reference: float | None = None  # the standard's value, when fixed
    choice: Choice | None = None  # its value is the reference (or the channel)
    entry: Entry | None = None  # its value is the reference


@dataclass(frozen=True)
class Wizard:
    key: str
    title: str
    channel: str | None  # None: chosen in the first step (the load cell)
    steps: tuple[Step, ...]
    unit: str
    digits: int
    sd_limit: float  # what "steady" means (the math's SD limit)
    compute: Callable[[str, list[Point], float, float], CalibrationResult]
    standard: Callable[[Point], str]  # "buffer 7.00", "100 % sat", "500 g"


def _ph(channel: str, points: list[Point], gain: float, offset: float) -> CalibrationResult:
    return math_.ph_two_point(points[0], points[1], gain, offset)


def _do(channel: str, points: list[Point], gain: float, offset: float) -> CalibrationResult:
    return math_.do_zero_span(points[0], points[1], gain, offset)


def _load(channel: str, points: list[Point], gain: float, offset: float) -> CalibrationResult:
    return math_.load_cell_tare_span(channel, points[0], points[1], gain, offset)


def _temp(channel: str, points: list[Point], gain: float, offset: float) -> CalibrationResult:
    return math_.temperature_offset(points[0], gain, offset)


def cell_name(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel).removesuffix(" load cell")


WIZARDS: tuple[Wizard, ...] = (
    Wizard(
        "ph",
        "pH two-point",
        "ph",
        (
            Step(
                "Buffer 7.00",
                "Rinse the pH probe and put it in buffer 7.00. Tap Read and keep the probe "
                "still until the reading is done.",
                reference=math_.PH_NEUTRAL,
            ),
            Step(
                "Second buffer",
                "Tap the second buffer. Rinse the probe, put it in that buffer, then tap Read.",
                choice=Choice(
                    "Second buffer", tuple((f"pH {b:.2f}", b) for b in math_.PH_SLOPE_BUFFERS)
                ),
            ),
        ),
        "pH",
        3,
        math_.PH_SD_MAX,
        _ph,
        lambda p: f"buffer {p.reference:.2f}",
    ),
    Wizard(
        "do",
        "DO zero and span",
        "do",
        (
            Step(
                "Zero",
                "Put the DO sensor in fresh zero solution (0 % saturation), then tap Read.",
                reference=math_.DO_ZERO_REF,
            ),
            Step(
                "Span",
                "Rinse the sensor and put it in air-saturated water (100 % saturation), "
                "then tap Read.",
                reference=math_.DO_AIR_REF,
            ),
        ),
        "% sat",
        1,
        math_.DO_SD_MAX,
        _do,
        lambda p: f"{p.reference:g} % sat",
    ),
    Wizard(
        "load",
        "Load cell tare and span",
        None,
        (
            Step(
                "Empty hanger",
                "Tap the load cell. Take everything off its hanger, then tap Read.",
                reference=0.0,
                choice=Choice("Load cell", tuple((cell_name(c), c) for c in LOAD_CELLS)),
            ),
            Step(
                "Reference weight",
                "Enter the reference weight, hang it on the {cell} hanger, then tap Read.",
                entry=Entry("Reference weight", "g", math_.REFERENCE_WEIGHT_MIN_G, 5000.0, 1),
            ),
        ),
        "g",
        1,
        math_.LOAD_CELL_SD_MAX_G,
        _load,
        lambda p: "empty hanger" if p.reference == 0 else f"{p.reference:g} g",
    ),
    Wizard(
        "temp",
        "Temperature offset",
        "temp",
        (
            Step(
                "Reference thermometer",
                "Put the temperature probe and the reference thermometer in the same bath. "
                "When both have settled, enter the reference reading, then tap Read.",
                entry=Entry("Reference thermometer", "°C", 0.0, 60.0, 2),
            ),
        ),
        "°C",
        2,
        math_.TEMP_SD_MAX_C,
        _temp,
        lambda p: f"reference {p.reference:.2f} °C",
    ),
)
