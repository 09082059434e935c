"""celldeck export: the batch record of a completed simulated run as PDF and CSV, with
its exceptions; with the audit trail tampered, the export says verification failed."""

import csv
import getpass
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.batch.recipe import load_recipe_file
from app.review.csv_format import PREAMBLE_LINES
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
        assert signature.user_name in text and signature.ts_utc[11:19] in text
        assert signature.statement in text  # what was signed, in words
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


def copy_records(finished: Path, tmp_path: Path) -> Path:
    """The whole records folder (the database and what lives beside it, e.g. keys);
    nothing has it open between tests."""
    return Path(shutil.copytree(finished, tmp_path / "data"))


def exports(data: Path) -> list[tuple]:
    conn = sqlite3.connect(data / "celldeck.db")
    rows = conn.execute(
        "SELECT user_id, user_name, object_id, new_value, run_id, workstation FROM audit"
        " WHERE action = 'record.export' ORDER BY id"
    ).fetchall()
    conn.close()
    return rows


def app_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def export_as(data: Path, folder: Path, *who: str, stdin: str = "") -> subprocess.CompletedProcess:
    return app_cli(
        "export", "--data-dir", str(data), "--run", "1", "--csv", str(folder), *who, stdin=stdin
    )


def test_an_export_without_sign_in_names_the_os_account_in_the_audit_trail(finished, tmp_path):
    data = copy_records(finished, tmp_path)
    before = exports(data)  # (the first test's export of the shared records)
    result = export_as(data, tmp_path / "csv")
    assert result.returncode == 0, result.stderr
    account = getpass.getuser()
    assert f"exported by OS account {account}" in result.stdout
    [(user_id, name, run, what, run_id, workstation)] = exports(data)[len(before) :]
    assert (user_id, name, run, run_id) == (f"os:{account}", f"OS account {account}", "1", None)
    assert what == f"batch B-EXPORT-1: CSV {(tmp_path / 'csv').resolve()}"
    assert workstation == socket.gethostname()


def test_an_export_with_user_names_that_person_and_refuses_a_wrong_password(finished, tmp_path):
    data = copy_records(finished, tmp_path)  # only the automation accounts so far
    init = app_cli(
        *("users", "init", "--data-dir", str(data), "--username", "grace"),
        *("--full-name", "Grace Admin", "--password-stdin"),
        stdin="admin-pass-123\n",
    )
    assert init.returncode == 0, init.stderr
    before = exports(data)
    wrong = export_as(data, tmp_path / "x", "--user", "grace", "--password-stdin", stdin="no\n")
    assert wrong.returncode == 1 and "refused: user name or password not recognised" in wrong.stderr
    assert exports(data) == before and not (tmp_path / "x").exists()
    ok = export_as(
        data, tmp_path / "csv", "--user", "grace", "--password-stdin", stdin="admin-pass-123\n"
    )
    assert ok.returncode == 0 and "exported by Grace Admin" in ok.stdout, ok.stderr
    conn = sqlite3.connect(data / "celldeck.db")
    grace = conn.execute("SELECT id FROM users WHERE username = 'grace'").fetchone()[0]
    conn.close()
    [(user_id, name, *_)] = exports(data)[len(before) :]
    assert (user_id, name) == (str(grace), "Grace Admin")
