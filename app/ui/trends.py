"""The bounded ring buffer behind the live trends (app/ui/run_trends.py).

Samples go in as batches arrive; the x axis is process time in minutes, continuous
across a firmware reset (whose clock restarts at zero), by the same RunClock the
historian uses.
"""

from __future__ import annotations

import numpy as np

from app.store.historian import RunClock
from hardware.protocol import CHANNEL_INDEX

TREND_CHANNELS: tuple[str, ...] = ("temp", "ph", "do", "pressure")
CAPACITY = 100_000  # samples kept per channel (2.7 h at 10 Hz)


class TrendBuffer:
    """Fixed-size ring of (x minutes, value per trend channel)."""

    def __init__(self, capacity: int = CAPACITY, channels: tuple[str, ...] = TREND_CHANNELS):
        self.capacity = capacity
        self.columns = [CHANNEL_INDEX[name] for name in channels]
        self.x = np.zeros(capacity)
        self.y = np.zeros((capacity, len(channels)))
        self.count = 0  # total ever written
        self.clock = RunClock()
        self._newest = -(2**62)

    def append(self, boot: np.ndarray, t_ms: np.ndarray, values: np.ndarray) -> None:
        """Add a batch. Process time comes from the historian's RunClock (continuous
        across firmware resets); samples older than the newest drawn (history read
        back into a hole) are left to the historian: a live trend only moves forward."""
        run_ms = self.clock.convert(np.asarray(boot), np.asarray(t_ms, dtype=np.int64))
        newer = run_ms > self._newest
        if not newer.any():
            return
        run_ms, values = run_ms[newer], values[newer]
        order = np.argsort(run_ms, kind="stable")
        x = run_ms[order] / 60000.0
        y = values[order][:, self.columns]
        self._newest = int(run_ms.max())
        n = len(x)
        if n >= self.capacity:
            x, y, n = x[-self.capacity :], y[-self.capacity :], self.capacity
        start = self.count % self.capacity
        first = min(n, self.capacity - start)
        self.x[start : start + first] = x[:first]
        self.y[start : start + first] = y[:first]
        self.x[: n - first] = x[first:]
        self.y[: n - first] = y[first:]
        self.count += n

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        """Every sample in time order (copies, safe to hand to the plots)."""
        return self.window(-np.inf)

    def newest(self) -> float | None:
        """Process minutes of the newest sample (None: empty)."""
        return float(self.x[(self.count - 1) % self.capacity]) if self.count else None

    def window(self, since: float) -> tuple[np.ndarray, np.ndarray]:
        """Samples at or after ``since`` (process minutes), in time order: copies of
        that window only, so a one-hour view of a full ring copies its hour, not the
        ring. The ring holds two sorted runs: the older from the write position on, the
        newer before it."""
        if self.count <= self.capacity:
            first = int(np.searchsorted(self.x[: self.count], since))
            return self.x[first : self.count].copy(), self.y[first : self.count].copy()
        start = self.count % self.capacity
        if start and since >= self.x[0]:  # inside the newer run alone
            first = int(np.searchsorted(self.x[:start], since))
            return self.x[first:start].copy(), self.y[first:start].copy()
        first = start + int(np.searchsorted(self.x[start:], since))
        return (
            np.concatenate((self.x[first:], self.x[:start])),
            np.concatenate((self.y[first:], self.y[:start])),
        )
