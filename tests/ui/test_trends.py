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


def test_a_window_is_the_same_as_the_whole_view_cut_but_copies_only_itself():
    """The run screen asks for its window (say the last hour) of a ring that may have
    wrapped: same samples as cutting the whole view, in order, whatever the write
    position, without building the whole ring first."""
    rng = np.random.default_rng(7)
    for total in (0, 5, 99, 100, 101, 137, 250, 300):
        buffer = TrendBuffer(capacity=100)
        t_ms = np.arange(total, dtype=np.int64) * 60_000  # one sample a minute
        values = rng.normal(size=(total, len(CHANNEL_NAMES)))
        for lo in range(0, total, 17):  # batches as they come
            buffer.append(
                np.ones(min(17, total - lo), np.int32), t_ms[lo : lo + 17], values[lo : lo + 17]
            )
        x, y = buffer.view()
        assert np.all(np.diff(x) > 0)
        newest = buffer.newest()
        assert newest == (x[-1] if total else None)
        for since in (-1.0, 0.0, 3.5, total - 60.0, total - 1.0, total + 1.0):
            wx, wy = buffer.window(since)
            keep = x >= since
            assert np.array_equal(wx, x[keep]) and np.array_equal(wy, y[keep]), (total, since)
            if len(wx):
                wx[0] = -1.0  # a copy: the ring is untouched
                assert buffer.window(since)[0][0] != -1.0
