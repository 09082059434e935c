"""Growth kinetics on synthetic cultures: exact answers where the model holds, and
robustness where it does not (feeds, noise, wild readings, samples taken out)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.analytics import KineticsParams, LiveKinetics, analyse_run
from app.analytics.robust import huber_fit

HOUR = 3600.0


def culture(
    hours: float,
    doubling_h: float = 30.0,
    cells0: float = 1e8,
    volume0: float = 200.0,
    feeds: tuple[float, ...] = (),
    removals: tuple[tuple[float, float], ...] = (),  # (hour, mL) taken out with cells
    noise: float = 0.02,
    every_s: float = 60.0,
    seed: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t s, vcd 1e6/mL, volume mL): exponential growth, 50 mL feeds (instant), removals."""
    rng = np.random.default_rng(seed)
    t = np.arange(every_s, hours * HOUR + every_s / 2, every_s)
    cells = cells0 * np.exp(math.log(2) / doubling_h * t / HOUR)
    volume = np.full(len(t), volume0)
    for f in feeds:
        volume[t >= f * HOUR] += 50.0
    for when, ml in removals:
        after = t >= when * HOUR
        cells[after] *= 1.0 - ml / volume[after][0]
        volume[after] -= ml
    vcd = cells / volume / 1e6 * (1.0 + noise * rng.standard_normal(len(t)))
    return t, vcd, volume + 0.05 * rng.standard_normal(len(t))


def test_doubling_time_through_feeds_and_noise():
    t, vcd, vol = culture(72, doubling_h=30.0, feeds=(20, 40, 60))
    series = analyse_run(t, vcd, vol)
    last = series[len(series) - 1]
    assert last.doubling_h == pytest.approx(30.0, rel=0.02)
    assert last.doubling_low_h < 30.0 < last.doubling_high_h
    assert last.fold_expansion == pytest.approx(2 ** (72 / 30), rel=0.03)
    assert last.total_cells == pytest.approx(1e8 * 2 ** (72 / 30), rel=0.03)
    # the density dropped at each feed; the estimate did not notice
    assert np.all(np.abs(series.doubling_h[series.t_s > 24 * HOUR] / 30.0 - 1.0) < 0.05)


def test_wild_readings_are_weighted_down():
    t, vcd, vol = culture(48, doubling_h=24.0, noise=0.01)
    wild = np.random.default_rng(5).random(len(t)) < 0.05
    vcd[wild] *= 3.0  # bubbles, clumps: 5 % of readings triple
    assert analyse_run(t, vcd, vol)[-1].doubling_h == pytest.approx(24.0, rel=0.03)


def test_cells_taken_out_start_a_segment_with_the_same_slope():
    t, vcd, vol = culture(60, doubling_h=30.0, removals=((30.0, 100.0),), noise=0.01)
    series = analyse_run(t, vcd, vol)
    last = series[-1]
    assert last.doubling_h == pytest.approx(30.0, rel=0.03)  # no fake slow-down
    assert last.fold_expansion == pytest.approx(2 ** (60 / 30), rel=0.05)  # counted back
    assert last.total_cells == pytest.approx(0.5e8 * 2 ** (60 / 30), rel=0.05)


def test_a_transfer_inside_a_bucket_drops_that_bucket_and_the_settling_time():
    # a slow feed: 50 mL from 15:00 to 15:20, sampled every 10 s; the probe misreads
    # while the medium streams in
    t = np.arange(10.0, 30 * HOUR, 10.0)
    cells = 1e8 * np.exp(math.log(2) / 30.0 * t / HOUR)
    vol = 200.0 + np.clip((t - 15 * HOUR) / 1200.0, 0.0, 1.0) * 50.0
    vcd = cells / np.maximum(vol - 30.0 * (np.gradient(vol) > 0), 1.0) / 1e6
    live, blind = LiveKinetics(), LiveKinetics(KineticsParams(step_ml=1e9))
    for estimator in (live, blind):
        estimator.add(t, vcd, vol)
        estimator.flush()
    assert live.latest is not None and blind.latest is not None
    assert live.latest.points == blind.latest.points - 2  # 15:00-15:20 left out
    times = [e.t_s / HOUR for e in live.history]
    assert not any(15.0 <= h < 15.4 for h in times)  # and 5 min of settling after
    assert any(15.4 <= h < 15.5 for h in times)
    assert live.latest.doubling_h == pytest.approx(30.0, rel=1e-6)


def test_live_batches_give_the_whole_run_answer_with_bounded_memory():
    t, vcd, vol = culture(96, feeds=(30, 60))
    whole = analyse_run(t, vcd, vol)
    live = LiveKinetics(max_history=50)
    rng = np.random.default_rng(2)
    cuts = np.sort(rng.choice(np.arange(1, len(t)), 300, replace=False))
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(t)], strict=True):
        live.add(t[a:b], vcd[a:b], vol[a:b])
    live.flush()
    assert live.latest == whole[-1]
    assert len(live.history) == 50
    assert len(live._points) <= math.ceil(24 * 60 / 10) + 2  # the window, not the run


def test_late_samples_are_ignored_and_dry_chamber_gives_nothing():
    live = LiveKinetics()
    assert live.add([], [], []) is None
    t, vcd, vol = culture(12)
    live.add(t[300:], vcd[300:], vol[300:])
    before = live.latest
    live.add(t[:300], vcd[:300], vol[:300])  # back-fill older than the open bucket
    assert live.latest == before
    dry = LiveKinetics()
    dry.add(t, vcd, np.full(len(t), 2.0))
    assert dry.flush() is None
    with pytest.raises(ValueError):
        live.add([1.0], [1.0, 2.0], [1.0])


def test_seeding_time_sets_the_fold_reference_and_params_apply():
    t, vcd, vol = culture(48, doubling_h=24.0, noise=0.0)
    params = KineticsParams(window_h=12.0, bucket_min=5.0)
    live = LiveKinetics(params, seed_s=24 * HOUR)
    live.add(t, vcd, vol)
    last = live.flush()
    assert last is not None
    assert last.fold_expansion == pytest.approx(2.0, rel=0.01)  # 24 h more at 24 h doubling
    assert last.span_h <= 12.0 and last.points >= 12 * 60 / 5 - 2


def test_no_growth_means_no_doubling_time():
    t = np.arange(60.0, 24 * HOUR, 60.0)
    rng = np.random.default_rng(3)
    vcd = 0.5 * (1 + 0.02 * rng.standard_normal(len(t)))
    est = analyse_run(t, vcd, np.full(len(t), 200.0))[-1]
    assert abs(est.mu_h) < 3 * est.mu_se_h + 1e-4
    assert est.doubling_high_h == math.inf


def test_huber_standard_error_is_honest():
    """Over many noisy lines the slope's standard error matches its real scatter."""
    rng = np.random.default_rng(4)
    x = np.c_[np.linspace(0, 10, 60), np.ones(60)]
    slopes, ses = [], []
    for _ in range(400):
        y = 0.3 * x[:, 0] + 1.0 + 0.1 * rng.standard_normal(60)
        fit = huber_fit(x, y)
        slopes.append(fit.coef[0])
        ses.append(math.sqrt(fit.cov[0, 0]))
    assert np.std(slopes) == pytest.approx(np.mean(ses), rel=0.15)
    assert np.mean(slopes) == pytest.approx(0.3, abs=0.002)
    with pytest.raises(ValueError):
        huber_fit(x[:2], np.zeros(2))
