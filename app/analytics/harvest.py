"""Harvest prediction: when the culture will hold the target dose, from live kinetics.

Why exponential extrapolation from the current window: it needs nothing the console
does not measure, it is updated with every kinetics estimate, and its interval comes
straight from the growth rate's (and the current count's) standard error. It tends to
be early when the culture is about to slow (confluence, glucose), which is why the
slippage rule below looks at the late end of the interval first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from app.analytics.kinetics import Z95, KineticsEstimate


class Slip(StrEnum):
    """How far the prediction has slipped past the latest allowed harvest time; the
    values match the alarm priorities of ``app.batch.alarms.Priority``."""

    NONE = "none"
    LOW = "low"  # the interval's late end is past it: the harvest may be late
    MEDIUM = "medium"  # the point estimate is past it: the harvest will probably be late


@dataclass(frozen=True)
class HarvestPrediction:
    """Predicted process time (s) at which total viable cells reach ``target_cells``;
    ``inf`` when the culture, as measured, does not get there (not growing)."""

    made_s: float  # the estimate it comes from
    target_cells: float
    eta_s: float
    early_s: float
    late_s: float
    reached: bool  # the culture already holds the target

    def hours_from(self, reference_s: float) -> float:
        """Point estimate minus a reference time (e.g. latest allowed harvest), hours."""
        return (self.eta_s - reference_s) / 3600.0


RATE_REL_SD = 0.05  # how far the mean growth rate ahead may differ from today's (1 sd)


def predict_harvest(
    estimate: KineticsEstimate,
    target_cells: float,
    z: float = Z95,
    rate_rel_sd: float = RATE_REL_SD,
) -> HarvestPrediction:
    """Extrapolate ln(total cells) along μ to ln(target). The interval combines the
    current count's and μ's uncertainty at their ``z``-sigma ends (conservative). μ's
    standard error alone says how well today's rate is known, not that it will hold for
    days (the culture slows near confluence, speeds up after a feed), so ``rate_rel_sd``
    of μ is added to it in quadrature."""
    if target_cells <= 0.0:
        raise ValueError("target_cells must be positive")
    t0 = estimate.t_s
    gap = math.log(target_cells / estimate.total_cells)  # ln-growth still needed
    if gap <= 0.0:
        return HarvestPrediction(t0, target_cells, t0, t0, t0, reached=True)
    gap_lo = max(gap - z * estimate.total_rse, 0.0)
    gap_hi = gap + z * estimate.total_rse

    def when(ln_growth: float, mu: float) -> float:
        return t0 + ln_growth / mu * 3600.0 if mu > 0.0 else math.inf

    mu = estimate.mu_h
    se = math.hypot(estimate.mu_se_h, rate_rel_sd * mu)
    return HarvestPrediction(
        made_s=t0,
        target_cells=target_cells,
        eta_s=when(gap, mu),
        early_s=when(gap_lo, mu + z * se),
        late_s=when(gap_hi, mu - z * se),
        reached=False,
    )


def slippage(prediction: HarvestPrediction, latest_allowed_s: float) -> Slip:
    """The rule for the harvest alarm: MEDIUM when the point estimate is past the latest
    allowed harvest time, LOW when only the interval's late end is, else NONE. Arm it
    only while the culture step runs and the estimate spans enough time (see
    docs/analytics.md): in the lag phase every prediction is late."""
    if prediction.reached:
        return Slip.NONE
    if prediction.eta_s > latest_allowed_s:
        return Slip.MEDIUM
    if prediction.late_s > latest_allowed_s:
        return Slip.LOW
    return Slip.NONE


def slip_channels(prediction: HarvestPrediction, latest_allowed_s: float) -> dict[str, float]:
    """The same rule as two pseudo-channels for the alarm manager (HIGH alarms with limit
    0 h, an on-delay and a deadband): hours the late end and the point estimate are past
    the latest allowed harvest time (negative: before it; capped at ±1000 h)."""

    def hours(t_s: float) -> float:
        if prediction.reached:
            return -1000.0
        return max(-1000.0, min(1000.0, (t_s - latest_allowed_s) / 3600.0))

    return {
        "harvest_late_end_h": hours(prediction.late_s),
        "harvest_eta_h": hours(prediction.eta_s),
    }
