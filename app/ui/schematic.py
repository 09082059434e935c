"""Live, read-only schematic of the single-use kit for the run screen.

Painted with QPainter (no images) so that it scales with the widget and stays legible
from 1.5 m: the five bags with their load-cell weights, the pinch valve on every bag
line, the manifold, pump 1 between the manifold and the chamber, pump 2 on the feed
line from the media bag, and the culture/centrifugation chamber with its temperature,
rotor speed and contents. Fluidic layout as in hardware/simulator/physics.py: pump 1
forwards (positive rate) from the open bags into the chamber, backwards out of it;
pump 2 forwards media through the "feed" valve into the chamber.

Nothing is told by colour alone (ISA-101): a running pump is filled and carries an
arrow, a stopped one is an outline that says "stopped"; an open valve lets the line
through, a closed one has a bar across it. While the link is lost everything is drawn
in the stale grey and the schematic says "LAST KNOWN VALUES" in words.

``describe()`` returns the same facts as text, for tests and for the accessible
description.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.batch.recipe import KITS
from app.ui import theme
from hardware.protocol import VALVES, valve_states

log = logging.getLogger(__name__)

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


def _number(values: Mapping[str, float], name: str) -> float | None:
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


# --------------------------------------------------------------------------- widget


@dataclass
class _Geometry:
    """Positions (px) of one paint, computed by ``KitSchematic._geometry``."""

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


class KitSchematic(QWidget):
    """The kit as the operator sees it at the instrument, updated from telemetry."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values: dict[str, float] = {}
        self._stale = False
        self._capacities: dict[str, float] = dict(DEFAULT_KIT.bags)
        self._chamber_capacity = float(DEFAULT_KIT.chamber)
        self._scale = 1.0
        self._boxes: list[tuple[str, QRectF]] = []
        self._symbols: list[QRectF] = []
        self._squeeze_logged = False
        self.setMinimumSize(MIN_W, MIN_H)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Kit schematic")
        self._update_accessible()

    # ------------------------------------------------------------------ API
    def sizeHint(self) -> QSize:
        return QSize(DESIGN_W, DESIGN_H)

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_W, MIN_H)

    @property
    def stale(self) -> bool:
        return self._stale

    def set_values(self, values: Mapping[str, float]) -> None:
        """New telemetry (channel name -> value); channels not given keep their value."""
        self._values.update(values)
        self._update_accessible()
        self.update()

    def set_stale(self, stale: bool) -> None:
        """Link lost (True): draw everything grey and say the values are last known."""
        stale = bool(stale)
        if stale != self._stale:
            self._stale = stale
            self._update_accessible()
            self.update()

    def set_capacities(self, bags: Mapping[str, float], chamber: float) -> None:
        """Capacities in mL of the loaded kit's bags and chamber (1 mL weighs 1 g).

        A bag the kit does not have (WASH-MINI has no media bag) is drawn dashed and
        labelled "no bag"."""
        unknown = set(bags) - set(BAGS)
        if unknown:
            raise ValueError(f"unknown bag(s): {', '.join(sorted(unknown))}")
        if any(not float(v) > 0 for v in bags.values()) or not float(chamber) > 0:
            raise ValueError("capacities must be positive")
        self._capacities = {name: float(v) for name, v in bags.items()}
        self._chamber_capacity = float(chamber)
        self._update_accessible()
        self.update()

    def level(self, vessel: str) -> float | None:
        """How full a bag or the chamber is drawn, 0..1 (None: unknown or not in kit)."""
        if vessel == "chamber":
            weight, capacity = _number(self._values, "w_chamber"), self._chamber_capacity
        else:
            weight, capacity = _number(self._values, f"w_{vessel}"), self._capacities.get(vessel)
        if weight is None or capacity is None:
            return None
        return min(1.0, max(0.0, weight / capacity))

    def describe(self) -> dict[str, str]:
        """What the schematic shows, as text (keys: status, bag.<name>, bag.<name>.level,
        valve.<name>, pump1, pump2, chamber, chamber.weight, door, bubble)."""
        v = self._values
        out: dict[str, str] = {}
        if self._stale:
            out["status"] = "last known values (link lost)"
        else:
            out["status"] = "live" if v else "no data"
        for bag in BAGS:
            if bag not in self._capacities:
                out[f"bag.{bag}"] = "not in kit"
                continue
            out[f"bag.{bag}"] = format_weight(_number(v, f"w_{bag}"))
            level = self.level(bag)
            out[f"bag.{bag}.level"] = UNKNOWN if level is None else f"{level * 100:.0f} %"
        mask = _number(v, "valves")
        states = valve_states(int(mask)) if mask is not None else {}
        for name in VALVES:
            out[f"valve.{name}"] = (
                UNKNOWN if name not in states else ("open" if states[name] else "closed")
            )
        out["pump1"] = pump_text(_number(v, "p1_rate"))
        out["pump2"] = pump_text(_number(v, "p2_rate"))
        temp, rpm = _number(v, "temp"), _number(v, "rpm")
        out["chamber"] = f"{format_temp(temp)}, {format_rotor(rpm)}"
        out["chamber.weight"] = format_weight(_number(v, "w_chamber"))
        level = self.level("chamber")
        out["chamber.level"] = UNKNOWN if level is None else f"{level * 100:.0f} %"
        door, bubble = _number(v, "door"), _number(v, "bubble")
        out["door"] = UNKNOWN if door is None else ("OPEN" if door else "closed")
        out["bubble"] = UNKNOWN if bubble is None else ("DETECTED" if bubble else "none")
        return out

    def _update_accessible(self) -> None:
        d = self.describe()
        parts = []
        if self._stale:
            parts.append("Link lost: last known values.")
        parts.append(
            "Bags: "
            + ", ".join(f"{BAG_LABELS[b]} {d[f'bag.{b}']}" for b in BAGS)
            + ". Valves: "
            + ", ".join(f"{n} {d[f'valve.{n}']}" for n in VALVES)
            + f". Pump 1 {d['pump1']}. Pump 2 {d['pump2']}."
            + f" Chamber {d['chamber']}, contents {d['chamber.weight']}."
        )
        if d["door"] == "OPEN":
            parts.append("Door open.")
        if d["bubble"] == "DETECTED":
            parts.append("Bubble detected.")
        self.setAccessibleDescription(" ".join(parts))

    # ------------------------------------------------------------------ colours, fonts
    def _colour(self, name: str) -> QColor:
        """A theme colour, or the stale grey while the link is lost."""
        return QColor(theme.STALE if self._stale else name)

    def _liquid(self) -> QColor:
        colour = QColor(theme.STALE if self._stale else theme.INFO)
        colour.setAlpha(80 if self._stale else 70)
        return colour

    def _font(self, base: float, floor: int, bold: bool = False) -> QFont:
        font = QFont("DejaVu Sans")
        font.setPixelSize(max(floor, round(base * self._scale)))
        font.setBold(bold)
        return font

    def _fitted(self, text: str, font: QFont, width: float, floor: int) -> QFont:
        """``font``, made smaller (not below ``floor`` px) until ``text`` fits ``width``."""
        font = QFont(font)
        while font.pixelSize() > floor and QFontMetricsF(font).horizontalAdvance(text) > width:
            font.setPixelSize(font.pixelSize() - 1)
        return font

    def _text(
        self,
        p: QPainter,
        rect: QRectF,
        text: str,
        font: QFont,
        colour: QColor,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter,
    ) -> None:
        flags = int(align | Qt.TextFlag.TextDontClip)
        p.setFont(font)
        p.setPen(colour)
        p.drawText(rect, flags, text)
        self._boxes.append((text, p.transform().mapRect(p.boundingRect(rect, flags, text))))

    def text_boxes(self) -> list[tuple[str, QRectF]]:
        """Every text of the last paint with the rectangle its ink needs (for layout tests)."""
        return list(self._boxes)

    def symbol_boxes(self) -> list[QRectF]:
        """Bounding boxes of the bags, valves, pumps and chamber of the last paint."""
        return list(self._symbols)

    # ------------------------------------------------------------------ layout
    def _geometry(self, w: float, h: float) -> _Geometry:
        """Where everything goes. The right-hand side (pump 2, chamber and its values)
        is sized from the widest text it must hold; the bags share what is left."""
        s = min(w / DESIGN_W, h / DESIGN_H)
        self._scale = s
        g = _Geometry(scale=s, width=w, height=h)
        g.label_font = self._font(19, LABEL_MIN_PX, bold=True)
        g.number_font = self._font(27, NUMBER_MIN_PX, bold=True)
        g.pump_font = self._font(23, NUMBER_MIN_PX, bold=True)
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
        g.weight_font = self._fitted(WIDEST_WEIGHT, g.number_font, g.col_w - 6, NUMBER_MIN_PX)
        g.valve_y = 0.655 * h
        g.feed_y = 0.20 * h
        g.valve_feed_x = (g.centres["media"] + g.bag_w / 2 + g.feed_x) / 2
        return g

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        self._boxes = []
        self._symbols = []
        # Laid out for at least the minimum size. A parent layout that squeezes the widget
        # below it gets the same picture shrunk as a whole: smaller than the legibility
        # floor, but never with texts on top of each other.
        w, h = float(self.width()), float(self.height())
        shrink = min(1.0, w / MIN_W, h / MIN_H)
        lw, lh = w / shrink, h / shrink  # the layout's size: at least the minimum
        if shrink < 1 and not self._squeeze_logged:
            self._squeeze_logged = True
            log.warning(
                "kit schematic squeezed to %dx%d (designed for at least %dx%d): drawn at "
                "%.0f %% size, text below %d px",
                w,
                h,
                MIN_W,
                MIN_H,
                shrink * 100,
                NUMBER_MIN_PX,
            )
        g = self._geometry(lw, lh)
        s = g.scale
        v = self._values
        p = QPainter(self)
        try:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.fillRect(self.rect(), QColor(theme.SURFACE))
            if shrink < 1:
                p.scale(shrink, shrink)
            area = QRectF(0, 0, lw, lh)
            if self._stale:  # a dashed frame: the whole picture is not current
                pen = QPen(QColor(theme.STALE), max(2.0, 3 * s), Qt.PenStyle.DashLine)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                inset = pen.widthF()
                p.drawRoundedRect(area.adjusted(inset, inset, -inset, -inset), 8, 8)
            mask = _number(v, "valves")
            valves = valve_states(int(mask)) if mask is not None else {}
            p1, p2 = _number(v, "p1_rate"), _number(v, "p2_rate")
            self._tubes(p, g, valves, p1, p2)
            self._bags(p, g)
            for bag in DRAW_ORDER:
                self._valve(
                    p,
                    QPointF(g.centres[bag], g.valve_y),
                    valves.get(bag),
                    g.valve_size,
                    vertical=True,
                )
            self._valve(
                p,
                QPointF(g.valve_feed_x, g.feed_y),
                valves.get("feed"),
                g.valve_size,
                vertical=False,
            )
            self._text(
                p,
                QRectF(
                    g.valve_feed_x - 60 * s,
                    g.feed_y - g.valve_size * 0.73 - max(20.0, 26 * s) - 2 * s,  # above the bar
                    120 * s,
                    max(20.0, 26 * s),
                ),
                "Feed",
                g.label_font,
                self._colour(theme.MUTED),
            )
            left_of_pump1 = self._pumps(p, g, p1, p2)
            self._chamber(p, g)
            self._messages(
                p,
                QRectF(
                    g.margin,
                    g.manifold_y + g.tube + 2 * s,
                    left_of_pump1 - g.margin - 12 * s,
                    h - g.manifold_y - g.tube - 4 * s,
                ),
            )
        finally:
            p.end()

    def _tubes(
        self,
        p: QPainter,
        g: _Geometry,
        valves: dict[str, bool],
        p1: float | None,
        p2: float | None,
    ) -> None:
        """Tubing, drawn first so that the symbols sit on it. A line that carries liquid
        now (its pump running and its valve open) is drawn thicker, in the flow colour,
        with an arrow."""
        flowing_bags = [b for b in DRAW_ORDER if valves.get(b)] if pump_running(p1) else []
        feeding = pump_running(p2) and bool(valves.get("feed"))
        flow_pen = QPen(self._colour(theme.INFO), g.tube * 1.6)
        flow_pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        idle_pen = QPen(self._colour(theme.MUTED), g.tube)
        idle_pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        p.setBrush(Qt.BrushStyle.NoBrush)
        y = g.manifold_y
        for bag in DRAW_ORDER:
            x = g.centres[bag]
            p.setPen(flow_pen if bag in flowing_bags else idle_pen)
            p.drawLine(QPointF(x, g.bag_bottom), QPointF(x, y))
        corner = QPen(idle_pen)
        corner.setCapStyle(Qt.PenCapStyle.SquareCap)
        p.setPen(corner)
        p.drawLine(QPointF(g.centres[DRAW_ORDER[0]], y), QPointF(g.pump1_x, y))
        if flowing_bags:
            start = min(g.centres[b] for b in flowing_bags) - flow_pen.widthF() / 2
            p.setPen(flow_pen)
            p.drawLine(QPointF(start, y), QPointF(g.pump1_x, y))
        p.setPen(flow_pen if flowing_bags else idle_pen)
        p.drawLine(QPointF(g.pump1_x, y), QPointF(g.chamber.left(), y))
        feed = QPainterPath(QPointF(g.centres["media"] + g.bag_w / 2, g.feed_y))
        feed.lineTo(g.feed_x, g.feed_y)
        feed.lineTo(g.feed_x, g.chamber.top())
        pen = QPen(flow_pen if feeding else idle_pen)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        p.setPen(pen)
        p.drawPath(feed)
        size = g.tube * 2.6
        if flowing_bags and p1 is not None:
            tip_x = g.chamber.left() if p1 > 0 else g.pump1_x + g.pump_r + size
            self._arrow_head(p, QPointF(tip_x, y), 0 if p1 > 0 else 180, size)
        if feeding and p2 is not None:
            tip_y = g.chamber.top() if p2 > 0 else g.pump2_y + g.pump_r + size
            self._arrow_head(p, QPointF(g.feed_x, tip_y), 90 if p2 > 0 else 270, size)

    def _bags(self, p: QPainter, g: _Geometry) -> None:
        for bag in DRAW_ORDER:
            x = g.centres[bag]
            name = BAG_LABELS[bag]
            self._text(
                p,
                QRectF(x - g.col_w / 2, g.name_top, g.col_w, g.name_h),
                name,
                self._fitted(name, g.label_font, g.col_w - 12, LABEL_MIN_PX),
                self._colour(theme.MUTED),
            )
            rect = QRectF(x - g.bag_w / 2, g.bag_top, g.bag_w, g.bag_bottom - g.bag_top)
            fitted = bag in self._capacities
            self._bag(p, rect, self.level(bag) if fitted else None, fitted)
            box = QRectF(x - g.col_w / 2 + 2, g.weight_top, g.col_w - 4, g.weight_h)
            if fitted:
                text = format_weight(_number(self._values, f"w_{bag}"))
                self._label_box(p, box, text, g.weight_font, self._colour(theme.TEXT))
            else:
                font = self._fitted("no bag", g.label_font, g.col_w - 6, LABEL_MIN_PX)
                self._label_box(p, box, "no bag", font, self._colour(theme.MUTED))

    def _pumps(self, p: QPainter, g: _Geometry, p1: float | None, p2: float | None) -> float:
        """Both pumps with their names and rates; returns where pump 1's text begins."""
        s = g.scale
        self._pump(p, QPointF(g.pump1_x, g.manifold_y), g.pump_r, p1, horizontal=True)
        limit = g.chamber.left() - max(6.0, 8 * s)
        text = self._pump_label(p1)
        need = QFontMetricsF(g.pump_font).horizontalAdvance(text)
        right = min(limit, g.pump1_x + need / 2)  # centred under the pump if there is room
        rate_rect = QRectF(
            right - need - 4, g.manifold_y + g.pump_r + 2 * s, need + 4, max(24.0, 32 * s)
        )
        self._text(
            p,
            rate_rect,
            text,
            g.pump_font,
            self._colour(theme.TEXT if pump_running(p1) else theme.MUTED),
        )
        need_label = QFontMetricsF(g.label_font).horizontalAdvance("Pump 1") + 4
        self._text(
            p,
            QRectF(
                g.pump1_x - need_label / 2,
                g.manifold_y - g.pump_r - max(22.0, 30 * s),
                need_label,
                max(20.0, 26 * s),
            ),
            "Pump 1",
            g.label_font,
            self._colour(theme.MUTED),
        )
        self._pump(p, QPointF(g.feed_x, g.pump2_y), g.pump_r, p2, horizontal=False)
        width = g.width - g.margin - g.pump2_text_left
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        self._text(
            p,
            QRectF(g.pump2_text_left, g.pump2_y - max(22.0, 30 * s), width, max(20.0, 26 * s)),
            "Pump 2",
            g.label_font,
            self._colour(theme.MUTED),
            left,
        )
        text = self._pump_label(p2)
        self._text(
            p,
            QRectF(g.pump2_text_left, g.pump2_y - 2 * s, width, max(24.0, 32 * s)),
            text,
            g.pump_font,
            self._colour(theme.TEXT if pump_running(p2) else theme.MUTED),
            left,
        )
        return rate_rect.left()

    def _chamber(self, p: QPainter, g: _Geometry) -> None:
        v = self._values
        self._vessel(p, g.chamber, self.level("chamber"))
        rpm = _number(v, "rpm")
        if rpm is not None and abs(rpm) >= ROTOR_STOPPED_BELOW:
            self._rotor_mark(p, g.chamber, g.scale)
        rows = (
            ("Chamber", format_weight(_number(v, "w_chamber"))),
            ("Temperature", format_temp(_number(v, "temp"))),
            ("Rotor", format_rotor(rpm)),
        )
        row_h = g.chamber.height() / len(rows)
        bottom = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
        top = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        for i, (label, value) in enumerate(rows):
            y = g.chamber.top() + i * row_h
            self._text(
                p,
                QRectF(g.info_left, y, g.info_w, row_h * 0.4),
                label,
                g.label_font,
                self._colour(theme.MUTED),
                bottom,
            )
            self._text(
                p,
                QRectF(g.info_left, y + row_h * 0.4, g.info_w, row_h * 0.6),
                value,
                g.number_font,
                self._colour(theme.TEXT),
                top,
            )

    def _pump_label(self, rate: float | None) -> str:
        if rate is None:
            return UNKNOWN
        return format_rate(rate) if pump_running(rate) else "stopped"

    def _messages(self, p: QPainter, rect: QRectF) -> None:
        """Under the manifold: "LAST KNOWN VALUES" while the link is lost, door and
        bubble warnings. One per line when they do not fit side by side."""
        d = self.describe()
        font = self._font(22, NUMBER_MIN_PX, bold=True)
        lines: list[tuple[str, QColor]] = []
        if self._stale:
            text = "LAST KNOWN VALUES – link lost"
            smallest = QFont(font)
            smallest.setPixelSize(NUMBER_MIN_PX)
            if QFontMetricsF(smallest).horizontalAdvance(text) > rect.width():
                text = "LAST KNOWN VALUES"
            lines.append((text, QColor(theme.TEXT)))
        alarms = []
        if d["door"] == "OPEN":
            alarms.append("⚠ DOOR OPEN")
        if d["bubble"] == "DETECTED":
            alarms.append("⚠ BUBBLE IN LINE")
        if alarms:
            joined = "   ".join(alarms)
            fits = self._fitted(joined, font, rect.width(), NUMBER_MIN_PX)
            if QFontMetricsF(fits).horizontalAdvance(joined) <= rect.width():
                alarms = [joined]
            lines += [(a, self._colour(theme.BAD)) for a in alarms]
        if not lines:
            return
        fonts = [self._fitted(text, font, rect.width(), NUMBER_MIN_PX) for text, _ in lines]
        line_h = max(QFontMetricsF(f).height() for f in fonts)
        line_h = max(line_h, min(rect.height() / len(lines), line_h * 1.5))
        top = rect.top() + max(0.0, (rect.height() - line_h * len(lines)) / 2)
        for i, ((text, colour), f) in enumerate(zip(lines, fonts, strict=True)):
            self._text(
                p,
                QRectF(rect.left(), top + i * line_h, rect.width(), line_h),
                text,
                f,
                colour,
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            )

    # ------------------------------------------------------------------ symbols
    def _label_box(self, p: QPainter, rect: QRectF, text: str, font: QFont, colour: QColor) -> None:
        """Text on a surface-coloured patch, so the tube behind it does not strike it out."""
        metrics = QFontMetricsF(font)
        width, height = metrics.horizontalAdvance(text) + 10, metrics.height() + 4
        patch = QRectF(rect.center().x() - width / 2, rect.center().y() - height / 2, width, height)
        p.fillRect(patch, QColor(theme.SURFACE))
        self._text(p, rect, text, font, colour)

    def _bag(self, p: QPainter, rect: QRectF, level: float | None, fitted: bool) -> None:
        """An infusion bag: flat top with a hanger hole, sides tapering to the outlet port
        at the bottom (not a rounded box with a nub, which reads as a battery)."""
        self._symbols.append(p.transform().mapRect(rect))
        s = self._scale
        outline = QPen(self._colour(theme.TEXT if fitted else theme.STALE), max(2.0, 2.5 * s))
        outline.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        if not fitted:
            outline.setStyle(Qt.PenStyle.DashLine)
        x0, x1, y0, y1 = rect.left(), rect.right(), rect.top(), rect.bottom()
        cx, w, h = rect.center().x(), rect.width(), rect.height()
        r = min(w, h) * 0.12
        shoulder = y0 + h * 0.80
        neck = w * 0.16
        body = QPainterPath(QPointF(x0 + r, y0))
        body.lineTo(x1 - r, y0)
        body.quadTo(x1, y0, x1, y0 + r)
        body.lineTo(x1, shoulder)
        body.cubicTo(x1, y1 - h * 0.08, cx + neck * 1.6, y1, cx + neck, y1)
        body.lineTo(cx - neck, y1)
        body.cubicTo(cx - neck * 1.6, y1, x0, y1 - h * 0.08, x0, shoulder)
        body.lineTo(x0, y0 + r)
        body.quadTo(x0, y0, x0 + r, y0)
        body.closeSubpath()
        p.setPen(outline)
        p.setBrush(QColor("white") if fitted and not self._stale else QColor(theme.SURFACE))
        p.drawPath(body)
        seal = y0 + h * 0.14  # welded top strip with the hanger hole; liquid stays below
        if level is not None and level > 0:
            p.save()
            p.setClipPath(body)
            top = y1 - (y1 - seal) * level
            p.fillRect(QRectF(x0, top, w, y1 - top), self._liquid())
            p.setPen(QPen(self._colour(theme.INFO), max(1.5, 2 * s)))
            p.drawLine(QPointF(x0, top), QPointF(x1, top))
            p.restore()
            p.setPen(outline)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(body)
        p.setPen(QPen(outline.color(), max(1.0, 1.5 * s)))
        p.drawLine(QPointF(x0 + 2, seal), QPointF(x1 - 2, seal))
        hole = QRectF(cx - w * 0.17, y0 + h * 0.04, w * 0.34, h * 0.06)
        p.setPen(outline)
        p.setBrush(QColor(theme.SURFACE))
        p.drawRoundedRect(hole, hole.height() / 2, hole.height() / 2)

    def _vessel(self, p: QPainter, rect: QRectF, level: float | None) -> None:
        self._symbols.append(p.transform().mapRect(rect))
        s = self._scale
        body = QPainterPath()
        body.addRoundedRect(rect, rect.width() * 0.22, rect.width() * 0.22)
        outline = QPen(self._colour(theme.TEXT), max(2.5, 3.5 * s))
        p.setPen(outline)
        p.setBrush(QColor("white") if not self._stale else QColor(theme.SURFACE))
        p.drawPath(body)
        if level is not None and level > 0:
            p.save()
            p.setClipPath(body)
            top = rect.bottom() - rect.height() * level
            p.fillRect(QRectF(rect.left(), top, rect.width(), rect.bottom() - top), self._liquid())
            p.setPen(QPen(self._colour(theme.INFO), max(1.5, 2 * s)))
            p.drawLine(QPointF(rect.left(), top), QPointF(rect.right(), top))
            p.restore()
            p.setPen(outline)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(body)

    def _rotor_mark(self, p: QPainter, chamber: QRectF, s: float) -> None:
        """A circular arrow in the chamber: the rotor turns."""
        r = min(chamber.width() * 0.3, 26 * s)
        centre = QPointF(chamber.center().x(), chamber.top() + chamber.height() * 0.3)
        pen = QPen(self._colour(theme.TEXT), max(2.5, 3.5 * s))
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        box = QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r)
        p.drawArc(box, 90 * 16, 270 * 16)  # from 12 o'clock counter-clockwise to 3 o'clock
        end = QPointF(centre.x() + r, centre.y())
        self._arrow_head(p, end, 270, max(8.0, 11 * s), self._colour(theme.TEXT))

    def _arrow_head(
        self, p: QPainter, tip: QPointF, degrees: float, size: float, colour: QColor | None = None
    ) -> None:
        """A filled triangle pointing at ``degrees`` (0 = right, 90 = down)."""
        a = math.radians(degrees)
        ux, uy = math.cos(a), math.sin(a)
        back = QPointF(tip.x() - ux * size, tip.y() - uy * size)
        left = QPointF(back.x() - uy * size * 0.7, back.y() + ux * size * 0.7)
        right = QPointF(back.x() + uy * size * 0.7, back.y() - ux * size * 0.7)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour or self._colour(theme.INFO))
        p.drawPolygon(QPolygonF([tip, left, right]))

    def _valve(
        self, p: QPainter, at: QPointF, is_open: bool | None, size: float, vertical: bool
    ) -> None:
        """Pinch valve on a tube. Open: a filled green body with the passage drawn along
        the tube. Closed: a hollow grey body with a bar across the tube."""
        s = self._scale
        half = size / 2
        body = QRectF(at.x() - half, at.y() - half, size, size)
        reach = half * 0.45  # the bar of a closed valve sticks out
        self._symbols.append(p.transform().mapRect(body.adjusted(-reach, -reach, reach, reach)))
        if is_open is None:  # no telemetry yet
            p.setPen(QPen(self._colour(theme.STALE), max(2.0, 2.5 * s), Qt.PenStyle.DashLine))
            p.setBrush(QColor(theme.SURFACE))
            p.drawRoundedRect(body, 4 * s, 4 * s)
            return
        if is_open:
            colour = self._colour(theme.GOOD)
            p.setPen(QPen(colour, max(2.0, 3 * s)))
            p.setBrush(colour)
            p.drawRoundedRect(body, 4 * s, 4 * s)
            pen = QPen(QColor("white"), max(3.0, 5 * s))  # the passage, along the tube
            pen.setCapStyle(Qt.PenCapStyle.FlatCap)
            p.setPen(pen)
            inner = half * 0.62
            if vertical:
                p.drawLine(QPointF(at.x(), at.y() - inner), QPointF(at.x(), at.y() + inner))
            else:
                p.drawLine(QPointF(at.x() - inner, at.y()), QPointF(at.x() + inner, at.y()))
            return
        grey = self._colour(theme.MUTED)
        p.setPen(QPen(grey, max(2.0, 3 * s)))
        p.setBrush(QColor(theme.SURFACE))
        p.drawRoundedRect(body, 4 * s, 4 * s)
        bar = QPen(grey, max(5.0, 8 * s))
        bar.setCapStyle(Qt.PenCapStyle.FlatCap)
        p.setPen(bar)
        reach = half * 1.45
        if vertical:
            p.drawLine(QPointF(at.x() - reach, at.y()), QPointF(at.x() + reach, at.y()))
        else:
            p.drawLine(QPointF(at.x(), at.y() - reach), QPointF(at.x(), at.y() + reach))

    def _pump(
        self, p: QPainter, centre: QPointF, r: float, rate: float | None, horizontal: bool
    ) -> None:
        """Running: filled circle with a white arrow along the flow (forward = towards the
        chamber). Stopped: an empty outline (its label says "stopped")."""
        s = self._scale
        running = pump_running(rate)
        colour = self._colour(theme.GOOD)
        if running:
            p.setPen(QPen(colour, max(2.0, 3 * s)))
            p.setBrush(colour)
        else:
            p.setPen(
                QPen(
                    self._colour(theme.MUTED if rate is not None else theme.STALE),
                    max(2.5, 3.5 * s),
                )
            )
            p.setBrush(QColor(theme.SURFACE))
        p.drawEllipse(centre, r, r)
        self._symbols.append(
            p.transform().mapRect(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))
        )
        if not running:
            return
        forward = rate is not None and rate > 0
        degrees = (0 if forward else 180) if horizontal else (90 if forward else 270)
        a = math.radians(degrees)
        ux, uy = math.cos(a), math.sin(a)
        tip = QPointF(centre.x() + ux * r * 0.6, centre.y() + uy * r * 0.6)
        self._arrow_head(p, tip, degrees, r * 1.05, QColor("white"))  # corners stay inside
