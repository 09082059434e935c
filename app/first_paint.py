"""Launch timing for packaging/measure_launch.py: with ``CELLDECK_REPORT_FIRST_PAINT=1``
in the environment the console prints one line on stdout when its main window is first
painted:

    CELLDECK_FIRST_PAINT <time.monotonic()>

The measuring process compares it with its own monotonic clock taken just before it
started the console (Linux's CLOCK_MONOTONIC is one clock for every process), so the
figure covers the whole launch: loading Python and Qt, the records, the simulator, the
window."""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

ENV = "CELLDECK_REPORT_FIRST_PAINT"
MARK = "CELLDECK_FIRST_PAINT"


class _FirstPaint(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            print(f"{MARK} {time.monotonic():.6f}", file=sys.stdout, flush=True)
            watched.removeEventFilter(self)
        return False


def report_first_paint(window: QWidget) -> None:
    """Watch ``window`` for its first paint when the environment asks for it."""
    if os.environ.get(ENV):
        watcher = _FirstPaint(window)  # lives as long as the window
        window.installEventFilter(watcher)
