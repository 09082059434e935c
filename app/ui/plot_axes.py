"""Plot axes whose labels stay readable on a small plot at 1.5 m: major ticks only
(``MajorTicksAxis``), and the run screen's process time read as an operator says it
("2 d 6 h", "96:40") rather than a count of minutes ("3240"), ticked on whole steps of
time (10 min, 1 h, 6 h, 1 day...)."""

from __future__ import annotations

import pyqtgraph as pg

MINUTES_PER_DAY = 1440
STEPS_MIN = (0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 7 * 1440)


def label_px(step_min: float) -> int:
    """The least room between two labels of this step (at 14 px): "12 d" ~35 px,
    "12 d 18 h" ~65 px, "288:40" ~45 px, with a gap."""
    if step_min >= MINUTES_PER_DAY:
        return 50
    if step_min < 1:
        return 70  # "0:02:30" ~55 px
    return 80 if step_min >= 60 else 60


def time_label(minutes: float, spacing_min: float) -> str:
    """A tick's label: whole days as "3 d"; hours as "2 d 6 h" (or "6 h" on day 0);
    finer steps as hours:minutes of process time ("96:40"), and under a minute with
    the seconds too ("0:02:30", the first minutes of a run)."""
    if spacing_min < 1:
        seconds = round(minutes * 60)
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    total = round(minutes)
    days, rest = divmod(total, MINUTES_PER_DAY)
    hours, mins = divmod(rest, 60)
    if spacing_min >= MINUTES_PER_DAY:
        return f"{days} d"
    if spacing_min >= 60:
        return f"{days} d {hours} h" if days else f"{hours} h"
    return f"{total // 60}:{mins:02d}"


class ProcessTimeAxis(pg.AxisItem):
    """A bottom axis over process minutes with ticks on whole steps of time."""

    def __init__(self) -> None:
        super().__init__("bottom")

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        if maxVal <= minVal or size <= 0:
            return super().tickSpacing(minVal, maxVal, size)
        span = maxVal - minVal
        step = next(
            (s for s in STEPS_MIN if span / s * label_px(s) <= max(size, label_px(s))),
            STEPS_MIN[-1],
        )
        return [(float(step), 0.0)]

    def tickStrings(self, values, scale, spacing):
        return [time_label(v, spacing) for v in values]


class MajorTicksAxis(pg.AxisItem):
    """Labels on major ticks only, and no closer than ``LABEL_PX``: the review plots are
    short on a 1280 x 800 screen and minor labels would print over each other."""

    LABEL_PX = 24

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        levels = super().tickSpacing(minVal, maxVal, size)
        if not levels or maxVal <= minVal:
            return levels
        spacing, offset = levels[0]
        while (maxVal - minVal) / spacing * self.LABEL_PX > size:
            spacing *= 2
        return [(spacing, offset)]
