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
from app.ui import theme
from app.ui.hardware_calls import ServiceCalls
from app.ui.page_kit import plain_sentence, touch_button, touch_table
from app.ui.service.kit import ServicePageApi, ToolTab, big_label, coloured, utc_stamp

KIT_TEXT = (
    "Load the test kit first: water in the buffer and media bags "
    f"({TEST_KIT_FILL['buffer']:g} mL each), the door closed."
)


class SelfTestTab(ToolTab):
    title = "Self-test"
    needs_service = True
    progress_line = Signal(str)  # emitted on the hardware thread, shown on the GUI thread

    def __init__(self, page: ServicePageApi) -> None:
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
        self.call(
            ServiceCalls.selftest,
            self.progress_line.emit,
            done=self._finished,
            failed=self._aborted,
        )

    def cancel(self) -> None:
        calls = self.page.calls
        if self.running and calls is not None:
            calls.cancel_selftest()  # a threading.Event: the test stops at its next step
            self.cancel_button.setEnabled(False)
            self.page.say("Cancelling the self-test: the instrument is put back as it was…")

    def _add_progress(self, line: str) -> None:
        self.progress.addItem(line)
        self.progress.scrollToBottom()

    def _finished(self, report: SelfTestReport) -> None:
        self.running = False
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
        """The bundle written and audited by the service host, off the GUI thread."""
        if self.exporting:
            return
        path = self.exports / f"diagnostics-{utc_stamp()}.zip"
        self._exporting(True)
        self.call(
            ServiceCalls.export_diagnostics,
            self.data_dir,
            path,
            done=lambda names: self._exported(True, names, path, "zip"),
            failed=lambda exc: self._exported(False, exc, path, "zip"),
        )

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
