"""The run's record: the runs row and an audit entry for every transition, step, note
and answer, each durable before the engine goes on."""

from __future__ import annotations

from typing import Any

from app.batch.executors import Prompt
from app.batch.states import Transition
from app.store.audit import AuditEntry
from app.store.db import utc_now
from app.store.writer import StoreWriter


class StoreRunRecord:
    def __init__(self, writer: StoreWriter, actor_id: str, actor_name: str) -> None:
        self.writer = writer
        self.actor_id, self.actor_name = actor_id, actor_name
        self.run_id: int | None = None
        self.lines: list[str] = []  # a readable summary, also printed by the headless runner

    def create(
        self, batch_id: str, recipe_id: int, recipe_hash: str, serial: str, firmware: str, kit: str
    ) -> int:
        def job(ctx) -> int:
            run_id = ctx.conn.execute(
                "INSERT INTO runs (batch_id, started_utc, state, instrument_serial, firmware,"
                " kit_id, recipe_id, recipe_hash) VALUES (?, ?, 'Idle', ?, ?, ?, ?, ?)",
                (batch_id, utc_now(), serial, firmware, kit, recipe_id, recipe_hash),
            ).lastrowid
            ctx.audit.append(
                AuditEntry(
                    self.actor_id,
                    self.actor_name,
                    "run.create",
                    "run",
                    str(run_id),
                    new_value=f"batch {batch_id}",
                    run_id=run_id,
                )
            )
            return run_id

        self.run_id = self.writer.call(job)
        return self.run_id

    def _audit(
        self,
        action: str,
        object_id: str,
        new_value: str,
        user: str = "",
        old_value: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.writer.record(
            AuditEntry(
                self.actor_id,
                user or self.actor_name,
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
        def job(ctx) -> None:
            ctx.conn.execute(
                "UPDATE runs SET state = ?, ended_utc = CASE WHEN ? THEN ? ELSE "
                "ended_utc END WHERE id = ?",
                (
                    transition.new.value,
                    transition.new.value in ("Complete", "Stopped", "Aborted"),
                    transition.time_utc,
                    self.run_id,
                ),
            )
            ctx.audit.append(
                AuditEntry(
                    self.actor_id,
                    transition.actor,
                    "run.state",
                    "run",
                    str(self.run_id),
                    old_value=transition.old.value,
                    new_value=transition.new.value,
                    reason=f"{transition.cause} ({transition.trigger.value})"
                    + (f": {transition.reason}" if transition.reason else ""),
                    run_id=self.run_id,
                )
            )

        self.writer.call(job)
        self.lines.append(
            f"{transition.old.value} -> {transition.new.value} "
            f"[{transition.cause}, {transition.trigger.value}]"
        )

    def step_started(self, number: int, name: str, process_s: float) -> None:
        self._audit("step.start", f"{self.run_id}/{number}", name)
        self.lines.append(f"step {number} {name}: started at {process_s / 3600:.2f} h")

    def step_finished(self, number: int, name: str, process_s: float) -> None:
        self._audit("step.end", f"{self.run_id}/{number}", name)
        self.lines.append(f"step {number} {name}: finished at {process_s / 3600:.2f} h")

    def note(self, number: int, text: str) -> None:
        self._audit("step.note", f"{self.run_id}/{number}", text)
        self.lines.append(f"step {number}: {text}")

    def answered(self, number: int, prompt: Prompt, answer: Any, user: str) -> None:
        self._audit(
            "step.answer",
            f"{self.run_id}/{number}",
            f"{prompt.response}: {answer}",
            user=user,
            reason=prompt.message,
        )
