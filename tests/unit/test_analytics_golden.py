"""Golden batch: alignment, the band, and the early-warning detector (live and review)."""

from __future__ import annotations

import numpy as np
import pytest

from app.analytics import (
    BandSpec,
    DeviationWatch,
    RunSeries,
    build_golden,
    find_deviations,
    warp_time,
)
from app.analytics.golden import bucket_medians

HOUR = 3600.0


def test_warp_lines_up_step_starts_and_keeps_slope_one_outside():
    ref = (0.0, 10 * HOUR, 30 * HOUR)
    run = (0.0, 12 * HOUR, 32 * HOUR)  # first step ran 2 h long
    t = np.array([6, 12, 22, 32, 40]) * HOUR
    assert warp_time(t, run, ref) / HOUR == pytest.approx([5, 10, 20, 30, 38])
    assert warp_time(t, run[:2], ref) / HOUR == pytest.approx([5, 10, 20, 30, 38])  # live
    assert warp_time(t, (), ref) / HOUR == pytest.approx([6, 12, 22, 32, 40])
    assert warp_time(-HOUR, run, ref) == pytest.approx(-HOUR)
    same = warp_time(t, (0.0, 0.0, 12 * HOUR), (0.0, 0.0, 10 * HOUR))  # zero-length step
    assert same[1] == pytest.approx(10 * HOUR)


def test_bucket_medians_ignore_gaps_and_spikes():
    t = np.array([0, 60, 120, 700, 760, 820, 1900.0])
    v = np.array([1, 1, 50, 2, np.nan, 2, 3.0])
    out = bucket_medians(t, v, 600.0, 4)
    assert out[0] == 1 and out[1] == 2 and np.isnan(out[2]) and out[3] == 3


def ramp(name: str, offset: float, seed: int, starts=(0.0, 10 * HOUR)) -> RunSeries:
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 48 * HOUR, 60.0)
    value = 37.0 + offset + 0.05 * rng.standard_normal(len(t))
    growth = t / HOUR * 0.01 * (1 + offset)
    return RunSeries(name, {"temp": (t, value), "growth": (t, growth)}, starts)


SPECS = {"temp": BandSpec(floor=0.3), "growth": BandSpec(rel_floor=0.1, floor=0.01)}


def test_band_is_median_and_never_narrower_than_its_floor():
    runs = [ramp(f"r{i}", off, i) for i, off in enumerate((0.0, 0.05, -0.05, 0.02, -0.02))]
    golden = build_golden(runs, SPECS)
    band = golden.bands["temp"]
    assert np.nanmedian(band.median) == pytest.approx(37.0, abs=0.02)
    half = (band.high - band.low) / 2
    assert np.nanmin(half) >= 0.3 - 1e-12
    assert band.runs.max() == 5
    med, low, high = band.at([5 * HOUR, 1000 * HOUR])
    assert low[0] < 37.0 < high[0] and np.isnan(med[1])
    pct = build_golden(runs, {"temp": BandSpec(floor=0.0, percentiles=(10, 90))})
    assert np.nanmean(pct.bands["temp"].high - pct.bands["temp"].low) < 0.3
    assert golden.run_names == tuple(r.name for r in runs)


def test_too_few_runs_means_no_band_and_no_warning():
    runs = [ramp("a", 0.0, 1), ramp("b", 0.0, 2)]
    golden = build_golden(runs, SPECS, min_runs=3)
    assert np.all(np.isnan(golden.bands["temp"].median))
    assert find_deviations(golden, ramp("far", 5.0, 3)) == []
    with pytest.raises(ValueError):
        build_golden([], SPECS)


def test_warning_only_after_the_set_time_outside():
    runs = [ramp(f"r{i}", 0.0, i) for i in range(5)]
    golden = build_golden(runs, SPECS)
    t = np.arange(0.0, 48 * HOUR, 60.0)
    temp = np.full(len(t), 37.0)
    temp[(t >= 20 * HOUR) & (t < 21 * HOUR)] = 36.0  # 1 h out: noted, not warned
    temp[t >= 30 * HOUR] = 38.0  # stays out
    run = RunSeries("x", {"temp": (t, temp)}, (0.0, 10 * HOUR))
    warned = find_deviations(golden, run, min_duration_s=2 * HOUR)
    assert [(d.channel, d.direction) for d in warned] == [("temp", "above")]
    assert warned[0].start_s == 30 * HOUR and warned[0].warned_s == 32 * HOUR
    assert warned[0].worst == pytest.approx(1.0 - 0.3, abs=0.05)
    every = find_deviations(golden, run, min_duration_s=2 * HOUR, record_all=True)
    assert (every[0].start_s, every[0].warned_s) == (20 * HOUR, None)
    assert every[0].end_s == 21 * HOUR


def test_live_watch_warns_once_per_stretch_in_batches():
    runs = [ramp(f"r{i}", 0.0, i) for i in range(5)]
    golden = build_golden(runs, SPECS)
    watch = DeviationWatch(golden, min_duration_s=HOUR)
    watch.step_started(0.0)
    t = np.arange(0.0, 20 * HOUR, 10.0)
    temp = np.where(t >= 12 * HOUR, 39.0, 37.0)
    raised = []
    for a in range(0, len(t), 97):  # odd batch sizes, as telemetry arrives
        if t[a] >= 10 * HOUR and len(watch.step_starts_s) == 1:
            watch.step_started(10 * HOUR)
        raised += watch.add("temp", t[a : a + 97], temp[a : a + 97])
    assert [(d.channel, d.start_s, d.warned_s) for d in raised] == [("temp", 12 * HOUR, 13 * HOUR)]
    assert watch.add("unknown", t, temp) == []
    watch.flush()
    assert watch.deviations[-1].end_s == pytest.approx(20 * HOUR)


def test_steps_that_ran_long_are_aligned_before_comparing():
    # every reference run's growth restarts at its second step; one run's first step
    # lasted 4 h longer: compared by elapsed time it looks far behind, aligned it is not
    def stepped(name: str, second: float, seed: int) -> RunSeries:
        rng = np.random.default_rng(seed)
        t = np.arange(0.0, 40 * HOUR, 60.0)
        v = np.where(t < second, 0.0, (t - second) / HOUR) + 0.01 * rng.standard_normal(len(t))
        return RunSeries(name, {"growth": (t, v)}, (0.0, second))

    runs = [stepped(f"r{i}", 10 * HOUR, i) for i in range(5)]
    late = stepped("late", 14 * HOUR, 9)
    spec = {"growth": BandSpec(floor=0.5)}
    aligned = build_golden(runs, spec)
    assert find_deviations(aligned, late) == []
    unaligned = build_golden(runs, spec, align_steps=False)
    assert find_deviations(unaligned, RunSeries("late", late.channels, ()))


def test_an_estimate_is_outside_only_beyond_its_own_uncertainty():
    """A growth estimate 0.5 outside the band with a margin of 1 (its standard errors)
    raises nothing; with a margin of 0.2 it warns, and `warned` follows the stretch."""
    runs = [ramp(f"r{i}", 0.0, i) for i in range(5)]
    golden = build_golden(runs, SPECS)
    t = np.arange(0.0, 6 * HOUR, 600.0) + 300.0
    temp = np.full(len(t), 37.0 + 0.3 + 0.5)  # 0.5 above the band's high (floor 0.3)
    vague = DeviationWatch(golden, min_duration_s=HOUR)
    assert vague.add("temp", t, temp, margin=np.full(len(t), 1.0)) == []
    sure = DeviationWatch(golden, min_duration_s=HOUR)
    raised = sure.add("temp", t, temp, margin=np.full(len(t), 0.2))
    assert [d.start_s for d in raised] == [0.0] and sure.warned("temp")
    sure.add("temp", np.array([7 * HOUR]), np.array([37.0]))
    sure.add("temp", np.array([8 * HOUR]), np.array([37.0]))  # closes the 7 h bucket: inside
    assert not sure.warned("temp") and not vague.warned("temp")
