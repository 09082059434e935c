"""Look of the console, after ISA-101 high-performance HMI practice: calm grey
surfaces, dark text, colour kept for state and abnormal conditions; sizes for a
gloved operator reading from 1.5 m. The stylesheet lives in resources/styles; the
fonts are bundled in resources/fonts (no reliance on the workstation's fonts)."""

from __future__ import annotations

import logging

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QApplication

from app.paths import resources_dir

log = logging.getLogger(__name__)

BACKGROUND = "#D9DCE0"
SURFACE = "#F3F4F6"
TEXT = "#15191E"
MUTED = "#4A5260"
STALE = "#9AA1AB"  # last-known values while the link is down
GOOD = "#2E7D32"
WARN = "#B26A00"
BAD = "#B71C1C"
INFO = "#1F4E99"
LOW_PRIORITY = "#8A6D00"  # alarms: high BAD, medium WARN, low this

PALETTES = {
    "standard": {
        "BACKGROUND": BACKGROUND,
        "SURFACE": SURFACE,
        "TEXT": TEXT,
        "MUTED": MUTED,
        "STALE": STALE,
        "PRESSED": "#C4C9D0",
        "BAR": "#2B323C",
        "BAR_TEXT": "#F3F4F6",
        "BAR_ACTIVE": INFO,
        "INFO": INFO,
        "WARN": WARN,
        "BAD": BAD,
        "GOOD": GOOD,
    },
    # Cleanroom high contrast: white surfaces, black text, heavier borders.
    "high-contrast": {
        "BACKGROUND": "#FFFFFF",
        "SURFACE": "#FFFFFF",
        "TEXT": "#000000",
        "MUTED": "#000000",
        "STALE": "#6B6B6B",
        "PRESSED": "#BDBDBD",
        "BAR": "#000000",
        "BAR_TEXT": "#FFFFFF",
        "BAR_ACTIVE": "#0033AA",
        "INFO": "#0033AA",
        "WARN": "#8A4B00",
        "BAD": "#A00000",
        "GOOD": "#1B5E20",
    },
}

PRIORITY_COLOURS = {"high": BAD, "medium": WARN, "low": LOW_PRIORITY}

TREND_COLOURS = {
    "temp": "#B23A48",
    "ph": "#1F4E99",
    "do": "#2E7D32",
    "co2": "#8A6D00",
    "pressure": "#6A3D9A",
    "vcd": "#00695C",
}

MIN_TOUCH_PX = 60

LINK_COLOURS = {
    "CONNECTED": GOOD,
    "CONNECTING": INFO,
    "RECONNECTING": WARN,
    "LOST": BAD,
    "DISCONNECTED": BAD,
}


def stylesheet(name: str = "standard") -> str:
    text = (resources_dir() / "styles" / "console.qss").read_text(encoding="utf-8")
    for key, value in PALETTES[name].items():
        text = text.replace(f"@{key}@", value)
    return text


STYLESHEET = stylesheet()


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


def apply(app: QApplication, name: str = "standard") -> None:
    """Fonts and stylesheet for the whole application."""
    load_fonts()
    app.setStyleSheet(stylesheet(name))
