"""Look of the console, after ISA-101 high-performance HMI practice: calm grey
surfaces, dark text, colour kept for state and abnormal conditions; sizes for a
gloved operator reading from 1.5 m. The stylesheet lives in resources/styles; the
fonts are bundled in resources/fonts (no reliance on the workstation's fonts). The
trend colours and the font loading are shared with the reports (app/reports/style.py)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from app.paths import resources_dir
from app.reports.style import TREND_COLOURS as TREND_COLOURS  # the screens' too
from app.reports.style import load_fonts

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


def apply(app: QApplication, name: str = "standard") -> None:
    """Fonts and stylesheet for the whole application."""
    load_fonts()
    app.setStyleSheet(stylesheet(name))
