"""Version and build information: where each fact comes from (a bundle's build file, a
source checkout's git, the package metadata), ``celldeck --version``, About, and the
exported records that carry it."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from app import version
from app.version import BuildInfo, build_info, version_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_info(monkeypatch):
    """build_info() recomputed for the test (it is cached for the process)."""
    monkeypatch.delenv("CELLDECK_BUILD_INFO", raising=False)
    build_info.cache_clear()
    yield
    build_info.cache_clear()


def write_build_file(folder: Path, **fields) -> Path:
    path = folder / version.BUILD_INFO_NAME
    path.write_text(json.dumps(fields), encoding="utf-8")
    return path


def test_the_version_is_the_one_in_pyproject():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version.__version__ == declared
    assert declared == version.FALLBACK_VERSION  # kept in step for installs without metadata


def test_a_source_checkout_reports_its_git_commit(fresh_info):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    info = build_info()
    assert info.source == "checkout" and info.build_date == ""
    assert info.commit.removesuffix("+dirty") == head
    assert info.summary() == f"CellDeck {info.version} · commit {info.commit} · from source"
    assert version_text().startswith(f"celldeck {info.version} (commit {info.commit}, not built")


def test_a_bundle_reads_the_build_file_written_at_build_time(fresh_info, monkeypatch, tmp_path):
    write_build_file(
        tmp_path, version="2.3.4", commit="0123456789ab", build_date="2026-11-30T10:00:00Z"
    )
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    info = build_info()
    assert info == BuildInfo("2.3.4", "0123456789ab", "2026-11-30T10:00:00Z", "bundle")
    assert info.summary() == "CellDeck 2.3.4 · commit 0123456789ab · built 2026-11-30T10:00:00Z"
    assert version_text() == "celldeck 2.3.4 (commit 0123456789ab, built 2026-11-30T10:00:00Z)"


def test_a_damaged_build_file_falls_back_instead_of_failing(fresh_info, monkeypatch, tmp_path):
    (tmp_path / version.BUILD_INFO_NAME).write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("CELLDECK_BUILD_INFO", str(tmp_path / version.BUILD_INFO_NAME))
    info = build_info()
    assert info.version == version.__version__ and info.source in ("checkout", "package")


def test_git_commit_outside_a_checkout_is_unknown(tmp_path):
    assert version.git_commit(tmp_path) == version.UNKNOWN


def test_celldeck_version_prints_version_commit_and_date(fresh_info, monkeypatch, tmp_path):
    monkeypatch.setenv(
        "CELLDECK_BUILD_INFO",
        str(write_build_file(tmp_path, version="9.9.9", commit="c0ffee", build_date="D")),
    )
    result = subprocess.run(
        [sys.executable, "-m", "app", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "celldeck 9.9.9 (commit c0ffee, built D)"


def test_about_shows_version_commit_and_build_date_from_the_top_bar(qtbot, fresh_info):
    from PySide6.QtCore import Qt

    from app.ui.top_bar import TopBar

    bar = TopBar()
    qtbot.addWidget(bar)
    bar.show()
    qtbot.mouseClick(bar.clock, Qt.MouseButton.LeftButton)  # a tap on the clock
    dialog = bar.about_dialog
    assert dialog is not None and dialog.isVisible()
    info = build_info()
    texts = {label: row.text() for label, row in dialog.rows.items()}
    assert info.version in texts["Version"] and info.commit in texts["Commit"]
    assert "Qt 6." in texts["Runs on"]
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()


def test_the_self_test_pdf_names_the_software(fresh_info, tmp_path):
    from pypdf import PdfReader

    from app.reports.headless_qt import ensure_gui_application
    from app.reports.selftest_pdf import write_selftest_pdf
    from app.service.selftest import SelfTestReport

    ensure_gui_application()
    report = SelfTestReport(
        instrument="CD-1000 SIM-0001",
        started_utc="2026-11-30T10:00:00Z",
        finished_utc="2026-11-30T10:02:00Z",
        items=[],
    )
    write_selftest_pdf(report, tmp_path / "selftest.pdf")
    pages = PdfReader(tmp_path / "selftest.pdf").pages
    text = " ".join(" ".join(page.extract_text().split()) for page in pages)
    summary = build_info().summary()
    assert text.count(summary) >= 2  # in the header and in every page's footer
    assert PdfReader(tmp_path / "selftest.pdf").metadata.creator == summary


def test_the_audit_trail_export_names_the_software(fresh_info, tmp_path):
    from app.records import Records
    from app.review.audit_export import PREAMBLE_LINES, export_audit_selection
    from app.store.audit_query import AuditFilter

    records = Records.open(tmp_path)
    try:
        done = export_audit_selection(records.path, AuditFilter(), tmp_path / "a.csv", "QA")
    finally:
        records.close()
    lines = done.path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"# CellDeck audit trail export ({build_info().summary()})"
    assert lines[PREAMBLE_LINES].startswith("id,utc,user,action")
