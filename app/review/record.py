"""A run's batch record read back from the database as plain data (no Qt): header,
parameters, steps with their times and actors, answers, alarms, transitions, notes,
signatures and the audit chain's status. Review, the PDF and the CSV export all read
the record through here, so they cannot disagree."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from app.batch.recipe import Recipe, load_recipe
from app.store.audit import VerifyResult
from app.store.checks import verify_database
from app.store.run_reads import AuditRow, JournalMark, SignatureRow, read_run_record

# AuditRow and SignatureRow are the store's rows (app/store/run_reads.py), named here
# too: review, reports and their tests import them from the record.


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
    rows = read_run_record(db_path, run_id)
    if rows is None:
        raise ValueError(f"there is no run {run_id}")
    head, audit = rows.header, rows.audit
    recipe_label = f"{head.recipe_name} v{head.recipe_version_no}"
    recipe = load_recipe(head.recipe_text, recipe_label) if head.recipe_text else None
    parameters = head.parameters
    steps = _steps(recipe, parameters, audit, rows.journal, nominal_seconds)
    creator = head.operator_name or next(  # the operator of record; older runs: who started it
        (a.user_name for a in audit if a.action == "run.state" and a.new_value == "Running"), ""
    )
    return RunRecordData(
        run_id=head.run_id,
        batch_id=head.batch_id,
        state=head.state,
        started_utc=head.started_utc,
        ended_utc=head.ended_utc,
        instrument_serial=head.instrument_serial,
        firmware=head.firmware,
        kit_id=head.kit_id,
        recipe_name=head.recipe_name,
        recipe_version=head.recipe_version,
        recipe_version_no=head.recipe_version_no,
        recipe_hash=head.recipe_hash,
        operator=creator,
        parameters=parameters,
        recipe=recipe,
        steps=steps,
        audit=audit,
        signatures=rows.signatures,
        chain=chain,
    )


def _steps(
    recipe, parameters, audit, journal: list[JournalMark], nominal_seconds
) -> list[StepRecord]:
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
    for mark in journal:
        if mark.step in steps:
            if mark.kind == "start":
                steps[mark.step].started_s = mark.process_s
            else:
                steps[mark.step].ended_s = mark.process_s
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
