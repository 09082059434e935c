"""Harvest prediction arithmetic and the slippage rule behind its alarm."""

from __future__ import annotations

import math

import pytest

from app.analytics import KineticsEstimate, Slip, predict_harvest, slip_channels, slippage
from app.analytics.kinetics import doubling_interval

HOUR = 3600.0


def estimate(mu: float, se: float = 0.0, cells: float = 1e9, rse: float = 0.0) -> KineticsEstimate:
    td, low, high = doubling_interval(mu, se)
    return KineticsEstimate(
        t_s=100 * HOUR,
        mu_h=mu,
        mu_se_h=se,
        doubling_h=td,
        doubling_low_h=low,
        doubling_high_h=high,
        total_cells=cells,
        total_rse=rse,
        fold_expansion=10.0,
        fold_rse=rse,
        points=144,
        span_h=24.0,
    )


def test_point_estimate_is_the_exponential_extrapolation():
    p = predict_harvest(estimate(math.log(2) / 30.0), 4e9, rate_rel_sd=0.0)
    assert p.eta_s == pytest.approx(100 * HOUR + 60 * HOUR)  # two doublings
    assert p.early_s == p.late_s == p.eta_s  # nothing uncertain
    assert p.hours_from(150 * HOUR) == pytest.approx(10.0)


def test_interval_widens_with_rate_and_count_uncertainty():
    mu = math.log(2) / 30.0
    narrow = predict_harvest(estimate(mu, se=0.0005), 4e9, rate_rel_sd=0.0)
    wide = predict_harvest(estimate(mu, se=0.0005, rse=0.05), 4e9)
    assert narrow.early_s < narrow.eta_s < narrow.late_s
    assert wide.early_s < narrow.early_s and wide.late_s > narrow.late_s
    assert wide.eta_s == narrow.eta_s


def test_not_growing_or_already_there():
    assert predict_harvest(estimate(-0.001), 4e9).eta_s == math.inf
    slow = predict_harvest(estimate(0.001, se=0.001), 4e9)
    assert math.isfinite(slow.eta_s) and slow.late_s == math.inf
    done = predict_harvest(estimate(0.02, cells=5e9), 4e9)
    assert done.reached and done.eta_s == 100 * HOUR
    assert slippage(done, 0.0) is Slip.NONE
    with pytest.raises(ValueError):
        predict_harvest(estimate(0.02), 0.0)


def test_slippage_low_when_the_late_end_passes_medium_when_the_estimate_does():
    p = predict_harvest(estimate(math.log(2) / 30.0, se=0.001), 4e9)
    assert slippage(p, p.late_s + HOUR) is Slip.NONE
    assert slippage(p, (p.eta_s + p.late_s) / 2) is Slip.LOW
    assert slippage(p, p.eta_s - HOUR) is Slip.MEDIUM
    assert Slip.LOW.value == "low" and Slip.MEDIUM.value == "medium"  # alarm priorities
    channels = slip_channels(p, p.eta_s - HOUR)
    assert channels["harvest_eta_h"] == pytest.approx(1.0)
    assert channels["harvest_late_end_h"] > 1.0
    never = slip_channels(predict_harvest(estimate(-0.01), 4e9), 0.0)
    assert never["harvest_eta_h"] == 1000.0
