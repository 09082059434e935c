"""Choosing a recipe version's golden band and judging runs against it
(app/review/golden_select.py) on real records: CAR-T runs of known growth written through
the writer thread and the Historian (``make_growth_run``), approved by a supervisor's
signature. ``make_golden_folder`` is also the UI test's data (tests/ui/test_golden_ui.py).
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.batch.library import RecipeLibrary
from app.batch.recipe import load_recipe_file
from app.records import DEMO_PASSWORD, Records
from app.review.golden_select import (
    band_report,
    candidates,
    check_selection,
    deviation_sentence,
    recipe_of,
    select_golden,
)
from app.review.record import load_run_record
from app.store.actor import SYSTEM
from app.store.golden import active, history
from app.store.signatures import Meaning
from app.store.users import AuthError, PermissionDenied, Session
from tests.unit.test_outcomes import make_growth_run

DEMO = Path(__file__).resolve().parents[2] / "resources" / "recipes" / "demo.toml"
CULTURE_H = 48.0  # four-day runs: long enough for growth, quick to write and analyse


@dataclass(frozen=True)
class GoldenFolder:
    path: Path  # the data folder (celldeck.db in it)
    normal: tuple[int, ...]  # three approved runs, doubling 29 / 30 / 31 h
    slow: int  # approved, doubling 45 h: outside a band of the normal ones
    unapproved: int  # complete, never signed
    other_version: int | None  # approved, but recorded against another recipe version


def approve(records: Records, session: Session, run_id: int) -> None:
    """A supervisor's "approved" signature on the run's record as it is now."""
    digest = load_run_record(records.path, run_id).content_hash()
    username = None if session.signed_once else session.username
    records.signatures.sign(
        session, DEMO_PASSWORD, Meaning.APPROVED, "run", str(run_id), digest, username
    )


def make_golden_folder(path: Path, other_version: bool = True) -> GoldenFolder:
    """Six finished CAR-T runs (four days each, one sample a minute) in a demo data folder
    (five without the run of another version)."""
    records = Records.open(path, demo=True, workstation="WS-TEST")
    try:
        normal = tuple(
            make_growth_run(records, f"B-GOLD-{i}", doubling, culture_h=CULTURE_H, seed=i).run_id
            for i, doubling in enumerate((29.0, 30.0, 31.0), start=1)
        )
        slow = make_growth_run(records, "B-SLOW", 45.0, culture_h=CULTURE_H, seed=7).run_id
        unapproved = make_growth_run(records, "B-NEW", 30.0, culture_h=CULTURE_H, seed=8).run_id
        other = None
        if other_version:
            other = make_growth_run(records, "B-OTHER-V", 30.0, culture_h=CULTURE_H, seed=9).run_id
            library = RecipeLibrary(records.users, records.signatures, records.path)
            demo = library.import_recipe(load_recipe_file(DEMO), SYSTEM)
            records.writer.call(
                lambda ctx: ctx.conn.execute(
                    "UPDATE runs SET recipe_id = ? WHERE id = ?", (demo.id, other)
                )
            )
        supervisor = records.users.login("supervisor", DEMO_PASSWORD)
        for run_id in (*normal, slow, *([other] if other else [])):
            approve(records, supervisor, run_id)
    finally:
        records.close()
    return GoldenFolder(path, normal, slow, unapproved, other)


def copy_folder(folder: GoldenFolder, to: Path) -> GoldenFolder:
    """The same runs in a fresh data folder (a test that stores a band gets its own)."""
    shutil.copytree(folder.path, to, dirs_exist_ok=True)
    return GoldenFolder(to, folder.normal, folder.slow, folder.unapproved, folder.other_version)


@pytest.fixture(scope="module")
def golden_folder(tmp_path_factory) -> GoldenFolder:
    return make_golden_folder(tmp_path_factory.mktemp("golden"))


@pytest.fixture
def records(golden_folder, tmp_path):
    folder = copy_folder(golden_folder, tmp_path / "data")
    records = Records.open(folder.path, workstation="WS-TEST")
    yield records
    records.close()


def audit_actions(db: Path, action: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT user_name, object_id, new_value, reason FROM audit WHERE action = ?",
            (action,),
        ).fetchall()
    finally:
        conn.close()


def test_candidates_and_the_checks_name_the_run_that_may_not_go_in(golden_folder, records):
    f = golden_folder
    recipe = recipe_of(records.path, f.normal[0])
    assert [c.run_id for c in candidates(records, recipe)] == [*f.normal, f.slow]
    assert check_selection(records, f.normal) == recipe
    with pytest.raises(ValueError, match="at least 3 runs; 2 chosen"):
        check_selection(records, f.normal[:2])
    with pytest.raises(ValueError, match=f"run {f.unapproved} \\(B-NEW\\) has no valid approval"):
        check_selection(records, [*f.normal[:2], f.unapproved])
    with pytest.raises(ValueError, match=f"run {f.other_version} .* another recipe version"):
        check_selection(records, [*f.normal[:2], f.other_version])


def test_only_a_supervisor_with_the_password_stores_a_band(golden_folder, records):
    f = golden_folder
    operator = records.users.login("operator", DEMO_PASSWORD)
    with pytest.raises(PermissionDenied):
        select_golden(records, operator, DEMO_PASSWORD, f.normal, "first band", "operator")
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    with pytest.raises(AuthError):
        select_golden(records, supervisor, "wrong", f.normal, "first band", "supervisor")
    with pytest.raises(ValueError, match="reason"):
        select_golden(records, supervisor, DEMO_PASSWORD, f.normal, "  ", "supervisor")
    recipe = recipe_of(records.path, f.normal[0])
    assert history(records.path, recipe) == [] and not audit_actions(records.path, "golden.select")

    stored = select_golden(records, supervisor, DEMO_PASSWORD, f.normal, "first band", "supervisor")
    assert stored.run_ids == f.normal and stored.signature_valid
    assert active(records.path, recipe) == stored
    assert stored.summary.startswith(f"golden band of 3 runs ({', '.join(map(str, f.normal))})")
    ((who, where, runs, reason),) = audit_actions(records.path, "golden.select")
    assert (who, where, reason) == ("Demo Supervisor", f"recipe-version {recipe}", "first band")
    assert runs == f"runs {', '.join(map(str, f.normal))}"


def test_a_slow_run_leaves_the_band_and_the_band_runs_do_not(golden_folder, records):
    f = golden_folder
    assert band_report(records.path, f.slow) is None  # no band yet
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    stored = select_golden(records, supervisor, DEMO_PASSWORD, f.normal, "first band", "supervisor")
    report = band_report(records.path, f.slow)
    assert report is not None and report.golden == stored
    channels = {d.channel for d in report.deviations}
    assert {"log10_fold", "mu_h"} <= channels  # grew too slowly
    assert all(d.direction == "below" for d in report.deviations)
    sentences = report.sentences()
    assert any(s.startswith("log10 fold expansion below the golden band from ") for s in sentences)
    for deviation in report.deviations:
        assert deviation.end_s is None or deviation.end_s - deviation.start_s >= 7200
        assert f"from {deviation.start_s / 3600:.1f} h" in deviation_sentence(deviation)
    for run_id in f.normal:
        judged = band_report(records.path, run_id)
        assert judged is not None and judged.deviations == []


def test_the_batch_record_pdf_says_how_the_run_compares_with_its_band(
    golden_folder, records, tmp_path, qapp
):
    """(``qapp``: the PDF is laid out by Qt; pytest-qt's QApplication, so the widget
    tests after this one still have one.)"""
    from pypdf import PdfReader

    from app.reports.pdf import write_pdf
    from app.review.exceptions import find_exceptions
    from app.review.golden_select import band_judgement
    from app.review.record import load_run_record

    f = golden_folder
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    select_golden(records, supervisor, DEMO_PASSWORD, f.normal, "first band", "supervisor")
    record = load_run_record(records.path, f.slow)
    judged = band_judgement(records.path, f.slow, "CAR-T 10-day v1")
    assert judged.report is not None and judged.note.startswith("Judged against the golden band")
    pdf = tmp_path / "slow.pdf"
    write_pdf(record, find_exceptions(record), pdf, None, judged)
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert "Golden band Judged against the golden band of 3 runs" in text
    assert "deviation log10 fold expansion below the golden band" in text
    none = band_judgement(records.path, f.other_version, "Demo v1")
    assert none.report is None and none.note.startswith("No golden band for Demo v1 yet")


def test_a_run_is_judged_by_the_band_it_was_watched_against(golden_folder, records):
    """A band chosen later does not change how a run that had one is judged (nor its
    batch record); a run from before any band is judged by the band in force."""
    from app.store.audit import AuditEntry

    f = golden_folder
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    first = select_golden(records, supervisor, DEMO_PASSWORD, f.normal, "first", "supervisor")
    records.writer.call(
        lambda ctx: ctx.audit.append(
            AuditEntry(
                "1", "Ann Operator", "run.golden", "run", str(f.slow),
                new_value=f"band {first.id}: {first.summary}", run_id=f.slow,
            )
        )
    )  # fmt: skip
    # (the entry changes the slow run's record: written at its start in real life, it is
    # part of what its approval signs; the later band is of the same runs, chosen again)
    second = select_golden(records, supervisor, DEMO_PASSWORD, f.normal, "again", "supervisor")
    assert second.id != first.id
    report = band_report(records.path, f.slow)
    assert report is not None and report.golden == first and report.watched_live
    other = band_report(records.path, f.normal[2])
    assert other is not None and other.golden == second and not other.watched_live
