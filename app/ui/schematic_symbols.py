"""The drawn items of the kit schematic, painted with QPainter (no images): bags,
the chamber, pinch valves, pumps, arrows and text. Nothing is told by colour alone
(ISA-101); while the link is lost everything is drawn in the stale grey.

A ``Drawing`` also keeps where it put each text and symbol, for the layout tests."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF

from app.ui import theme
from app.ui.schematic_layout import font, pump_running


class Drawing:
    """The symbols of one paint at one scale, live or stale, and what went where."""

    def __init__(self, scale: float, stale: bool) -> None:
        self.scale = scale
        self.stale = stale
        self.boxes: list[tuple[str, QRectF]] = []
        self.symbols: list[QRectF] = []

    # ------------------------------------------------------------------ colours, fonts, text
    def colour(self, name: str) -> QColor:
        """A theme colour, or the stale grey while the link is lost."""
        return QColor(theme.STALE if self.stale else name)

    def liquid(self) -> QColor:
        colour = QColor(theme.STALE if self.stale else theme.INFO)
        colour.setAlpha(80 if self.stale else 70)
        return colour

    def font(self, base: float, floor: int, bold: bool = False) -> QFont:
        return font(base, floor, self.scale, bold)

    def text(
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
        self.boxes.append((text, p.transform().mapRect(p.boundingRect(rect, flags, text))))

    def label_box(self, p: QPainter, rect: QRectF, text: str, font: QFont, colour: QColor) -> None:
        """Text on a surface-coloured patch, so the tube behind it does not strike it out."""
        metrics = QFontMetricsF(font)
        width, height = metrics.horizontalAdvance(text) + 10, metrics.height() + 4
        patch = QRectF(rect.center().x() - width / 2, rect.center().y() - height / 2, width, height)
        p.fillRect(patch, QColor(theme.SURFACE))
        self.text(p, rect, text, font, colour)

    def bag(self, p: QPainter, rect: QRectF, level: float | None, fitted: bool) -> None:
        """An infusion bag: flat top with a hanger hole, sides tapering to the outlet port
        at the bottom (not a rounded box with a nub, which reads as a battery)."""
        self.symbols.append(p.transform().mapRect(rect))
        s = self.scale
        outline = QPen(self.colour(theme.TEXT if fitted else theme.STALE), max(2.0, 2.5 * s))
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
        p.setBrush(QColor("white") if fitted and not self.stale else QColor(theme.SURFACE))
        p.drawPath(body)
        seal = y0 + h * 0.14  # welded top strip with the hanger hole; liquid stays below
        if level is not None and level > 0:
            p.save()
            p.setClipPath(body)
            top = y1 - (y1 - seal) * level
            p.fillRect(QRectF(x0, top, w, y1 - top), self.liquid())
            p.setPen(QPen(self.colour(theme.INFO), max(1.5, 2 * s)))
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

    def vessel(self, p: QPainter, rect: QRectF, level: float | None) -> None:
        self.symbols.append(p.transform().mapRect(rect))
        s = self.scale
        body = QPainterPath()
        body.addRoundedRect(rect, rect.width() * 0.22, rect.width() * 0.22)
        outline = QPen(self.colour(theme.TEXT), max(2.5, 3.5 * s))
        p.setPen(outline)
        p.setBrush(QColor("white") if not self.stale else QColor(theme.SURFACE))
        p.drawPath(body)
        if level is not None and level > 0:
            p.save()
            p.setClipPath(body)
            top = rect.bottom() - rect.height() * level
            p.fillRect(QRectF(rect.left(), top, rect.width(), rect.bottom() - top), self.liquid())
            p.setPen(QPen(self.colour(theme.INFO), max(1.5, 2 * s)))
            p.drawLine(QPointF(rect.left(), top), QPointF(rect.right(), top))
            p.restore()
            p.setPen(outline)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(body)

    def rotor_mark(self, p: QPainter, chamber: QRectF, s: float) -> None:
        """A circular arrow in the chamber: the rotor turns."""
        r = min(chamber.width() * 0.3, 26 * s)
        centre = QPointF(chamber.center().x(), chamber.top() + chamber.height() * 0.3)
        pen = QPen(self.colour(theme.TEXT), max(2.5, 3.5 * s))
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        box = QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r)
        p.drawArc(box, 90 * 16, 270 * 16)  # from 12 o'clock counter-clockwise to 3 o'clock
        end = QPointF(centre.x() + r, centre.y())
        self.arrow_head(p, end, 270, max(8.0, 11 * s), self.colour(theme.TEXT))

    def arrow_head(
        self, p: QPainter, tip: QPointF, degrees: float, size: float, colour: QColor | None = None
    ) -> None:
        """A filled triangle pointing at ``degrees`` (0 = right, 90 = down)."""
        a = math.radians(degrees)
        ux, uy = math.cos(a), math.sin(a)
        back = QPointF(tip.x() - ux * size, tip.y() - uy * size)
        left = QPointF(back.x() - uy * size * 0.7, back.y() + ux * size * 0.7)
        right = QPointF(back.x() + uy * size * 0.7, back.y() - ux * size * 0.7)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour or self.colour(theme.INFO))
        p.drawPolygon(QPolygonF([tip, left, right]))

    def valve(
        self, p: QPainter, at: QPointF, is_open: bool | None, size: float, vertical: bool
    ) -> None:
        """Pinch valve on a tube. Open: a filled green body with the passage drawn along
        the tube. Closed: a hollow grey body with a bar across the tube."""
        s = self.scale
        half = size / 2
        body = QRectF(at.x() - half, at.y() - half, size, size)
        reach = half * 0.45  # the bar of a closed valve sticks out
        self.symbols.append(p.transform().mapRect(body.adjusted(-reach, -reach, reach, reach)))
        if is_open is None:  # no telemetry yet
            p.setPen(QPen(self.colour(theme.STALE), max(2.0, 2.5 * s), Qt.PenStyle.DashLine))
            p.setBrush(QColor(theme.SURFACE))
            p.drawRoundedRect(body, 4 * s, 4 * s)
            return
        if is_open:
            colour = self.colour(theme.GOOD)
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
        grey = self.colour(theme.MUTED)
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

    def pump(
        self, p: QPainter, centre: QPointF, r: float, rate: float | None, horizontal: bool
    ) -> None:
        """Running: filled circle with a white arrow along the flow (forward = towards the
        chamber). Stopped: an empty outline (its label says "stopped")."""
        s = self.scale
        running = pump_running(rate)
        colour = self.colour(theme.GOOD)
        if running:
            p.setPen(QPen(colour, max(2.0, 3 * s)))
            p.setBrush(colour)
        else:
            p.setPen(
                QPen(
                    self.colour(theme.MUTED if rate is not None else theme.STALE),
                    max(2.5, 3.5 * s),
                )
            )
            p.setBrush(QColor(theme.SURFACE))
        p.drawEllipse(centre, r, r)
        self.symbols.append(
            p.transform().mapRect(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))
        )
        if not running:
            return
        forward = rate is not None and rate > 0
        degrees = (0 if forward else 180) if horizontal else (90 if forward else 270)
        a = math.radians(degrees)
        ux, uy = math.cos(a), math.sin(a)
        tip = QPointF(centre.x() + ux * r * 0.6, centre.y() + uy * r * 0.6)
        self.arrow_head(p, tip, degrees, r * 1.05, QColor("white"))  # corners stay inside
