"""Helpers shared by the benchmarks: CPU accounting for this process."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def measure(work: Callable[[], int], seconds: float) -> tuple[float, float]:
    """Call ``work`` (returns items done per call) repeatedly for ``seconds``;
    return (items per second, CPU use of this process in % of one core)."""
    done = 0
    cpu0 = time.process_time()
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        done += work()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    return done / wall, 100.0 * cpu / wall


def cores() -> int:
    return os.cpu_count() or 1
