"""The run's record: the runs row, an audit entry for every transition, step, note
and answer, and the step journal, each durable before the engine goes on."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.batch.alarms import AlarmEvent
from app.batch.executors import Prompt
from app.batch.journal import JournalEntry
from app.batch.states import Transition
from app.store.actor import SYSTEM, Actor
from app.store.audit import AuditEntry
from app.store.db import utc_now
from app.store.run_log import (
    append_journal,
    insert_run,
    last_journal_seq,
    read_unfinished,
    set_run_state,
)
from app.store.run_states import FINAL_STATES
from app.store.writer import StoreWriter


class StoreRunRecord:
    def __init__(
        self,
        writer: StoreWriter,
        run_id: int | None = None,
        on_line: Callable[[str], None] | None = None,
        on_step: Callable[[int, float], None] | None = None,
    ) -> None:
        self.writer = writer
        self.on_step = on_step  # (number, process_s) once a step's start is recorded
        self.run_id = run_id
        self.lines: list[str] = []  # a readable summary, also printed by the headless runner
        self.on_line = on_line  # each summary line as it happens (headless progress)
        self._journal_seq: int | None = None

    def create(
        self,
        batch_id: str,
        recipe_id: int,
        recipe_hash: str,
        serial: str,
        firmware: str,
        kit: str,
        actor: Actor,
        parameters: dict[str, float] | None = None,
    ) -> int:
        """The runs row and its ``run.create`` entry; ``actor`` is the operator of record."""
        chosen = json.dumps(parameters or {}, sort_keys=True)

        def job(ctx) -> int:
            run_id = insert_run(
                ctx.conn,
                batch_id,
                utc_now(),
                (serial, firmware, kit),
                (recipe_id, recipe_hash),
                parameters or {},
                actor,
            )
            ctx.audit.append(
                AuditEntry(
                    actor.id,
                    actor.name,
                    "run.create",
                    "run",
                    str(run_id),
                    new_value=f"batch {batch_id}; parameters {chosen}",
                    run_id=run_id,
                )
            )
            return run_id

        self.run_id = self.writer.call(job)
        return self.run_id

    def _line(self, text: str) -> None:
        self.lines.append(text)
        if self.on_line:
            self.on_line(text)

    # the step journal ---------------------------------------------------------------
    def journal(self, step: int, kind: str, data: dict[str, Any]) -> None:
        self.writer.call(lambda ctx: self._append_journal(ctx.conn, step, kind, data))

    def _append_journal(
        self, conn: sqlite3.Connection, step: int, kind: str, data: dict[str, Any]
    ) -> None:
        if self._journal_seq is None:
            self._journal_seq = last_journal_seq(conn, self.run_id)
        append_journal(conn, self.run_id, self._journal_seq + 1, step, kind, data)
        self._journal_seq += 1  # only once the insert went through

    def _audit(
        self,
        action: str,
        object_id: str,
        new_value: str,
        actor: Actor,
        old_value: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.writer.record(
            AuditEntry(
                actor.id,
                actor.name,
                action,
                "run",
                object_id,
                old_value=old_value,
                new_value=new_value,
                reason=reason,
                run_id=self.run_id,
            )
        )

    def transition(self, transition: Transition) -> None:
        # Reset readies the unit for the next batch: the run itself keeps its final state.
        keeps_state = transition.new.value == "Idle" and transition.old.value in FINAL_STATES

        def job(ctx) -> None:
            if keeps_state:
                ctx.audit.append(self._state_entry(transition))
                return
            set_run_state(ctx.conn, self.run_id, transition.new.value, transition.time_utc)
            ctx.audit.append(self._state_entry(transition))

        self.writer.call(job)
        self._line(
            f"{transition.old.value} -> {transition.new.value} "
            f"[{transition.cause}, {transition.trigger.value}]"
            + (f": {transition.reason}" if transition.reason else "")
        )

    def _state_entry(self, transition: Transition) -> AuditEntry:
        return AuditEntry(
            transition.actor.id,
            transition.actor.name,
            "run.state",
            "run",
            str(self.run_id),
            old_value=transition.old.value,
            new_value=transition.new.value,
            reason=f"{transition.cause} ({transition.trigger.value})"
            + (f": {transition.reason}" if transition.reason else ""),
            run_id=self.run_id,
        )

    def step_started(self, number: int, name: str, process_s: float) -> None:
        self._step_edge("step.start", "start", number, name, process_s)
        self._line(f"step {number} {name}: started at {process_s / 3600:.2f} h")
        if self.on_step is not None:
            self.on_step(number, process_s)

    def step_finished(self, number: int, name: str, process_s: float) -> None:
        self._step_edge("step.end", "end", number, name, process_s)
        self._line(f"step {number} {name}: finished at {process_s / 3600:.2f} h")

    def _step_edge(self, action: str, kind: str, number: int, name: str, process_s: float) -> None:
        """The audit entry and the journal entry in one transaction: a restarted console
        never finds a step begun (or ended) in one and not in the other. A step begins
        and ends by itself (the engine sequences it): the system's act; the people who
        acted in it answered or signed its prompt under their own names."""
        entry = AuditEntry(
            SYSTEM.id,
            SYSTEM.name,
            action,
            "run",
            f"{self.run_id}/{number}",
            new_value=name,
            run_id=self.run_id,
        )

        def job(ctx) -> None:
            ctx.audit.append(entry)
            self._append_journal(ctx.conn, number, kind, {"process_s": process_s})

        self.writer.call(job)

    def golden(self, band_id: int, summary: str) -> None:
        """Which golden band this run is watched against (kept with the run, so review
        and a resumed console judge it by the same band, whatever is chosen later)."""
        self._audit("run.golden", str(self.run_id), f"band {band_id}: {summary}", SYSTEM)
        self._line(f"watched against the {summary}")

    def note(self, number: int, text: str, actor: Actor = SYSTEM) -> None:
        self._audit("step.note", f"{self.run_id}/{number}", text, actor)
        self._line(f"step {number}: {text}")

    def alarm(self, event: AlarmEvent) -> None:
        """Every alarm state change, in the audit trail under the alarm's tag, and in the
        step journal with its process time (one transaction), so that a restarted
        console brings the alarm back as it was, with its activation time."""
        entry = AuditEntry(
            event.actor.id,
            event.actor.name,
            f"alarm.{event.new.value}",
            "alarm",
            event.tag,
            old_value=event.old.value,
            new_value=f"{event.priority.value}: {event.message}",
            reason=event.reason or None,
            run_id=self.run_id,
        )
        data = {"tag": event.tag, "state": event.new.value, "t_s": event.t_s}
        data.update(priority=event.priority.value, message=event.message)
        if event.until_s is not None:
            data["until_s"] = event.until_s

        def job(ctx) -> None:
            ctx.audit.append(entry)
            self._append_journal(ctx.conn, 0, "alarm", data)

        self.writer.call(job)
        self._line(
            f"alarm {event.tag} [{event.priority.value}] {event.old.value} -> "
            f"{event.new.value}: {event.message}"
        )

    def answered(self, number: int, prompt: Prompt, answer: Any, actor: Actor) -> None:
        self._audit(
            "step.answer",
            f"{self.run_id}/{number}",
            f"{prompt.response}: {answer}",
            actor,
            reason=prompt.message,
        )




@dataclass
class UnfinishedRun:
    """What a restarted console needs to take a run up again."""

    run_id: int
    batch_id: str
    state: str
    recipe_id: int
    recipe_hash: str
    instrument_serial: str
    kit_id: str
    parameters: dict[str, float]
    journal: list[JournalEntry]
    last_sample: tuple[int, int, dict[str, float]] | None  # boot, instrument t_ms, values


def load_unfinished(conn: sqlite3.Connection, run_id: int) -> UnfinishedRun:
    """An unfinished run read back (app/store/run_log.py), its newest sample decoded."""
    import numpy as np

    from app.store.historian import DTYPE
    from hardware.protocol import CHANNEL_INDEX

    stored = read_unfinished(conn, run_id)
    last_sample = None
    if stored.newest_sample is not None:
        boot, t_ms, blob = stored.newest_sample
        values = np.frombuffer(blob, dtype=DTYPE)
        last_sample = (boot, t_ms, {name: float(values[i]) for name, i in CHANNEL_INDEX.items()})
    return UnfinishedRun(
        stored.run_id,
        stored.batch_id,
        stored.state,
        stored.recipe_id,
        stored.recipe_hash,
        stored.instrument_serial,
        stored.kit_id,
        stored.parameters,
        [JournalEntry(step, kind, data) for step, kind, data in stored.journal],
        last_sample,
    )
