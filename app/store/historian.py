"""The process historian: every telemetry sample of a run, and rollups that let any
time range of any length be read as about ``max_points`` points per channel with its
true extremes kept (min/max per bucket, the M4 idea).

Samples are rows of (run, process time, boot, instrument time, UTC, all channels as a
float64 blob). Rollups hold n, first/last time and per-channel min, max and sum per
bucket at several levels; the open bucket of each level is rewritten with every batch
so the rollups are always current. Ingest runs as a job on the writer thread; queries
run on a reader connection of their own.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np

from hardware.protocol import CHANNEL_INDEX, CHANNEL_NAMES, RESET_GAP_MS

LEVELS_MS: tuple[int, ...] = (10_000, 60_000, 600_000, 3_600_000)  # 10 s, 1 min, 10 min, 1 h
N_CHANNELS = len(CHANNEL_NAMES)
DTYPE = np.float64


@dataclass
class _Bucket:
    """Running statistics of one rollup bucket."""

    bucket: int
    n: int
    t_first: int
    t_last: int
    mins: np.ndarray
    maxs: np.ndarray
    sums: np.ndarray


@dataclass
class RunClock:
    """Maps instrument time (which restarts at 0 on a firmware reset) to process time
    since the run started, continuous across resets."""

    boot: int | None = None
    last_inst: int = 0
    last_run_ms: int = -1
    offset: int = 0

    def convert(self, boot: np.ndarray, t_inst: np.ndarray) -> np.ndarray:
        """Process times of a batch: one vector operation when the batch stays on the
        current boot with its clock moving forward (nearly always), else sample by sample."""
        if len(t_inst) and self.boot is None:
            self.to_run_ms(int(boot[0]), int(t_inst[0]))  # the run starts at its first sample
        if (
            len(t_inst)
            and self.boot is not None
            and np.all(boot == self.boot)
            and t_inst[0] >= self.last_inst
        ):
            run_ms = t_inst + self.offset
            self.last_inst = max(self.last_inst, int(t_inst.max()))
            self.last_run_ms = max(self.last_run_ms, int(run_ms.max()))
            return run_ms
        return np.fromiter(
            (self.to_run_ms(int(b), int(t)) for b, t in zip(boot, t_inst, strict=True)),
            np.int64,
            len(t_inst),
        )

    def to_run_ms(self, boot: int, t_inst: int) -> int:
        """A new boot number starts a new stretch a second after the last sample; an
        earlier time on the same boot is a late (back-filled) sample, not a reset."""
        if self.boot is None:
            self.boot, self.offset = boot, -t_inst  # the run starts at its first sample
        elif boot != self.boot:
            self.boot = boot
            self.offset = self.last_run_ms + RESET_GAP_MS - t_inst  # carry on after the gap
        self.last_inst = max(self.last_inst, t_inst)
        run_ms = t_inst + self.offset
        self.last_run_ms = max(self.last_run_ms, run_ms)
        return run_ms


@dataclass
class Historian:
    """Ingest side, used on the writer thread. One instance per console."""

    clocks: dict[int, RunClock] = field(default_factory=dict)
    _open: dict[tuple[int, int], _Bucket] = field(default_factory=dict)

    def ingest(
        self,
        conn: sqlite3.Connection,
        run_id: int,
        boot: np.ndarray,
        t_inst: np.ndarray,
        utc: np.ndarray,
        values: np.ndarray,
    ) -> int:
        """Store a batch of samples (time order) and update the rollups; returns rows
        stored. Samples at a process time already stored are skipped (a re-delivery)."""
        if run_id not in self.clocks:
            self.clocks[run_id] = self._load_clock(conn, run_id)
        run_ms = self.clocks[run_id].convert(np.asarray(boot), np.asarray(t_inst, dtype=np.int64))
        values = np.ascontiguousarray(values, dtype=DTYPE)
        fresh = self._not_stored(conn, run_id, run_ms)
        if not fresh.all():  # a re-delivery: store (and count in the rollups) only what is new
            run_ms, values = run_ms[fresh], values[fresh]
            boot, t_inst, utc = (np.asarray(a)[fresh] for a in (boot, t_inst, utc))
        if not len(run_ms):
            return 0
        blob, width = values.tobytes(), N_CHANNELS * values.itemsize
        rows = list(
            zip(
                repeat(run_id),
                run_ms.tolist(),
                np.asarray(boot).tolist(),
                np.asarray(t_inst).tolist(),
                np.asarray(utc, dtype=np.float64).tolist(),
                [blob[k : k + width] for k in range(0, len(blob), width)],
                strict=False,
            )
        )
        conn.executemany(
            "INSERT INTO samples (run_id, t_ms, boot, t_inst, utc, vals) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        self._roll_up(conn, run_id, run_ms, values)
        return len(rows)

    @staticmethod
    def _not_stored(conn: sqlite3.Connection, run_id: int, run_ms: np.ndarray) -> np.ndarray:
        """Mask of the batch's samples not yet in the table (and not repeated within it)."""
        if not len(run_ms):
            return np.zeros(0, dtype=bool)
        stored = np.fromiter(
            (
                r[0]
                for r in conn.execute(
                    "SELECT t_ms FROM samples WHERE run_id = ? AND t_ms BETWEEN ? AND ?",
                    (run_id, int(run_ms.min()), int(run_ms.max())),
                )
            ),
            np.int64,
        )
        _, first = np.unique(run_ms, return_index=True)
        unique = np.zeros(len(run_ms), dtype=bool)
        unique[first] = True
        return unique & ~np.isin(run_ms, stored)

    def _load_clock(self, conn: sqlite3.Connection, run_id: int) -> RunClock:
        return load_run_clock(conn, run_id)

    def _roll_up(self, conn: sqlite3.Connection, run_id: int, t: np.ndarray, v: np.ndarray) -> None:
        """Fold a batch into every level: per-bucket statistics by numpy, merged with what
        the open bucket (and, for late samples, earlier buckets) already held."""
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        upserts: list[tuple] = []
        for level, size in enumerate(LEVELS_MS):
            buckets = t // size
            starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
            ends = np.r_[starts[1:], len(t)] - 1
            ids = buckets[starts]
            mins = np.minimum.reduceat(v, starts, axis=0)
            maxs = np.maximum.reduceat(v, starts, axis=0)
            sums = np.add.reduceat(v, starts, axis=0)
            counts = np.diff(np.r_[starts, len(t)])
            firsts, lasts = t[starts], t[ends]
            cached = self._open.get((run_id, level))
            for k, bucket in enumerate(ids.tolist()):
                # Buckets past the open one are new; the open one and earlier ones (late
                # samples) may already hold statistics to merge with.
                if cached is not None and bucket > cached.bucket:
                    break
                previous = self._current(conn, run_id, level, bucket)
                if previous is None:
                    continue
                np.minimum(mins[k], previous.mins, out=mins[k])
                np.maximum(maxs[k], previous.maxs, out=maxs[k])
                sums[k] += previous.sums
                counts[k] += previous.n
                firsts[k] = min(int(firsts[k]), previous.t_first)
                lasts[k] = max(int(lasts[k]), previous.t_last)
            k = len(starts) - 1
            if cached is None or int(ids[k]) >= cached.bucket:  # late-only: open one unchanged
                self._open[(run_id, level)] = _Bucket(
                    int(ids[k]),
                    int(counts[k]),
                    int(firsts[k]),
                    int(lasts[k]),
                    mins[k].copy(),
                    maxs[k].copy(),
                    sums[k].copy(),
                )
            upserts.extend(
                zip(
                    repeat(run_id),
                    repeat(level),
                    ids.tolist(),
                    counts.tolist(),
                    firsts.tolist(),
                    lasts.tolist(),
                    [row.tobytes() for row in mins],
                    [row.tobytes() for row in maxs],
                    [row.tobytes() for row in sums],
                    strict=False,
                )
            )
        conn.executemany(
            "INSERT OR REPLACE INTO rollups (run_id, level, bucket, n, t_first, t_last, mins, maxs,"
            " sums) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            upserts,
        )

    def _current(
        self, conn: sqlite3.Connection, run_id: int, level: int, bucket: int
    ) -> _Bucket | None:
        """The open bucket, from memory or (after a restart, or a late sample) the file."""
        cached = self._open.get((run_id, level))
        if cached is not None and cached.bucket == bucket:
            return cached
        if cached is not None and cached.bucket < bucket:
            return None  # samples arrive in time order: a later bucket is a new one
        row = conn.execute(
            "SELECT n, t_first, t_last, mins, maxs, sums FROM rollups "
            "WHERE run_id = ? AND level = ? AND bucket = ?",
            (run_id, level, bucket),
        ).fetchone()
        if row is None:
            return None
        return _Bucket(
            bucket,
            row[0],
            row[1],
            row[2],
            _arr(row[3]).copy(),
            _arr(row[4]).copy(),
            _arr(row[5]).copy(),
        )


def _arr(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=DTYPE)


def load_run_clock(conn: sqlite3.Connection, run_id: int) -> RunClock:
    """A run's clock as of its newest stored sample: a restarted console (the historian,
    the live trends) carries on the same process time."""
    row = conn.execute(
        "SELECT t_ms, boot, t_inst FROM samples WHERE run_id = ? ORDER BY t_ms DESC LIMIT 1",
        (run_id,),
    ).fetchone()
    if row is None:
        return RunClock()
    return RunClock(boot=row[1], last_inst=row[2], last_run_ms=row[0], offset=row[0] - row[2])


def run_history(
    db_path: str | Path, run_id: int, channels: tuple[str, ...], max_points: int
) -> tuple[RunClock, Series | None]:
    """For a screen taking up a run already under way: its clock and its whole history
    so far, reduced (on a reader connection of its own)."""
    from contextlib import closing

    from app.store.db import connect

    with closing(connect(db_path, readonly=True)) as conn:
        clock = load_run_clock(conn, run_id)
        if clock.boot is None:
            return clock, None
        return clock, query(conn, run_id, channels, 0, clock.last_run_ms, max_points)


def query_run(
    db_path: str | Path,
    run_id: int,
    channels: tuple[str, ...],
    span: tuple[int, int] | None,
    max_points: int,
) -> Series:
    """``query`` on a reader connection of its own; ``span`` None is the whole run."""
    from contextlib import closing

    from app.store.db import connect

    with closing(connect(db_path, readonly=True)) as conn:
        if span is None:
            span = (0, max(load_run_clock(conn, run_id).last_run_ms, 0))
        return query(conn, run_id, channels, span[0], span[1], max_points)


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class Series:
    """A time range of some channels, reduced to at most ``max_points`` per channel:
    each row is a bucket (a raw sample when ``level`` is "raw") with its first time and
    the min, max and mean of each channel in it. Plot min and max to keep extremes."""

    level: str  # "raw", "10s", "1min", "10min", "1h"
    t_ms: np.ndarray  # int64, process time of each row's first sample
    lo: dict[str, np.ndarray]
    hi: dict[str, np.ndarray]
    mean: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.t_ms)


LEVEL_NAMES = ("10s", "1min", "10min", "1h")


def query(
    conn: sqlite3.Connection,
    run_id: int,
    channels: list[str] | tuple[str, ...],
    t0: int,
    t1: int,
    max_points: int = 2000,
) -> Series:
    """Samples of ``channels`` with t0 <= t <= t1 (process ms) as at most ``max_points``
    points per channel counting each bucket's min and max, read from the finest source
    (raw samples or a rollup level) that needs no more than a few times that many rows."""
    columns = [CHANNEL_INDEX[c] for c in channels]
    buckets_wanted = max(1, max_points // 2)
    raw_rows = _estimate_raw_rows(conn, run_id, t0, t1)
    if raw_rows <= 4 * max_points:
        t, values = _raw(conn, run_id, t0, t1)
        if len(t) <= max_points:
            cols = values[:, columns]
            return _series("raw", t, cols, cols, cols, channels)
        return _reduce(
            "raw",
            t,
            values[:, columns],
            values[:, columns],
            values[:, columns],
            np.ones(len(t)),
            buckets_wanted,
            channels,
        )
    for level, size in enumerate(LEVELS_MS):
        if (t1 - t0) / size <= 4 * buckets_wanted or level == len(LEVELS_MS) - 1:
            rows = conn.execute(
                "SELECT t_first, n, mins, maxs, sums FROM rollups WHERE run_id = ? AND level = ?"
                " AND bucket BETWEEN ? AND ? ORDER BY bucket",
                (run_id, level, t0 // size, t1 // size),
            ).fetchall()
            t = np.array([r[0] for r in rows], dtype=np.int64)
            n = np.array([r[1] for r in rows], dtype=np.float64)
            lo = _stack([r[2] for r in rows])[:, columns]
            hi = _stack([r[3] for r in rows])[:, columns]
            sums = _stack([r[4] for r in rows])[:, columns]
            return _reduce(
                LEVEL_NAMES[level], t, lo, hi, sums, n, buckets_wanted, channels, sums_given=True
            )
    raise AssertionError("unreachable")


def _estimate_raw_rows(conn: sqlite3.Connection, run_id: int, t0: int, t1: int) -> int:
    """Samples in range from the rollups: the hour level first (a handful of rows), then,
    for a short range, the 10 s level so that a zoom does not count a whole hour."""
    for level in (len(LEVELS_MS) - 1, 0):
        size = LEVELS_MS[level]
        if level == 0 and (t1 - t0) / size > 20_000:
            break
        row = conn.execute(
            "SELECT SUM(n) FROM rollups WHERE run_id = ? AND level = ? AND bucket BETWEEN ? AND ?",
            (run_id, level, t0 // size, t1 // size),
        ).fetchone()
        estimate = int(row[0] or 0)
    return estimate


def _raw(conn: sqlite3.Connection, run_id: int, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
    rows = conn.execute(
        "SELECT t_ms, vals FROM samples WHERE run_id = ? AND t_ms BETWEEN ? AND ? ORDER BY t_ms",
        (run_id, t0, t1),
    ).fetchall()
    t = np.array([r[0] for r in rows], dtype=np.int64)
    return t, _stack([r[1] for r in rows])


def _stack(blobs: list[bytes]) -> np.ndarray:
    if not blobs:
        return np.zeros((0, N_CHANNELS))
    return np.frombuffer(b"".join(blobs), dtype=DTYPE).reshape(len(blobs), N_CHANNELS)


def _reduce(level, t, lo, hi, sums, n, buckets_wanted, channels, sums_given=False) -> Series:
    """Merge consecutive rows in groups so that at most ``buckets_wanted`` remain."""
    if not sums_given:
        sums = sums * n[:, None]
    if len(t) > buckets_wanted:
        group = -(-len(t) // buckets_wanted)
        starts = np.arange(0, len(t), group)
        t = t[starts]
        lo = np.minimum.reduceat(lo, starts, axis=0)
        hi = np.maximum.reduceat(hi, starts, axis=0)
        sums = np.add.reduceat(sums, starts, axis=0)
        n = np.add.reduceat(n, starts)
    mean = sums / np.maximum(n, 1)[:, None]
    return _series(level, t, lo, hi, mean, channels)


def _series(level, t, lo, hi, mean, channels) -> Series:
    return Series(
        level,
        t,
        {c: np.ascontiguousarray(lo[:, i]) for i, c in enumerate(channels)},
        {c: np.ascontiguousarray(hi[:, i]) for i, c in enumerate(channels)},
        {c: np.ascontiguousarray(mean[:, i]) for i, c in enumerate(channels)},
    )
