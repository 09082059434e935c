"""Growth kinetics from the in-line viable cell density and the chamber volume.

Why total cells: a feed adds medium, so the density steps down while the number of
cells does not; ln(total viable cells) = ln(vcd · volume) stays continuous through
feeds and grows linearly with slope μ in the exponential phase. Samples are reduced to
one robust point (median) per bucket of a few minutes, which bounds the memory and the
work per batch, and μ is the slope of a Huber fit of ln(total) against time over a
sliding window. A bucket in which the volume moves (a transfer) is dropped, plus a
settling time after it; when the volume goes *down* (a sample, a harvest: cells leave
with it) a new segment starts, with its own intercept and the same slope.

Units: process time in seconds in, rates in 1/h, doubling times in hours, densities in
1e6 cells/mL (the ``vcd`` channel), volumes in mL (``w_chamber``, 1 g = 1 mL).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.analytics.robust import MAD_TO_SD, fast_median, huber_fit

LN2 = math.log(2.0)
Z95 = 1.959964


@dataclass(frozen=True)
class KineticsParams:
    """Knobs of the estimator (defaults suit a CAR-T expansion read at 1-10 Hz)."""

    window_h: float = 24.0  # sliding window of the fit
    bucket_min: float = 10.0  # one robust point per bucket
    min_points: int = 6  # buckets in the window before μ is reported
    min_span_h: float = 4.0  # and the time they span
    settle_min: float = 5.0  # ignored after a transfer (mixing, sensor settling)
    step_ml: float = 1.0  # a volume change larger than this is a transfer
    min_volume_ml: float = 5.0  # below this the chamber is "dry": no reading
    z: float = Z95  # interval half-width in standard errors


FAST_KINETICS = KineticsParams(window_h=6.0, min_span_h=2.0)
"""The quicker estimator whose growth rate (``mu_h``) is a golden-band channel: it reacts
to a slowed culture within hours, where the 24 h window lags by a day."""


@dataclass(frozen=True)
class KineticsEstimate:
    """Kinetics at process time ``t_s`` (the newest point of the window)."""

    t_s: float
    mu_h: float  # specific growth rate, 1/h
    mu_se_h: float  # its standard error
    doubling_h: float  # ln 2 / μ; inf when the culture is not growing
    doubling_low_h: float  # interval from μ ± z·se (inf when μ - z·se <= 0)
    doubling_high_h: float
    total_cells: float  # viable cells in the chamber (fitted)
    total_rse: float  # relative standard error of total_cells (se of its ln)
    fold_expansion: float  # total cells / cells at seeding (cells removed counted back)
    fold_rse: float
    points: int  # buckets in the fit
    span_h: float  # time they span


def doubling_interval(mu: float, se: float, z: float = Z95) -> tuple[float, float, float]:
    """(doubling, low, high) in hours from μ and its standard error."""

    def td(rate: float) -> float:
        return LN2 / rate if rate > 0.0 else math.inf

    return td(mu), td(mu + z * se), td(mu - z * se)


@dataclass
class _Point:
    t_h: float  # bucket time, process hours
    y: float  # median ln(total cells) in the bucket
    segment: int


class LiveKinetics:
    """Incremental estimator: feed it telemetry batches with ``add``; each closed bucket
    updates ``latest`` (and appends to ``history``). Memory is bounded: the open bucket's
    samples, the window's points, and at most ``max_history`` past estimates."""

    def __init__(
        self,
        params: KineticsParams | None = None,
        seed_s: float | None = None,
        max_history: int = 4096,
    ) -> None:
        self.p = params or KineticsParams()
        self.seed_s = seed_s  # seeding time; None: the first valid bucket
        self.bucket_s = self.p.bucket_min * 60.0
        window_buckets = math.ceil(self.p.window_h * 60.0 / self.p.bucket_min) + 2
        self._points: deque[_Point] = deque(maxlen=window_buckets)
        self._open: int | None = None  # index of the open bucket
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._quiet_after = -math.inf  # samples before this are settling after a transfer
        self._segment = 0
        self._last_volume: float | None = None
        self._last_y: float | None = None
        self._removed_log = 0.0  # ln of cells that left with removed volume, added back
        self.seed_log: float | None = None  # ln(cells at seeding)
        self._seed_se = 0.0
        self.latest: KineticsEstimate | None = None
        self.history: deque[KineticsEstimate] = deque(maxlen=max_history)

    # ------------------------------------------------------------------ input
    def add(
        self,
        t_s: Sequence[float] | np.ndarray,
        vcd: Sequence[float] | np.ndarray,
        volume: Sequence[float] | np.ndarray,
    ) -> KineticsEstimate | None:
        """Take a batch of samples in time order; return the newest estimate (None until
        the window holds enough points). Samples older than the open bucket (late
        back-fill) are ignored: ``analyse_run`` over the historian gives the full picture."""
        t = np.asarray(t_s, dtype=float)
        c = np.asarray(vcd, dtype=float)
        v = np.asarray(volume, dtype=float)
        if not (len(t) == len(c) == len(v)):
            raise ValueError("t_s, vcd and volume must have the same length")
        if len(t) == 0:
            return self.latest
        index = np.floor(t / self.bucket_s).astype(np.int64)
        cuts = np.flatnonzero(np.diff(index)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(t)], strict=True):
            bucket = int(index[lo])
            if self._open is not None and bucket < self._open:
                continue
            if self._open is not None and bucket > self._open:
                self._close()
            self._open = bucket
            self._parts.append((t[lo:hi], c[lo:hi], v[lo:hi]))
        return self.latest

    def flush(self) -> KineticsEstimate | None:
        """Close the open bucket (end of a recorded run)."""
        if self._open is not None:
            self._close()
            self._open = None
        return self.latest

    # ------------------------------------------------------------------ buckets
    def _close(self) -> None:
        t, c, v = (np.concatenate(a) for a in zip(*self._parts, strict=True))
        self._parts = []
        finite_v = v[np.isfinite(v)]
        if len(finite_v) == 0:
            return
        k_lo = int(0.02 * (len(finite_v) - 1))
        k_hi = len(finite_v) - 1 - k_lo
        ranked = np.partition(finite_v, (k_lo, k_hi))  # 2nd and 98th percentile
        if ranked[k_hi] - ranked[k_lo] > self.p.step_ml:  # a transfer inside this bucket
            self._quiet_after = float(t[-1]) + self.p.settle_min * 60.0
            return
        ok = np.isfinite(c) & (c > 0.0) & (v >= self.p.min_volume_ml) & (t >= self._quiet_after)
        if not ok.any():
            return
        t, c, v = t[ok], c[ok], v[ok]
        ln_total = np.log(c * 1e6 * v)
        y = fast_median(ln_total)
        volume = fast_median(v)
        if self._last_volume is not None and volume < self._last_volume - self.p.step_ml:
            self._segment += 1  # cells left with the volume removed
            if self._last_y is not None:
                self._removed_log += self._last_y - y
        self._last_volume, self._last_y = volume, y
        t_h = fast_median(t) / 3600.0
        if self.seed_log is None and (self.seed_s is None or t_h * 3600.0 >= self.seed_s):
            self.seed_log = y - self._removed_log
            spread = MAD_TO_SD * fast_median(np.abs(ln_total - y))
            self._seed_se = spread / math.sqrt(len(ln_total))
        self._points.append(_Point(t_h, y, self._segment))
        estimate = self._estimate()
        if estimate is not None:
            self.latest = estimate
            self.history.append(estimate)

    # ------------------------------------------------------------------ fit
    def _estimate(self) -> KineticsEstimate | None:
        newest = self._points[-1]
        pts = [p for p in self._points if p.t_h >= newest.t_h - self.p.window_h]
        counts: dict[int, int] = {}
        for p in pts:
            counts[p.segment] = counts.get(p.segment, 0) + 1
        if counts[newest.segment] < 2:
            return None
        pts = [p for p in pts if counts[p.segment] >= 2]  # a lone point fixes nothing
        span = pts[-1].t_h - pts[0].t_h
        if len(pts) < self.p.min_points or span < self.p.min_span_h:
            return None
        segments = sorted({p.segment for p in pts})
        column = {s: i + 1 for i, s in enumerate(segments)}
        x = np.zeros((len(pts), 1 + len(segments)))
        x[:, 0] = [p.t_h - newest.t_h for p in pts]  # the last intercept is ln(total) now
        x[np.arange(len(pts)), [column[p.segment] for p in pts]] = 1.0
        y = np.array([p.y for p in pts])
        fit = huber_fit(x, y)
        mu, se = float(fit.coef[0]), math.sqrt(max(float(fit.cov[0, 0]), 0.0))
        last = column[newest.segment]
        ln_total = float(fit.coef[last])
        total_rse = math.sqrt(max(float(fit.cov[last, last]), 0.0))
        td, td_low, td_high = doubling_interval(mu, se, self.p.z)
        seed = self.seed_log if self.seed_log is not None else ln_total
        fold = math.exp(ln_total + self._removed_log - seed)
        return KineticsEstimate(
            t_s=newest.t_h * 3600.0,
            mu_h=mu,
            mu_se_h=se,
            doubling_h=td,
            doubling_low_h=td_low,
            doubling_high_h=td_high,
            total_cells=math.exp(ln_total),
            total_rse=total_rse,
            fold_expansion=fold,
            fold_rse=math.hypot(total_rse, self._seed_se),
            points=len(pts),
            span_h=span,
        )


@dataclass(frozen=True)
class KineticsSeries:
    """A run's kinetics, one row per bucket that had an estimate (arrays of equal length)."""

    t_s: np.ndarray
    mu_h: np.ndarray
    mu_se_h: np.ndarray
    doubling_h: np.ndarray
    doubling_low_h: np.ndarray
    doubling_high_h: np.ndarray
    total_cells: np.ndarray
    total_rse: np.ndarray
    fold_expansion: np.ndarray
    fold_rse: np.ndarray
    points: np.ndarray
    span_h: np.ndarray

    @classmethod
    def from_estimates(cls, estimates: Sequence[KineticsEstimate]) -> KineticsSeries:
        def col(name: str) -> np.ndarray:
            return np.array([getattr(e, name) for e in estimates], dtype=float)

        return cls(*(col(name) for name in cls.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.t_s)

    def __getitem__(self, row: int) -> KineticsEstimate:
        values = {name: getattr(self, name)[row].item() for name in self.__dataclass_fields__}
        values["points"] = int(values["points"])
        return KineticsEstimate(**values)

    def at(self, t_s: float) -> int | None:
        """Row of the newest estimate made at or before ``t_s`` (None: none yet)."""
        row = int(np.searchsorted(self.t_s, t_s, side="right")) - 1
        return row if row >= 0 else None


def analyse_run(
    t_s: np.ndarray,
    vcd: np.ndarray,
    volume: np.ndarray,
    params: KineticsParams | None = None,
    seed_s: float | None = None,
) -> KineticsSeries:
    """Kinetics of a whole recorded run, exactly as the live estimator would have seen
    it, returned as arrays (for review, for storing with the run, for golden batches)."""
    live = LiveKinetics(params, seed_s, max_history=1 << 30)
    live.add(t_s, vcd, volume)
    live.flush()
    return KineticsSeries.from_estimates(list(live.history))
