"""Run-to-run comparison for review (issue #9): a table of per-run outcomes (duration,
fold expansion, doubling time, final dose, alarms, deviations) and any channel of any
number of runs on one time axis, by elapsed time or aligned by step. No Qt.

Why rollup means: a 10-day run holds 860,000 one-second samples; growth is fitted on
10-minute buckets, so the historian's 10 s (runs up to 2 days) or 1 min rollups carry
all the kinetics need at a 10th or 60th of the reading. Why the kinetics are cached:
the table and the growth curves both need them, and a finished run's data does not
change (the cache key holds the run's newest sample time, so a running run is read
again). Step times come from the step journal, the source of the record's
``started_s``, so an overlay needs no audit-chain verification.
"""

from __future__ import annotations

import csv
import functools
import math
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.analytics import (
    FAST_KINETICS,
    GoldenBatch,
    KineticsSeries,
    RunSeries,
    analyse_run,
    find_deviations,
    warp_time,
)
from app.analytics.channels import (
    CULTURE_PHASE,
    GROWTH_CHANNELS,
    SEED_PHASES,
    growth_series,
)
from app.review.csv_format import preamble
from app.review.exceptions import find_exceptions
from app.review.record import RunRecordData, load_run_record
from app.store.db import connect
from app.store.historian import load_run_clock, query
from app.store.run_reads import rollup_means, run_batch, run_recipe
from app.store.runs import step_starts, step_times
from hardware.protocol import CHANNEL_INDEX

DERIVED = GROWTH_CHANNELS  # growth channels computed from vcd and w_chamber
FINE_LEVEL_UP_TO_MS = 2 * 86_400_000  # 10 s rollups up to 2 days of run, then 1 min
ALIGNMENTS = ("elapsed", "step")
CSV_HEADER = (
    "run_id",
    "batch_id",
    "recipe",
    "state",
    "started_utc",
    "ended_utc",
    "duration_h",
    "fold_expansion",
    "doubling_h",
    "final_cells",
    "alarms",
    "deviations",
    "deviations_from",
    "exceptions",
)


@dataclass(frozen=True)
class RunOutcome:
    """One row of the comparison table. NaN: no estimate (too short, no cells);
    ``doubling_h`` inf: the culture was not growing."""

    run_id: int
    batch_id: str
    recipe: str
    state: str
    started_utc: str
    ended_utc: str
    duration_h: float  # process time, from the steps' ends or the newest sample
    fold_expansion: float
    doubling_h: float
    final_cells: float  # total viable cells at the culture's end: the dose
    alarms: int  # alarm exceptions of the record
    deviations: int  # golden-band deviations, or the record's exceptions
    deviations_from: str  # "golden band" or "exceptions"
    exceptions: int


@dataclass(frozen=True)
class RunCurve:
    run_id: int
    batch_id: str
    t_s: np.ndarray  # on the comparison's axis (see Comparison.align)
    values: np.ndarray


@dataclass(frozen=True)
class Comparison:
    """One channel of several runs on one axis: elapsed process seconds, or (``step``)
    each run's time warped so that its step starts land on the first run's."""

    channel: str
    align: str
    curves: list[RunCurve]
    reference_starts_s: tuple[float, ...]  # the first run's step starts ("step" only)
    note: str = ""  # e.g. a run shown by elapsed time because it has no step times


# --------------------------------------------------------------------------- reading
def _means(
    conn: sqlite3.Connection, run_id: int, channels: Sequence[str], last_ms: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(bucket mid-time s, mean per channel) from the 10 s or 1 min rollups."""
    return rollup_means(conn, run_id, 0 if last_ms <= FINE_LEVEL_UP_TO_MS else 1, channels)


def _last_ms(conn: sqlite3.Connection, run_id: int) -> int:
    return max(load_run_clock(conn, run_id).last_run_ms, 0)


def _seed_and_end(conn: sqlite3.Connection, run_id: int) -> tuple[float | None, float | None]:
    """Seeding (the first activate or culture step's start) and the culture step's
    end, from the recipe version the run used and the step journal."""
    from app.batch.recipe import load_recipe

    used = run_recipe(conn, run_id)
    if used is None:
        return None, None
    recipe = load_recipe(used.text, f"{used.name} v{used.version_no}")
    phases = {s.number: s.phase for s in recipe.steps}
    starts, ends = step_times(conn, run_id)
    seed = next((starts[n] for n in sorted(starts) if phases.get(n) in SEED_PHASES), None)
    cultures = [n for n in sorted(starts) if phases.get(n) == CULTURE_PHASE]
    return seed, ends.get(cultures[-1]) if cultures else None


@functools.lru_cache(maxsize=64)
def _kinetics(
    db: str, run_id: int, last_ms: int, fast: bool
) -> tuple[KineticsSeries, float | None]:
    """The run's kinetics (24 h window, or the 6 h one with ``fast``) and the culture's
    end (None: no culture step ended). ``last_ms`` keys the cache only."""
    with closing(connect(db, readonly=True)) as conn:
        seed, end = _seed_and_end(conn, run_id)
        t_s, means = _means(conn, run_id, ("vcd", "w_chamber"), last_ms)
    params = FAST_KINETICS if fast else None
    return analyse_run(t_s, means["vcd"], means["w_chamber"], params, seed), end


def run_kinetics(
    db_path: str | Path, run_id: int, fast: bool = False
) -> tuple[KineticsSeries, float | None]:
    """Kinetics of a recorded run from the historian's rollups (cached per run and
    newest sample), and the process second at which its culture step ended."""
    with closing(connect(db_path, readonly=True)) as conn:
        last_ms = _last_ms(conn, run_id)
    return _kinetics(str(db_path), run_id, last_ms, fast)


def _derived(
    db_path: str | Path, run_id: int, channel: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_s, value, margin) of a growth channel (``growth_series``; ``mu_h`` from the
    6 h estimator, as the live watch)."""
    series, _ = run_kinetics(db_path, run_id, fast=channel == "mu_h")
    return growth_series(series, channel)


def run_series(
    db_path: str | Path, run_id: int, channels: Iterable[str], name: str = ""
) -> RunSeries:
    """A recorded run as golden-batch input: telemetry channels as rollup means,
    growth channels (``DERIVED``) from the kinetics, and every step's start."""
    channels = tuple(channels)
    telemetry = [c for c in channels if c in CHANNEL_INDEX]
    with closing(connect(db_path, readonly=True)) as conn:
        t_s, means = _means(conn, run_id, telemetry, _last_ms(conn, run_id))
        starts = step_starts(conn, run_id)
    data = {c: (t_s, means[c]) for c in telemetry}
    margins = {}
    for channel in channels:
        if channel in DERIVED:
            t, value, margin = _derived(db_path, run_id, channel)
            data[channel], margins[channel] = (t, value), margin
    return RunSeries(name or f"run {run_id}", data, starts, margins)


# --------------------------------------------------------------------------- outcomes
def run_outcomes(
    db_path: str | Path,
    run_ids: Sequence[int],
    golden: GoldenBatch | None = None,
    min_duration_s: float = 2 * 3600.0,
) -> list[RunOutcome]:
    """One outcome per run, in the order asked. Deviations are the stretches outside
    ``golden``'s band lasting ``min_duration_s`` when a band is given, else the number
    of the record's exceptions."""
    return [_outcome(db_path, run_id, golden, min_duration_s) for run_id in run_ids]


def _outcome(
    db_path: str | Path, run_id: int, golden: GoldenBatch | None, min_duration_s: float
) -> RunOutcome:
    record = load_run_record(db_path, run_id)
    exceptions = find_exceptions(record)
    series, culture_end = run_kinetics(db_path, run_id)
    with closing(connect(db_path, readonly=True)) as conn:
        last_s = _last_ms(conn, run_id) / 1000.0
    fold = doubling = cells = math.nan
    row = series.at(culture_end) if culture_end is not None else len(series) - 1
    if row is not None and row >= 0 and len(series):
        fold = float(series.fold_expansion[row])
        doubling = float(series.doubling_h[row])
        cells = float(series.total_cells[row])
    if golden is not None:
        found = find_deviations(
            golden, run_series(db_path, run_id, golden.bands, record.batch_id), min_duration_s
        )
        deviations, source = len(found), "golden band"
    else:
        deviations, source = len(exceptions), "exceptions"
    return RunOutcome(
        run_id=record.run_id,
        batch_id=record.batch_id,
        recipe=f"{record.recipe_name} v{record.recipe_version_no}",
        state=record.state,
        started_utc=record.started_utc,
        ended_utc=record.ended_utc,
        duration_h=_process_end_s(record, last_s) / 3600.0,
        fold_expansion=fold,
        doubling_h=doubling,
        final_cells=cells,
        alarms=sum(1 for e in exceptions if e.kind == "alarm"),
        deviations=deviations,
        deviations_from=source,
        exceptions=len(exceptions),
    )


def _process_end_s(record: RunRecordData, last_sample_s: float) -> float:
    """How long the run ran in process time: its last step's end or its newest
    sample, whichever is later (UTC would be wrong for a simulator run fast)."""
    ends = [s.ended_s for s in record.steps if s.ended_s is not None]
    return max([last_sample_s, *ends])


# --------------------------------------------------------------------------- CSV
def _number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.10g}"


def write_outcomes_csv(outcomes: Sequence[RunOutcome], path: Path) -> int:
    """The table as CSV, after one "#" line (what, when, which CellDeck; the style of
    app/review/csv_format.py, so pandas reads it with ``skiprows=1``); empty cells
    where there is no estimate, ``inf`` for a culture that did not grow. Written
    beside ``path`` and renamed, so a copy cut short never appears. Returns the rows."""
    runs = ", ".join(f"{o.run_id} ({o.batch_id})" for o in outcomes)
    what = f"CellDeck run comparison: outcomes of runs {runs}"
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("w", newline="", encoding="utf-8") as out:
            out.write(preamble(what))
            writer = csv.writer(out)
            writer.writerow(CSV_HEADER)
            for o in outcomes:
                writer.writerow(
                    [
                        o.run_id,
                        o.batch_id,
                        o.recipe,
                        o.state,
                        o.started_utc,
                        o.ended_utc,
                        _number(o.duration_h),
                        _number(o.fold_expansion),
                        _number(o.doubling_h),
                        _number(o.final_cells),
                        o.alarms,
                        o.deviations,
                        o.deviations_from,
                        o.exceptions,
                    ]
                )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return len(outcomes)


# --------------------------------------------------------------------------- overlay
def comparison_series(
    db_path: str | Path,
    run_ids: Sequence[int],
    channel: str,
    align: str = "elapsed",
    points: int = 1600,
) -> Comparison:
    """``channel`` of each run (telemetry: at most ``points`` bucket means a run from
    the historian; growth: the kinetics, one point per 10 min) on one axis. ``step``
    warps each run onto the first run's step starts (golden.warp_time); a run without
    step times stays on elapsed time, and the note says so."""
    if align not in ALIGNMENTS:
        raise ValueError(f"align must be one of {ALIGNMENTS}, not {align!r}")
    if channel not in CHANNEL_INDEX and channel not in DERIVED:
        raise ValueError(f"unknown channel {channel!r}")
    raw: list[tuple[int, str, np.ndarray, np.ndarray, tuple[float, ...]]] = []
    with closing(connect(db_path, readonly=True)) as conn:
        for run_id in run_ids:
            batch = run_batch(conn, run_id)
            if batch is None:
                raise ValueError(f"there is no run {run_id}")
            starts = step_starts(conn, run_id) if align == "step" else ()
            if channel in DERIVED:
                t_s, values, _ = _derived(db_path, run_id, channel)
            else:
                series = query(conn, run_id, (channel,), 0, _last_ms(conn, run_id), points)
                t_s, values = series.t_ms / 1000.0, series.mean[channel]
            raw.append((run_id, batch, t_s, values, starts))
    reference: tuple[float, ...] = raw[0][4] if raw and align == "step" else ()
    curves, unaligned = [], []
    for run_id, batch, t_s, values, starts in raw:
        if align == "step" and reference and starts:
            t_s = warp_time(t_s, starts, reference)
        elif align == "step":
            unaligned.append(batch)
        curves.append(RunCurve(run_id, batch, np.asarray(t_s, dtype=float), values))
    note = ""
    if unaligned:
        note = f"No step times for {', '.join(unaligned)}: shown by elapsed time."
    return Comparison(channel, align, curves, reference, note)
