"""Whole-run trend plots for the batch record: the historian's rollups (min and max per
bucket, so no extreme is lost) drawn with QPainter into one image, six small panels."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPolygonF

from app.reports.style import TREND_COLOURS
from app.store.db import connect
from app.store.historian import load_run_clock, query
from hardware.protocol import CHANNEL_BY_NAME

PANELS = ("temp", "ph", "do", "co2", "pressure", "vcd")


def draw_trends(db_path: str | Path, run_id: int, width: int = 1600, height: int = 900) -> QImage:
    with closing(connect(db_path, readonly=True)) as conn:
        clock = load_run_clock(conn, run_id)
        series = query(conn, run_id, PANELS, 0, max(clock.last_run_ms, 1), 800)
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        font = QFont("DejaVu Sans")
        font.setPixelSize(30)
        painter.setFont(font)
        columns, rows = 2, 3
        cell_w, cell_h = width / columns, height / rows
        hours = series.t_ms / 3_600_000.0 if len(series) else np.zeros(0)
        for index, name in enumerate(PANELS):
            cell = QRectF((index % columns) * cell_w, (index // columns) * cell_h, cell_w, cell_h)
            _panel(painter, cell.adjusted(10, 8, -10, -8), name, hours, series, font)
    finally:
        painter.end()
    return image


def _panel(painter: QPainter, cell: QRectF, name: str, hours, series, font: QFont) -> None:
    channel = CHANNEL_BY_NAME[name]
    painter.setPen(QColor("#15191E"))
    painter.drawText(
        cell.adjusted(0, 0, 0, -cell.height() + 24),
        Qt.AlignmentFlag.AlignLeft,
        f"{channel.label} ({channel.unit})",
    )
    plot = cell.adjusted(110, 40, 0, -34)
    painter.setPen(QPen(QColor("#9AA1AB"), 1))
    painter.drawRect(plot)
    if not len(hours):
        painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "no samples")
        return
    lo, hi = series.lo[name], series.hi[name]
    finite = np.isfinite(lo) & np.isfinite(hi)
    if not finite.any():
        return
    y0, y1 = float(lo[finite].min()), float(hi[finite].max())
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.5, y1 + 0.5
    x1 = max(float(hours[-1]), 1e-6)

    def point(x: float, y: float) -> QPointF:
        return QPointF(
            plot.left() + x / x1 * plot.width(),
            plot.bottom() - (y - y0) / (y1 - y0) * plot.height(),
        )

    painter.setPen(QPen(QColor(TREND_COLOURS[name]), 1.5))
    for values in (hi, lo):
        painter.drawPolyline(
            QPolygonF([point(x, y) for x, y in zip(hours[finite], values[finite], strict=True)])
        )
    painter.setPen(QColor("#4A5260"))
    small = QFont(font)
    small.setPixelSize(26)
    painter.setFont(small)
    painter.drawText(
        QRectF(cell.left(), plot.top() - 14, 104, 30), Qt.AlignmentFlag.AlignRight, f"{y1:.4g}"
    )
    painter.drawText(
        QRectF(cell.left(), plot.bottom() - 16, 104, 30), Qt.AlignmentFlag.AlignRight, f"{y0:.4g}"
    )
    painter.drawText(
        QRectF(plot.left(), plot.bottom() + 2, plot.width(), 30),
        Qt.AlignmentFlag.AlignRight,
        f"{x1:.1f} h",
    )
    painter.drawText(
        QRectF(plot.left(), plot.bottom() + 2, plot.width(), 30), Qt.AlignmentFlag.AlignLeft, "0 h"
    )
    painter.setFont(font)
