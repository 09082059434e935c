"""celldeck export: the batch record of a completed simulated run as PDF and CSV, with
its exceptions; with the audit trail tampered, the export says verification failed."""

import csv
import re
import sqlite3
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.batch.recipe import load_recipe_file
from app.reports.csv_export import PREAMBLE_LINES
from app.review.exceptions import find_exceptions
from app.review.record import load_run_record
from app.version import build_info
from tests.headless import RECIPES, celldeck, complete_demo_run


def pdf_text(path: Path) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    return re.sub(r"\s+", " ", text.replace("\ufb01", "fi").replace("\ufb00", "ff"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A Demo run to Complete on the simulator, headless and signed by automation."""
    data = tmp_path_factory.mktemp("export")
    complete_demo_run(data, "B-EXPORT-1")
    return data


def test_export_writes_a_pdf_with_every_step_and_signature_and_the_csvs(finished, tmp_path):
    pdf, folder = tmp_path / "record.pdf", tmp_path / "csv"
    result = celldeck(
        "export",
        "--data-dir",
        str(finished),
        "--batch",
        "B-EXPORT-1",
        "--pdf",
        str(pdf),
        "--csv",
        str(folder),
    )
    assert result.returncode == 0, result.stderr
    assert "audit trail verified" in result.stdout
    text = pdf_text(pdf)
    assert "B-EXPORT-1" in text and "verified" in text
    for step in load_recipe_file(RECIPES / "demo.toml").steps:
        assert step.name in text, step.name
    record = load_run_record(finished / "celldeck.db", 1)
    assert record.signatures  # the sign-off step
    for signature in record.signatures:
        assert signature.user_name in text and signature.ts_utc in text
        assert signature.meaning in text
    pages = len(PdfReader(pdf).pages)
    assert f"page {pages} of {pages}" in text and record.content_hash() in text
    software = build_info().summary()
    assert software in text  # the CellDeck that wrote the record, on every page
    with (folder / "samples.csv").open() as f:
        preamble = [f.readline() for _ in range(PREAMBLE_LINES)]
        rows = list(csv.reader(f))
    assert preamble[0].startswith("# CellDeck run 1: telemetry samples") and software in preamble[0]
    assert rows[0][:4] == ["process_ms", "boot", "instrument_ms", "utc"] and len(rows) > 100
    with (folder / "audit.csv").open() as f:
        preamble = [f.readline() for _ in range(PREAMBLE_LINES)]
        audit = list(csv.DictReader(f))
    assert "(batch B-EXPORT-1): audit trail" in preamble[0] and software in preamble[0]
    assert len(audit) == len(record.audit) and audit[-1]["action"] == "run.state"


def test_exceptions_name_their_kind_and_place(finished):
    record = load_run_record(finished / "celldeck.db", 1)
    exceptions = find_exceptions(record)
    kinds = {e.kind for e in exceptions}
    assert "entry" in kinds  # the sample count typed in at step 4
    assert "signature" not in kinds  # the sign-off was signed
    entry = next(e for e in exceptions if e.kind == "entry")
    assert entry.step == 4 and entry.audit_id is not None


def test_a_tampered_audit_trail_makes_the_export_say_verification_failed(finished, tmp_path):
    copy = tmp_path / "data"
    copy.mkdir()
    source = sqlite3.connect(finished / "celldeck.db")
    target = sqlite3.connect(copy / "celldeck.db")
    source.backup(target)
    source.close()
    target.execute("DROP TRIGGER audit_no_update")
    target.execute("UPDATE audit SET new_value = 'data: 9.99' WHERE action = 'step.answer'")
    target.commit()
    target.close()
    pdf = tmp_path / "tampered.pdf"
    result = celldeck("export", "--data-dir", str(copy), "--run", "1", "--pdf", str(pdf))
    assert result.returncode == 4 and "VERIFICATION FAILED" in result.stdout
    assert "VERIFICATION FAILED" in pdf_text(pdf)
