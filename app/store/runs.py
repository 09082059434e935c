"""Reading the runs table for screens (history list); a reader connection each call."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from app.store.db import connect
from app.store.run_reads import step_journal


@dataclass(frozen=True)
class RunRow:
    run_id: int
    batch_id: str
    recipe: str
    state: str
    started_utc: str
    ended_utc: str
    operator: str = ""


@dataclass(frozen=True)
class RunFilter:
    """What the history shows; empty fields do not filter."""

    since_utc: str = ""  # ISO dates or times; a run started at or after
    until_utc: str = ""  # a run started before
    recipe: str = ""  # name contains
    batch: str = ""  # batch ID contains
    state: str = ""  # exact ISA-88 state
    operator: str = ""  # printed name of who started it, contains
    newest_first: bool = True


def list_runs(
    db_path: str | Path, limit: int = 500, where: RunFilter | None = None
) -> list[RunRow]:
    """Runs matching ``where``, newest first (or oldest), with their recipe and the
    printed name of who started them."""
    where = where or RunFilter()
    clauses, args = [], []
    if where.since_utc:
        clauses.append("r.started_utc >= ?")
        args.append(where.since_utc)
    if where.until_utc:
        clauses.append("r.started_utc < ?")
        args.append(where.until_utc)
    if where.recipe:
        clauses.append("c.name LIKE ?")
        args.append(f"%{where.recipe}%")
    if where.batch:
        clauses.append("r.batch_id LIKE ?")
        args.append(f"%{where.batch}%")
    if where.state:
        clauses.append("r.state = ?")
        args.append(where.state)
    if where.operator:
        clauses.append("o.user_name LIKE ?")
        args.append(f"%{where.operator}%")
    sql = (
        "SELECT r.id, r.batch_id, COALESCE(c.name || ' v' || c.version_no, '?'), r.state,"
        " r.started_utc, COALESCE(r.ended_utc, ''), COALESCE(o.user_name, '') FROM runs r"
        " LEFT JOIN recipes c ON c.id = r.recipe_id"
        " LEFT JOIN audit o ON o.run_id = r.id AND o.action = 'run.create'"
        + (" WHERE " + " AND ".join(clauses) if clauses else "")
        + f" ORDER BY r.id {'DESC' if where.newest_first else 'ASC'} LIMIT ?"
    )
    with closing(connect(db_path, readonly=True)) as conn:
        rows = conn.execute(sql, (*args, limit)).fetchall()
    return [RunRow(*row) for row in rows]


def step_times(conn: sqlite3.Connection, run_id: int) -> tuple[dict[int, float], dict[int, float]]:
    """Each step's start and end in process seconds, from the step journal (the source
    of the record's ``started_s``/``ended_s``; a restarted step: its last start)."""
    starts: dict[int, float] = {}
    ends: dict[int, float] = {}
    for mark in step_journal(conn, run_id):
        if mark.process_s is not None:
            (starts if mark.kind == "start" else ends)[int(mark.step)] = float(mark.process_s)
    return starts, ends


def step_starts(conn: sqlite3.Connection, run_id: int) -> tuple[float, ...]:
    """Process seconds at which the run's steps started, in step order, up to the
    first step never started."""
    started, _ = step_times(conn, run_id)
    starts, number = [], min(started, default=0)
    while number in started:
        starts.append(started[number])
        number += 1
    return tuple(starts)
