"""The statements of one run's record: its header row, its state, its step journal, its
kinetics, and reading an unfinished run back after the console died.

Write functions run inside a writer job (``conn`` is the writer's connection, in its
transaction) and leave the audit entry to the caller, who appends it right after in the
same transaction: a header row names that entry (``audit_id``, migration 10), so the
triggers refuse a change without it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from app.store.actor import Actor
from app.store.run_states import FINAL_STATES

NEXT_AUDIT_ID = "(SELECT COALESCE(MAX(id), 0) + 1 FROM audit)"
"""The id of the audit entry the caller appends next, in the same transaction."""


def insert_run(
    conn: sqlite3.Connection,
    batch_id: str,
    started_utc: str,
    instrument: tuple[str, str, str],
    recipe: tuple[int, str],
    parameters: dict[str, float],
    operator: Actor,
) -> int:
    """A new run in Idle; ``instrument`` is (serial, firmware, kit), ``recipe`` (version
    id, content hash), ``operator`` the operator of record. Returns its id."""
    serial, firmware, kit = instrument
    return conn.execute(
        "INSERT INTO runs (batch_id, started_utc, state, instrument_serial, firmware, kit_id,"
        " recipe_id, recipe_hash, parameters, operator_id, operator_name, audit_id)"
        f" VALUES (?, ?, 'Idle', ?, ?, ?, ?, ?, ?, ?, ?, {NEXT_AUDIT_ID})",
        (
            batch_id,
            started_utc,
            serial,
            firmware,
            kit,
            *recipe,
            json.dumps(parameters, sort_keys=True),
            operator.id,
            operator.name,
        ),
    ).lastrowid


def set_run_state(conn: sqlite3.Connection, run_id: int, state: str, time_utc: str) -> None:
    """The run's new ISA-88 state; a final state also ends it at ``time_utc``."""
    conn.execute(
        "UPDATE runs SET state = ?, ended_utc = CASE WHEN ? THEN ? ELSE ended_utc END,"
        f" audit_id = {NEXT_AUDIT_ID} WHERE id = ?",
        (state, state in FINAL_STATES, time_utc, run_id),
    )


def last_journal_seq(conn: sqlite3.Connection, run_id: int) -> int:
    row = conn.execute("SELECT MAX(seq) FROM run_journal WHERE run_id = ?", (run_id,)).fetchone()
    return int(row[0] or 0)


def append_journal(
    conn: sqlite3.Connection, run_id: int, seq: int, step: int, kind: str, data: dict[str, Any]
) -> None:
    conn.execute(
        "INSERT INTO run_journal (run_id, seq, step, kind, data) VALUES (?, ?, ?, ?, ?)",
        (run_id, seq, step, kind, json.dumps(data)),
    )


KINETICS_COLUMNS = (
    "run_id",
    "t_s",
    "mu_h",
    "mu_se_h",
    "doubling_h",
    "doubling_low_h",
    "doubling_high_h",
    "total_cells",
    "total_rse",
    "fold_expansion",
    "fold_rse",
    "points",
    "span_h",
    "harvest_target_cells",
    "harvest_eta_s",
    "harvest_early_s",
    "harvest_late_s",
)


def insert_kinetics(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    """One estimate of a run's kinetics and its harvest prediction, by column name; a
    resumed run's estimate of a time already kept leaves the first one (append-only)."""
    missing = set(KINETICS_COLUMNS) - set(row)
    if missing:
        raise ValueError(f"kinetics row without {', '.join(sorted(missing))}")
    names = ", ".join(KINETICS_COLUMNS)
    marks = ", ".join("?" * len(KINETICS_COLUMNS))
    conn.execute(
        f"INSERT OR IGNORE INTO run_kinetics ({names}) VALUES ({marks})",
        tuple(row[name] for name in KINETICS_COLUMNS),
    )


# ---------------------------------------------------------------------- reading back
def unfinished_runs(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
    """(run id, batch, state) of every run not in a final state, newest first."""
    marks = ",".join("?" * len(FINAL_STATES))
    return conn.execute(
        f"SELECT id, batch_id, state FROM runs WHERE state NOT IN ({marks}) ORDER BY id DESC",
        FINAL_STATES,
    ).fetchall()


@dataclass(frozen=True)
class StoredRun:
    """An unfinished run as the records hold it: header, journal, newest sample."""

    run_id: int
    batch_id: str
    state: str
    recipe_id: int
    recipe_hash: str
    instrument_serial: str
    kit_id: str
    parameters: dict[str, float]
    journal: list[tuple[int, str, dict[str, Any]]]  # (step, kind, data) in order
    newest_sample: tuple[int, int, bytes] | None  # boot, instrument t_ms, values blob


def read_unfinished(conn: sqlite3.Connection, run_id: int) -> StoredRun:
    """Everything a restarted console needs of ``run_id``; ValueError when there is no
    such run or it has ended."""
    row = conn.execute(
        "SELECT id, batch_id, state, recipe_id, recipe_hash, instrument_serial, kit_id,"
        " parameters FROM runs WHERE id = ?",
        (run_id,),
    ).fetchone()
    if row is None:
        raise ValueError(f"there is no run {run_id}")
    if row[2] in FINAL_STATES:
        raise ValueError(f"run {run_id} is {row[2]}: there is nothing to resume")
    journal = [
        (step, kind, json.loads(data))
        for step, kind, data in conn.execute(
            "SELECT step, kind, data FROM run_journal WHERE run_id = ? ORDER BY seq", (run_id,)
        )
    ]
    newest = conn.execute(
        "SELECT boot, t_inst, vals FROM samples WHERE run_id = ? ORDER BY t_ms DESC LIMIT 1",
        (run_id,),
    ).fetchone()
    return StoredRun(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4] or "",
        row[5] or "",
        row[6] or "",
        json.loads(row[7] or "{}"),
        journal,
        (int(newest[0]), int(newest[1]), newest[2]) if newest else None,
    )
