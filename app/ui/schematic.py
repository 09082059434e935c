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

This module is the widget; the facts, fonts and layout are in ``schematic_layout``, the
drawn items in ``schematic_symbols`` and the kit put together from them in
``schematic_scene``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.ui import theme
from app.ui.schematic_layout import (
    BAG_LABELS,
    BAGS,
    DEFAULT_KIT,
    DESIGN_H,
    DESIGN_W,
    MIN_H,
    MIN_W,
    NUMBER_MIN_PX,
    UNKNOWN,
    channel_value,
    format_rotor,
    format_temp,
    format_weight,
    layout,
    level_of,
    pump_text,
)
from app.ui.schematic_scene import KitScene
from hardware.protocol import VALVES, valve_states

log = logging.getLogger(__name__)


class KitSchematic(QWidget):
    """The kit as the operator sees it at the instrument, updated from telemetry."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values: dict[str, float] = {}
        self._stale = False
        self._capacities: dict[str, float] = dict(DEFAULT_KIT.bags)
        self._chamber_capacity = float(DEFAULT_KIT.chamber)
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
        return level_of(self._values, self._capacities, self._chamber_capacity, vessel)

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
            out[f"bag.{bag}"] = format_weight(channel_value(v, f"w_{bag}"))
            level = self.level(bag)
            out[f"bag.{bag}.level"] = UNKNOWN if level is None else f"{level * 100:.0f} %"
        mask = channel_value(v, "valves")
        states = valve_states(int(mask)) if mask is not None else {}
        for name in VALVES:
            out[f"valve.{name}"] = (
                UNKNOWN if name not in states else ("open" if states[name] else "closed")
            )
        out["pump1"] = pump_text(channel_value(v, "p1_rate"))
        out["pump2"] = pump_text(channel_value(v, "p2_rate"))
        temp, rpm = channel_value(v, "temp"), channel_value(v, "rpm")
        out["chamber"] = f"{format_temp(temp)}, {format_rotor(rpm)}"
        out["chamber.weight"] = format_weight(channel_value(v, "w_chamber"))
        level = self.level("chamber")
        out["chamber.level"] = UNKNOWN if level is None else f"{level * 100:.0f} %"
        door, bubble = channel_value(v, "door"), channel_value(v, "bubble")
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

    def text_boxes(self) -> list[tuple[str, QRectF]]:
        """Every text of the last paint with the rectangle its ink needs (for layout tests)."""
        return list(self._boxes)

    def symbol_boxes(self) -> list[QRectF]:
        """Bounding boxes of the bags, valves, pumps and chamber of the last paint."""
        return list(self._symbols)

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
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
        g = layout(lw, lh)
        s = g.scale
        scene = KitScene(self._values, self._capacities, self._chamber_capacity, s, self._stale)
        self._boxes, self._symbols = scene.boxes, scene.symbols
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
            scene.paint(p, g, h)
        finally:
            p.end()
