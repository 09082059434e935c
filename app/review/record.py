"""A run's batch record read back from the database as plain data (no Qt): header,
parameters, steps with their times and actors, answers, alarms, transitions, notes,
signatures and the audit chain's status. Review, the PDF and the CSV export all read
the record through here, so they cannot disagree."""

from __future__ import annotations

import hashlib
import json
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from app.batch.recipe import Recipe, load_recipe
from app.store.audit import VerifyResult
from app.store.checks import verify_database
from app.store.db import connect
from app.store.signatures import compose_statement, record_words


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


@dataclass
class StepRecord:
    number: int
    name: str
    phase: str
    started_utc: str = ""
    ended_utc: str = ""
    started_s: float | None = None  # process seconds, from the step journal
    ended_s: float | None = None
    nominal_s: float = 0.0  # what the recipe expects
    actor: str = ""
    answers: list[AuditRow] = field(default_factory=list)
    notes: list[AuditRow] = field(default_factory=list)
    needs_signature: bool = False
    second_person: bool = False


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


@dataclass
class RunRecordData:
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
    operator: str
    parameters: dict[str, float]
    recipe: Recipe | None
    steps: list[StepRecord]
    audit: list[AuditRow]
    signatures: list[SignatureRow]
    chain: VerifyResult

    def content_hash(self) -> str:
        """SHA-256 over the record's content in a canonical form: what a review
        signature is bound to (any later audit entry of the run changes it)."""
        canonical = {
            "run": [self.run_id, self.batch_id, self.state, self.started_utc, self.ended_utc],
            "instrument": [self.instrument_serial, self.firmware, self.kit_id],
            "recipe": [self.recipe_name, self.recipe_version_no, self.recipe_hash],
            "parameters": self.parameters,
            "audit": [[a.id, a.ts_utc, a.action, a.object_id, a.new_value] for a in self.audit],
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_run_record(db_path: str | Path, run_id: int) -> RunRecordData:
    """Everything the record of ``run_id`` holds, on a reader connection."""
    from app.batch.executors import nominal_seconds

    chain, _ = verify_database(db_path)
    with closing(connect(db_path, readonly=True)) as conn:
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
            raise ValueError(f"there is no run {run_id}")
        audit = [
            AuditRow(*r)
            for r in conn.execute(
                "SELECT id, ts_utc, user_name, action, object_type, object_id, old_value,"
                " new_value, reason FROM audit WHERE run_id = ? ORDER BY id",
                (run_id,),
            )
        ]
        signatures = [
            SignatureRow(*r)
            for r in conn.execute(
                "SELECT id, user_name, ts_utc, meaning, record_type, record_id, content_hash,"
                " COALESCE(statement, '') FROM signatures"
                " WHERE (record_type = 'run-step' AND record_id LIKE ?)"
                " OR (record_type = 'run' AND record_id = ?) ORDER BY id",
                (f"{run_id}/step/%", str(run_id)),
            )
        ]
        journal = conn.execute(
            "SELECT step, kind, data FROM run_journal WHERE run_id = ?"
            " AND kind IN ('start', 'end') ORDER BY seq",
            (run_id,),
        ).fetchall()
    recipe = load_recipe(row[13], f"{row[8]} v{row[10]}") if row[13] else None
    parameters = json.loads(row[12])
    steps = _steps(recipe, parameters, audit, journal, nominal_seconds)
    creator = row[14] or next(  # the operator of record; older runs: who started it
        (a.user_name for a in audit if a.action == "run.state" and a.new_value == "Running"), ""
    )
    return RunRecordData(
        run_id=row[0],
        batch_id=row[1],
        state=row[2],
        started_utc=row[3],
        ended_utc=row[4],
        instrument_serial=row[5],
        firmware=row[6],
        kit_id=row[7],
        recipe_name=row[8],
        recipe_version=row[9],
        recipe_version_no=row[10],
        recipe_hash=row[11],
        operator=creator,
        parameters=parameters,
        recipe=recipe,
        steps=steps,
        audit=audit,
        signatures=signatures,
        chain=chain,
    )


def _steps(recipe, parameters, audit, journal, nominal_seconds) -> list[StepRecord]:
    if recipe is None:
        return []
    arguments = recipe.resolve(parameters)
    steps = {
        s.number: StepRecord(
            s.number,
            s.name,
            s.phase,
            nominal_s=nominal_seconds(s.phase, a),
            needs_signature=s.phase == "prompt" and a.get("response") == "signature",
            second_person=bool(a.get("second_person", False)),
        )
        for s, a in zip(recipe.steps, arguments, strict=True)
    }
    for number, kind, data in journal:
        process_s = json.loads(data).get("process_s")
        if number in steps:
            if kind == "start":
                steps[number].started_s = process_s
            else:
                steps[number].ended_s = process_s
    for entry in audit:
        number = step_number(entry.object_id)
        step = steps.get(number) if number else None
        if step is None:
            continue
        if entry.action == "step.start" and not step.started_utc:
            step.started_utc, step.actor = entry.ts_utc, entry.user_name
        elif entry.action == "step.end":
            step.ended_utc = entry.ts_utc
        elif entry.action == "step.answer":
            step.answers.append(entry)
            step.actor = entry.user_name  # who performed it: whoever answered its prompt
        elif entry.action == "step.note":
            step.notes.append(entry)
    return [steps[n] for n in sorted(steps)]


def step_number(object_id: str) -> int | None:
    """ "7/3" is step 3 of run 7."""
    parts = object_id.split("/")
    return int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None
