"""Accounts and runs bound to the audit trail: what the chain does not cover itself.

An account's role or a run's state is a row anyone with the file could change. Each
such row names (``audit_id``) the audit entry written with its last change, triggers
refuse a change that does not come with its entry, and ``check`` replays the trail
to find what each account's role, disabled and locked flags and each run's batch ID
and state must be. A row the trail does not explain is named.

Not covered: sample counts (a run's samples have no audit entry each; see
docs/records.md "Not yet"), password hashes (only that they changed with an entry),
and a run's recipe, instrument and kit columns (the trail does not record them).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from app.store.audit import AuditEntry, AuditLog
from app.store.run_states import FINAL_STATES

USER_ACTIONS = (
    "user.add",
    "user.disable",
    "user.enable",
    "user.unlock",
    "user.role",
    "user.password",
    "account.locked",
    "account.baseline",
)
RUN_ACTIONS = ("run.create", "run.state", "run.baseline")
# the id the audit entry appended next in this transaction will get: what a write of an
# account or run row stores in audit_id (the triggers of migration 10 insist on it)
NEXT_ENTRY = "(SELECT COALESCE(MAX(id), 0) + 1 FROM audit)"


@dataclass
class Account:
    role: str = ""
    disabled: int = 0
    locked: int = 0
    last_id: int = 0  # the entry of the last change
    entries: set[int] = field(default_factory=set)  # every entry about the account


@dataclass
class Run:
    batch: str = ""
    state: str = ""
    last_id: int = 0
    entries: set[int] = field(default_factory=set)


def _rows(conn: sqlite3.Connection, kind: str, actions: tuple[str, ...]):
    marks = ",".join("?" * len(actions))
    return conn.execute(
        "SELECT id, action, object_id, old_value, new_value FROM audit"
        f" WHERE object_type = ? AND action IN ({marks}) ORDER BY id",
        (kind, *actions),
    )


def trail_accounts(conn: sqlite3.Connection) -> dict[str, Account]:
    """Each account (by lower-case user name) as the trail leaves it."""
    accounts: dict[str, Account] = {}
    for entry_id, action, name, _old, new in _rows(conn, "user", USER_ACTIONS):
        account = accounts.setdefault(name.lower(), Account())
        account.entries.add(entry_id)
        account.last_id = entry_id
        if action == "user.add":
            account.role = (new or "").rpartition("; ")[2]
            account.disabled = account.locked = 0
        elif action == "account.baseline":
            state = json.loads(new or "{}")
            account.role, account.disabled, account.locked = (
                state["role"],
                state["disabled"],
                state["locked"],
            )
        elif action == "account.locked":
            account.locked = 1
        for word in (new or "").split():  # "disabled=1", "locked=0", "role=supervisor"
            key, _, value = word.partition("=")
            if key == "role" and action != "account.baseline":
                account.role = value
            elif key in ("disabled", "locked") and value in ("0", "1"):
                setattr(account, key, int(value))
    return accounts


def trail_runs(conn: sqlite3.Connection) -> dict[int, Run]:
    """Each run as the trail leaves it (a Reset of a finished run leaves its row)."""
    runs: dict[int, Run] = {}
    for entry_id, action, object_id, old, new in _rows(conn, "run", RUN_ACTIONS):
        if not object_id.isdigit():
            continue
        run = runs.setdefault(int(object_id), Run())
        if action == "run.state" and new == "Idle" and old in FINAL_STATES:
            continue  # the unit is reset; the run keeps its final state
        run.entries.add(entry_id)
        run.last_id = entry_id
        if action == "run.create":
            run.batch = (new or "").rpartition("; parameters ")[0].removeprefix("batch ")
            run.state = "Idle"
        elif action == "run.state":
            run.state = new or ""
        else:
            state = json.loads(new or "{}")
            run.batch, run.state = state["batch"], state["state"]
    return runs


def _bound(
    conn: sqlite3.Connection, audit_id: int | None, trail_last: int, kind: str, name: str
) -> bool:
    """The row names the trail's last change, or a later entry about the same object
    (an action this module does not know yet)."""
    if audit_id == trail_last:
        return True
    if audit_id is None or audit_id < trail_last:
        return False
    row = conn.execute(
        "SELECT object_type, object_id FROM audit WHERE id = ?", (audit_id,)
    ).fetchone()
    return row is not None and row[0] == kind and row[1].lower() == name.lower()


def check(conn: sqlite3.Connection) -> tuple[str, int | None]:
    """The first account or run whose row the trail does not explain: (message, the
    entry concerned), or ("", None)."""
    accounts = trail_accounts(conn)
    for name, role, disabled, locked, audit_id in conn.execute(
        "SELECT username, role, disabled, locked, audit_id FROM users ORDER BY id"
    ):
        trail = accounts.pop(name.lower(), None)
        if trail is None:
            return f"account {name} was not created through the audit trail", None
        if (role, int(disabled), int(locked)) != (trail.role, trail.disabled, trail.locked):
            return (
                f"account {name} does not match the audit trail: role {role}, disabled="
                f"{disabled}, locked={locked} in the database; role {trail.role}, disabled="
                f"{trail.disabled}, locked={trail.locked} after entry #{trail.last_id}",
                trail.last_id,
            )
        if not _bound(conn, audit_id, trail.last_id, "user", name):
            return (
                f"account {name} was changed outside the audit trail (the row names entry"
                f" #{audit_id}; its last audited change is #{trail.last_id})",
                trail.last_id,
            )
    for name, trail in accounts.items():
        if trail.role:
            return f"account {name} removed (created by entry #{min(trail.entries)})", None
    runs = trail_runs(conn)
    for run_id, batch, state, audit_id in conn.execute(
        "SELECT id, batch_id, state, audit_id FROM runs ORDER BY id"
    ):
        trail = runs.pop(run_id, None)
        if trail is None or not trail.batch:
            return f"run {run_id} was not created through the audit trail", None
        if (batch, state) != (trail.batch, trail.state):
            return (
                f"run {run_id} does not match the audit trail: batch {batch}, state {state}"
                f" in the database; batch {trail.batch}, state {trail.state} after entry"
                f" #{trail.last_id}",
                trail.last_id,
            )
        if not _bound(conn, audit_id, trail.last_id, "run", str(run_id)):
            return (
                f"run {run_id} was changed outside the audit trail (the row names entry"
                f" #{audit_id}; its last audited change is #{trail.last_id})",
                trail.last_id,
            )
    for run_id, trail in runs.items():
        if trail.batch:
            return f"run {run_id} removed (created by entry #{min(trail.entries)})", None
    return "", None


def baseline(conn: sqlite3.Connection, audit: AuditLog) -> int:
    """At the first seal of a chain upgraded from a release without seals (after the
    whole chain verified): bind every account and run that names no audit entry yet,
    as it is, with a baseline entry that records it. Returns how many."""
    added = 0
    rows = conn.execute(
        "SELECT id, username, role, disabled, locked FROM users WHERE audit_id IS NULL ORDER BY id"
    ).fetchall()
    for user_id, name, role, disabled, locked in rows:
        conn.execute(f"UPDATE users SET audit_id = {NEXT_ENTRY} WHERE id = ?", (user_id,))
        state = {"role": role, "disabled": disabled, "locked": locked}
        audit.append(_baseline_entry("account.baseline", "user", name, state))
        added += 1
    rows = conn.execute(
        "SELECT id, batch_id, state FROM runs WHERE audit_id IS NULL ORDER BY id"
    ).fetchall()
    for run_id, batch, state in rows:
        conn.execute(f"UPDATE runs SET audit_id = {NEXT_ENTRY} WHERE id = ?", (run_id,))
        audit.append(
            _baseline_entry("run.baseline", "run", str(run_id), {"batch": batch, "state": state})
        )
        added += 1
    return added


def _baseline_entry(action: str, kind: str, object_id: str, state: dict) -> AuditEntry:
    return AuditEntry(
        "system",
        "CellDeck",
        action,
        kind,
        object_id,
        new_value=json.dumps(state, sort_keys=True),
        reason="bound to the audit trail at its first seal, as found",
    )
