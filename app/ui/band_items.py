"""The golden band as plot items, shared by the run screen's trends and review's
comparison: one calm, pale fill between the band's low and high and its median line
(docs/analytics.md §8)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from app.ui import theme

# The golden band: one calm, pale blue for every channel (ISA-101: the normal range as a
# light shade behind the trend), so it is never read as an alarm (red, dashed) nor as
# the live curve (a saturated line); its median a thin white stripe inside the shade.
BAND_COLOUR = theme.INFO
BAND_FILL_ALPHA = 48  # of 255
BAND_MEDIAN_ALPHA = 150  # a median drawn in the band's blue (the compare page's)
MEDIAN_COLOUR = "#FFFFFF"  # the run screen's: a light stripe inside the shade, never
# taken for a curve (a blue median read as the pH curve, the same blue)
BAND_Z, MEDIAN_Z = -20, -10  # behind the live curves, set-point and limit lines (z 0)


def band_colour(alpha: int) -> QColor:
    """The band's blue with ``alpha`` of 255."""
    out = QColor(BAND_COLOUR)
    out.setAlpha(alpha)
    return out


class BandFill(pg.FillBetweenItem):
    """A channel's golden band on the run's time axis (x minutes): the fill between its
    low and high lines, gaps where the band has too few runs (NaN). For the plot's
    automatic y range it counts only where the window shows it, so a short window is not
    stretched to the band of the whole run."""

    def __init__(self, x_min: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        self.x, self.low, self.high = x_min, low, high
        # never added to the plot: only their paths are used, nothing else draws them
        self.low_curve = pg.PlotCurveItem(x_min, low, connect="finite")
        self.high_curve = pg.PlotCurveItem(x_min, high, connect="finite")
        super().__init__(self.low_curve, self.high_curve, brush=band_colour(BAND_FILL_ALPHA))
        self.setZValue(BAND_Z)

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        if ax == 0:
            return None  # the x axis is the window's, never the band's
        low, high = self.low, self.high
        if orthoRange is not None and len(self.x):
            x0, x1 = orthoRange
            inside = (self.x >= x0) & (self.x <= x1)
            edges = [x0, x1]  # the band where the window cuts it (NaN beyond its ends)
            low = np.r_[low[inside], np.interp(edges, self.x, low, left=np.nan, right=np.nan)]
            high = np.r_[high[inside], np.interp(edges, self.x, high, left=np.nan, right=np.nan)]
        finite = np.isfinite(low) & np.isfinite(high)
        if not finite.any():
            return (None, None)
        return (float(low[finite].min()), float(high[finite].max()))

    def transformAngle(self, relativeItem=None) -> float:
        """Never rotated (the ViewBox asks when an item bounds one axis only)."""
        return 0.0
