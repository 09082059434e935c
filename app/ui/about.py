"""About CellDeck: which software this is (version, git commit, build date, and whether
it runs from an installed bundle or from source) and what it runs on (Qt, PySide6,
Python). Opened from the top bar's About button; what a service engineer or an auditor
reads off the screen to match a workstation with its validation documents."""

from __future__ import annotations

import html
import platform
import sys

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from app.ui.dialogs import TouchDialog
from app.version import build_info

SOURCES = {
    "bundle": "installed bundle",
    "checkout": "source checkout",
    "package": "Python package",
}


def about_rows() -> list[tuple[str, str]]:
    """(label, value) pairs shown in the dialog (also what the tests read)."""
    info = build_info()
    return [
        ("Version", info.version),
        ("Commit", info.commit),
        ("Built", info.build_date or "not built (running from source)"),
        ("Installed as", SOURCES.get(info.source, info.source)),
        (
            "Runs on",
            f"Qt {qVersion()} · PySide6 {PySide6.__version__} · "
            f"Python {platform.python_version()} · {sys.platform}",
        ),
    ]


class AboutDialog(TouchDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("About CellDeck", parent)
        self.setMinimumWidth(640)
        self.add_title("About CellDeck")
        self.add_message("Operator console of the closed cell-processing instrument.")
        self.rows: dict[str, QLabel] = {}
        for label, value in about_rows():
            self.rows[label] = self.add_message(f"<b>{label}:</b> {html.escape(value)}")
        self.body.addStretch(1)
        self.close_button = self.make_button("Close", "Close", "Primary")
        self.close_button.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.close_button)
        self.body.addLayout(row)
