"""Calibration math: the wizards' points in, new coefficients and a verdict out.

The instrument corrects each channel as ``reading = gain * raw + offset`` (``CAL``,
docs/protocol.md), where ``raw`` is what ``RAW? <ch>`` reports before correction. Each
function here turns the raw readings taken in known standards into a new gain and
offset, a figure of merit an engineer can judge (the pH slope, the DO span gain, ...),
and the problems that make the result implausible. A refused result still carries the
figures, so the screen can show why; ``CalibrationService.record`` stores only a
plausible one. Pure: no Qt, no I/O.

Bad input (a buffer that is not 4.01, 7.00 or 10.01, a weight of 0 g, a NaN) raises
ValueError; a measurement that does not look like a working probe in the named
standard is a result with ``plausible`` False and a sentence saying why.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from hardware.protocol import LOAD_CELLS

# ------------------------------------------------------------------ what the firmware takes
FIRMWARE_GAIN = (0.5, 2.0)  # CAL refuses other gains (RANGE): a backstop, never the rule
FIRMWARE_OFFSET = (-1000.0, 1000.0)  # CAL's offset range, channel units

# ------------------------------------------------------------------ pH two-point
PH_NEUTRAL = 7.00  # the zero-point buffer: a glass electrode reads ~0 mV here
PH_SLOPE_BUFFERS = (4.01, 10.01)  # the usual NIST-traceable pair around 7.00
BUFFER_MATCH = 0.005  # a named buffer within this of a known one is that buffer
# A new electrode shows 95-102 % of the Nernstian slope; an aged one drifts below 90 %
# and should be replaced. More than Nernstian is not physical: above 105 % the probe
# was not in the buffer named (or the buffer is spent).
PH_SLOPE_PCT = (90.0, 105.0)
# The 7.00 buffer should read 7.00 +/- 0.5 raw (about +/- 30 mV asymmetry); beyond that
# the reference junction is fouled or the first buffer was not 7.00.
PH_ASYMMETRY_MAX = 0.5
# Readings averaged while the electrode was still settling give a wrong slope: the
# readings must agree to 0.02 pH (one standard deviation).
PH_SD_MAX = 0.02

# ------------------------------------------------------------------ DO zero and span
DO_ZERO_REF = 0.0  # % saturation in the zero (sulfite) solution
DO_AIR_REF = 100.0  # % saturation in water-saturated air
DO_ZERO_MAX = 10.0  # % sat: an optical/Clark sensor reading more than this at zero is
# leaking oxygen or was not in the zero solution
DO_SPAN_GAIN = (0.8, 1.25)  # a membrane/spot that needs more than +/-20-25 % correction
# is worn out
DO_SD_MAX = 1.0  # % sat: still equilibrating otherwise

# ------------------------------------------------------------------ load cells
LOAD_CELL_GAIN = (0.95, 1.05)  # factory-trimmed cells are within a few %; more means
# a wrong weight entered or something touching the hanger
LOAD_CELL_TARE_MAX_G = 200.0  # the empty hanger reads within +/- 200 g; more means a
# bag or tubing still hanging on it
LOAD_CELL_SD_MAX_G = 0.5  # g: a swinging hanger or a draught otherwise
REFERENCE_WEIGHT_MIN_G = 100.0  # a lighter weight turns reading noise into gain error

# ------------------------------------------------------------------ temperature
TEMP_OFFSET_MAX_C = 1.0  # a Pt100 off by more than 1 C is broken or mis-seated, not
# something to calibrate away
TEMP_SD_MAX_C = 0.05  # C: the probe and the reference were not yet in equilibrium


class CalibrationInputError(ValueError):
    """The points cannot be a calibration of this kind (wrong buffer, no weight, NaN)."""


@dataclass(frozen=True)
class Readings:
    """N raw readings taken in one standard, summarised to judge their stability."""

    n: int
    mean: float
    sd: float  # sample standard deviation
    minimum: float
    maximum: float

    @property
    def spread(self) -> float:
        return self.maximum - self.minimum


def summarise(values: Iterable[float]) -> Readings:
    """Mean, SD, min and max of the readings a wizard averaged (at least two, finite:
    one reading says nothing about whether the probe had settled)."""
    data = [float(v) for v in values]
    if len(data) < 2:
        raise CalibrationInputError("at least two readings are needed to judge stability")
    if not all(math.isfinite(v) for v in data):
        raise CalibrationInputError("a reading is not a number")
    return Readings(len(data), statistics.fmean(data), statistics.stdev(data), min(data), max(data))


@dataclass(frozen=True)
class Point:
    """One standard: its true value, the mean raw reading in it and how steady that was."""

    reference: float  # pH of the buffer, % sat, grams, or the reference thermometer's C
    raw: float  # mean raw reading (RAW? raw=) in that standard
    sd: float  # standard deviation of the readings averaged
    n: int = 1

    @classmethod
    def of(cls, reference: float, readings: Readings) -> Point:
        return cls(reference, readings.mean, readings.sd, readings.n)

    def check(self) -> None:
        if not all(math.isfinite(v) for v in (self.reference, self.raw, self.sd)):
            raise CalibrationInputError(f"a calibration point is not a number: {self}")
        if self.sd < 0 or self.n < 1:
            raise CalibrationInputError(
                f"a calibration point has a negative SD or no readings: {self}"
            )


@dataclass(frozen=True)
class CalibrationResult:
    """New coefficients beside the old, the figure of merit and the verdict."""

    channel: str
    method: str  # "pH two-point", "DO zero and span", ...
    gain: float  # NaN when the points cannot define one (e.g. no slope at all)
    offset: float
    old_gain: float  # as the caller read them from the instrument (CAL <ch>)
    old_offset: float
    figure: float  # slope % of Nernstian (pH), span gain (DO, load cells), offset C (temp)
    figure_text: str  # "slope 98.2 % of Nernstian"
    points: tuple[Point, ...]
    problems: tuple[str, ...] = ()  # each a sentence for the engineer; empty: plausible

    @property
    def plausible(self) -> bool:
        return not self.problems

    @property
    def refusal(self) -> str:
        """Why the result is refused ('' when it is plausible)."""
        return "; ".join(self.problems)

    @property
    def reason(self) -> str:
        """What the audit entry gives as the reason: 'pH two-point calibration, slope ...'."""
        return f"{self.method} calibration, {self.figure_text}"

    def reading(self, raw: float) -> float:
        """What the instrument will show for ``raw`` with the new coefficients."""
        return self.gain * raw + self.offset

    def old_reading(self, raw: float) -> float:
        return self.old_gain * raw + self.old_offset

    def details(self) -> dict:
        """The points and figures, JSON-ready, for the calibration record."""
        return {
            "method": self.method,
            "figure": self.figure,
            "figure_text": self.figure_text,
            "points": [asdict(p) for p in self.points],
        }


# ------------------------------------------------------------------ helpers
def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def _range(pair: tuple[float, float]) -> str:
    return f"{pair[0]:g}–{pair[1]:g}"


def _unstable(points: Iterable[tuple[str, Point]], limit: float, unit: str) -> list[str]:
    return [
        f"the readings {where} were not stable (SD {point.sd:.3g} {unit}, more than "
        f"{limit:g} {unit}): wait until the reading settles and take them again"
        for where, point in points
        if point.sd > limit
    ]


def _firmware(gain: float, offset: float) -> list[str]:
    """A backstop: coefficients CAL would refuse, whatever the wizard's limits allowed."""
    if not math.isfinite(gain) or not FIRMWARE_GAIN[0] <= gain <= FIRMWARE_GAIN[1]:
        return [f"gain {gain:.4g} is outside what the instrument accepts ({_range(FIRMWARE_GAIN)})"]
    if not FIRMWARE_OFFSET[0] <= offset <= FIRMWARE_OFFSET[1]:
        return [
            f"offset {offset:.4g} is outside what the instrument accepts "
            f"({_range(FIRMWARE_OFFSET)})"
        ]
    return []


def _check_points(*points: Point) -> None:
    for point in points:
        point.check()


def _buffer(value: float) -> float | None:
    for known in (PH_NEUTRAL, *PH_SLOPE_BUFFERS):
        if abs(value - known) <= BUFFER_MATCH:
            return known
    return None


# ------------------------------------------------------------------ pH
def ph_two_point(
    first: Point, second: Point, old_gain: float = 1.0, old_offset: float = 0.0
) -> CalibrationResult:
    """pH from the 7.00 buffer and 4.01 or 10.01 (the buffers the engineer named, in
    ``reference``). slope_pct = 100 * (raw_7 - raw_b) / (7.00 - b) is the electrode's
    slope as % of Nernstian (positive for either second buffer); gain = 1 / slope and
    the offset makes the 7.00 reading 7.00, so both buffers read what they are."""
    _check_points(first, second)
    named = (_buffer(first.reference), _buffer(second.reference))
    for value, known in zip((first.reference, second.reference), named, strict=True):
        if known is None:
            raise CalibrationInputError(
                f"buffer {value:g} is not one this calibration uses: name 7.00, then 4.01 or 10.01"
            )
    if named.count(PH_NEUTRAL) != 1:
        raise CalibrationInputError(
            "a two-point calibration takes the 7.00 buffer and one of 4.01 or 10.01 "
            f"(named: {first.reference:.2f} and {second.reference:.2f})"
        )
    neutral, other = (first, second) if named[0] == PH_NEUTRAL else (second, first)
    buffer_b = _buffer(other.reference)
    assert buffer_b is not None
    slope = (neutral.raw - other.raw) / (PH_NEUTRAL - buffer_b)
    slope_pct = 100.0 * slope
    if slope == 0:
        gain = offset = math.nan
    else:
        gain = 1.0 / slope
        offset = PH_NEUTRAL - gain * neutral.raw
    problems = []
    if not PH_SLOPE_PCT[0] <= slope_pct <= PH_SLOPE_PCT[1]:
        problems.append(
            f"slope {_fmt(slope_pct)} % of Nernstian is outside {_range(PH_SLOPE_PCT)} %: "
            "check that the probe was in the buffer you named"
        )
    asymmetry = neutral.raw - PH_NEUTRAL
    if abs(asymmetry) > PH_ASYMMETRY_MAX:
        problems.append(
            f"the 7.00 buffer reads {neutral.raw:.2f} raw, {asymmetry:+.2f} pH off (more than "
            f"±{PH_ASYMMETRY_MAX:g}): check the buffer and the reference junction"
        )
    problems += _unstable([("in 7.00", neutral), (f"in {buffer_b:.2f}", other)], PH_SD_MAX, "pH")
    if not problems:
        problems += _firmware(gain, offset)
    return CalibrationResult(
        "ph",
        "pH two-point",
        gain,
        offset,
        old_gain,
        old_offset,
        slope_pct,
        f"slope {_fmt(slope_pct)} % of Nernstian, 7.00 buffer at {neutral.raw:.3f} raw",
        (neutral, other),
        tuple(problems),
    )


# ------------------------------------------------------------------ DO
def do_zero_span(
    zero: Point, air: Point, old_gain: float = 1.0, old_offset: float = 0.0
) -> CalibrationResult:
    """DO from the zero solution (0 % sat) and water-saturated air (100 % sat):
    gain = 100 / (raw_air - raw_zero), offset so that the zero reads 0."""
    _check_points(zero, air)
    if zero.reference != DO_ZERO_REF or air.reference != DO_AIR_REF:
        raise CalibrationInputError(
            f"DO is calibrated at {DO_ZERO_REF:g} % (zero solution) and {DO_AIR_REF:g} % "
            f"(air-saturated), not at {zero.reference:g} and {air.reference:g} %"
        )
    span = air.raw - zero.raw
    gain = (DO_AIR_REF - DO_ZERO_REF) / span if span else math.nan
    offset = DO_ZERO_REF - gain * zero.raw if span else math.nan
    problems = []
    if abs(zero.raw - DO_ZERO_REF) > DO_ZERO_MAX:
        problems.append(
            f"the zero solution reads {zero.raw:.1f} % raw (more than ±{DO_ZERO_MAX:g} %): "
            "check that the sensor was in fresh zero solution"
        )
    if not (math.isfinite(gain) and DO_SPAN_GAIN[0] <= gain <= DO_SPAN_GAIN[1]):
        problems.append(
            f"span gain {gain:.3f} is outside {_range(DO_SPAN_GAIN)}: check that the sensor "
            "was in air-saturated water, or replace the sensing membrane"
        )
    problems += _unstable([("at zero", zero), ("in air", air)], DO_SD_MAX, "% sat")
    if not problems:
        problems += _firmware(gain, offset)
    return CalibrationResult(
        "do",
        "DO zero and span",
        gain,
        offset,
        old_gain,
        old_offset,
        gain,
        f"span gain {gain:.3f}, zero at {zero.raw:.1f} % raw",
        (zero, air),
        tuple(problems),
    )


# ------------------------------------------------------------------ load cells
def load_cell_tare_span(
    channel: str, empty: Point, weighted: Point, old_gain: float = 1.0, old_offset: float = 0.0
) -> CalibrationResult:
    """A load cell from the empty hanger (reference 0 g) and a reference weight W g:
    gain = W / (raw_W - raw_0), offset so that the empty hanger reads 0 g."""
    if channel not in LOAD_CELLS:
        raise CalibrationInputError(f"{channel!r} is not a load cell ({', '.join(LOAD_CELLS)})")
    _check_points(empty, weighted)
    if empty.reference != 0.0:
        raise CalibrationInputError("the tare point is the empty hanger: its reference is 0 g")
    weight = weighted.reference
    if weight < REFERENCE_WEIGHT_MIN_G:
        raise CalibrationInputError(
            f"a reference weight of {weight:g} g is too light: use at least "
            f"{REFERENCE_WEIGHT_MIN_G:g} g"
        )
    span = weighted.raw - empty.raw
    gain = weight / span if span else math.nan
    offset = -gain * empty.raw if span else math.nan
    problems = []
    if abs(empty.raw) > LOAD_CELL_TARE_MAX_G:
        problems.append(
            f"the empty hanger reads {empty.raw:.1f} g raw (more than "
            f"±{LOAD_CELL_TARE_MAX_G:g} g): take everything off the hanger and tare again"
        )
    if not (math.isfinite(gain) and LOAD_CELL_GAIN[0] <= gain <= LOAD_CELL_GAIN[1]):
        problems.append(
            f"span gain {gain:.4f} is outside {_range(LOAD_CELL_GAIN)}: check that the "
            f"{weight:g} g weight hangs freely and is the weight you entered"
        )
    problems += _unstable(
        [("empty", empty), (f"with {weight:g} g", weighted)], LOAD_CELL_SD_MAX_G, "g"
    )
    if not problems:
        problems += _firmware(gain, offset)
    return CalibrationResult(
        channel,
        "load cell tare and span",
        gain,
        offset,
        old_gain,
        old_offset,
        gain,
        f"span gain {gain:.4f} with {weight:g} g, tare {empty.raw:.1f} g raw",
        (empty, weighted),
        tuple(problems),
    )


# ------------------------------------------------------------------ temperature
def temperature_offset(
    point: Point, old_gain: float = 1.0, old_offset: float = 0.0
) -> CalibrationResult:
    """Temperature against a reference thermometer (``point.reference``, C): the offset
    only. The gain stays as it is (one point cannot measure a gain), and the offset
    makes the probe read what the reference reads: offset = ref - gain * raw."""
    _check_points(point)
    gain = old_gain
    offset = point.reference - gain * point.raw
    problems = []
    if abs(offset) > TEMP_OFFSET_MAX_C:
        problems.append(
            f"offset {offset:+.2f} C is more than ±{TEMP_OFFSET_MAX_C:g} C: check that the "
            "probe and the reference thermometer sit in the same bath; a probe this far "
            "off needs replacing, not calibrating"
        )
    problems += _unstable([("of the probe", point)], TEMP_SD_MAX_C, "C")
    if not problems:
        problems += _firmware(gain, offset)
    return CalibrationResult(
        "temp",
        "temperature offset",
        gain,
        offset,
        old_gain,
        old_offset,
        offset,
        f"offset {offset:+.2f} C at {point.reference:.2f} C",
        (point,),
        tuple(problems),
    )
