"""The run host: one instrument's batch runs, between the connection and the records.

It listens to the connection (samples, events, link state) on the thread that owns the
connection, feeds the engine and the historian, and carries out what people ask for
(start, answer, hold, restart, abort, acknowledge, change a set-point) after checking
their permission here, in the service layer. The console's hardware thread and the
headless runner both drive a RunHost; neither the GUI nor the runner touches the engine.
No Qt in here: status goes out through ``on_status``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import closing
from typing import Any

import numpy as np

from app.batch.engine import BatchEngine
from app.batch.journal import JournalMismatch
from app.batch.library import RecipeLibrary
from app.batch.prestart import Check, StartRequest, prestart_checks
from app.batch.recipe import Recipe
from app.batch.run_feed import RunFeed
from app.batch.run_record import StoreRunRecord, UnfinishedRun, load_unfinished
from app.batch.states import State, Trigger
from app.batch.status import RunStatus, idle_status, project_status
from app.batch.step_signing import sign_step
from app.records import Records
from app.store.actor import Actor
from app.store.audit import AuditEntry
from app.store.calibrations import due_dates
from app.store.db import connect
from app.store.golden import active_band, run_band
from app.store.recorder import TelemetryRecorder
from app.store.run_log import unfinished_runs
from app.store.runs import step_starts
from app.store.security import Permission
from app.store.users import Session
from app.store.writer import keep_alive_while_waiting
from hardware.commands import InstrumentCommand, SetSetpoint
from hardware.connection import LinkState, Sample
from hardware.driver import Identity
from hardware.protocol import CHANNEL_INDEX, Event

STATUS_EVERY_S = 0.25  # status to the screen at most 4 times a second from telemetry
RUN_SETPOINT_LIMITS = {"temp_sp": (30.0, 38.0), "co2_sp": (0.0, 10.0)}
"""What an operator may set during a run (tighter than the instrument's own limits)."""


class PrestartFailed(ValueError):
    def __init__(self, checks: list[Check]) -> None:
        failed = [c for c in checks if not c.ok]
        super().__init__("; ".join(f"{c.name}: {c.detail}" for c in failed))
        self.checks = checks


class RunHost:
    def __init__(
        self,
        records: Records,
        send: Callable[[InstrumentCommand], str],
        on_status: Callable[[RunStatus], None] | None = None,
        on_line: Callable[[str], None] | None = None,
        keep_alive: Callable[[], None] | None = None,
    ) -> None:
        """``keep_alive``: the link's heartbeat (``Connection.keepalive``), beaten while
        the connection's thread waits for a record to reach the disk."""
        self.records = records
        self.keep_alive = keep_alive
        self._alive_on: int | None = None  # the thread keep_alive is registered on
        self.send = send
        self.on_status = on_status or (lambda status: None)
        self.on_line = on_line
        self.library = RecipeLibrary(records.users, records.signatures, records.path)
        self.recorder = TelemetryRecorder(records.writer)
        self.engine: BatchEngine | None = None
        self.record: StoreRunRecord | None = None
        self.recipe: Recipe | None = None
        self.batch = ""
        self.identity: Identity | None = None
        self.link = LinkState.DISCONNECTED
        self.values: dict[str, float] = {}
        self.samples_seen = 0
        self.lines: list[str] = []
        self._unfinished: UnfinishedRun | None = None
        self.service_by: str | None = None  # the engineer with the instrument in service mode
        self._next_status = 0.0
        self.feed = RunFeed(records.writer, self._line)  # the run's kinetics, harvest, band

    # ------------------------------------------------------------------ recovery
    def find_unfinished(self) -> tuple[int, int] | None:
        """At start-up, before connecting: the newest unfinished run on this
        workstation, made ready to resume. Returns (boot, t_ms) of its newest recorded
        sample for the connection to back-fill from (None: nothing to back-fill)."""
        with closing(connect(self.records.path, readonly=True)) as conn:
            waiting = unfinished_runs(conn)
            if not waiting:
                return None
            unfinished = load_unfinished(conn, waiting[0][0])
        self.resume(unfinished)
        return unfinished.last_sample[:2] if unfinished.last_sample else None

    def resume(self, unfinished: UnfinishedRun) -> None:
        """Bring back a run whose console died; it is held once the instrument is back."""
        recipe = self.library.runnable(unfinished.recipe_id)
        if recipe.content_hash != unfinished.recipe_hash:
            raise ValueError(f"run {unfinished.run_id}: its recipe no longer matches its hash")
        values, clock = {}, None
        if unfinished.last_sample:
            boot, t_ms, values = unfinished.last_sample
            clock = (boot, t_ms)
        record = self._record(unfinished.run_id)
        arguments = recipe.resolve(unfinished.parameters)
        with closing(connect(self.records.path, readonly=True)) as conn:
            started = step_starts(conn, unfinished.run_id)
        # fresh kinetics from the back-fill on, and the band it was started with (see
        # docs/analytics.md §6)
        band = self.feed.band(lambda: run_band(self.records.path, unfinished.run_id))
        analytics = self.feed.prepare(recipe, arguments, band, started, resumed=True)
        try:
            engine = BatchEngine.recover(
                recipe,
                arguments,
                self.send,
                record,
                unfinished.journal,
                State(unfinished.state),
                values,
                clock,
                analytics.alarm_definitions,
            )
        except JournalMismatch as exc:
            raise ValueError(f"run {unfinished.run_id} cannot be resumed: {exc}") from exc
        self.engine, self.record, self.recipe = engine, record, recipe
        self.batch, self._unfinished = unfinished.batch_id, unfinished
        self.feed.take(analytics, band, unfinished.run_id)
        self.recorder.start_run(unfinished.run_id)
        self._line(
            f"resuming run {unfinished.run_id} (batch {unfinished.batch_id}) at step "
            f"{engine.current_step}, state {unfinished.state}"
        )

    def _finish_recovery(self) -> None:
        """Instrument attached and the outage back-filled: the run waits, held, for a
        supervisor, unless it is not the run's instrument or kit."""
        unfinished, engine = self._unfinished, self.engine
        identity = self.identity
        if unfinished is None or engine is None or identity is None or not self.samples_seen:
            return
        self._unfinished = None
        if identity.serial != unfinished.instrument_serial or identity.kit != unfinished.kit_id:
            self._line(
                f"run {unfinished.run_id} belongs to {unfinished.instrument_serial} with kit "
                f"{unfinished.kit_id}; this is {identity.serial} with {identity.kit}: "
                "not resumed here"
            )
            self.engine = None
            self.feed.stop()
            self.recorder.stop_run()
            return
        engine.recovered()
        self._publish(force=True)

    # ------------------------------------------------------------------ ConnectionListener
    def on_state(self, state: LinkState, detail: str) -> None:
        if self.keep_alive is not None and self._alive_on != threading.get_ident():
            # the connection's own thread: its waits for the disk keep the link alive
            keep_alive_while_waiting(self.keep_alive)
            self._alive_on = threading.get_ident()
        self.link = state
        if state is LinkState.LOST and self.engine is not None:
            self.engine.link_lost(detail)
        self._publish(force=True)

    def on_identity(self, identity: Identity) -> None:
        self.identity = identity

    def on_samples(self, samples: list[Sample]) -> None:
        self.samples_seen += len(samples)
        newest = samples[-1].values
        self.values = {name: float(newest[i]) for name, i in CHANNEL_INDEX.items()}
        engine = self.engine
        self.recorder.add(  # first: nothing after this can lose the batch's record
            np.fromiter((s.boot for s in samples), np.int32, len(samples)),
            np.fromiter((s.t_ms for s in samples), np.int64, len(samples)),
            np.fromiter((s.utc for s in samples), np.float64, len(samples)),
            np.array([s.values for s in samples], dtype=np.float64),
        )
        if engine is not None:
            watching = self._unfinished is None  # a resumed run raises no band alarms yet
            for sample in samples:
                engine.on_sample(sample.boot, sample.t_ms, sample.values)
                self.feed.sample(engine, sample.boot, sample.t_ms, sample.values, watching)
            self.feed.flush_if_due(engine, watching)
        if self._unfinished is not None and self.link is LinkState.CONNECTED:
            self._finish_recovery()
        self._publish()

    def on_events(self, events: list[Event]) -> None:
        for event in events:
            if event.code in SHOWN_EVENTS:
                details = " ".join(f"{k}={v}" for k, v in event.data.items() if k != "n")
                self._line(f"instrument at {event.t_ms / 1000:.0f} s: {event.code} {details}")
        if self.engine is not None:
            for event in events:
                self.engine.on_event(event)
        self._publish(force=True)

    # ------------------------------------------------------------------ starting
    def checklist(
        self, session: Session, version_id: int, batch: str, batch_again: str, overrides: dict
    ) -> list[Check]:
        """The pre-start checklist for what the start screen has so far."""
        recipe = self.library.runnable(version_id)
        with closing(connect(self.records.path, readonly=True)) as conn:
            in_progress = tuple(b for _, b, _ in unfinished_runs(conn))
        request = StartRequest(recipe, batch, batch_again, overrides, session.role, in_progress)
        due = due_dates(self.records.path, self.identity.serial) if self.identity else {}
        checks = prestart_checks(request, self.identity, self.values, due)
        if self.link is not LinkState.CONNECTED:
            checks[0] = Check("instrument connected", False, f"link {self.link.value.lower()}")
        if self.engine is not None and not self.engine.finished:
            checks.append(Check("no run in progress", False, f"batch {self.batch} is running"))
        if self.service_by:
            checks.append(
                Check("not in service mode", False, f"{self.service_by} has it in service mode")
            )
        return checks

    def start(
        self,
        session: Session,
        version_id: int,
        batch: str,
        batch_again: str,
        overrides: dict[str, float] | None = None,
    ) -> int:
        """Start a new run of an approved recipe version: permission, checklist, record."""
        self.records.users.require(session, Permission.RUN_OPERATE, "run", batch)
        overrides = dict(overrides or {})
        checks = self.checklist(session, version_id, batch, batch_again, overrides)
        if not all(c.ok for c in checks):
            raise PrestartFailed(checks)
        recipe = self.library.runnable(version_id)
        identity = self.identity
        assert identity is not None
        arguments = recipe.resolve(overrides)
        operator = Actor.of(session)  # the run's operator of record
        record = self._record(None)
        run_id = record.create(
            batch.strip(),
            version_id,
            recipe.content_hash,
            identity.serial,
            identity.firmware,
            identity.kit,
            operator,
            overrides,
        )
        self.recorder.start_run(run_id)
        band = self.feed.band(lambda: active_band(self.records.path, version_id))
        if band is not None:
            record.golden(band[0].id, band[0].summary)
        analytics = self.feed.prepare(recipe, arguments, band)
        self.engine = BatchEngine(
            recipe, arguments, self.send, record, extra_alarms=analytics.alarm_definitions
        )
        self.record, self.recipe, self.batch = record, recipe, batch.strip()
        self.feed.take(analytics, band, run_id)
        self.engine.start(operator)
        self._publish(force=True)
        return run_id

    def _record(self, run_id: int | None) -> StoreRunRecord:
        self.lines = []
        return StoreRunRecord(
            self.records.writer,
            run_id=run_id,
            on_line=self._line,
            on_step=self.feed.step_started,
        )

    # ------------------------------------------------------------------ operating
    def _engine(self) -> BatchEngine:
        if self.engine is None:
            raise ValueError("no run is in progress")
        return self.engine

    def answer(
        self,
        session: Session,
        value: Any,
        password: str = "",
        second: tuple[str, str] | None = None,
        username: str | None = None,
    ) -> None:
        """Answer the pending prompt. A signature step needs the user's password (and
        user name at a session's first signing, as typed by the signer); a
        second-person step also the second user's name and password."""
        engine = self._engine()
        self.records.users.require(session, Permission.RUN_OPERATE, "run", self.batch)
        prompt = engine.pending_prompt
        if prompt is None:
            raise ValueError("no question is waiting for an answer")
        if prompt.response == "signature":
            run_id = self.record.run_id if self.record else None
            sign_step(
                self.records,
                session,
                password,
                prompt,
                second,
                username,
                engine=engine,
                run_id=run_id,
                batch=self.batch,
            )
            value = "signed"
        engine.answer(value, Actor.of(session))
        self._publish(force=True)

    def hold(self, session: Session, reason: str) -> None:
        self.records.users.require(session, Permission.RUN_OPERATE, "run", self.batch)
        self._engine().hold(Trigger.OPERATOR, Actor.of(session), reason)
        self._publish(force=True)

    def restart(self, session: Session, reason: str) -> None:
        """Go on after a hold. After an interlock, an alarm, a lost link or a console
        restart it is a supervisor's decision; an operator's own hold, the operator's."""
        engine = self._engine()
        needed = (
            Permission.RUN_OPERATE if engine.held_by is Trigger.OPERATOR else Permission.RUN_RECOVER
        )
        self.records.users.require(session, needed, "run", self.batch)
        engine.restart(Actor.of(session), reason)
        self._publish(force=True)

    def abort(self, session: Session, reason: str) -> None:
        if not reason.strip():
            raise ValueError("aborting a run needs a reason")
        self.records.users.require(session, Permission.RUN_ABORT, "run", self.batch)
        self._engine().abort(Actor.of(session), reason)
        self._publish(force=True)

    def pause(self, session: Session, reason: str = "") -> None:
        self.records.users.require(session, Permission.RUN_OPERATE, "run", self.batch)
        self._engine().pause(Actor.of(session), reason)
        self._publish(force=True)

    def resume_paused(self, session: Session, reason: str = "") -> None:
        self.records.users.require(session, Permission.RUN_OPERATE, "run", self.batch)
        self._engine().resume(Actor.of(session), reason)
        self._publish(force=True)

    def stop(self, session: Session, reason: str) -> None:
        self.records.users.require(session, Permission.RUN_ABORT, "run", self.batch)
        self._engine().stop(Actor.of(session), reason)
        self._publish(force=True)

    def acknowledge(self, session: Session, tag: str) -> None:
        self.records.users.require(session, Permission.ALARM_ACKNOWLEDGE, "alarm", tag)
        self._engine().acknowledge(tag, Actor.of(session))
        self._publish(force=True)

    def shelve(self, session: Session, tag: str, reason: str, minutes: float) -> None:
        self.records.users.require(session, Permission.ALARM_SHELVE, "alarm", tag)
        engine = self._engine()
        engine.alarms.shelve(tag, Actor.of(session), reason, minutes * 60.0, engine.process_s)
        self._publish(force=True)

    def change_setpoint(self, session: Session, name: str, value: float, reason: str) -> None:
        """A set-point change during a run: within the run limits, with a reason,
        audited (durable) before it is sent."""
        self.records.users.require(session, Permission.RUN_OPERATE, "setpoint", name)
        if name not in RUN_SETPOINT_LIMITS:
            raise ValueError(f"{name} cannot be changed during a run")
        low, high = RUN_SETPOINT_LIMITS[name]
        if not low <= value <= high:
            raise ValueError(f"{name} {value:g} is outside {low:g}..{high:g} for a run")
        if not reason.strip():
            raise ValueError("a set-point change needs a reason")
        run_id = self.record.run_id if self.record else None
        actor = Actor.of(session)
        self.records.writer.record(
            AuditEntry(
                actor.id,
                actor.name,
                "setpoint.change",
                "setpoint",
                name,
                old_value=f"{self.values.get(name, float('nan')):g}",
                new_value=f"{value:g}",
                reason=reason,
                run_id=run_id,
            )
        )
        self.send(SetSetpoint(name, value))
        self._publish(force=True)

    def close(self) -> None:
        stored = self.recorder.stop_run()
        if stored is not None:
            stored.exception(30.0)
        self.recorder.close()
        if self._alive_on == threading.get_ident():  # the link is gone with the host
            keep_alive_while_waiting(None)
            self._alive_on = None

    # ------------------------------------------------------------------ status
    def _line(self, text: str) -> None:
        self.lines = [*self.lines[-49:], text]
        if self.on_line:
            self.on_line(text)

    def status(self) -> RunStatus:
        """The run as the screens show it now (app.batch.status)."""
        engine, recipe = self.engine, self.recipe
        if engine is None or recipe is None:
            return idle_status(self.link, self.identity, self.values)
        return project_status(
            engine,
            recipe,
            self.feed.analytics,
            self.feed.golden,
            run_id=self.record.run_id if self.record else None,
            batch=self.batch,
            lines=self.lines,
            recovering=self._unfinished is not None,
            link=self.link,
            identity=self.identity,
            values=self.values,
        )

    def _publish(self, force: bool = False) -> None:
        if self.feed.steps_pending:  # a step began in a command (answer, restart, start)
            self.feed.apply_steps(self.engine, raise_alarms=self._unfinished is None)
        now = time.monotonic()
        if force or now >= self._next_status:
            self._next_status = now + STATUS_EVERY_S
            self.on_status(self.status())


SHOWN_EVENTS = ("WATCHDOG", "BOOT", "INTERLOCK", "STATE", "HISTORY_GAP", "EVENT_GAP")
