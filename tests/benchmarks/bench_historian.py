"""Historian benchmarks.

1. Ingest: sustained values/s through the writer thread (historian rows + rollups)
   against a bare executemany of the same rows into the same table, same run.
   Targets: >= 250,000 values/s and >= 0.7 of the bare rate.
2. Whole-run read: a synthetic 14-day run at 1 Hz; the full range of all channels at
   2000 points in < 150 ms; any 1-hour window in < 50 ms; database size per day.
Run: python -m tests.benchmarks.bench_historian
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.store.db import connect, open_database, transaction
from app.store.historian import Historian, query
from app.store.writer import StoreWriter
from hardware.protocol import CHANNEL_NAMES

C = len(CHANNEL_NAMES)
BATCH = 1000  # samples per batch, as the hardware thread would hand over at high rates
INGEST_PERIOD_MS = 100  # sample spacing for the ingest test: the console's 10 Hz default
INGEST_SECONDS = 4.0
DAYS = 14


def make_run(conn, run_id: int) -> None:
    conn.execute(
        "INSERT INTO runs (id, batch_id, started_utc, state) VALUES (?, ?, 'now', 'RUNNING')",
        (run_id, f"B{run_id}"),
    )


def synthetic(start: int, n: int, rng: np.random.Generator, period_ms: int = 1000) -> tuple:
    t = (np.arange(start, start + n, dtype=np.int64)) * period_ms
    values = 37.0 + rng.standard_normal((n, C))
    return np.ones(n, dtype=np.int32), t, t / 1000.0 + 1.7e9, values


def bench_ingest(path: Path) -> tuple[float, float]:
    rng = np.random.default_rng(1)
    conn = connect(path)
    make_run(conn, 1)
    make_run(conn, 2)
    # bare executemany of the same rows
    done, start_clock, sample = 0, time.perf_counter(), 0
    while time.perf_counter() - start_clock < INGEST_SECONDS:
        _boot, t, utc, values = synthetic(sample, BATCH, rng, INGEST_PERIOD_MS)
        rows = [
            (1, int(t[i]), 1, int(t[i]), float(utc[i]), values[i].tobytes()) for i in range(BATCH)
        ]
        with transaction(conn):
            conn.executemany(
                "INSERT INTO samples (run_id, t_ms, boot, t_inst, utc, vals) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        done += BATCH
        sample += BATCH
    bare = done * C / (time.perf_counter() - start_clock)
    conn.close()
    # the same through the writer thread, with rollups
    writer = StoreWriter(path, "WS-BENCH").start()
    historian = Historian()
    done, start_clock, sample, futures = 0, time.perf_counter(), 0, []
    while time.perf_counter() - start_clock < INGEST_SECONDS:
        args = synthetic(sample, BATCH, rng, INGEST_PERIOD_MS)
        futures.append(writer.submit(lambda ctx, a=args: historian.ingest(ctx.conn, 2, *a)))
        if len(futures) > 8:  # keep a small backlog, like a live feed
            done += futures.pop(0).result()
        sample += BATCH
    done += sum(f.result() for f in futures)
    through_writer = done * C / (time.perf_counter() - start_clock)
    writer.close()
    return through_writer, bare


def bench_read(path: Path) -> tuple[float, float, float, float]:
    rng = np.random.default_rng(2)
    conn = connect(path)
    make_run(conn, 3)
    historian = Historian()
    total = DAYS * 86_400
    start = time.perf_counter()
    chunk = 20_000
    for sample in range(0, total, chunk):
        with transaction(conn):
            historian.ingest(conn, 3, *synthetic(sample, min(chunk, total - sample), rng))
    build_s = time.perf_counter() - start
    conn.close()
    reader = connect(path, readonly=True)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        series = query(reader, 3, CHANNEL_NAMES, 0, total * 1000, max_points=2000)
        timings.append(time.perf_counter() - start)
    full_ms = 1000 * sorted(timings)[len(timings) // 2]
    assert len(series) > 0
    windows = []
    for _ in range(20):
        t0 = random.Random(len(windows)).randrange(0, (total - 3600)) * 1000
        start = time.perf_counter()
        query(reader, 3, CHANNEL_NAMES, t0, t0 + 3_600_000, max_points=2000)
        windows.append(time.perf_counter() - start)
    reader.close()
    return full_ms, 1000 * max(windows), 1000 * sorted(windows)[10], build_s


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = open_database(tmp)
        writer_rate, bare_rate = bench_ingest(path)
        size_before = path.stat().st_size
        full_ms, window_max_ms, window_med_ms, build_s = bench_read(path)
        wal = Path(str(path) + "-wal")
        size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0) - size_before
    ratio = writer_rate / bare_rate
    print(f"ingest, {C} channels per sample at {1000 // INGEST_PERIOD_MS} Hz, batches of {BATCH}")
    print(f"  bare executemany      : {bare_rate:12,.0f} values/s")
    print(
        f"  writer thread+rollups : {writer_rate:12,.0f} values/s  ratio {ratio:.2f} "
        "(targets >= 250,000 and >= 0.70)"
    )
    print(
        f"whole-run read, {DAYS} days at 1 Hz ({DAYS * 86400 * C / 1e6:.1f} M values, "
        f"built in {build_s:.0f} s)"
    )
    print(f"  full range, all channels, 2000 points : {full_ms:6.1f} ms (target < 150)")
    print(
        f"  1-hour windows, all channels          : max {window_max_ms:5.1f} ms, "
        f"median {window_med_ms:5.1f} ms (target < 50)"
    )
    print(f"  database size per day of run          : {size / DAYS / 1e6:6.1f} MB")
    ok = writer_rate >= 250_000 and ratio >= 0.7 and full_ms < 150 and window_max_ms < 50
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
