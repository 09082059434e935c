"""Process analytics: growth kinetics, harvest prediction, golden-batch comparison.

Pure computations on numpy arrays (no Qt, no I/O), so the run screen, review and the
batch engine share them and tests exercise them without a GUI. See docs/analytics.md.
"""

from __future__ import annotations

from app.analytics.golden import (
    DEFAULT_BAND_SPECS,
    MIN_GOLDEN_RUNS,
    WARN_AFTER_S,
    BandSpec,
    Deviation,
    DeviationWatch,
    GoldenBand,
    GoldenBatch,
    RunSeries,
    band_on_run_time,
    build_golden,
    find_deviations,
    golden_from_json,
    golden_to_json,
    warp_time,
)
from app.analytics.harvest import (
    HarvestPrediction,
    Slip,
    predict_harvest,
    slip_channels,
    slippage,
)
from app.analytics.kinetics import (
    FAST_KINETICS,
    KineticsEstimate,
    KineticsParams,
    KineticsSeries,
    LiveKinetics,
    analyse_run,
)

__all__ = [
    "DEFAULT_BAND_SPECS",
    "FAST_KINETICS",
    "MIN_GOLDEN_RUNS",
    "WARN_AFTER_S",
    "BandSpec",
    "Deviation",
    "DeviationWatch",
    "GoldenBand",
    "GoldenBatch",
    "HarvestPrediction",
    "KineticsEstimate",
    "KineticsParams",
    "KineticsSeries",
    "LiveKinetics",
    "RunSeries",
    "Slip",
    "analyse_run",
    "band_on_run_time",
    "build_golden",
    "find_deviations",
    "golden_from_json",
    "golden_to_json",
    "predict_harvest",
    "slip_channels",
    "slippage",
    "warp_time",
]
