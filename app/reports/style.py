"""What the screens and the paper share of the console's look: the trend colours (one
per channel, the same on the run screen, the review plots and the batch record) and the
bundled fonts (resources/fonts: no reliance on the workstation's). Here, below the
widgets, so that reports written without a screen draw with them too; app/ui/theme.py
takes them from here."""

from __future__ import annotations

import logging

from PySide6.QtGui import QFontDatabase

from app.paths import resources_dir

log = logging.getLogger(__name__)

TREND_COLOURS = {
    "temp": "#B23A48",
    "ph": "#1F4E99",
    "do": "#2E7D32",
    "co2": "#8A6D00",
    "pressure": "#6A3D9A",
    "vcd": "#00695C",
}


def load_fonts() -> list[str]:
    """Register the bundled fonts with Qt; returns the families found."""
    families: list[str] = []
    for path in sorted((resources_dir() / "fonts").glob("*.ttf")):
        font_id = QFontDatabase.addApplicationFont(str(path))
        if font_id < 0:
            log.error("font %s could not be loaded", path)  # visible, never silent
            continue
        families += QFontDatabase.applicationFontFamilies(font_id)
    return families
