"""Process analytics: growth kinetics, harvest prediction, golden-batch comparison.

Pure computations on numpy arrays (no Qt, no I/O), so the run screen, review and the
batch engine share them and tests exercise them without a GUI. See docs/analytics.md.
"""

from __future__ import annotations

from app.analytics.golden import (
    BandSpec,
    Deviation,
    DeviationWatch,
    GoldenBand,
    GoldenBatch,
    RunSeries,
    build_golden,
    find_deviations,
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
    KineticsEstimate,
    KineticsParams,
    KineticsSeries,
    LiveKinetics,
    analyse_run,
)

__all__ = [
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
    "build_golden",
    "find_deviations",
    "predict_harvest",
    "slip_channels",
    "slippage",
    "warp_time",
]
