"""Golden batch: a reference band per key channel from completed runs, and the detector
that turns a run's excursion outside it into an early warning.

Why buckets and medians: runs are resampled onto one grid of reference elapsed time
(a robust median per bucket), so runs recorded at different rates compare point by
point and the live detector does the same constant work per bucket. Why a pooled MAD
with a floor: with five runs a per-bucket spread is itself noise (five equal values
give a zero-width band); pooling the deviations of a few neighbouring buckets and
never going narrower than a stated tolerance keeps normal runs inside.

Alignment: elapsed process time, optionally warped piecewise-linearly so that each
run's step starts land on the reference's (the median start of each step), because a
step that waited for an operator shifts everything after it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.analytics.robust import MAD_TO_SD

Series = tuple[np.ndarray, np.ndarray]  # (process time s, value)


@dataclass(frozen=True)
class RunSeries:
    """One run's channels on its own process time, and when each of its steps began."""

    name: str
    channels: Mapping[str, Series]
    step_starts_s: Sequence[float] = ()
    # per channel, how far each value may be outside the band before it counts (its own
    # uncertainty, as DeviationWatch.add's margin); absent: 0
    margins: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class BandSpec:
    """How wide a channel's band is: median ± max(k · pooled MAD·1.4826, floor,
    rel_floor · |median|); or, with ``percentiles``, those percentiles of the runs,
    widened to the same floors."""

    k: float = 3.0
    floor: float = 0.0  # smallest half-width, channel units
    rel_floor: float = 0.0  # smallest half-width as a fraction of |median|
    pool_buckets: int = 3  # neighbours on each side pooled for the spread
    percentiles: tuple[float, float] | None = None  # e.g. (10, 90)


@dataclass(frozen=True)
class GoldenBand:
    """The band of one channel on the reference grid (NaN where too few runs)."""

    channel: str
    t_s: np.ndarray  # bucket starts, reference elapsed s
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    runs: np.ndarray  # runs with data in each bucket

    def at(self, t_ref_s: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(median, low, high) of the bucket holding each reference time (NaN outside)."""
        t = np.atleast_1d(np.asarray(t_ref_s, dtype=float))
        nan = np.full(len(t), np.nan)
        if len(self.t_s) == 0:
            return nan, nan.copy(), nan.copy()
        step = self.t_s[1] - self.t_s[0] if len(self.t_s) > 1 else math.inf
        i = np.floor((t - self.t_s[0]) / step).astype(np.int64)
        inside = (i >= 0) & (i < len(self.t_s))
        j = np.where(inside, i, 0)
        return tuple(np.where(inside, a[j], nan) for a in (self.median, self.low, self.high))


@dataclass(frozen=True)
class GoldenBatch:
    bands: dict[str, GoldenBand]
    reference_starts_s: tuple[float, ...]  # median step starts of the runs (if aligned)
    bucket_s: float
    run_names: tuple[str, ...]

    def align(self, t_s: np.ndarray, step_starts_s: Sequence[float] = ()) -> np.ndarray:
        """A run's process times on the reference axis (see ``warp_time``)."""
        return warp_time(t_s, step_starts_s, self.reference_starts_s)


def warp_time(
    t_s: np.ndarray | float, starts_s: Sequence[float], reference_starts_s: Sequence[float]
) -> np.ndarray:
    """Map process times so that the k-th step start lands on the reference's k-th.
    Piecewise linear between the starts both know, slope 1 before the first and after
    the last (so a live run, whose later steps have not begun, is offset-aligned within
    its current step)."""
    t = np.asarray(t_s, dtype=float)
    n = min(len(starts_s), len(reference_starts_s))
    if n == 0:
        return t.copy()
    src = np.asarray(starts_s[:n], dtype=float)
    dst = np.asarray(reference_starts_s[:n], dtype=float)
    if np.any(np.diff(src) <= 0) or np.any(np.diff(dst) <= 0):
        keep = np.r_[True, (np.diff(src) > 0) & (np.diff(dst) > 0)]  # zero-length steps
        src, dst = src[keep], dst[keep]
    out = np.interp(t, src, dst)
    out = np.where(t < src[0], dst[0] + (t - src[0]), out)
    return np.where(t > src[-1], dst[-1] + (t - src[-1]), out)


def bucket_medians(t_s: np.ndarray, values: np.ndarray, bucket_s: float, n: int) -> np.ndarray:
    """Median of the finite values in each of ``n`` buckets [i·b, (i+1)·b) (NaN if empty)."""
    t = np.asarray(t_s, dtype=float)
    v = np.asarray(values, dtype=float)
    out = np.full(n, np.nan)
    ok = np.isfinite(t) & np.isfinite(v) & (t >= 0.0)
    if not ok.any():
        return out
    idx = np.floor(t[ok] / bucket_s).astype(np.int64)
    v = v[ok]
    keep = idx < n
    idx, v = idx[keep], v[keep]
    order = np.lexsort((v, idx))
    idx, v = idx[order], v[order]
    starts = np.flatnonzero(np.r_[True, np.diff(idx) > 0])
    ends = np.r_[starts[1:], len(idx)]
    for a, b in zip(starts, ends, strict=True):
        m = b - a
        mid = a + m // 2
        out[idx[a]] = v[mid] if m % 2 else 0.5 * (v[mid - 1] + v[mid])
    return out


def build_golden(
    runs: Sequence[RunSeries],
    specs: Mapping[str, BandSpec],
    bucket_min: float = 10.0,
    min_runs: int = 3,
    align_steps: bool = True,
) -> GoldenBatch:
    """Reference band for each channel in ``specs`` from completed runs."""
    if not runs:
        raise ValueError("a golden batch needs at least one run")
    bucket_s = bucket_min * 60.0
    reference = _reference_starts(runs) if align_steps else ()
    aligned: list[dict[str, Series]] = []
    t_end = 0.0
    for run in runs:
        chans = {}
        for name in specs:
            if name not in run.channels:
                continue
            t, v = run.channels[name]
            tr = warp_time(t, run.step_starts_s if align_steps else (), reference)
            chans[name] = (tr, np.asarray(v, dtype=float))
            if len(tr):
                t_end = max(t_end, float(np.nanmax(tr)))
        aligned.append(chans)
    n = int(t_end // bucket_s) + 1
    grid = np.arange(n) * bucket_s
    bands = {}
    for name, spec in specs.items():
        matrix = np.array(
            [
                bucket_medians(*chans[name], bucket_s, n) if name in chans else np.full(n, np.nan)
                for chans in aligned
            ]
        )
        bands[name] = _band(name, grid, matrix, spec, min_runs)
    return GoldenBatch(bands, tuple(reference), bucket_s, tuple(r.name for r in runs))


def _reference_starts(runs: Sequence[RunSeries]) -> tuple[float, ...]:
    """Median start of each step over the runs that reached it."""
    longest = max(len(r.step_starts_s) for r in runs)
    out = []
    for k in range(longest):
        starts = [r.step_starts_s[k] for r in runs if len(r.step_starts_s) > k]
        out.append(float(np.median(starts)))
    return tuple(np.maximum.accumulate(out)) if out else ()


def _band(
    name: str, grid: np.ndarray, matrix: np.ndarray, spec: BandSpec, min_runs: int
) -> GoldenBand:
    count = np.sum(np.isfinite(matrix), axis=0)
    cols = count >= min_runs
    median, low, high = (np.full(len(grid), np.nan) for _ in range(3))
    if cols.any():
        values = matrix[:, cols]
        median[cols] = np.nanmedian(values, axis=0)
        floor = np.maximum(spec.floor, spec.rel_floor * np.abs(median[cols]))
        if spec.percentiles is not None:
            lo_p, hi_p = np.nanpercentile(values, spec.percentiles, axis=0)
            low[cols] = np.minimum(lo_p, median[cols] - floor)
            high[cols] = np.maximum(hi_p, median[cols] + floor)
        else:
            dev = np.full(matrix.shape, np.nan)
            dev[:, cols] = np.abs(values - median[cols])
            pooled = _pooled_median(dev, spec.pool_buckets)[cols]
            half = np.maximum(spec.k * MAD_TO_SD * np.nan_to_num(pooled), floor)
            low[cols], high[cols] = median[cols] - half, median[cols] + half
    return GoldenBand(name, grid, median, low, high, count)


def _pooled_median(dev: np.ndarray, half_width: int) -> np.ndarray:
    """Median of |deviation| over all runs and the buckets within ±half_width."""
    runs, n = dev.shape
    w = 2 * half_width + 1
    padded = np.pad(dev, ((0, 0), (half_width, half_width)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, w, axis=1)  # runs, n, w
    pooled = windows.transpose(1, 0, 2).reshape(n, runs * w)
    with np.errstate(all="ignore"):
        out = np.full(n, np.nan)
        has = np.isfinite(pooled).any(axis=1)
        out[has] = np.nanmedian(pooled[has], axis=1)
    return out


# The key channels of a golden batch and their tolerances (the acceptance figures in
# docs/analytics.md §5 were measured with these): process channels from telemetry, and
# growth from the kinetics (fold expansion over the 24 h window, and the growth rate
# from the quicker 6 h estimator, which reacts within hours).
DEFAULT_BAND_SPECS: dict[str, BandSpec] = {
    "temp": BandSpec(floor=0.5),  # °C
    "ph": BandSpec(floor=0.05),
    "do": BandSpec(floor=15.0),  # % air saturation
    "vcd": BandSpec(rel_floor=0.25),  # feed times differ from run to run
    "log10_fold": BandSpec(floor=0.1),
    "mu_h": BandSpec(floor=0.003, rel_floor=0.15),  # 1/h
}
WARN_AFTER_S = 2 * 3600.0  # outside the band this long: the early warning
MIN_GOLDEN_RUNS = 3  # fewer runs give no band (build_golden's min_runs)


def golden_to_json(golden: GoldenBatch) -> str:
    """The band as JSON (NaN as null), to be stored with its selection and read back
    exactly by ``golden_from_json``: the run screen needs no historian to draw it."""

    def numbers(a: np.ndarray) -> list[float | None]:
        return [float(x) if math.isfinite(x) else None for x in np.asarray(a, dtype=float)]

    return json.dumps(
        {
            "bucket_s": golden.bucket_s,
            "reference_starts_s": list(golden.reference_starts_s),
            "run_names": list(golden.run_names),
            "bands": {
                name: {
                    "t_s": numbers(b.t_s),
                    "median": numbers(b.median),
                    "low": numbers(b.low),
                    "high": numbers(b.high),
                    "runs": [int(x) for x in b.runs],
                }
                for name, b in golden.bands.items()
            },
        },
        separators=(",", ":"),
    )


def golden_from_json(text: str) -> GoldenBatch:
    data = json.loads(text)

    def array(values: list) -> np.ndarray:
        return np.array([np.nan if x is None else x for x in values], dtype=float)

    bands = {
        name: GoldenBand(
            name,
            array(b["t_s"]),
            array(b["median"]),
            array(b["low"]),
            array(b["high"]),
            np.asarray(b["runs"], dtype=np.int64),
        )
        for name, b in data["bands"].items()
    }
    return GoldenBatch(
        bands,
        tuple(float(x) for x in data["reference_starts_s"]),
        float(data["bucket_s"]),
        tuple(data["run_names"]),
    )


def band_on_run_time(
    band: GoldenBand, reference_starts_s: Sequence[float], run_starts_s: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(run process s, median, low, high) of a band laid onto one run's time axis: the
    inverse of ``warp_time`` (each reference step start moved to the run's), so the band
    of step k starts where this run's step k started. Bucket midpoints."""
    t_ref = band.t_s + (band.t_s[1] - band.t_s[0] if len(band.t_s) > 1 else 0.0) / 2.0
    t_run = warp_time(t_ref, reference_starts_s, run_starts_s)
    return t_run, band.median, band.low, band.high


# ---------------------------------------------------------------------- detection
@dataclass(frozen=True)
class Deviation:
    """A stretch of a run outside the band of ``channel`` (run process times, s).
    ``warned_s`` is when it had lasted ``min_duration`` (None: it did not)."""

    channel: str
    start_s: float
    end_s: float | None  # None: still outside
    warned_s: float | None
    direction: str  # "above" / "below" (of the first bucket outside)
    worst: float  # largest distance outside the band, channel units


@dataclass
class _ChannelState:
    bucket: int | None = None
    t: list[np.ndarray] = field(default_factory=list)
    v: list[np.ndarray] = field(default_factory=list)
    m: list[np.ndarray] = field(default_factory=list)
    start: float | None = None
    direction: str = ""
    worst: float = 0.0
    warned: float | None = None


class DeviationWatch:
    """Live detector: feed each channel's samples (run process time) with ``add``;
    a channel whose bucket medians stay outside its band for ``min_duration_s`` gives
    one early warning (a ``Deviation`` with ``warned_s`` set). A bucket back inside,
    or with no band (too few reference runs), ends the stretch."""

    def __init__(
        self,
        golden: GoldenBatch,
        min_duration_s: float = 2 * 3600.0,
        step_starts_s: Iterable[float] = (),
    ) -> None:
        self.golden = golden
        self.min_duration_s = min_duration_s
        self.step_starts_s: list[float] = list(step_starts_s)
        self._state: dict[str, _ChannelState] = {}
        self.deviations: list[Deviation] = []  # finished stretches, and warned ones

    def warned(self, channel: str) -> bool:
        """True while ``channel`` is in a stretch outside its band that has warned (the
        early-warning alarm's condition: it clears when the channel is back inside)."""
        state = self._state.get(channel)
        return state is not None and state.start is not None and state.warned is not None

    def step_started(self, t_s: float) -> None:
        """Tell the watch a new step began (aligns what follows)."""
        self.step_starts_s.append(t_s)

    def add(
        self,
        channel: str,
        t_s: np.ndarray,
        values: np.ndarray,
        margin: np.ndarray | None = None,
    ) -> list[Deviation]:
        """Take samples of one channel in time order; return the warnings raised.
        ``margin`` (channel units, per sample) widens the band for values that are
        estimates with an uncertainty of their own (a growth rate from few points):
        a bucket is outside only when its median is outside by more than its median
        margin, so an imprecise estimate never raises a warning by itself."""
        band = self.golden.bands.get(channel)
        if band is None:
            return []
        state = self._state.setdefault(channel, _ChannelState())
        t = np.asarray(t_s, dtype=float)
        v = np.asarray(values, dtype=float)
        m = np.zeros(len(t)) if margin is None else np.asarray(margin, dtype=float)
        raised: list[Deviation] = []
        if len(t) == 0:
            return raised
        b = self.golden.bucket_s
        index = np.floor(t / b).astype(np.int64)
        cuts = np.flatnonzero(np.diff(index)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(t)], strict=True):
            bucket = int(index[lo])
            if state.bucket is not None and bucket < state.bucket:
                continue
            if state.bucket is not None and bucket > state.bucket:
                raised += self._close(channel, band, state)
            state.bucket = bucket
            state.t.append(t[lo:hi])
            state.v.append(v[lo:hi])
            state.m.append(m[lo:hi])
        return raised

    def flush(self) -> list[Deviation]:
        """Close the open buckets and any open stretch (end of a recorded run)."""
        raised: list[Deviation] = []
        for channel, state in self._state.items():
            band = self.golden.bands[channel]
            if state.bucket is not None:
                raised += self._close(channel, band, state)
            self._end(channel, state, ((state.bucket or 0) + 1) * self.golden.bucket_s)
        return raised

    def _close(self, channel: str, band: GoldenBand, state: _ChannelState) -> list[Deviation]:
        t = np.concatenate(state.t)
        v = np.concatenate(state.v)
        m = np.concatenate(state.m)
        state.t, state.v, state.m = [], [], []
        bucket_start = (state.bucket or 0) * self.golden.bucket_s
        bucket_end = bucket_start + self.golden.bucket_s
        ok = np.isfinite(v)
        if not ok.any():
            return []
        value = float(np.median(v[ok]))
        widen = float(np.nan_to_num(np.median(m[ok]), nan=math.inf))
        t_ref = float(
            warp_time(float(np.median(t[ok])), self.step_starts_s, self.golden.reference_starts_s)
        )
        _, low, high = (float(a[0]) for a in band.at(t_ref))
        low, high = low - widen, high + widen
        if not (math.isfinite(low) and math.isfinite(high)) or low <= value <= high:
            self._end(channel, state, bucket_start)
            return []
        direction = "above" if value > high else "below"
        distance = value - high if value > high else low - value
        if state.start is None:
            state.start, state.direction, state.worst = bucket_start, direction, 0.0
        state.worst = max(state.worst, distance)
        if state.warned is None and bucket_end - state.start >= self.min_duration_s:
            state.warned = bucket_end
            return [Deviation(channel, state.start, None, bucket_end, state.direction, state.worst)]
        return []

    def _end(self, channel: str, state: _ChannelState, t_s: float) -> None:
        if state.start is not None:
            self.deviations.append(
                Deviation(channel, state.start, t_s, state.warned, state.direction, state.worst)
            )
        state.start, state.warned, state.worst = None, None, 0.0


def find_deviations(
    golden: GoldenBatch,
    run: RunSeries,
    min_duration_s: float = 2 * 3600.0,
    record_all: bool = False,
) -> list[Deviation]:
    """Every stretch of a completed run outside the band (review's exceptions): those
    that lasted ``min_duration_s`` (warned), or all of them with ``record_all``."""
    watch = DeviationWatch(golden, min_duration_s, run.step_starts_s)
    for name, (t, v) in run.channels.items():
        watch.add(name, t, v, run.margins.get(name))
    watch.flush()
    found = sorted(watch.deviations, key=lambda d: (d.start_s, d.channel))
    return found if record_all else [d for d in found if d.warned_s is not None]
