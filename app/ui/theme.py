"""Look of the console, after ISA-101 high-performance HMI practice: calm grey
surfaces, dark text, colour kept for state and abnormal conditions; sizes for a
gloved operator reading from 1.5 m."""

from __future__ import annotations

BACKGROUND = "#D9DCE0"
SURFACE = "#F3F4F6"
TEXT = "#15191E"
MUTED = "#4A5260"
STALE = "#9AA1AB"  # last-known values while the link is down
GOOD = "#2E7D32"
WARN = "#B26A00"
BAD = "#B71C1C"
INFO = "#1F4E99"

TREND_COLOURS = {
    "temp": "#B23A48",
    "ph": "#1F4E99",
    "do": "#2E7D32",
    "pressure": "#6A3D9A",
}

MIN_TOUCH_PX = 60

STYLESHEET = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: 18px; }}
QFrame#Panel {{ background: {SURFACE}; border-radius: 10px; }}
QLabel#PanelTitle {{ color: {MUTED}; font-size: 17px; font-weight: 600;
                     background: transparent; letter-spacing: 1px; }}
QLabel#ChannelName {{ color: {MUTED}; font-size: 16px; background: transparent; }}
QLabel#ChannelValue {{ font-size: 23px; font-weight: 600; background: transparent; }}
QLabel#ChannelUnit {{ color: {MUTED}; font-size: 14px; background: transparent; }}
QLabel#Clock {{ font-size: 26px; font-weight: 600; }}
QLabel#Identity {{ font-size: 18px; color: {MUTED}; }}
QLabel#LinkStats {{ font-size: 15px; color: {MUTED}; }}
QPushButton {{ min-height: {MIN_TOUCH_PX}px; min-width: 120px; font-size: 20px;
               border-radius: 8px; background: {SURFACE}; border: 2px solid {MUTED}; }}
"""

LINK_COLOURS = {
    "CONNECTED": GOOD,
    "CONNECTING": INFO,
    "RECONNECTING": WARN,
    "LOST": BAD,
    "DISCONNECTED": BAD,
}
