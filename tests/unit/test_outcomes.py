"""Run-to-run comparison (issue #9): per-run outcomes and overlays read from real
records: a Demo run completed headless on the simulator (with an over-temperature
fault, so its record holds an alarm) and two CAR-T runs whose growth is known, written
through the records' writer thread and the real Historian like the run-detail
benchmark does (``make_growth_run``, also used by the UI test)."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from app.analytics import BandSpec, build_golden
from app.batch.library import RecipeLibrary
from app.batch.recipe import load_recipe_file
from app.records import Records
from app.review.outcomes import (
    CSV_HEADER,
    comparison_series,
    run_outcomes,
    run_series,
    write_outcomes_csv,
)
from app.store.actor import SYSTEM
from app.store.audit import AuditEntry
from app.store.historian import Historian
from hardware.protocol import CHANNEL_INDEX, CHANNEL_NAMES
from tests.headless import complete_demo_run

CART = Path(__file__).resolve().parents[2] / "resources" / "recipes" / "cart_10day.toml"
HOUR = 3600.0
SEED_H = 2.0  # the Activate step (step 7) starts here: fold expansion counts from it


@dataclass(frozen=True)
class GrowthRun:
    run_id: int
    batch: str
    doubling_h: float
    culture_end_s: float
    end_s: float
    cells_at_end: float  # true total viable cells when the culture step ended
    fold_at_end: float  # true fold expansion since seeding


def step_hours(delay_h: float, culture_h: float) -> list[float]:
    """Start of each of the 14 CAR-T steps and the end of the last (process hours):
    ``delay_h`` makes Activate longer (everything after it shifts)."""
    culture = 48.0 + delay_h
    end = culture + culture_h
    return [0, 0.1, 0.2, 0.5, 1.0, 1.5, SEED_H, 24 + delay_h, 24.1 + delay_h, culture, end,
            end + 0.1, end + 0.5, end + 0.6, end + 0.7]  # fmt: skip


def make_growth_run(
    records: Records,
    batch: str,
    doubling_h: float,
    delay_h: float = 0.0,
    culture_h: float = 72.0,
    alarm: bool = False,
    seed: int = 1,
) -> GrowthRun:
    """A finished CAR-T run, one sample a minute: 1e8 cells in 100 mL growing with
    ``doubling_h`` from the Activate step on, 50 mL feeds 24 h and 48 h into the
    culture, 2 % noise on the density, the cells harvested when the culture ends."""
    library = RecipeLibrary(records.users, records.signatures, records.path)
    recipe = load_recipe_file(CART)
    version = library.import_recipe(recipe, SYSTEM)
    hours = step_hours(delay_h, culture_h)
    starts_s = [h * HOUR for h in hours]
    culture_start, culture_end, end_s = starts_s[9], starts_s[10], starts_s[-1]

    def create(ctx) -> int:
        run_id = ctx.conn.execute(
            "INSERT INTO runs (batch_id, started_utc, ended_utc, state, instrument_serial,"
            " firmware, kit_id, recipe_id, recipe_hash, parameters)"
            " VALUES (?, ?, ?, 'Complete', 'SN-TEST', '1.0.0', 'KIT-1', ?, ?, '{}')",
            (
                batch,
                "2026-03-01T08:00:00.000000Z",
                "2026-03-06T08:00:00.000000Z",
                version.id,
                version.content_hash,
            ),
        ).lastrowid

        def entry(action: str, kind: str, where: str, old: str | None, new: str) -> AuditEntry:
            return AuditEntry("1", "Ann Operator", action, kind, where, old, new, run_id=run_id)

        ctx.audit.append(entry("run.state", "run", str(run_id), "Idle", "Running"))
        seq = 0
        for k, step in enumerate(recipe.steps):
            for action, kind, at in (("step.start", "start", k), ("step.end", "end", k + 1)):
                ctx.audit.append(entry(action, "run", f"{run_id}/{step.number}", None, step.name))
                seq += 1
                ctx.conn.execute(
                    "INSERT INTO run_journal (run_id, seq, step, kind, data)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (run_id, seq, step.number, kind, json.dumps({"process_s": starts_s[at]})),
                )
        if alarm:
            ctx.audit.append(entry("alarm.unacknowledged", "alarm", "TEMP_DEVIATION", "normal",
                                   "medium: temp 35.5"))  # fmt: skip
            ctx.audit.append(
                entry("alarm.normal", "alarm", "TEMP_DEVIATION", "acknowledged", "normal")
            )
        ctx.audit.append(entry("run.state", "run", str(run_id), "Running", "Complete"))
        return run_id

    run_id = records.writer.call(create)
    t = np.arange(0.0, end_s + 1.0, 60.0)
    grown = np.clip(t - SEED_H * HOUR, 0.0, culture_end - SEED_H * HOUR) / HOUR
    cells = 1e8 * 2.0 ** (grown / doubling_h)
    volume = np.full(len(t), 100.0)
    for feed_h in (24.0, 48.0):
        volume[t >= culture_start + feed_h * HOUR] += 50.0
    harvested = t >= culture_end
    volume[harvested], cells[harvested] = 2.0, 0.0  # the cells left: no reading below 5 mL
    rng = np.random.default_rng(seed)
    values = np.zeros((len(t), len(CHANNEL_NAMES)))
    values[:, CHANNEL_INDEX["temp"]] = 37.0 + 0.05 * rng.standard_normal(len(t))
    values[:, CHANNEL_INDEX["ph"]] = 7.2 - 0.1 * t / end_s
    values[:, CHANNEL_INDEX["do"]] = 40.0
    values[:, CHANNEL_INDEX["w_chamber"]] = volume
    noise = 1.0 + 0.02 * rng.standard_normal(len(t))
    values[:, CHANNEL_INDEX["vcd"]] = cells / (volume * 1e6) * noise
    t_ms = (t * 1000).astype(np.int64)
    historian = Historian()
    records.writer.call(
        lambda ctx: historian.ingest(
            ctx.conn, run_id, np.ones(len(t), np.int32), t_ms, 1.77e9 + t, values
        )
    )
    grown_h = (culture_end - SEED_H * HOUR) / HOUR
    return GrowthRun(
        run_id,
        batch,
        doubling_h,
        culture_end,
        end_s,
        1e8 * 2.0 ** (grown_h / doubling_h),
        2.0 ** (grown_h / doubling_h),
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A Demo run finished headless with the chamber stuck at 39 °C (an alarm), then
    two CAR-T runs: 30 h doubling, and 36 h with Activate 6 h longer and an alarm."""
    path = tmp_path_factory.mktemp("outcomes")
    complete_demo_run(path, "B-DEMO", "--sim-fault", "stuck-temp=39")
    records = Records.open(path, workstation="WS-TEST")
    fast = make_growth_run(records, "B-FAST", 30.0)
    slow = make_growth_run(records, "B-SLOW", 36.0, delay_h=6.0, alarm=True, seed=2)
    records.close()
    return path / "celldeck.db", fast, slow


def test_outcomes_of_growth_runs_are_the_known_kinetics(folder):
    db, fast, slow = folder
    outcomes = run_outcomes(db, [fast.run_id, slow.run_id])
    assert [o.batch_id for o in outcomes] == ["B-FAST", "B-SLOW"]
    for outcome, truth in zip(outcomes, (fast, slow), strict=True):
        assert outcome.recipe == "CAR-T 10-day v1" and outcome.state == "Complete"
        assert outcome.duration_h == pytest.approx(truth.end_s / HOUR, abs=0.05)
        assert outcome.doubling_h == pytest.approx(truth.doubling_h, rel=0.05)
        assert outcome.fold_expansion == pytest.approx(truth.fold_at_end, rel=0.08)
        assert outcome.final_cells == pytest.approx(truth.cells_at_end, rel=0.08)
        assert outcome.deviations_from == "exceptions"
        assert outcome.deviations == outcome.exceptions
    assert (outcomes[0].alarms, outcomes[1].alarms) == (0, 1)
    assert outcomes[1].exceptions >= 1
    assert outcomes[1].fold_expansion < outcomes[0].fold_expansion  # slower: fewer cells


def test_outcome_of_a_simulated_demo_run(folder):
    db, _, _ = folder
    (demo,) = run_outcomes(db, [1])
    assert demo.batch_id == "B-DEMO" and demo.state == "Complete" and demo.recipe == "Demo v1"
    # about 11 process minutes (steps' ends), though the simulator ran it in seconds
    assert 0.1 < demo.duration_h < 0.3
    assert demo.alarms == 1  # CHAMBER_OVERTEMP
    assert demo.exceptions == demo.deviations >= 2  # the alarm and the count typed in
    # 11 minutes is too short for any growth estimate: no number rather than a wrong one
    assert math.isnan(demo.fold_expansion) and math.isnan(demo.doubling_h)


def test_deviations_against_a_golden_band(folder):
    """A band built from the 30 h run: the 36 h run leaves it (growth), itself not."""
    db, fast, slow = folder
    specs = {"temp": BandSpec(floor=0.5), "log10_fold": BandSpec(floor=0.1)}
    golden = build_golden([run_series(db, fast.run_id, specs)], specs, min_runs=1)
    same, other = run_outcomes(db, [fast.run_id, slow.run_id], golden=golden)
    assert same.deviations_from == "golden band"
    assert same.deviations == 0 and other.deviations >= 1


def test_csv_round_trips(folder, tmp_path):
    db, fast, slow = folder
    outcomes = run_outcomes(db, [1, fast.run_id, slow.run_id])
    path = tmp_path / "comparison.csv"
    assert write_outcomes_csv(outcomes, path) == 3
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# CellDeck run comparison: outcomes of runs 1 (B-DEMO), ")
    assert "exported" in lines[0] and "(UTC) by CellDeck" in lines[0]
    rows = list(csv.DictReader(lines[1:]))
    assert tuple(rows[0]) == CSV_HEADER
    for row, outcome in zip(rows, outcomes, strict=True):
        assert int(row["run_id"]) == outcome.run_id and row["batch_id"] == outcome.batch_id
        for name in ("duration_h", "fold_expansion", "doubling_h", "final_cells"):
            value = getattr(outcome, name)
            if math.isnan(value):
                assert row[name] == ""
            else:
                assert float(row[name]) == pytest.approx(value, rel=1e-9)
        assert int(row["alarms"]) == outcome.alarms
        assert int(row["deviations"]) == outcome.deviations
    assert not list(tmp_path.glob("*.part"))


def test_overlay_by_elapsed_time_and_by_step(folder):
    db, fast, slow = folder
    ids = [fast.run_id, slow.run_id]
    elapsed = comparison_series(db, ids, "ph", "elapsed", points=800)
    assert [c.batch_id for c in elapsed.curves] == ["B-FAST", "B-SLOW"]
    assert all(0 < len(c.t_s) <= 800 for c in elapsed.curves)
    ends = [c.t_s[-1] for c in elapsed.curves]
    assert ends[1] - ends[0] == pytest.approx(6 * HOUR, abs=0.05 * HOUR)
    by_step = comparison_series(db, ids, "ph", "step", points=800)
    assert by_step.reference_starts_s == tuple(h * HOUR for h in step_hours(0.0, 72.0)[:-1])
    ends = [c.t_s[-1] for c in by_step.curves]
    assert ends[1] == pytest.approx(ends[0], abs=0.05 * HOUR)  # the slow run's tail lands too
    # the slow run's culture start (48 + 6 h) lands on the reference's (48 h)
    slow_curve = by_step.curves[1]
    mapped = np.interp(54 * HOUR, elapsed.curves[1].t_s, slow_curve.t_s)
    assert mapped == pytest.approx(48 * HOUR, abs=0.05 * HOUR)
    growth = comparison_series(db, ids, "fold_expansion", "elapsed")
    final = [c.values[np.searchsorted(c.t_s, t.culture_end_s) - 1] for c, t in
             zip(growth.curves, (fast, slow), strict=True)]  # fmt: skip
    assert final[0] == pytest.approx(fast.fold_at_end, rel=0.08)
    with pytest.raises(ValueError):
        comparison_series(db, ids, "ph", "sideways")
