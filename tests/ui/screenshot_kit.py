"""What the screenshot scripts (screenshots.py, screenshots_analytics.py) share: saving
the window at each size, and going on once a condition holds on the event loop."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

OUT = Path(__file__).parents[2] / "screenshots"
SIZES = ((1920, 1080), (1280, 800))


def shoot(app: QApplication, window: QWidget, name: str, before: Callable[[], None] | None = None):
    """``window`` at each of ``SIZES`` into ``OUT/<name>-<w>x<h>.png`` (``before``: called
    after each resize, e.g. to redraw plots at once)."""
    for width, height in SIZES:
        window.resize(width, height)
        app.processEvents()
        if before is not None:
            before()
            app.processEvents()
        window.grab().save(str(OUT / f"{name}-{width}x{height}.png"))
    print(f"saved {name}", flush=True)


def when(
    app: QApplication, condition: Callable[[], bool], then: Callable[[], None], limit_s: float
) -> None:
    """Call ``then`` once ``condition`` holds (checked every 0.1 s on the event loop); quit
    with a message after ``limit_s``."""
    waited = [0.0]

    def check() -> None:
        if condition():
            then()
        elif waited[0] > limit_s:
            print(f"gave up waiting for {then.__name__}", file=sys.stderr)
            app.quit()
        else:
            waited[0] += 0.1
            QTimer.singleShot(100, check)

    check()
