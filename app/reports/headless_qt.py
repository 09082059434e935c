"""A Qt GUI application for writing reports without a screen (the CLIs): PDF writing
and image painting need one, a window does not."""

from __future__ import annotations

import os
import sys

from PySide6.QtGui import QGuiApplication

from app.reports.style import load_fonts


def ensure_gui_application() -> QGuiApplication:
    """The running application, or a new offscreen one with the bundled fonts."""
    existing = QGuiApplication.instance()
    if existing is not None:
        return existing
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no screen needed
    app = QGuiApplication(sys.argv[:1])
    load_fonts()
    return app
