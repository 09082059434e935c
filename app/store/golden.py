"""Golden batches: the reference band of a recipe version, as a supervisor chose it.

A row holds which runs the band was built from, the band itself (JSON, see
``app.analytics.golden.golden_to_json``: the run screen draws it and the batch engine
watches it without reading the historian), who chose it and why. It is stored only by a
role with ``golden.select`` and only under that person's electronic signature (meaning
"approved", password re-entered): the row, its ``golden.select`` audit entry and the
signature commit in one transaction. Rows are append-only (migration 9); the newest
row per recipe version is the band in force.

Which runs may go into a band (completed, approved, the same recipe version) and
building it from the historian is review's job (app/review/golden_select.py).
"""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from app.analytics.golden import GoldenBatch, golden_from_json
from app.store.audit import AuditEntry
from app.store.db import connect, utc_now
from app.store.security import Permission
from app.store.signatures import Meaning, Signature, SignatureService
from app.store.signed_rows import insert_signed, read_signed, signature_holds
from app.store.users import Session, UserService
from app.store.writer import StoreWriter, WriterContext

COLUMNS = ("recipe_id", "run_ids", "band", "created_utc", "user_id", "user_name", "reason")


def record_content(values: dict) -> str:
    """The signed content: the row's fields as canonical JSON (the band included), so
    a band changed behind the triggers' back no longer matches its signature."""
    return json.dumps({k: values[k] for k in COLUMNS}, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class GoldenRecord:
    id: int
    recipe_id: int
    run_ids: tuple[int, ...]
    band_json: str
    created_utc: str
    user_id: int
    user_name: str
    reason: str
    signature_id: int
    audit_id: int
    signature_valid: bool  # the row still hashes to what its signature signed

    def golden(self) -> GoldenBatch:
        return golden_from_json(self.band_json)

    @property
    def summary(self) -> str:
        """One line for screens: from which runs, chosen by whom, when."""
        runs = ", ".join(str(r) for r in self.run_ids)
        broken = "" if self.signature_valid else "  [BROKEN: changed after signing]"
        return (
            f"golden band of {len(self.run_ids)} runs ({runs}), chosen by {self.user_name} "
            f"{self.created_utc[:16].replace('T', ' ')} UTC{broken}"
        )


class GoldenStore:
    """Stores golden batches through the single writer; reads on reader connections."""

    def __init__(
        self,
        writer: StoreWriter,
        db_path: str | Path,
        users: UserService,
        signatures: SignatureService | None = None,
    ) -> None:
        self.writer = writer
        self.db_path = Path(db_path)
        self.users = users
        self.signatures = signatures or SignatureService(users, db_path)

    def record(
        self,
        session: Session,
        password: str,
        recipe_id: int,
        run_ids: tuple[int, ...],
        band_json: str,
        reason: str,
        username: str | None = None,
        statement: str = "",
    ) -> GoldenRecord:
        """Store a band, audited and signed ("approved"; ``statement``: what the signer
        was shown, ``golden_request``). Refuses, storing nothing: a
        role without ``golden.select`` (PermissionDenied, audited), no reason
        (ValueError), a wrong password (AuthError)."""
        object_id = f"recipe-version {recipe_id}"
        self.users.require(session, Permission.GOLDEN_SELECT, "golden-batch", object_id)
        if not reason.strip():
            raise ValueError("choosing a golden band needs a reason")
        if not run_ids:
            raise ValueError("a golden band needs runs")
        values = {
            "recipe_id": int(recipe_id),
            "run_ids": json.dumps([int(r) for r in run_ids]),
            "band": band_json,
            "created_utc": utc_now(),
            "user_id": session.user_id,
            "user_name": session.full_name,
            "reason": reason.strip(),
        }
        stored: list[int] = []

        def effect(ctx: WriterContext, signature: Signature) -> None:
            previous = ctx.conn.execute(  # in the transaction: two supervisors at once
                "SELECT run_ids FROM golden_batches WHERE recipe_id = ? ORDER BY id DESC LIMIT 1",
                (int(recipe_id),),
            ).fetchone()
            audit_id = ctx.audit.append(
                AuditEntry(
                    str(session.user_id),
                    session.full_name,
                    "golden.select",
                    "golden-batch",
                    object_id,
                    old_value=f"runs {_runs(_run_ids(previous[0]))}" if previous else None,
                    new_value=f"runs {_runs(run_ids)}",
                    reason=values["reason"],
                    reason_required=True,
                )
            )
            stored.append(
                insert_signed(ctx.conn, "golden_batches", values, COLUMNS, signature, audit_id)
            )

        self.signatures.sign(
            session,
            password,
            Meaning.APPROVED,
            "golden-batch",
            f"{object_id}@{values['created_utc']}",
            record_content(values),
            username,
            then=effect,
            statement=statement,
        )
        return _select(self.db_path, "t.id = ?", (stored[0],))[0]


def _runs(run_ids: tuple[int, ...]) -> str:
    return ", ".join(str(r) for r in run_ids)


def _run_ids(text: str) -> tuple[int, ...]:
    """The stored list of runs; () when it is not one (a row changed behind the
    triggers' back: its signature no longer holds either)."""
    try:
        return tuple(int(r) for r in json.loads(text))
    except (TypeError, ValueError):
        return ()


# ------------------------------------------------------------------ reading
def _select(db_path: str | Path, where: str, args: tuple) -> list[GoldenRecord]:
    return [_record(row) for row in read_signed(db_path, "golden_batches", where, args)]


def _record(row: dict) -> GoldenRecord:
    valid = signature_holds(row, record_content(row))
    return GoldenRecord(
        row["id"],
        row["recipe_id"],
        _run_ids(row["run_ids"]),
        row["band"],
        row["created_utc"],
        row["user_id"],
        row["user_name"],
        row["reason"],
        row["signature_id"],
        row["audit_id"],
        valid,
    )


def active(db_path: str | Path, recipe_id: int) -> GoldenRecord | None:
    """The band in force for a recipe version (its newest), or None."""
    found = _select(
        db_path,
        "t.id = (SELECT MAX(id) FROM golden_batches WHERE recipe_id = ?)",
        (int(recipe_id),),
    )
    return found[0] if found else None


def history(db_path: str | Path, recipe_id: int) -> list[GoldenRecord]:
    """Every band chosen for a recipe version, oldest first."""
    return _select(db_path, "t.recipe_id = ?", (int(recipe_id),))


def usable(record: GoldenRecord | None) -> tuple[GoldenRecord, GoldenBatch] | None:
    """A band and its arrays, only while its signature holds and its band reads: a band
    changed after signing is never used to judge a run."""
    if record is None or not record.signature_valid:
        return None
    try:
        return record, record.golden()
    except (KeyError, TypeError, ValueError):
        return None


def active_band(db_path: str | Path, recipe_id: int) -> tuple[GoldenRecord, GoldenBatch] | None:
    """The band in force for a recipe version, when usable."""
    return usable(active(db_path, recipe_id))


def run_band_id(db_path: str | Path, run_id: int) -> int | None:
    """The band a run was watched against from its start (its ``run.golden`` audit
    entry), or None: it started without one."""
    with closing(connect(db_path, readonly=True)) as conn:
        row = conn.execute(
            "SELECT new_value FROM audit WHERE run_id = ? AND action = 'run.golden'"
            " ORDER BY id DESC LIMIT 1",
            (int(run_id),),
        ).fetchone()
    if row is None or not str(row[0]).startswith("band "):
        return None
    number = str(row[0]).removeprefix("band ").split(":", 1)[0]
    return int(number) if number.isdigit() else None


def run_band(db_path: str | Path, run_id: int) -> tuple[GoldenRecord, GoldenBatch] | None:
    """The band a run was watched against, when usable."""
    band_id = run_band_id(db_path, run_id)
    if band_id is None:
        return None
    found = _select(db_path, "t.id = ?", (band_id,))
    return usable(found[0] if found else None)
