"""Choosing a recipe version's golden band, and judging a run against it.

A supervisor picks runs (or all of them) among the completed, approved runs of one
recipe version; the band is built from their historian data (``run_series`` and
``build_golden`` with the default channels and tolerances of docs/analytics.md §3) and
stored signed (app/store/golden.py). The batch engine then watches live runs of that
version against it, and review lists each run's stretches outside it as exceptions.
Reads only; building five 10-day runs takes about a second, so screens call this from
a background job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from app.analytics import (
    DEFAULT_BAND_SPECS,
    MIN_GOLDEN_RUNS,
    WARN_AFTER_S,
    BandSpec,
    Deviation,
    GoldenBatch,
    build_golden,
    find_deviations,
    golden_to_json,
)
from app.analytics.channels import channel_label
from app.records import Records
from app.review.outcomes import run_series
from app.review.record import load_run_record
from app.store.db import connect
from app.store.golden import GoldenRecord, GoldenStore, active, active_band, run_band
from app.store.recipes import RecipeStore
from app.store.run_reads import run_batch, run_batch_and_state, run_recipe_id, runs_of_recipe
from app.store.signatures import Meaning
from app.store.users import Session

COMPLETE = "Complete"


@dataclass(frozen=True)
class Candidate:
    """A run that may go into a golden band."""

    run_id: int
    batch_id: str
    ended_utc: str


def recipe_of(db_path: str | Path, run_id: int) -> int | None:
    """The recipe version (recipes.id) a run used."""
    with closing(connect(db_path, readonly=True)) as conn:
        return run_recipe_id(conn, run_id)


def approved(records: Records, run_id: int) -> bool:
    """The run's batch record carries an approval whose signature still holds."""
    record = load_run_record(records.path, run_id)
    checks = records.signatures.verify("run", str(run_id), record.content_hash())
    return any(c.valid and c.signature.meaning is Meaning.APPROVED for c in checks)


def candidates(records: Records, recipe_id: int) -> list[Candidate]:
    """Completed, approved runs of one recipe version, oldest first."""
    with closing(connect(records.path, readonly=True)) as conn:
        rows = runs_of_recipe(conn, recipe_id, COMPLETE)
    return [Candidate(*row) for row in rows if approved(records, row[0])]


def check_selection(records: Records, run_ids: Sequence[int]) -> int:
    """The recipe version the runs share; ValueError naming the first run that may not
    go into a band (not complete, not approved, another recipe version) or too few."""
    ids = list(dict.fromkeys(int(r) for r in run_ids))
    if len(ids) < MIN_GOLDEN_RUNS:
        raise ValueError(f"a golden band needs at least {MIN_GOLDEN_RUNS} runs; {len(ids)} chosen")
    versions = {r: recipe_of(records.path, r) for r in ids}
    first = versions[ids[0]]
    with closing(connect(records.path, readonly=True)) as conn:
        for run_id in ids:
            row = run_batch_and_state(conn, run_id)
            if row is None:
                raise ValueError(f"there is no run {run_id}")
            batch, state = row
            if versions[run_id] is None or versions[run_id] != first:
                raise ValueError(
                    f"run {run_id} ({batch}) used another recipe version: a band compares "
                    "runs of one version"
                )
            if state != COMPLETE:
                raise ValueError(f"run {run_id} ({batch}) is {state}, not Complete")
            if not approved(records, run_id):
                raise ValueError(f"run {run_id} ({batch}) has no valid approval signature")
    assert first is not None
    return first


def build_band(
    db_path: str | Path,
    run_ids: Iterable[int],
    specs: Mapping[str, BandSpec] | None = None,
) -> GoldenBatch:
    """The band of the runs' historian data (telemetry and growth channels)."""
    specs = dict(specs or DEFAULT_BAND_SPECS)
    series = []
    with closing(connect(db_path, readonly=True)) as conn:
        for run_id in run_ids:
            series.append(run_series(db_path, run_id, specs, run_batch(conn, run_id) or ""))
    return build_golden(series, specs, min_runs=MIN_GOLDEN_RUNS)


def select_golden(
    records: Records,
    session: Session,
    password: str,
    run_ids: Sequence[int],
    reason: str,
    username: str | None = None,
    statement: str = "",
) -> GoldenRecord:
    """Check the runs, build their band and store it signed (``statement``: what the
    signer was shown); raises (storing nothing) ValueError for runs that may not go in,
    PermissionDenied, AuthError."""
    from app.store.security import Permission, allowed

    if not allowed(session.role, Permission.GOLDEN_SELECT):  # refused (and audited) once,
        records.users.require(session, Permission.GOLDEN_SELECT, "golden-batch", "selection")
    recipe_id = check_selection(records, run_ids)  # before the second of building
    ids = tuple(dict.fromkeys(int(r) for r in run_ids))
    band = golden_to_json(build_band(records.path, ids))
    store = GoldenStore(records.writer, records.path, records.users, records.signatures)
    return store.record(session, password, recipe_id, ids, band, reason, username, statement)


# --------------------------------------------------------------------------- judging
@dataclass(frozen=True)
class BandReport:
    """A run judged against its recipe version's band in force."""

    golden: GoldenRecord
    deviations: list[Deviation]  # stretches outside lasting WARN_AFTER_S, in time order
    watched_live: bool = False  # the band the run was watched against from its start

    def sentences(self) -> list[str]:
        return [deviation_sentence(d) for d in self.deviations]


def deviation_sentence(d: Deviation) -> str:
    """E.g. "Temperature below the golden band from 72.0 h to 90.0 h (up to 1.5 °C
    outside)"."""
    label, unit = channel_label(d.channel)
    end = "to the end" if d.end_s is None else f"to {d.end_s / 3600:.1f} h"
    amount = f"{d.worst:.3g} {unit}".strip()
    return (
        f"{label} {d.direction} the golden band from {d.start_s / 3600:.1f} h {end} "
        f"(up to {amount} outside)"
    )


def band_report(
    db_path: str | Path, run_id: int, min_duration_s: float = WARN_AFTER_S
) -> BandReport | None:
    """The run's deviations from the band it was watched against from its start (its
    ``run.golden`` entry), else from the band in force now for its recipe version (a run
    from before any band); None: neither, or its signature no longer holds. Growth
    values count as outside only beyond their own uncertainty, as live."""
    found = run_band(db_path, run_id)
    live = found is not None
    if found is None:
        recipe_id = recipe_of(db_path, run_id)
        found = active_band(db_path, recipe_id) if recipe_id is not None else None
    if found is None:
        return None
    record, golden = found
    series = run_series(db_path, run_id, golden.bands)
    return BandReport(record, find_deviations(golden, series, min_duration_s), live)


@dataclass(frozen=True)
class BandJudgement:
    """A run against its recipe version's band in force: the report (None: no band
    to judge against) and one sentence saying which band it was, or why none."""

    report: BandReport | None
    note: str


def band_judgement(db_path: Path, run_id: int, recipe: str) -> BandJudgement:
    """``band_report`` and its sentence (reads and the run's kinetics: background)."""
    report = band_report(db_path, run_id)
    hours = f"{WARN_AFTER_S / 3600.0:g} h"
    if report is not None:
        n = len(report.deviations)
        if n:
            found = f"{n} stretch{'' if n == 1 else 'es'} of {hours} or more outside it"
        else:
            found = f"inside it throughout (no stretch of {hours} or more outside)"
        which = "watched live against" if report.watched_live else "judged against"
        return BandJudgement(report, f"{which.capitalize()} the {report.golden.summary}: {found}.")
    recipe_id = recipe_of(db_path, run_id)
    record = active(db_path, recipe_id) if recipe_id is not None else None
    if record is not None and not record.signature_valid:
        note = (
            f"The golden band for {recipe} was changed after it was signed: this run is not"
            " judged against it."
        )
    else:
        note = f"No golden band for {recipe} yet: this run is not judged against one."
    return BandJudgement(None, note)


@dataclass(frozen=True)
class BandState:
    """The recipe version the compared runs share (None: they used different ones, or
    one has none) and its band in force (``golden`` None: none, or its signature no
    longer holds: ``record`` set and ``record.signature_valid`` false)."""

    recipe_id: int | None
    recipe: str  # "CAR-T 10-day v1"; "" when the runs share no version
    record: GoldenRecord | None = None
    golden: GoldenBatch | None = None

    def line(self) -> str:
        """One sentence for the page: which band counts, or why none does."""
        if self.recipe_id is None:
            return "These runs used different recipe versions: no golden band applies."
        if self.record is None:
            return f"No golden band for {self.recipe} yet."
        if self.golden is None:
            return (
                f"The golden band for {self.recipe} was changed after it was signed: "
                "it is not used."
            )
        return f"{self.recipe}: {self.record.summary}."  # "CAR-T v1: golden band of 3 runs…"


def band_state(db_path: Path, records: Records | None, run_ids: Sequence[int]) -> BandState:
    """Which band the compared runs are judged against (reads; background thread)."""
    versions = {recipe_of(db_path, run_id) for run_id in run_ids}
    if len(versions) != 1 or None in versions:
        return BandState(None, "")
    recipe_id = versions.pop()
    assert recipe_id is not None
    label = f"recipe version {recipe_id}"
    if records is not None:
        library = RecipeStore(records.users, records.signatures, db_path)
        label = library.get(recipe_id).label
    record = active(db_path, recipe_id)
    if record is None or not record.signature_valid:
        return BandState(recipe_id, label, record)
    return BandState(recipe_id, label, record, record.golden())
