"""The self-test report as a dated PDF with pass or fail per item: what a service
engineer files as an operational-qualification aid. It names the console software that
ran the test (version, commit, build date) in its header and, like every CellDeck PDF,
in the footer."""

from __future__ import annotations

import html
from pathlib import Path

from app.reports.pdf import write_html_pdf
from app.service.selftest import SelfTestReport
from app.version import build_info


def selftest_html(report: SelfTestReport) -> str:
    verdict = "PASS" if report.passed else f"FAIL: {', '.join(report.failed)}"
    rows = "".join(
        f"<tr><td>{n}</td><td>{html.escape(item.name)}</td>"
        f"<td><b>{'pass' if item.passed else 'FAIL'}</b></td>"
        f"<td>{html.escape(item.measured)}</td><td>{html.escape(item.expected)}</td></tr>"
        for n, item in enumerate(report.items, 1)
    )
    return (
        "<h2>Instrument self-test</h2>"
        f"<p>Instrument: {html.escape(report.instrument)}<br>"
        f"Console software: {html.escape(build_info().summary())}<br>"
        f"Started: {report.started_utc}<br>Finished: {report.finished_utc}<br>"
        f"Verdict: <b>{html.escape(verdict)}</b></p>"
        "<table border='1' cellspacing='0' cellpadding='4' width='100%'>"
        "<tr><th>#</th><th>Item</th><th>Result</th><th>Measured</th><th>Needed</th></tr>"
        f"{rows}</table>"
        "<p>Performed by: ______________________ &nbsp; Date: ____________ &nbsp; "
        "Signature: ______________________</p>"
    )


def write_selftest_pdf(report: SelfTestReport, path: Path) -> int:
    return write_html_pdf(
        selftest_html(report),
        path,
        f"Self-test {report.instrument}",
        f"Self-test · {report.instrument} · {report.started_utc}",
    )
