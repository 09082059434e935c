"""Golden batches are stored signed and append-only: only a supervisor chooses one, with
a reason and the password; the newest per recipe version is in force; a band changed
behind the triggers' back shows a broken signature and is no longer used."""

import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.analytics import BandSpec, RunSeries, build_golden, golden_from_json, golden_to_json
from app.batch.library import RecipeLibrary
from app.batch.recipe import load_recipe_file
from app.records import DEMO_PASSWORD, Records
from app.store.actor import SYSTEM
from app.store.golden import GoldenStore, active, active_band, history
from app.store.users import AuthError, PermissionDenied

DEMO = Path(__file__).parents[2] / "resources" / "recipes" / "demo.toml"


@pytest.fixture
def store(tmp_path):
    """The demo accounts and two recipe versions (ids 1 and 2) to choose bands for."""
    records = Records.open(tmp_path, demo=True)
    library = RecipeLibrary(records.users, records.signatures, records.path)
    recipe = load_recipe_file(DEMO)
    library.import_recipe(recipe, SYSTEM)
    library.import_recipe(replace(recipe, version="2"), SYSTEM)
    yield records, GoldenStore(records.writer, records.path, records.users)
    records.close()


def band_json(level: float = 37.0) -> str:
    t = np.arange(0.0, 6 * 3600.0, 60.0)
    runs = [
        RunSeries(f"r{k}", {"temp": (t, level + 0.01 * k + 0 * t)}, (0.0, 3600.0)) for k in range(3)
    ]
    return golden_to_json(build_golden(runs, {"temp": BandSpec(floor=0.5)}))


def test_the_json_form_reads_back_exactly():
    text = band_json()
    golden = golden_from_json(text)
    assert golden_to_json(golden) == text
    band = golden.bands["temp"]
    assert band.median[0] == pytest.approx(37.01) and band.high[0] == pytest.approx(37.51)
    assert golden.reference_starts_s == (0.0, 3600.0)


def test_a_supervisor_chooses_a_band_signed_and_audited(store):
    records, golden = store
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    first = golden.record(
        supervisor, DEMO_PASSWORD, 1, (4, 5, 6), band_json(), "first lots", "supervisor"
    )
    assert first.signature_valid and first.run_ids == (4, 5, 6)
    assert "golden band of 3 runs (4, 5, 6)" in first.summary
    second = golden.record(supervisor, DEMO_PASSWORD, 1, (5, 6, 7), band_json(37.2), "newer lots")
    assert active(records.path, 1).id == second.id  # the newest is in force
    assert [g.id for g in history(records.path, 1)] == [first.id, second.id]
    assert active(records.path, 2) is None
    with sqlite3.connect(records.path) as conn:
        audit = conn.execute(
            "SELECT old_value, new_value, reason FROM audit WHERE action = 'golden.select'"
        ).fetchall()
        meanings = conn.execute(
            "SELECT meaning FROM signatures WHERE record_type = 'golden-batch'"
        ).fetchall()
    assert audit == [
        (None, "runs 4, 5, 6", "first lots"),
        ("runs 4, 5, 6", "runs 5, 6, 7", "newer lots"),
    ]
    assert meanings == [("approved",), ("approved",)]


def test_refusals_store_nothing(store):
    records, golden = store
    operator = records.users.login("operator", DEMO_PASSWORD)
    with pytest.raises(PermissionDenied):
        golden.record(operator, DEMO_PASSWORD, 1, (1, 2, 3), band_json(), "mine", "operator")
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    with pytest.raises(ValueError, match="needs a reason"):
        golden.record(supervisor, DEMO_PASSWORD, 1, (1, 2, 3), band_json(), "  ", "supervisor")
    with pytest.raises(AuthError):
        golden.record(supervisor, "wrong password", 1, (1, 2, 3), band_json(), "x", "supervisor")
    assert history(records.path, 1) == []


def test_rows_are_append_only_and_a_changed_band_is_not_used(store):
    records, golden = store
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    golden.record(supervisor, DEMO_PASSWORD, 1, (1, 2, 3), band_json(), "lots", "supervisor")
    assert active_band(records.path, 1) is not None
    with sqlite3.connect(records.path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE golden_batches SET reason = 'other'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM golden_batches")
        conn.execute("DROP TRIGGER golden_no_update")
        conn.execute("UPDATE golden_batches SET band = ?", (band_json(30.0),))
    assert not active(records.path, 1).signature_valid
    assert "BROKEN" in active(records.path, 1).summary
    assert active_band(records.path, 1) is None  # never judged against a forged band
