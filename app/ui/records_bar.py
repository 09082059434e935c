"""A strip under the top bar about the records: the start-up audit-chain check, the
DEMO marker, and, loud and red, any write that did not reach the disk."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from app.store.audit import VerifyResult
from app.ui import theme


class RecordsBar(QWidget):
    failure = Signal(str)  # emitted from the writer thread; delivered queued to the GUI

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.demo_label = QLabel("")
        self.status_label = QLabel("")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 0, 12, 0)
        layout.addWidget(self.demo_label)
        layout.addWidget(self.status_label, 1)
        self.failed = False
        self.failure.connect(self.show_failure)

    def show_check(
        self, check: VerifyResult, demo: bool, demo_password: str, has_users: bool = True
    ) -> None:
        if demo:
            self.demo_label.setText(f"  DEMO · simulated instrument · password {demo_password}  ")
            self.demo_label.setToolTip(
                "Demo records, kept apart from real ones. Accounts: operator, supervisor,"
                f" service, admin; password {demo_password}."
            )
            self.demo_label.setStyleSheet(
                f"background: {theme.INFO}; color: white; font-weight: 700; border-radius: 6px;"
                " padding: 4px;"
            )
        if check.ok and not has_users:
            self.status_label.setText(
                "No accounts yet: an administrator creates the first one with 'celldeck users init'"
            )
            self.status_label.setStyleSheet(f"color: {theme.WARN}; font-size: 18px;")
        elif check.ok:
            self.status_label.setText(f"Audit trail verified at start-up: {check.count} entries")
            self.status_label.setStyleSheet(f"color: {theme.MUTED}; font-size: 16px;")
        else:
            self._alarm(f"AUDIT TRAIL CHECK FAILED: {check.message}. Inform QA before use.")

    @Slot(str)
    def show_failure(self, message: str) -> None:
        self.failed = True
        self._alarm(f"RECORDS NOT BEING SAVED: {message}. Do not continue the process.")

    def _alarm(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(
            f"background: {theme.BAD}; color: white; font-size: 20px; font-weight: 700;"
            " border-radius: 6px; padding: 6px;"
        )
