"""The run host: one instrument's batch runs, between the connection and the records.

It listens to the connection (samples, events, link state) on the thread that owns the
connection, feeds the engine and the historian, and carries out what people ask for
(start, answer, hold, restart, abort, acknowledge, change a set-point) after checking
their permission here, in the service layer. The console's hardware thread and the
headless runner both drive a RunHost; neither the GUI nor the runner touches the engine.
No Qt in here: status goes out through ``on_status``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.analytics.golden import GoldenBatch
from app.analytics.harvest import HarvestPrediction
from app.analytics.kinetics import KineticsEstimate
from app.batch.alarms import AlarmDefinition, AlarmState, Priority
from app.batch.engine import BatchEngine
from app.batch.executors import Prompt, nominal_seconds
from app.batch.journal import JournalMismatch
from app.batch.library import RecipeLibrary
from app.batch.prestart import Check, StartRequest, prestart_checks
from app.batch.recipe import Kit, Recipe
from app.batch.run_analytics import RunAnalytics
from app.batch.run_record import StoreRunRecord, UnfinishedRun, load_unfinished
from app.batch.states import FINAL, State, Trigger
from app.records import Records
from app.store.actor import Actor
from app.store.audit import AuditEntry
from app.store.calibrations import due_dates
from app.store.db import connect
from app.store.golden import GoldenRecord, active_band, run_band
from app.store.recorder import TelemetryRecorder
from app.store.run_log import KINETICS_COLUMNS, insert_kinetics, unfinished_runs
from app.store.runs import step_starts
from app.store.security import Permission
from app.store.signatures import Meaning
from app.store.users import Session
from app.store.writer import keep_alive_while_waiting
from hardware.commands import InstrumentCommand, SetSetpoint
from hardware.connection import LinkState, Sample
from hardware.driver import Identity
from hardware.protocol import CHANNEL_INDEX, Event

log = logging.getLogger(__name__)

STATUS_EVERY_S = 0.25  # status to the screen at most 4 times a second from telemetry
RUN_SETPOINT_LIMITS = {"temp_sp": (30.0, 38.0), "co2_sp": (0.0, 10.0)}
"""What an operator may set during a run (tighter than the instrument's own limits)."""
KINETICS_FEED_S = 300.0
"""Samples for the run's analytics (kinetics, golden-band watch) are gathered on the host
and handed over in chunks of this much process time, and at every step start: one
``RunAnalytics.add`` per 5 min instead of one per batch (buckets are 10 min, so an
estimate comes at most 5 min later)."""


class PrestartFailed(ValueError):
    def __init__(self, checks: list[Check]) -> None:
        failed = [c for c in checks if not c.ok]
        super().__init__("; ".join(f"{c.name}: {c.detail}" for c in failed))
        self.checks = checks


@dataclass(frozen=True)
class AlarmView:
    tag: str
    state: str
    priority: str
    message: str


@dataclass(frozen=True)
class RunStatus:
    """What the screens show of the run, as one immutable snapshot."""

    run_id: int | None = None
    batch: str = ""
    recipe: str = ""
    recipe_version: str = ""
    state: str = ""  # ISA-88 state; "" when no run
    step: int = 0
    steps: int = 0
    step_name: str = ""
    phase: str = ""
    step_left_s: float = 0.0
    time_left_s: float = 0.0
    process_s: float = 0.0
    prompt: Prompt | None = None
    held_reason: str = ""
    held_by: str = ""
    recovering: bool = False
    alarms: tuple[AlarmView, ...] = ()
    lines: tuple[str, ...] = ()  # the newest lines of the run's record
    outcome_problems: tuple[str, ...] = ()
    link: str = ""
    identity: Identity | None = None
    values: dict[str, float] = field(default_factory=dict)
    alarm_definitions: tuple[AlarmDefinition, ...] = ()  # for limit lines on the trends
    kit: Kit | None = None  # the recipe's kit: bag capacities for the schematic
    # live growth kinetics (app.analytics; None until the window holds enough points;
    # inf when the culture is not growing) and the harvest prediction, in process time
    doubling_h: float | None = None
    doubling_low_h: float | None = None
    doubling_high_h: float | None = None
    fold_expansion: float | None = None
    total_cells: float | None = None
    harvest_target_cells: float | None = None  # the dose predicted for (None: no prediction)
    harvest_eta_s: float | None = None  # when total cells reach the dose (process s)
    harvest_early_s: float | None = None
    harvest_late_s: float | None = None
    harvest_latest_s: float | None = None  # the recipe's latest allowed harvest (process s)
    # the golden band in force for the recipe version (app.analytics.GoldenBatch, shared,
    # never changed; None: no band) and when this run's steps started, to lay the band
    # onto the run's time axis (golden.band_on_run_time)
    golden: GoldenBatch | None = field(default=None, compare=False, repr=False)
    golden_summary: str = ""
    step_starts_s: tuple[float, ...] = ()


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
        self.analytics: RunAnalytics | None = None  # the run's kinetics, harvest, band
        self._analytics_buffer: list[tuple[float, Any]] = []  # (process s, sample values)
        self._steps_begun: list[tuple[int, float]] = []  # (number, process s), not yet applied
        self.golden: GoldenRecord | None = None  # the band the run is watched against

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
        band = self._band(lambda: run_band(self.records.path, unfinished.run_id))
        analytics = self._analytics(recipe, arguments, band, started, resumed=True)
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
        self._take_analytics(analytics, band)
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
            self.analytics = None
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
            for sample in samples:
                engine.on_sample(sample.boot, sample.t_ms, sample.values)
                if self._steps_begun:  # a step began with this sample: it belongs to it
                    self._apply_steps()
                if (
                    self.analytics is not None
                    and engine.state not in FINAL
                    and engine.clock == (sample.boot, sample.t_ms)  # taken as new
                ):
                    self._analytics_buffer.append((engine.process_s, sample.values))
            buffer = self._analytics_buffer
            if buffer and buffer[-1][0] - buffer[0][0] >= KINETICS_FEED_S:
                self._feed_analytics()
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
        band = self._band(lambda: active_band(self.records.path, version_id))
        if band is not None:
            record.golden(band[0].id, band[0].summary)
        analytics = self._analytics(recipe, arguments, band)
        self.engine = BatchEngine(
            recipe, arguments, self.send, record, extra_alarms=analytics.alarm_definitions
        )
        self.record, self.recipe, self.batch = record, recipe, batch.strip()
        self._take_analytics(analytics, band)
        self.engine.start(operator)
        self._publish(force=True)
        return run_id

    def _record(self, run_id: int | None) -> StoreRunRecord:
        self.lines = []
        return StoreRunRecord(
            self.records.writer,
            run_id=run_id,
            on_line=self._line,
            on_step=self._step_started,
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
            self._sign_step(session, password, prompt, second, username)
            value = "signed"
        engine.answer(value, Actor.of(session))
        self._publish(force=True)

    def _sign_step(
        self,
        session: Session,
        password: str,
        prompt: Prompt,
        second: tuple[str, str] | None,
        username: str | None,
    ) -> None:
        """The performer's signature, and a second person's (verified) where the step
        needs one. What each signs is said in words (``step_request``), the same words
        the run screen showed; the duty rule (the performer does not verify) is checked
        before any password."""
        from app.store.signing import Duties, step_request  # (imports owned by the lead)

        engine = self._engine()
        steps = engine.recipe.steps
        step, run_id = engine.current_step, self.record.run_id
        name = steps[min(engine.step_index, len(steps) - 1)].name  # as the status shows it
        words = (run_id, self.batch, step, name, len(steps), prompt.second_person)
        performed = step_request(Meaning.PERFORMED, *words)
        verified = step_request(Meaning.VERIFIED, *words)
        record_id = performed.record_id
        content = f"{prompt.message}\nrun {run_id} batch {self.batch}"
        if prompt.second_person and second is None:
            raise ValueError("this step needs a second person's signature as well")
        users, signatures = self.records.users, self.records.signatures
        verifier = None
        if prompt.second_person and second is not None:
            duties = Duties(users, self.records.path)
            named = duties.account(second[0])
            if named is not None:  # refused (and audited) before any password is checked
                duties.enforce(verified, named, performer=Actor.of(session))
            # the second person is checked first: a wrong second password leaves no
            # first signature behind to be given twice on the next try
            verifier = users.login(*second)
        if automated_identity(session) and username is None:
            username = session.username  # the headless runner signs as itself
        try:
            signatures.sign(
                session,
                password,
                Meaning.PERFORMED,
                "run-step",
                record_id,
                content,
                username=username,
                statement=performed.statement,
            )
            if verifier is not None:
                signatures.sign(
                    verifier,
                    second[1],
                    Meaning.VERIFIED,
                    "run-step",
                    record_id,
                    content,
                    username=verifier.username,
                    statement=verified.statement,
                )
        finally:
            if verifier is not None:
                users.logout(verifier)  # signed in for this signature only

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

    # ------------------------------------------------------------------ analytics
    def _band(
        self, find: Callable[[], tuple[GoldenRecord, GoldenBatch] | None]
    ) -> tuple[GoldenRecord, GoldenBatch] | None:
        """The golden band to watch the run against (``find``: the band in force at a
        start, the run's own at a resume); a band that cannot be read is not used, and
        the run says so, rather than refusing to start or to resume."""
        try:
            return find()
        except Exception as exc:  # any damage: no band, said, and the run goes on
            log.exception("golden band not read")
            self._line(f"golden band not used: it could not be read ({exc})")
            return None

    def _analytics(
        self,
        recipe: Recipe,
        arguments: list,
        band: tuple[GoldenRecord, GoldenBatch] | None,
        started: tuple[float, ...] = (),
        resumed: bool = False,
    ) -> RunAnalytics:
        return RunAnalytics(
            recipe,
            arguments,
            band[1] if band else None,
            started,
            self._store_kinetics,
            resumed=resumed,
        )

    def _take_analytics(
        self, analytics: RunAnalytics, band: tuple[GoldenRecord, GoldenBatch] | None
    ) -> None:
        """Make them the run's (once its engine exists: a failed start or resume leaves
        the previous run's on show, not half of a new one's)."""
        self.analytics, self.golden = analytics, band[0] if band else None
        self._analytics_buffer, self._steps_begun = [], []

    def _step_started(self, number: int, process_s: float) -> None:
        """From inside the engine (the run record's ``on_step``): noted only, and acted
        on once the engine call has returned (``_apply_steps``), so the analytics never
        run, nor raise alarms, half-way through the engine starting a step."""
        self._steps_begun.append((number, process_s))

    def _apply_steps(self) -> None:
        begun, self._steps_begun = self._steps_begun, []
        for number, process_s in begun:
            self._feed_analytics()  # what came before belongs to the step before
            if self.analytics is not None:
                self._guarded(lambda n=number, t=process_s: self.analytics.step_started(n, t))

    def _feed_analytics(self) -> None:
        buffer = list(self._analytics_buffer)
        self._analytics_buffer.clear()  # in place: on_samples may hold the same list
        analytics, engine = self.analytics, self.engine
        if analytics is None or engine is None or not buffer:
            return
        t_s = np.fromiter((t for t, _ in buffer), np.float64, len(buffer))
        values = np.array([v for _, v in buffer], dtype=np.float64)
        alarm_values = self._guarded(lambda: analytics.add(t_s, values))
        if alarm_values and engine.state not in FINAL and self._unfinished is None:
            engine.alarms.evaluate(engine.process_s, alarm_values)

    def _guarded(self, work: Callable[[], Any]) -> Any:
        """Analytics never take the hardware thread down: a failure stops them for this
        run, said in the run's lines and the technical log; the run goes on."""
        try:
            return work()
        except Exception as exc:  # the run matters more than its analytics
            log.exception("run analytics failed")
            self.analytics = None
            self._line(f"growth analytics stopped: {exc}")
            return None

    def _store_kinetics(
        self, estimate: KineticsEstimate, harvest: HarvestPrediction | None
    ) -> None:
        """Each new estimate, with the prediction made from it, kept with the run."""
        record = self.record
        if record is None or record.run_id is None:
            return
        row = {
            "run_id": record.run_id,
            **{name: getattr(estimate, name) for name in KINETICS_COLUMNS[1:13]},
            "harvest_target_cells": harvest.target_cells if harvest else None,
            "harvest_eta_s": harvest.eta_s if harvest else None,
            "harvest_early_s": harvest.early_s if harvest else None,
            "harvest_late_s": harvest.late_s if harvest else None,
        }

        def job(ctx) -> None:  # a resumed run's estimate of a time already kept: the first
            insert_kinetics(ctx.conn, row)

        self.records.writer.submit(job)

    # ------------------------------------------------------------------ status
    def _line(self, text: str) -> None:
        self.lines = [*self.lines[-49:], text]
        if self.on_line:
            self.on_line(text)

    def status(self) -> RunStatus:
        engine, recipe = self.engine, self.recipe
        if engine is None or recipe is None:
            return RunStatus(link=self.link.value, identity=self.identity, values=self.values)
        index = min(engine.step_index, len(recipe.steps) - 1)
        step = recipe.steps[index]
        step_left = engine.wait_left_s()
        culture_end = self.analytics.culture_end_s() if self.analytics else None
        if culture_end is not None and not engine.finished:  # a culture runs for days
            step_left = max(step_left, culture_end - engine.process_s)
        later = sum(
            nominal_seconds(s.phase, a)
            for s, a in zip(recipe.steps[index + 1 :], engine.arguments[index + 1 :], strict=True)
        )
        return RunStatus(
            run_id=self.record.run_id if self.record else None,
            batch=self.batch,
            recipe=recipe.name,
            recipe_version=recipe.version,
            state=engine.state.value,
            step=min(engine.current_step, len(recipe.steps)),
            steps=len(recipe.steps),
            step_name=step.name,
            phase=step.phase,
            step_left_s=step_left,
            time_left_s=0.0 if engine.finished else step_left + later,
            process_s=engine.process_s,
            prompt=engine.pending_prompt,
            held_reason=engine.held_reason,
            held_by=engine.held_by.value if engine.held_by else "",
            recovering=self._unfinished is not None,
            alarms=tuple(
                AlarmView(tag, state.value, priority.value, self._alarm_message(tag))
                for tag, state, priority in engine.alarms.active()
            ),
            lines=tuple(self.lines[-12:]),
            outcome_problems=tuple(engine.outcome_problems),
            link=self.link.value,
            identity=self.identity,
            values=self.values,
            alarm_definitions=tuple(engine.alarms.definitions),
            kit=recipe.kit,
            **self._growth(),
        )

    def _growth(self) -> dict[str, Any]:
        """The RunStatus fields of the live kinetics, the harvest prediction and the
        golden band."""
        analytics = self.analytics
        if analytics is None:
            return {}
        band: dict[str, Any] = {
            "golden": analytics.golden,
            "golden_summary": self.golden.summary if self.golden else "",
            "step_starts_s": tuple(analytics.step_starts_s),
            "harvest_latest_s": analytics.latest_harvest_s,
        }
        estimate, harvest = analytics.estimate, analytics.harvest
        if estimate is None:  # the dose, so the screen knows the recipe grows cells
            return {**band, "harvest_target_cells": analytics.target_cells}
        growth: dict[str, Any] = {
            **band,
            "doubling_h": estimate.doubling_h,
            "doubling_low_h": estimate.doubling_low_h,
            "doubling_high_h": estimate.doubling_high_h,
            "fold_expansion": estimate.fold_expansion,
            "total_cells": estimate.total_cells,
        }
        if harvest is not None:
            growth.update(
                harvest_target_cells=harvest.target_cells,
                harvest_eta_s=harvest.eta_s,
                harvest_early_s=harvest.early_s,
                harvest_late_s=harvest.late_s,
            )
        return growth

    def _alarm_message(self, tag: str) -> str:
        definition = self._engine().alarms.alarms[tag].definition
        return definition.response

    def _publish(self, force: bool = False) -> None:
        if self._steps_begun:  # a step began in a command (answer, restart, start)
            self._apply_steps()
        now = time.monotonic()
        if force or now >= self._next_status:
            self._next_status = now + STATUS_EVERY_S
            self.on_status(self.status())


def automated_identity(session: Session) -> bool:
    return session.username.startswith("automation")


SHOWN_EVENTS = ("WATCHDOG", "BOOT", "INTERLOCK", "STATE", "HISTORY_GAP", "EVENT_GAP")
UNACKNOWLEDGED = (AlarmState.UNACKNOWLEDGED.value, AlarmState.RETURNED_UNACKNOWLEDGED.value)
PRIORITY_ORDER = {Priority.HIGH.value: 0, Priority.MEDIUM.value: 1, Priority.LOW.value: 2}
