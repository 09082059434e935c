"""The live trend buffer: forward only, continuous across a firmware reset."""

import numpy as np

from app.ui.trends import TrendBuffer
from hardware.protocol import CHANNEL_NAMES


def add(buffer, boot, times):
    t = np.asarray(times, dtype=np.int64)
    buffer.append(np.full(len(t), boot), t, np.ones((len(t), len(CHANNEL_NAMES))))


def test_late_samples_do_not_draw_backwards_and_a_reset_continues():
    buffer = TrendBuffer(capacity=100)
    add(buffer, 1, [0, 60_000, 120_000])
    add(buffer, 1, [30_000, 90_000])  # read back into a hole: already past on screen
    add(buffer, 2, [0, 60_000])  # firmware reset: its clock restarts at zero
    x, _ = buffer.view()
    assert list(x) == [0.0, 1.0, 2.0, 2.0 + 1 / 60, 3.0 + 1 / 60]
    assert np.all(np.diff(x) > 0)
