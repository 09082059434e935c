"""What review reads of a run: the batch record's rows (header with its recipe version,
audit entries, signatures, step journal), the historian's rollup means and newest
sample, and the small look-ups of comparison and golden-band choice.

Beside ``runs.py`` (the runs table listed for screens) and ``run_log.py`` (the run's
record written). Plain rows and dataclasses, no review logic: ``app/review`` builds its
records from them. Functions taking ``conn`` run on the caller's reader connection (one
connection for several reads); the others open one of their own.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.store.db import connect
from app.store.historian import DTYPE, N_CHANNELS
from app.store.signatures import compose_statement, record_words
from hardware.protocol import CHANNEL_INDEX


# --------------------------------------------------------------------- the record's rows
@dataclass(frozen=True)
class AuditRow:
    id: int
    ts_utc: str
    user_name: str
    action: str
    object_type: str
    object_id: str
    old_value: str | None
    new_value: str | None
    reason: str | None


@dataclass(frozen=True)
class SignatureRow:
    id: int
    user_name: str
    ts_utc: str
    meaning: str
    record_type: str
    record_id: str
    content_hash: str
    statement: str = ""  # what was signed, in words (schema 11; "" for older signatures)

    @property
    def stated(self) -> str:
        """The statement signed, or one derived from the record's type and id."""
        return self.statement or compose_statement(
            self.meaning, record_words(self.record_type, self.record_id)
        )


@dataclass(frozen=True)
class RunHeader:
    """A run's header row with its recipe version ("?", "" and 0 where missing)."""

    run_id: int
    batch_id: str
    state: str
    started_utc: str
    ended_utc: str
    instrument_serial: str
    firmware: str
    kit_id: str
    recipe_name: str
    recipe_version: str
    recipe_version_no: int
    recipe_hash: str
    parameters: dict[str, float]
    recipe_text: str | None  # the recipe version's source; None: no recipe on record
    operator_name: str  # the operator of record; "" for runs from before schema 10


@dataclass(frozen=True)
class JournalMark:
    """A step's start or end in the step journal, in process seconds (None: not noted)."""

    step: int
    kind: str  # "start" or "end"
    process_s: float | None


@dataclass(frozen=True)
class RunRecordRows:
    """Everything the batch record of one run is built from, read on one connection."""

    header: RunHeader
    audit: list[AuditRow]  # the run's audit entries, in the chain's order
    signatures: list[SignatureRow]  # on the run and its steps, oldest first
    journal: list[JournalMark]  # step starts and ends, in journal order


def run_header(conn: sqlite3.Connection, run_id: int) -> RunHeader | None:
    row = conn.execute(
        "SELECT r.id, r.batch_id, r.state, r.started_utc, COALESCE(r.ended_utc, ''),"
        " COALESCE(r.instrument_serial, ''), COALESCE(r.firmware, ''),"
        " COALESCE(r.kit_id, ''), COALESCE(c.name, '?'), COALESCE(c.declared_version, ''),"
        " COALESCE(c.version_no, 0), COALESCE(r.recipe_hash, ''),"
        " COALESCE(r.parameters, '{}'), c.text, COALESCE(r.operator_name, '')"
        " FROM runs r LEFT JOIN recipes c ON c.id = r.recipe_id WHERE r.id = ?",
        (run_id,),
    ).fetchone()
    if row is None:
        return None
    return RunHeader(*row[:12], json.loads(row[12]), row[13], row[14])


def run_audit(conn: sqlite3.Connection, run_id: int) -> list[AuditRow]:
    return [
        AuditRow(*r)
        for r in conn.execute(
            "SELECT id, ts_utc, user_name, action, object_type, object_id, old_value,"
            " new_value, reason FROM audit WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
    ]


def run_signatures(conn: sqlite3.Connection, run_id: int) -> list[SignatureRow]:
    """Signatures on the run (record type "run") and on its steps ("run-step")."""
    return [
        SignatureRow(*r)
        for r in conn.execute(
            "SELECT id, user_name, ts_utc, meaning, record_type, record_id, content_hash,"
            " COALESCE(statement, '') FROM signatures"
            " WHERE (record_type = 'run-step' AND record_id LIKE ?)"
            " OR (record_type = 'run' AND record_id = ?) ORDER BY id",
            (f"{run_id}/step/%", str(run_id)),
        )
    ]


def step_journal(conn: sqlite3.Connection, run_id: int) -> list[JournalMark]:
    """The run's step starts and ends as journaled (a restarted step: every start)."""
    return [
        JournalMark(step, kind, json.loads(data).get("process_s"))
        for step, kind, data in conn.execute(
            "SELECT step, kind, data FROM run_journal WHERE run_id = ?"
            " AND kind IN ('start', 'end') ORDER BY seq",
            (run_id,),
        )
    ]


def read_run_record(db_path: str | Path, run_id: int) -> RunRecordRows | None:
    """The rows of ``run_id``'s batch record on a reader connection; None: no such run."""
    with closing(connect(db_path, readonly=True)) as conn:
        header = run_header(conn, run_id)
        if header is None:
            return None
        return RunRecordRows(
            header,
            run_audit(conn, run_id),
            run_signatures(conn, run_id),
            step_journal(conn, run_id),
        )


# --------------------------------------------------------------------- look-ups
@dataclass(frozen=True)
class RunRecipe:
    """The recipe version a run used: its source, name and version number."""

    text: str
    name: str
    version_no: int


def run_recipe(conn: sqlite3.Connection, run_id: int) -> RunRecipe | None:
    """None: no such run, or no recipe source on record for it."""
    row = conn.execute(
        "SELECT c.text, c.name, c.version_no FROM runs r"
        " LEFT JOIN recipes c ON c.id = r.recipe_id WHERE r.id = ?",
        (run_id,),
    ).fetchone()
    if row is None or not row[0]:
        return None
    return RunRecipe(*row)


def run_recipe_id(conn: sqlite3.Connection, run_id: int) -> int | None:
    """The recipe version (recipes.id) a run used; None: no such run, or none."""
    row = conn.execute("SELECT recipe_id FROM runs WHERE id = ?", (run_id,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def run_batch(conn: sqlite3.Connection, run_id: int) -> str | None:
    """The run's batch ID; None: no such run."""
    row = conn.execute("SELECT batch_id FROM runs WHERE id = ?", (run_id,)).fetchone()
    return None if row is None else row[0]


def run_batch_and_state(conn: sqlite3.Connection, run_id: int) -> tuple[str, str] | None:
    row = conn.execute("SELECT batch_id, state FROM runs WHERE id = ?", (run_id,)).fetchone()
    return None if row is None else (row[0], row[1])


def runs_of_recipe(
    conn: sqlite3.Connection, recipe_id: int, state: str
) -> list[tuple[int, str, str]]:
    """(run id, batch, ended UTC or "") of the recipe version's runs in ``state``,
    oldest first."""
    return conn.execute(
        "SELECT id, batch_id, COALESCE(ended_utc, '') FROM runs"
        " WHERE recipe_id = ? AND state = ? ORDER BY id",
        (recipe_id, state),
    ).fetchall()


def batch_references(db_path: str | Path) -> list[object]:
    """Every distinct batch ID and kit ID of the runs table, as stored (None included),
    read on a read-only connection that never creates the file; sqlite3.Error when the
    records cannot be read."""
    found: list[object] = []
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        for column in ("batch_id", "kit_id"):
            found += [v for (v,) in conn.execute(f"SELECT DISTINCT {column} FROM runs")]
    return found


# --------------------------------------------------------------------- historian
def newest_sample(conn: sqlite3.Connection, run_id: int) -> tuple[float, int] | None:
    """(UTC epoch seconds, process ms) of the run's newest sample; None: no sample."""
    row = conn.execute(
        "SELECT utc, t_ms FROM samples WHERE run_id = ? ORDER BY t_ms DESC LIMIT 1",
        (run_id,),
    ).fetchone()
    return (float(row[0]), int(row[1])) if row else None


def rollup_means(
    conn: sqlite3.Connection, run_id: int, level: int, channels: Iterable[str]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(bucket mid-time s, mean per channel) of every rollup bucket of ``level`` (0:
    10 s, 1: 1 min, see historian.LEVELS_MS), in time order."""
    channels = tuple(channels)
    rows = conn.execute(
        "SELECT t_first, t_last, n, sums FROM rollups WHERE run_id = ? AND level = ?"
        " ORDER BY bucket",
        (run_id, level),
    ).fetchall()
    if not rows:
        return np.empty(0), {c: np.empty(0) for c in channels}
    t_s = np.array([(r[0] + r[1]) / 2000.0 for r in rows])
    n = np.array([max(r[2], 1) for r in rows], dtype=float)
    sums = np.frombuffer(b"".join(r[3] for r in rows), dtype=DTYPE).reshape(len(rows), N_CHANNELS)
    return t_s, {c: sums[:, CHANNEL_INDEX[c]] / n for c in channels}


def newest_run_of_batch(db_path: str | Path, batch: str) -> int | None:
    """The id of the newest run of ``batch`` (a batch ID may be run again)."""
    with closing(connect(db_path, readonly=True)) as conn:
        row = conn.execute(
            "SELECT id FROM runs WHERE batch_id = ? ORDER BY id DESC LIMIT 1", (batch,)
        ).fetchone()
    return row[0] if row else None


def raw_samples(
    db_path: str | Path, run_id: int, chunk: int = 50_000
) -> Iterator[list[tuple[int, int, int, float, bytes]]]:
    """A run's raw samples (process ms, boot, instrument ms, UTC, values blob) in
    chunks of ``chunk``, oldest first, on one reader connection: a 14-day run is never
    in memory whole."""
    with closing(connect(db_path, readonly=True)) as conn:
        last = -1
        while True:
            rows = conn.execute(
                "SELECT t_ms, boot, t_inst, utc, vals FROM samples WHERE run_id = ? AND t_ms > ?"
                " ORDER BY t_ms LIMIT ?",
                (run_id, last, chunk),
            ).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

