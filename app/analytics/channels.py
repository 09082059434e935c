"""Names the analytics share with the screens: the growth channels computed from the
kinetics (beside the telemetry channels of hardware.protocol), how each reads, and how
a growth value's own uncertainty widens its golden band.

One place, so the live watch (app/batch/run_analytics.py), review's judging and its
comparison (app/review) derive growth the same way and label it alike.
"""

from __future__ import annotations

import math

import numpy as np

from app.analytics.kinetics import KineticsSeries
from hardware.protocol import CHANNEL_BY_NAME

GROWTH_CHANNELS: dict[str, tuple[str, str]] = {
    "fold_expansion": ("Fold expansion", "×"),
    "total_cells": ("Total viable cells", "cells"),
    "log10_fold": ("log10 fold expansion", ""),
    "mu_h": ("Growth rate (6 h window)", "1/h"),
}
SEED_PHASES = ("activate", "culture")  # fold expansion counts from the first of these
CULTURE_PHASE = "culture"
ESTIMATE_Z = 2.0
"""A growth value is outside its band only beyond this many of its own standard errors:
an estimate from few points (a simulator run fast sends a sample every few minutes)
never leaves the band by noise alone."""


def channel_label(channel: str) -> tuple[str, str]:
    """(label, unit) of a telemetry or growth channel."""
    if channel in GROWTH_CHANNELS:
        return GROWTH_CHANNELS[channel]
    spec = CHANNEL_BY_NAME[channel]
    return spec.label, spec.unit


def growth_series(
    series: KineticsSeries, channel: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_s, value, margin) of a growth channel from kinetics estimates: ``log10_fold``
    (log10 of fold expansion) or any ``KineticsSeries`` column (``mu_h``...). The
    margin is ``ESTIMATE_Z`` standard errors of the value (0 where there is none)."""
    if channel == "log10_fold":
        fold = np.asarray(series.fold_expansion, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(fold > 0.0, np.log10(fold), np.nan)
        margin = ESTIMATE_Z * np.asarray(series.fold_rse, dtype=float) / math.log(10.0)
    else:
        value = np.asarray(getattr(series, channel), dtype=float)
        margin = ESTIMATE_Z * np.asarray(series.mu_se_h, dtype=float) if channel == "mu_h" else 0.0
    return series.t_s, value, np.broadcast_to(margin, value.shape).copy()
