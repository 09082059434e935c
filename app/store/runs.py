"""Reading the runs table for screens (history list); a reader connection each call."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from app.store.db import connect


@dataclass(frozen=True)
class RunRow:
    run_id: int
    batch_id: str
    recipe: str
    state: str
    started_utc: str
    ended_utc: str


def list_runs(db_path: str | Path, limit: int = 500) -> list[RunRow]:
    """The newest runs first, with their recipe's name and version."""
    with closing(connect(db_path, readonly=True)) as conn:
        rows = conn.execute(
            "SELECT r.id, r.batch_id, COALESCE(c.name || ' v' || c.version_no, '?'), r.state,"
            " r.started_utc, COALESCE(r.ended_utc, '') FROM runs r"
            " LEFT JOIN recipes c ON c.id = r.recipe_id ORDER BY r.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
    return [RunRow(*row) for row in rows]
