"""The Self-test tab: the scripted check of every actuator and sensor
(app/service/selftest.py), run on the hardware thread with its progress shown line by
line, the report on screen (pass or fail per item, what was measured and what passing
needs, a verdict in green or red) and as a dated PDF; and the diagnostics bundle for the
vendor (app/service/diagnostics.py), which lives here because it is the other thing a
service engineer sends away.

The test needs the test kit (water in the buffer and media bags), and the screen says so
before Run.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QStackedWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.service.selftest import TEST_KIT_FILL, SelfTestReport
from app.store.audit import AuditEntry
from app.ui import theme
from app.ui.page_kit import plain_sentence, touch_button, touch_table
from app.ui.service.calibration_tab import ToolTab, big_label, coloured, utc_stamp
from app.ui.service.page import ServicePage

KIT_TEXT = (
    "Load the test kit first: water in the buffer and media bags "
    f"({TEST_KIT_FILL['buffer']:g} mL each), the door closed."
)


class SelfTestTab(ToolTab):
    title = "Self-test"
    needs_service = True
    progress_line = Signal(str)  # emitted on the hardware thread, shown on the GUI thread

    def __init__(self, page: ServicePage) -> None:
        super().__init__(page)
        self.running = False
        self.report: SelfTestReport | None = None
        self.exporting = False
        self.last_export = None  # the file the last export wrote
        self.progress_line.connect(self._add_progress)

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 4, 0, 0)
        column.setSpacing(8)
        self.kit = big_label(KIT_TEXT, 20)
        self.kit.setAccessibleName("test kit")
        column.addWidget(self.kit)
        row = QHBoxLayout()
        row.setSpacing(12)
        self.run_button = touch_button("Run self-test", "run self-test", "Primary")
        self.run_button.setMinimumWidth(240)
        self.run_button.clicked.connect(self.run)
        self.cancel_button = touch_button("Cancel test", "cancel self-test", "Danger")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.pdf_button = touch_button("Export PDF", "export self-test pdf")
        self.pdf_button.clicked.connect(self.export_pdf)
        self.bundle_button = touch_button("Export diagnostics", "export diagnostics")
        self.bundle_button.clicked.connect(self.export_diagnostics)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        row.addWidget(self.pdf_button)
        row.addWidget(self.bundle_button)
        column.addLayout(row)
        self.verdict = big_label("", 26, bold=True)
        self.verdict.setAccessibleName("verdict")
        column.addWidget(self.verdict)
        self.views = QStackedWidget()
        self.progress = QListWidget()
        self.progress.setAccessibleName("self-test progress")
        self.progress.setStyleSheet("font-size: 20px;")
        self.views.addWidget(self.progress)
        self.table = touch_table(
            ("Result", "Item", "Measured", "Needed"),
            "self-test report",
            QAbstractItemView.SelectionMode.NoSelection,
            3,
        )
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        for col in (1, 2, 3):  # the texts wrap rather than run off the panel
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header.sectionResized.connect(lambda *_: self.table.resizeRowsToContents())
        self.views.addWidget(self.table)
        column.addWidget(self.views, 1)
        self._update()

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        if self.running:
            return
        self.running = True
        self.report = None
        self.progress.clear()
        self.views.setCurrentWidget(self.progress)
        self.verdict.setText("Self-test running…")
        coloured(self.verdict, theme.INFO, 26)
        self.page.say(
            "Self-test running: the instrument moves water, spins the rotor and warms the "
            "chamber by 1 °C. It takes a few minutes."
        )
        self._update()
        self.call("selftest", self.progress_line.emit, done=self._finished, failed=self._aborted)

    def cancel(self) -> None:
        host = getattr(self.page.calls, "host", None)
        if self.running and host is not None:
            host.cancel_selftest.set()  # a threading.Event: the test stops at its next step
            self.cancel_button.setEnabled(False)
            self.page.say("Cancelling the self-test: the instrument is put back as it was…")

    def _add_progress(self, line: str) -> None:
        self.progress.addItem(line)
        self.progress.scrollToBottom()

    def _finished(self, report: SelfTestReport) -> None:
        self.running = False
        identity = self.identity
        if report.instrument == "?" and identity is not None:
            # the test joined the link after the instrument had identified itself
            report.instrument = f"{identity.serial} firmware {identity.firmware}"
        self.report = report
        self._show_report(report)
        self.page.say("Self-test finished: " + ("PASS." if report.passed else "FAIL."))
        self._update()

    def _aborted(self, exc: BaseException) -> None:
        self.running = False
        self.verdict.setText(f"No verdict: {plain_sentence(exc)}")
        coloured(self.verdict, theme.BAD, 26)
        self._update()

    def _show_report(self, report: SelfTestReport) -> None:
        failed = len(report.failed)
        total = len(report.items)
        when = f"{report.instrument.split()[0]}, {report.finished_utc[:16]} UTC"
        if report.passed:
            self.verdict.setText(f"PASS: all {total} items passed — {when}")
        else:
            self.verdict.setText(f"FAIL: {failed} of {total} items failed — {when}")
        coloured(self.verdict, theme.GOOD if report.passed else theme.BAD, 26)
        self.table.setRowCount(len(report.items))
        # Failed items first: what the engineer must act on is at the top.
        for row, item in enumerate(sorted(report.items, key=lambda i: i.passed)):
            mark = QTableWidgetItem("pass" if item.passed else "FAIL")
            mark.setForeground(QColor(theme.GOOD if item.passed else theme.BAD))
            font = mark.font()
            font.setBold(True)
            mark.setFont(font)
            self.table.setItem(row, 0, mark)
            for col, text in enumerate((item.name, item.measured, item.expected), 1):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeRowsToContents()
        self.views.setCurrentWidget(self.table)

    def _update(self) -> None:
        self.run_button.setEnabled(not self.running)
        self.cancel_button.setVisible(self.running)
        self.cancel_button.setEnabled(self.running)
        self.pdf_button.setEnabled(self.report is not None and not self.exporting)
        self.bundle_button.setEnabled(not self.exporting)

    def service_changed(self, active: bool) -> None:
        self._update()

    # ------------------------------------------------------------------ exports
    def export_pdf(self) -> None:
        report = self.report
        if report is None or self.exporting:
            return
        from app.reports.selftest_pdf import write_selftest_pdf

        path = self.exports / f"selftest-{utc_stamp()}.pdf"

        def write() -> int:  # QPdfWriter needs no widgets: off the GUI thread
            path.parent.mkdir(parents=True, exist_ok=True)
            return write_selftest_pdf(report, path)

        self._exporting(True)
        self.background.submit(write, lambda ok, value: self._exported(ok, value, path, "PDF"))

    def export_diagnostics(self) -> None:
        """The link's statistics from the hardware thread, then the zip in the background."""
        if self.exporting:
            return
        self._exporting(True)
        self.call(
            "link_statistics",
            done=self._write_bundle,
            failed=lambda _exc: self._exporting(False),
        )

    def _write_bundle(self, stats: dict) -> None:
        from app.service.diagnostics import write_bundle

        session = self.page.session()
        records = self.records
        identity = self.identity
        path = self.exports / f"diagnostics-{utc_stamp()}.zip"
        text = (
            f"model {identity.model}\nserial {identity.serial}\nfirmware {identity.firmware}\n"
            f"boot {identity.boot}"
            if identity is not None
            else "the instrument had not identified itself"
        )
        data_dir, db_path = self.data_dir, records.path

        def write() -> list[str]:
            names = write_bundle(data_dir, db_path, path, stats, text)
            if session is not None:  # records leave the system: who, what, when
                records.writer.record(
                    AuditEntry(
                        str(session.user_id),
                        session.full_name,
                        "diagnostics.export",
                        "instrument",
                        identity.serial if identity else "?",
                        new_value=path.name,
                    )
                )
            return names

        self.background.submit(write, lambda ok, value: self._exported(ok, value, path, "zip"))

    def _exporting(self, busy: bool) -> None:
        self.exporting = busy
        self._update()

    def _exported(self, ok: bool, value: Any, path, kind: str) -> None:
        self._exporting(False)
        if not ok:
            self.page.say(f"{kind} not written: {plain_sentence(value)}", error=True)
        elif kind == "PDF":
            self.page.say(f"Wrote {path} ({value} page{'s' if value != 1 else ''}).")
        else:
            self.page.say(f"Wrote {path} ({len(value)} files, no patient or batch data).")
        self.last_export = path if ok else None
