"""Feeds a run's telemetry to the historian through the writer thread.

Batches arrive from the hardware thread many times a second; the recorder gathers
them and hands the writer one job at least every ``flush_s`` (and sooner when many
samples wait), so commits are batched yet no sample waits more than about a second.
``add`` never blocks on I/O, so the GUI or hardware thread may call it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future

import numpy as np

from app.store.historian import Historian
from app.store.writer import StoreWriter

log = logging.getLogger(__name__)

FLUSH_S = 0.5
FLUSH_SAMPLES = 5000


class TelemetryRecorder:
    def __init__(self, writer: StoreWriter, flush_s: float = FLUSH_S) -> None:
        self.writer = writer
        self.historian = Historian()
        self.flush_s = flush_s
        self.run_id: int | None = None
        self._lock = threading.Lock()
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="telemetry-recorder", daemon=True)
        self._thread.start()
        self.stored = 0
        self.failed_batches = 0

    def start_run(self, run_id: int) -> None:
        self.flush()
        self.run_id = run_id

    def stop_run(self) -> Future | None:
        future = self.flush()
        self.run_id = None
        return future

    def add(self, boot: np.ndarray, t_ms: np.ndarray, utc: np.ndarray, values: np.ndarray) -> None:
        """Queue a batch for the current run (ignored when no run is being recorded)."""
        if self.run_id is None or len(t_ms) == 0:
            return
        with self._lock:
            self._pending.append((boot, t_ms, utc, values))
            self._count += len(t_ms)
            due = self._count >= FLUSH_SAMPLES
        if due:
            self.flush()

    def flush(self) -> Future | None:
        with self._lock:
            pending, self._pending, self._count = self._pending, [], 0
        run_id = self.run_id
        if not pending or run_id is None:
            return None
        boot, t_ms, utc, values = (np.concatenate(parts) for parts in zip(*pending, strict=True))
        future = self.writer.submit(
            lambda ctx: self.historian.ingest(ctx.conn, run_id, boot, t_ms, utc, values)
        )
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        if future.exception() is not None:
            self.failed_batches += 1  # the writer has raised the alarm already
            log.error("telemetry not recorded: %s", future.exception())
        else:
            self.stored += future.result()

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_s):
            try:
                self.flush()
            except Exception:  # keep recording whatever one flush did
                log.exception("telemetry flush failed")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        future = self.flush()
        if future is not None:
            future.exception(10.0)
