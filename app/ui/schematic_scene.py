"""The kit schematic as one scene: tubing under the symbols, the bags with their names
and weights, the valves, both pumps with their rates, the chamber with its values and
the messages under the manifold. Fluidic layout as in hardware/simulator/physics.py
(see app/ui/schematic.py)."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen

from app.ui import theme
from app.ui.schematic_layout import (
    BAG_LABELS,
    DRAW_ORDER,
    LABEL_MIN_PX,
    NUMBER_MIN_PX,
    ROTOR_STOPPED_BELOW,
    UNKNOWN,
    Geometry,
    channel_value,
    fit_font,
    format_rate,
    format_rotor,
    format_temp,
    format_weight,
    level_of,
    pump_running,
)
from app.ui.schematic_symbols import Drawing
from hardware.protocol import valve_states


class KitScene(Drawing):
    """One paint of the kit from one set of values (telemetry channel -> value)."""

    def __init__(
        self,
        values: Mapping[str, float],
        capacities: Mapping[str, float],
        chamber_capacity: float,
        scale: float,
        stale: bool,
    ) -> None:
        super().__init__(scale, stale)
        self.values = values
        self.capacities = capacities
        self.chamber_capacity = chamber_capacity

    def level(self, vessel: str) -> float | None:
        return level_of(self.values, self.capacities, self.chamber_capacity, vessel)

    def paint(self, p: QPainter, g: Geometry, height: float) -> None:
        """The kit on ``p``, laid out by ``g``; ``height`` is the widget's own height
        (the messages' room under the manifold)."""
        s = g.scale
        v = self.values
        h = height
        mask = channel_value(v, "valves")
        valves = valve_states(int(mask)) if mask is not None else {}
        p1, p2 = channel_value(v, "p1_rate"), channel_value(v, "p2_rate")
        self.tubes(p, g, valves, p1, p2)
        self.bags(p, g)
        for bag in DRAW_ORDER:
            self.valve(
                p,
                QPointF(g.centres[bag], g.valve_y),
                valves.get(bag),
                g.valve_size,
                vertical=True,
            )
        self.valve(
            p,
            QPointF(g.valve_feed_x, g.feed_y),
            valves.get("feed"),
            g.valve_size,
            vertical=False,
        )
        self.text(
            p,
            QRectF(
                g.valve_feed_x - 60 * s,
                g.feed_y - g.valve_size * 0.73 - max(20.0, 26 * s) - 2 * s,  # above the bar
                120 * s,
                max(20.0, 26 * s),
            ),
            "Feed",
            g.label_font,
            self.colour(theme.MUTED),
        )
        left_of_pump1 = self.pumps(p, g, p1, p2)
        self.chamber(p, g)
        self.messages(
            p,
            QRectF(
                g.margin,
                g.manifold_y + g.tube + 2 * s,
                left_of_pump1 - g.margin - 12 * s,
                h - g.manifold_y - g.tube - 4 * s,
            ),
        )

    def tubes(
        self,
        p: QPainter,
        g: Geometry,
        valves: dict[str, bool],
        p1: float | None,
        p2: float | None,
    ) -> None:
        """Tubing, drawn first so that the symbols sit on it. A line that carries liquid
        now (its pump running and its valve open) is drawn thicker, in the flow colour,
        with an arrow."""
        flowing_bags = [b for b in DRAW_ORDER if valves.get(b)] if pump_running(p1) else []
        feeding = pump_running(p2) and bool(valves.get("feed"))
        flow_pen = QPen(self.colour(theme.INFO), g.tube * 1.6)
        flow_pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        idle_pen = QPen(self.colour(theme.MUTED), g.tube)
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
            self.arrow_head(p, QPointF(tip_x, y), 0 if p1 > 0 else 180, size)
        if feeding and p2 is not None:
            tip_y = g.chamber.top() if p2 > 0 else g.pump2_y + g.pump_r + size
            self.arrow_head(p, QPointF(g.feed_x, tip_y), 90 if p2 > 0 else 270, size)

    def bags(self, p: QPainter, g: Geometry) -> None:
        for bag in DRAW_ORDER:
            x = g.centres[bag]
            name = BAG_LABELS[bag]
            self.text(
                p,
                QRectF(x - g.col_w / 2, g.name_top, g.col_w, g.name_h),
                name,
                fit_font(name, g.label_font, g.col_w - 12, LABEL_MIN_PX),
                self.colour(theme.MUTED),
            )
            rect = QRectF(x - g.bag_w / 2, g.bag_top, g.bag_w, g.bag_bottom - g.bag_top)
            fitted = bag in self.capacities
            self.bag(p, rect, self.level(bag) if fitted else None, fitted)
            box = QRectF(x - g.col_w / 2 + 2, g.weight_top, g.col_w - 4, g.weight_h)
            if fitted:
                text = format_weight(channel_value(self.values, f"w_{bag}"))
                self.label_box(p, box, text, g.weight_font, self.colour(theme.TEXT))
            else:
                font = fit_font("no bag", g.label_font, g.col_w - 6, LABEL_MIN_PX)
                self.label_box(p, box, "no bag", font, self.colour(theme.MUTED))

    def pumps(self, p: QPainter, g: Geometry, p1: float | None, p2: float | None) -> float:
        """Both pumps with their names and rates; returns where pump 1's text begins."""
        s = g.scale
        self.pump(p, QPointF(g.pump1_x, g.manifold_y), g.pump_r, p1, horizontal=True)
        limit = g.chamber.left() - max(6.0, 8 * s)
        text = self.pump_label(p1)
        need = QFontMetricsF(g.pump_font).horizontalAdvance(text)
        right = min(limit, g.pump1_x + need / 2)  # centred under the pump if there is room
        rate_rect = QRectF(
            right - need - 4, g.manifold_y + g.pump_r + 2 * s, need + 4, max(24.0, 32 * s)
        )
        self.text(
            p,
            rate_rect,
            text,
            g.pump_font,
            self.colour(theme.TEXT if pump_running(p1) else theme.MUTED),
        )
        need_label = QFontMetricsF(g.label_font).horizontalAdvance("Pump 1") + 4
        self.text(
            p,
            QRectF(
                g.pump1_x - need_label / 2,
                g.manifold_y - g.pump_r - max(22.0, 30 * s),
                need_label,
                max(20.0, 26 * s),
            ),
            "Pump 1",
            g.label_font,
            self.colour(theme.MUTED),
        )
        self.pump(p, QPointF(g.feed_x, g.pump2_y), g.pump_r, p2, horizontal=False)
        width = g.width - g.margin - g.pump2_text_left
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        self.text(
            p,
            QRectF(g.pump2_text_left, g.pump2_y - max(22.0, 30 * s), width, max(20.0, 26 * s)),
            "Pump 2",
            g.label_font,
            self.colour(theme.MUTED),
            left,
        )
        text = self.pump_label(p2)
        self.text(
            p,
            QRectF(g.pump2_text_left, g.pump2_y - 2 * s, width, max(24.0, 32 * s)),
            text,
            g.pump_font,
            self.colour(theme.TEXT if pump_running(p2) else theme.MUTED),
            left,
        )
        return rate_rect.left()

    def chamber(self, p: QPainter, g: Geometry) -> None:
        v = self.values
        self.vessel(p, g.chamber, self.level("chamber"))
        rpm = channel_value(v, "rpm")
        if rpm is not None and abs(rpm) >= ROTOR_STOPPED_BELOW:
            self.rotor_mark(p, g.chamber, g.scale)
        rows = (
            ("Chamber", format_weight(channel_value(v, "w_chamber"))),
            ("Temperature", format_temp(channel_value(v, "temp"))),
            ("Rotor", format_rotor(rpm)),
        )
        row_h = g.chamber.height() / len(rows)
        bottom = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
        top = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        for i, (label, value) in enumerate(rows):
            y = g.chamber.top() + i * row_h
            self.text(
                p,
                QRectF(g.info_left, y, g.info_w, row_h * 0.4),
                label,
                g.label_font,
                self.colour(theme.MUTED),
                bottom,
            )
            self.text(
                p,
                QRectF(g.info_left, y + row_h * 0.4, g.info_w, row_h * 0.6),
                value,
                g.number_font,
                self.colour(theme.TEXT),
                top,
            )

    def pump_label(self, rate: float | None) -> str:
        if rate is None:
            return UNKNOWN
        return format_rate(rate) if pump_running(rate) else "stopped"

    def messages(self, p: QPainter, rect: QRectF) -> None:
        """Under the manifold: "LAST KNOWN VALUES" while the link is lost, door and
        bubble warnings. One per line when they do not fit side by side."""
        door, bubble = channel_value(self.values, "door"), channel_value(self.values, "bubble")
        font = self.font(22, NUMBER_MIN_PX, bold=True)
        lines: list[tuple[str, QColor]] = []
        if self.stale:
            text = "LAST KNOWN VALUES – link lost"
            smallest = QFont(font)
            smallest.setPixelSize(NUMBER_MIN_PX)
            if QFontMetricsF(smallest).horizontalAdvance(text) > rect.width():
                text = "LAST KNOWN VALUES"
            lines.append((text, QColor(theme.TEXT)))
        alarms = []
        if door:
            alarms.append("⚠ DOOR OPEN")
        if bubble:
            alarms.append("⚠ BUBBLE IN LINE")
        if alarms:
            joined = "   ".join(alarms)
            fits = fit_font(joined, font, rect.width(), NUMBER_MIN_PX)
            if QFontMetricsF(fits).horizontalAdvance(joined) <= rect.width():
                alarms = [joined]
            lines += [(a, self.colour(theme.BAD)) for a in alarms]
        if not lines:
            return
        fonts = [fit_font(text, font, rect.width(), NUMBER_MIN_PX) for text, _ in lines]
        line_h = max(QFontMetricsF(f).height() for f in fonts)
        line_h = max(line_h, min(rect.height() / len(lines), line_h * 1.5))
        top = rect.top() + max(0.0, (rect.height() - line_h * len(lines)) / 2)
        for i, ((text, colour), f) in enumerate(zip(lines, fonts, strict=True)):
            self.text(
                p,
                QRectF(rect.left(), top + i * line_h, rect.width(), line_h),
                text,
                f,
                colour,
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            )
