"""The kit schematic's facts and layout, without painting: the kit's vessels and the
order they are drawn in, the values as text, how full a vessel is, the fonts, and where
everything goes for a given size (``layout``). Used by the widget (app/ui/schematic.py)
and its scene (app/ui/schematic_scene.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont, QFontMetricsF

from app.batch.recipe import KITS

DEFAULT_KIT = KITS["CART-STD"]
BAGS: tuple[str, ...] = ("source", "media", "buffer", "waste", "product")
DRAW_ORDER: tuple[str, ...] = ("source", "buffer", "waste", "product", "media")
"""Left to right; media sits next to the chamber so that its feed line crosses nothing."""
BAG_LABELS = {name: name.capitalize() for name in BAGS}

UNKNOWN = "—"
PUMP_STOPPED_BELOW = 0.05  # mL/min; the channel has one decimal
ROTOR_STOPPED_BELOW = 1.0  # rpm

DESIGN_W, DESIGN_H = 900, 420  # the layout's reference size; fonts scale from it
MIN_W, MIN_H = 640, 360
NUMBER_MIN_PX = 18
LABEL_MIN_PX = 16
WIDEST_WEIGHT = "0000 g"  # the layout is sized for these, so it does not move with values
WIDEST_RATE = "000.0 mL/min"
WIDEST_TEMP = "00.0 °C"
WIDEST_ROTOR = "0000 rpm"


# --------------------------------------------------------------------------- pure text


def channel_value(values: Mapping[str, float], name: str) -> float | None:
    value = values.get(name)
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def format_weight(grams: float | None) -> str:
    return UNKNOWN if grams is None else f"{round(grams) + 0:.0f} g"


def format_rate(rate: float) -> str:
    """Magnitude of a pump rate: "60 mL/min", "12.5 mL/min" (direction is drawn)."""
    text = f"{abs(rate):.1f}"
    return f"{text.removesuffix('.0')} mL/min"


def pump_running(rate: float | None) -> bool:
    return rate is not None and abs(rate) >= PUMP_STOPPED_BELOW


def pump_text(rate: float | None) -> str:
    """ "running 60 mL/min forward" (into the chamber), "... reverse", "stopped"."""
    if rate is None:
        return UNKNOWN
    if not pump_running(rate):
        return "stopped"
    return f"running {format_rate(rate)} {'forward' if rate > 0 else 'reverse'}"


def format_temp(celsius: float | None) -> str:
    return UNKNOWN if celsius is None else f"{celsius + 0.0:.1f} °C".replace("-0.0", "0.0")


def format_rotor(rpm: float | None) -> str:
    if rpm is None:
        return UNKNOWN
    return "stopped" if abs(rpm) < ROTOR_STOPPED_BELOW else f"{abs(rpm):.0f} rpm"


def level_of(
    values: Mapping[str, float],
    capacities: Mapping[str, float],
    chamber_capacity: float,
    vessel: str,
) -> float | None:
    """How full a bag or the chamber is drawn, 0..1 (None: unknown or not in kit)."""
    if vessel == "chamber":
        weight, capacity = channel_value(values, "w_chamber"), chamber_capacity
    else:
        weight, capacity = channel_value(values, f"w_{vessel}"), capacities.get(vessel)
    if weight is None or capacity is None:
        return None
    return min(1.0, max(0.0, weight / capacity))


# --------------------------------------------------------------------------- fonts


def font(base: float, floor: int, scale: float, bold: bool = False) -> QFont:
    """The console's font at ``base`` px of the design size, scaled, never below ``floor``."""
    f = QFont("DejaVu Sans")
    f.setPixelSize(max(floor, round(base * scale)))
    f.setBold(bold)
    return f


def fit_font(text: str, font: QFont, width: float, floor: int) -> QFont:
    """``font``, made smaller (not below ``floor`` px) until ``text`` fits ``width``."""
    font = QFont(font)
    while font.pixelSize() > floor and QFontMetricsF(font).horizontalAdvance(text) > width:
        font.setPixelSize(font.pixelSize() - 1)
    return font


# --------------------------------------------------------------------------- layout


@dataclass
class Geometry:
    """Positions (px) of one paint, computed by ``layout``."""

    scale: float
    width: float
    height: float
    margin: float = 0.0
    tube: float = 0.0
    pump_r: float = 0.0
    valve_size: float = 0.0
    info_left: float = 0.0
    info_w: float = 0.0
    chamber: QRectF = field(default_factory=QRectF)
    feed_x: float = 0.0
    feed_y: float = 0.0
    valve_feed_x: float = 0.0
    pump2_y: float = 0.0
    pump2_text_left: float = 0.0
    manifold_y: float = 0.0
    pump1_x: float = 0.0
    col_w: float = 0.0
    centres: dict[str, float] = field(default_factory=dict)
    name_top: float = 0.0
    name_h: float = 0.0
    bag_top: float = 0.0
    bag_bottom: float = 0.0
    bag_w: float = 0.0
    weight_top: float = 0.0
    weight_h: float = 0.0
    valve_y: float = 0.0
    label_font: QFont = field(default_factory=QFont)
    number_font: QFont = field(default_factory=QFont)
    pump_font: QFont = field(default_factory=QFont)
    weight_font: QFont = field(default_factory=QFont)


def layout(w: float, h: float) -> Geometry:
    """Where everything goes. The right-hand side (pump 2, chamber and its values)
    is sized from the widest text it must hold; the bags share what is left."""
    s = min(w / DESIGN_W, h / DESIGN_H)
    g = Geometry(scale=s, width=w, height=h)
    g.label_font = font(19, LABEL_MIN_PX, s, bold=True)
    g.number_font = font(27, NUMBER_MIN_PX, s, bold=True)
    g.pump_font = font(23, NUMBER_MIN_PX, s, bold=True)
    label, number, pump = (QFontMetricsF(f) for f in (g.label_font, g.number_font, g.pump_font))
    g.margin = max(6.0, 10 * s)
    g.tube = max(3.0, 5 * s)
    g.pump_r = max(20.0, 29 * s)
    g.valve_size = max(24.0, 32 * s)
    right = w - g.margin

    g.info_w = max(
        label.horizontalAdvance("Temperature"),
        number.horizontalAdvance(WIDEST_ROTOR),
        number.horizontalAdvance(WIDEST_TEMP),
        number.horizontalAdvance(WIDEST_WEIGHT),
    )
    g.info_left = right - g.info_w
    chamber_w = max(56.0, 0.095 * w)
    chamber_right = g.info_left - max(8.0, 14 * s)
    pump2_text = pump.horizontalAdvance(WIDEST_RATE)
    gap = max(6.0, 10 * s)
    overflow = chamber_right - chamber_w / 2 + g.pump_r + gap + pump2_text - right
    if overflow > 0:  # pump 2's rate needs more room than the values column
        chamber_right -= overflow
    g.chamber = QRectF(chamber_right - chamber_w, 0.44 * h, chamber_w, 0.53 * h)
    g.feed_x = g.chamber.center().x()
    g.pump2_y = 0.30 * h
    g.pump2_text_left = g.feed_x + g.pump_r + gap

    g.manifold_y = 0.80 * h
    g.pump1_x = g.chamber.left() - max(22.0, 34 * s) - g.pump_r
    pump1_label = label.horizontalAdvance("Pump 1") / 2
    media_x = g.pump1_x - max(g.pump_r, pump1_label + g.valve_size / 2) - max(8.0, 14 * s)
    g.col_w = (media_x - g.margin) / (len(DRAW_ORDER) - 0.5)
    g.centres = {name: g.margin + g.col_w * (i + 0.5) for i, name in enumerate(DRAW_ORDER)}
    g.name_top, g.name_h = 0.012 * h, 0.075 * h
    g.bag_top, g.bag_bottom = 0.10 * h, 0.43 * h
    g.bag_w = min(g.col_w * 0.6, 90 * s)
    g.weight_top, g.weight_h = 0.445 * h, 0.10 * h
    g.weight_font = fit_font(WIDEST_WEIGHT, g.number_font, g.col_w - 6, NUMBER_MIN_PX)
    g.valve_y = 0.655 * h
    g.feed_y = 0.20 * h
    g.valve_feed_x = (g.centres["media"] + g.bag_w / 2 + g.feed_x) / 2
    return g
