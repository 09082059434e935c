"""Review benchmark (issue #6): filtering a history of 10,000 runs.

A data folder with 10,000 runs (each with its audited creation, as the console writes
them), then the history's filters (batch, state, operator, recipe, a date range, and
none) timed on a reader connection, median of 7, against the same queries on a copy
with the review indexes (migration 6) dropped. Target: every filter < 100 ms.
Run: python -m tests.benchmarks.bench_review
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app.store.audit import AuditEntry
from app.store.db import open_database
from app.store.runs import RunFilter, list_runs
from app.store.writer import StoreWriter

RUNS = 10_000
STATES = ("Complete", "Complete", "Complete", "Aborted", "Stopped")
OPERATORS = ("Ann Operator", "Bob Operator", "Cleo Operator", "Dan Supervisor")


def build(folder: Path) -> Path:
    db = open_database(folder)
    writer = StoreWriter(db, "bench").start()

    def job(ctx) -> None:
        for n in range(1, RUNS + 1):
            day = 1 + (n * 7) % 28
            started = f"2026-{1 + n % 12:02d}-{day:02d}T08:00:00.000000Z"
            run_id = ctx.conn.execute(
                "INSERT INTO runs (batch_id, started_utc, ended_utc, state) VALUES (?, ?, ?, ?)",
                (f"B-{n:05d}", started, started, STATES[n % len(STATES)]),
            ).lastrowid
            who = OPERATORS[n % len(OPERATORS)]
            ctx.audit.append(
                AuditEntry(
                    str(n % 4),
                    who,
                    "run.create",
                    "run",
                    str(run_id),
                    new_value=f"batch B-{n:05d}",
                    run_id=run_id,
                )
            )
            ctx.audit.append(
                AuditEntry(
                    str(n % 4),
                    who,
                    "run.state",
                    "run",
                    str(run_id),
                    old_value="Idle",
                    new_value="Running",
                    run_id=run_id,
                )
            )

    writer.call(job, timeout=600)
    writer.close()
    return db


FILTERS = {
    "no filter (newest 500)": RunFilter(),
    "batch contains 0042": RunFilter(batch="0042"),
    "state Aborted": RunFilter(state="Aborted"),
    "operator Cleo": RunFilter(operator="Cleo"),
    "March 2026": RunFilter(since_utc="2026-03-01", until_utc="2026-04-01"),
    "Aborted by Bob in June": RunFilter(
        state="Aborted", operator="Bob", since_utc="2026-06-01", until_utc="2026-07-01"
    ),
}


def timed(db: Path) -> dict[str, float]:
    result = {}
    for name, where in FILTERS.items():
        times = []
        for _ in range(7):
            start = time.perf_counter()
            list_runs(db, where=where)
            times.append((time.perf_counter() - start) * 1000)
        result[name] = statistics.median(times)
    return result


def main() -> int:
    folder = Path(tempfile.mkdtemp())
    start = time.perf_counter()
    db = build(folder)
    print(f"built {RUNS} runs in {time.perf_counter() - start:.1f} s")
    bare = Path(tempfile.mkdtemp()) / db.name
    shutil.copy(db, bare)
    with sqlite3.connect(bare) as conn:
        for index in ("audit_by_run", "runs_by_start", "runs_by_batch"):
            conn.execute(f"DROP INDEX {index}")
    indexed, baseline = timed(db), timed(bare)
    worst = max(indexed.values())
    for name in FILTERS:
        print(
            f"{name:26s} {indexed[name]:7.1f} ms   without indexes {baseline[name]:8.1f} ms"
            f"   x{baseline[name] / max(indexed[name], 0.01):.1f}"
        )
    print(f"slowest filter {worst:.1f} ms (target < 100) -> {'PASS' if worst < 100 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
