"""Reading the audit trail for people: a filtered selection, newest first, with the
number of entries that match, and the names present for tap-choice filters. No Qt;
a reader connection each call (the writer thread is never asked). Who may read is
checked one layer up (app/review/audit_reader.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

from app.store.db import connect

LIMIT = 1000  # what a screen shows; the count says how many more there are
# A time range up to this long is read through an index on the time where there is
# one; a longer one (much of the trail) is faster read newest-first by entry number
# than through the index and then sorted: measured at 200,000 entries.
INDEXED_SPAN_DAYS = 31


@dataclass(frozen=True)
class AuditFilter:
    """What to show; empty fields (and run_id None) do not filter."""

    user: str = ""  # printed name or user id contains
    action: str = ""  # starts with, e.g. "alarm." or "run.state"
    action_exact: bool = False  # action names one action: "login", not "login.failed"
    object_type: str = ""  # exact, e.g. "run", "setpoint", "user"
    object_id: str = ""  # contains
    run_id: int | None = None
    since_utc: str = ""  # ISO date or time: entries at or after
    until_utc: str = ""  # entries before

    @property
    def empty(self) -> bool:
        return self == AuditFilter()

    def describe(self) -> str:
        """The filter in words, for the screen and the head of an export."""
        parts = []
        if self.user:
            parts.append(f'user contains "{self.user}"')
        if self.action:
            how = "is" if self.action_exact else "starts with"
            parts.append(f'action {how} "{self.action}"')
        if self.object_type:
            parts.append(f'object type is "{self.object_type}"')
        if self.object_id:
            parts.append(f'object ID contains "{self.object_id}"')
        if self.run_id is not None:
            parts.append(f"run {self.run_id}")
        if self.since_utc:
            parts.append(f"from {self.since_utc} UTC")
        if self.until_utc:
            parts.append(f"before {self.until_utc} UTC")
        return "; ".join(parts) if parts else "none (the whole audit trail)"


@dataclass(frozen=True)
class AuditEntryRow:
    """An audit entry as the viewer shows it. The first fields are those of
    app.store.run_reads.AuditRow (same names, so the CSV writer serves both; the store
    does not import the review layer above it), then the account ID, time zone,
    workstation, run and the entry's hash (so a copy can be matched to the chain)."""

    id: int
    ts_utc: str
    user_name: str
    action: str
    object_type: str
    object_id: str
    old_value: str | None
    new_value: str | None
    reason: str | None
    user_id: str
    tz: str
    workstation: str
    run_id: int | None
    hash: str


COLUMNS = ", ".join(f.name for f in fields(AuditEntryRow))


@dataclass(frozen=True)
class AuditSelection:
    """The rows shown (newest first, at most ``limit``) and how many match in all."""

    where: AuditFilter
    rows: tuple[AuditEntryRow, ...]
    total: int
    limit: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _after_prefix(prefix: str) -> str:
    """The smallest text greater than every text starting with ``prefix``, so that a
    prefix is a range (``>= prefix AND < this``) an index can serve."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def where_clause(where: AuditFilter) -> tuple[str, list[object]]:
    """SQL after WHERE (or "") and its arguments."""
    clauses: list[str] = []
    args: list[object] = []
    if where.user:
        like = f"%{_escape_like(where.user)}%"
        clauses.append("(user_name LIKE ? ESCAPE '\\' OR user_id LIKE ? ESCAPE '\\')")
        args += [like, like]
    if where.action and where.action_exact:
        clauses.append("action = ?")
        args.append(where.action)
    elif where.action:
        clauses.append("action >= ? AND action < ?")
        args += [where.action, _after_prefix(where.action)]
    if where.object_type:
        clauses.append("object_type = ?")
        args.append(where.object_type)
    if where.object_id:
        clauses.append("object_id LIKE ? ESCAPE '\\'")
        args.append(f"%{_escape_like(where.object_id)}%")
    if where.run_id is not None:
        clauses.append("run_id = ?")
        args.append(where.run_id)
    column = "ts_utc" if _short_range(where) else "+ts_utc"  # unary +: no index
    if where.since_utc:
        clauses.append(f"{column} >= ?")
        args.append(where.since_utc)
    if where.until_utc:
        clauses.append(f"{column} < ?")
        args.append(where.until_utc)
    return " AND ".join(clauses), args


def _short_range(where: AuditFilter) -> bool:
    """Both ends given, at most INDEXED_SPAN_DAYS apart."""
    try:
        since = date.fromisoformat(where.since_utc[:10])
        until = date.fromisoformat(where.until_utc[:10])
    except ValueError:
        return False
    return (until - since).days <= INDEXED_SPAN_DAYS


def select_sql(where: AuditFilter, select: str, tail: str = "") -> tuple[str, list[object]]:
    """``SELECT <select> FROM audit WHERE <the filter><tail>`` and its arguments."""
    clause, args = where_clause(where)
    return f"SELECT {select} FROM audit" + (f" WHERE {clause}" if clause else "") + tail, args


def count_audit(conn: sqlite3.Connection, where: AuditFilter, below_id: int | None = None) -> int:
    """How many entries match ``where`` (only those before entry ``below_id`` when
    given: the part a newest-first read has not passed over yet)."""
    if where.empty:  # COUNT(*) alone reads the smallest index, not the table
        return int(conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])
    sql, args = select_sql(where, "COUNT(*)")
    if below_id is not None:
        sql += " AND id < ?"
        args.append(below_id)
    return int(conn.execute(sql, args).fetchone()[0])


def query_audit(
    db_path: str | Path, where: AuditFilter | None = None, limit: int = LIMIT
) -> AuditSelection:
    """The newest ``limit`` entries matching ``where`` (in chain order, newest first)
    and the number matching in all, read in one snapshot so they agree. When the limit
    is reached, only the entries older than the last one shown are counted: one pass
    over the trail, not two, whatever the filter."""
    where = where or AuditFilter()
    sql, args = select_sql(where, COLUMNS, " ORDER BY id DESC LIMIT ?")
    with read_snapshot(db_path) as conn:
        rows = tuple(AuditEntryRow(*row) for row in conn.execute(sql, (*args, limit)))
        if len(rows) < limit:
            total = len(rows)
        elif where.empty:
            total = count_audit(conn, where)
        else:
            total = len(rows) + count_audit(conn, where, below_id=rows[-1].id)
    return AuditSelection(where, rows, total, limit)


@contextmanager
def read_snapshot(db_path: str | Path) -> Iterator[sqlite3.Connection]:
    """A reader connection inside one read transaction, so that every statement on it
    (a count and the rows it counts) sees the same snapshot of the trail. Closed on
    leaving; the transaction ends with COMMIT when the block completes."""
    with closing(connect(db_path, readonly=True)) as conn:
        conn.execute("BEGIN")
        yield conn
        conn.execute("COMMIT")


def iter_audit(conn: sqlite3.Connection, where: AuditFilter) -> Iterator[AuditEntryRow]:
    """Every entry matching ``where``, oldest first (the chain's order), one at a time:
    for exports, which never hold the whole trail in memory."""
    sql, args = select_sql(where, COLUMNS, " ORDER BY id")
    for row in conn.execute(sql, args):
        yield AuditEntryRow(*row)


# The choices: DISTINCT without ORDER BY keeps a small de-duplicating b-tree as it
# scans (an ORDER BY or GROUP BY would sort every row first: twice as slow at 200,000
# entries); the few values found are sorted here.
def _distinct(db_path: str | Path, columns: str) -> list[tuple]:
    with closing(connect(db_path, readonly=True)) as conn:
        return conn.execute(f"SELECT DISTINCT {columns} FROM audit").fetchall()


def distinct_actions(db_path: str | Path) -> list[str]:
    """The action names in the trail, sorted: the choices of the action filter."""
    return sorted(r[0] for r in _distinct(db_path, "action"))


def distinct_users(db_path: str | Path) -> list[tuple[str, str]]:
    """(user id, printed name) of everyone in the trail, by name."""
    return sorted(
        ((r[0], r[1]) for r in _distinct(db_path, "user_id, user_name")),
        key=lambda u: (u[1].lower(), u[0]),
    )


def distinct_object_types(db_path: str | Path) -> list[str]:
    """The object types in the trail (run, setpoint, user, recipe, ...), sorted."""
    return sorted(r[0] for r in _distinct(db_path, "object_type"))
