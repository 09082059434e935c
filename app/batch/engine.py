"""The batch engine: runs a recipe's steps on the instrument under the ISA-88 state
machine, driven by telemetry and instrument events (no clock of its own, no Qt).

Each step's phase is a generator (app/batch/executors.py) that sends commands and
yields what it waits for; the engine checks the wait against every sample, answers
prompts, and on an interlock or a lost link holds the batch: pumps and rotor stop,
temperature and gas go on. Restarting sends again what the interrupted wait needs (for
a pump, only the volume it has still to move).

Everything a phase reads and sends goes through its step journal (app/batch/journal.py)
first, so that ``BatchEngine.recover`` can bring a run back after the console died:
same step, same wait, progress taken from the instrument, nothing sent twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app.batch.alarms import (
    INSTRUMENT_ALARMS,
    AlarmDefinition,
    AlarmEvent,
    AlarmManager,
    AlarmState,
)
from app.batch.executors import (
    EXECUTORS,
    Elapsed,
    PhaseContext,
    Prompt,
    PumpDone,
    Until,
    Wait,
)
from app.batch.journal import JournalEntry, JournalMismatch, PhaseJournal, where_the_run_stands
from app.batch.phases import PHASES
from app.batch.recipe import Recipe
from app.batch.states import FINAL, BatchStateMachine, Command, State, Transition, Trigger
from app.store.actor import INSTRUMENT, RECOVERY, SYSTEM, Actor
from hardware.commands import ClearSafeState, InstrumentCommand, RunPump, SetRotor, SetValve
from hardware.driver import InstrumentError
from hardware.link import LinkError
from hardware.protocol import CHANNEL_INDEX, RESET_GAP_MS, STATES, Event, FirmwareState

assert set(EXECUTORS) == set(PHASES), "every phase needs an executor"

SAFE_STATE = float(STATES.index(FirmwareState.SAFE))
PROGRESSING = (State.RUNNING, State.PAUSING)  # the phase goes on (Pausing: to its step's end)


class RunRecord(Protocol):
    """Where the engine writes what happens (audit trail, run record, step journal);
    each call returns once its record is durable."""

    def transition(self, transition: Transition) -> None: ...
    def step_started(self, number: int, name: str, process_s: float) -> None: ...
    def step_finished(self, number: int, name: str, process_s: float) -> None: ...
    def note(self, number: int, text: str, actor: Actor = SYSTEM) -> None: ...
    def answered(self, number: int, prompt: Prompt, answer: Any, actor: Actor) -> None: ...
    def journal(self, step: int, kind: str, data: dict[str, Any]) -> None: ...
    def alarm(self, event: AlarmEvent) -> None: ...


@dataclass
class _Waiting:
    wait: Wait
    started_process_s: float
    elapsed_s: float = 0.0  # instrument time spent waiting while Running
    baseline: float = 0.0  # pump volume counter when a pump wait began


class BatchEngine:
    def __init__(
        self,
        recipe: Recipe,
        arguments: list[dict[str, Any]],
        send: Callable[[InstrumentCommand], str],
        record: RunRecord,
        first_step: int = 1,
        extra_alarms: Sequence[AlarmDefinition] = (),
    ) -> None:
        self.recipe = recipe
        self.arguments = arguments
        self.send = send
        self.record = record
        self.machine = BatchStateMachine(record.transition)
        self.step_index = first_step - 1
        self.values: dict[str, float] = {}
        self.process_s = 0.0
        self.clock: tuple[int, int] | None = None  # (boot, t_ms) of the newest sample
        self._phase = None
        self._journal: PhaseJournal | None = None
        self._waiting: _Waiting | None = None
        self.held_reason = ""
        self.held_by: Trigger | None = None  # who held the run: an operator, or a fault
        self._in_phase = False
        self._deferred: list[Event] = []
        self._recovering = False
        self._restore: list[InstrumentCommand] = []  # sent again at restart
        self._hold_wanted: tuple[Trigger, Actor, str] | None = None  # held once the phase waits
        self._let_transfer_finish = False  # a Stop waits for the transfer under way
        self.alarms = AlarmManager(  # extra: the run's analytics (app/batch/run_analytics.py)
            [*INSTRUMENT_ALARMS, *recipe.alarms, *extra_alarms], self._on_alarm
        )
        self.outcomes: dict[str, float] = {}  # measured results (product cells, ...)
        self.outcome_problems: list[str] = []  # results outside the recipe's [outcome]

    @classmethod
    def recover(
        cls,
        recipe: Recipe,
        arguments: list[dict[str, Any]],
        send: Callable[[InstrumentCommand], str],
        record: RunRecord,
        journal: list[JournalEntry],
        state: State,
        values: dict[str, float],
        clock: tuple[int, int] | None,
        extra_alarms: Sequence[AlarmDefinition] = (),
    ) -> BatchEngine:
        """An engine for a run whose console died: at the step its journal names, the
        phase replayed to the wait it was in, with that wait's last checkpoint. It takes
        samples (the back-fill of the outage first) but acts on nothing until
        ``recovered`` has held the run for an operator to restart.
        Raises JournalMismatch when the journal and the recipe disagree."""
        stand = where_the_run_stands(journal)
        engine = cls(recipe, arguments, send, record, stand.step, extra_alarms)
        engine.machine = BatchStateMachine(record.transition, state)
        engine.values, engine.clock = dict(values), clock
        engine.process_s = stand.process_s
        engine.outcomes = dict(stand.outcomes)
        engine._recovering = True
        engine.alarms.restore(
            (e.data["tag"], e.data["state"], float(e.data["t_s"]), e.data.get("until_s"))
            for e in journal
            if e.kind == "alarm"
        )
        if stand.started and stand.step <= len(recipe.steps):
            engine._replay_step(stand.replay, stand.progress)
        return engine

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> State:
        return self.machine.state

    @property
    def finished(self) -> bool:
        return self.state in (State.COMPLETE, State.STOPPED, State.ABORTED)

    @property
    def pending_prompt(self) -> Prompt | None:
        waiting = self._waiting
        if self.state in PROGRESSING and waiting and isinstance(waiting.wait, Prompt):
            return waiting.wait
        return None

    @property
    def current_step(self) -> int:
        return self.step_index + 1

    def wait_left_s(self) -> float:
        """Process seconds the current wait still needs (0 for a prompt)."""
        waiting = self._waiting
        if waiting is None:
            return 0.0
        wait = waiting.wait
        if isinstance(wait, Elapsed):
            return max(0.0, wait.seconds - waiting.elapsed_s)
        if isinstance(wait, PumpDone):
            moved = self.latest(f"p{wait.pump}_vol") - waiting.baseline
            return max(0.0, wait.volume - moved) / abs(wait.rate) * 60.0 if wait.rate else 0.0
        if isinstance(wait, Until):
            return max(0.0, wait.timeout_s - waiting.elapsed_s)
        return 0.0

    def latest(self, channel: str) -> float:
        return self.values.get(channel, 0.0)

    # ------------------------------------------------------------------ commands
    def start(self, actor: Actor) -> None:
        self.machine.command(Command.START, Trigger.OPERATOR, actor)
        self._next_step()

    def hold(self, trigger: Trigger, actor: Actor, reason: str) -> None:
        if self.state not in (State.RUNNING, State.PAUSED, State.PAUSING, State.RESTARTING):
            return
        self.machine.command(Command.HOLD, trigger, actor, reason)
        self.held_reason, self.held_by = reason, trigger
        self._make_safe()
        self._checkpoint(running=False)
        self.machine.complete(actor, "pumps and rotor stopped; temperature and gas on")

    def restart(self, actor: Actor, reason: str) -> None:
        if self._recovering:
            raise ValueError("the run is still being recovered: wait for the instrument")
        self.machine.command(Command.RESTART, Trigger.OPERATOR, actor, reason)
        failed = self._resume_wait()
        if self.state is not State.RESTARTING:
            return  # held again while the wait's commands went out (an interlock came)
        self.machine.complete(actor)
        self.held_reason = ""
        self._checkpoint(running=True)
        if failed:  # the instrument refused what the step needs: held again, saying why
            self.hold(Trigger.SYSTEM, SYSTEM, f"restart incomplete: {failed}")
        elif self._phase is None and not self.finished:
            self._next_step()  # recovered between two steps
        else:
            self._check_wait()

    def pause(self, actor: Actor, reason: str = "") -> None:
        """Pause at the end of the current step (ISA-88 Pausing, then Paused)."""
        self.machine.command(Command.PAUSE, Trigger.OPERATOR, actor, reason)

    def resume(self, actor: Actor, reason: str = "") -> None:
        self.machine.command(Command.RESUME, Trigger.OPERATOR, actor, reason)
        self._next_step()

    def stop(self, actor: Actor, reason: str) -> None:
        """A controlled stop: a liquid transfer under way finishes (nothing left in the
        lines), then pumps and rotor stop; the run ends Stopped, not Complete."""
        if not reason.strip():
            raise ValueError("stopping a run needs a reason")
        was = self.state
        self.machine.command(Command.STOP, Trigger.OPERATOR, actor, reason)
        waiting = self._waiting
        self._let_transfer_finish = (
            was in PROGRESSING and waiting is not None and isinstance(waiting.wait, PumpDone)
        )
        self._check_stop()

    def _check_stop(self) -> None:
        waiting = self._waiting
        if self._let_transfer_finish and waiting and isinstance(waiting.wait, PumpDone):
            moved = self.latest(f"p{waiting.wait.pump}_vol") - waiting.baseline
            if moved < waiting.wait.volume - 0.01:
                return
        self._make_safe()
        self._phase, self._waiting = None, None
        self.machine.complete(SYSTEM, "pumps and rotor stopped; temperature and gas on")

    def reset(self, actor: Actor) -> None:
        """After Complete, Stopped or Aborted: the unit is ready for the next batch."""
        self.machine.command(Command.RESET, Trigger.OPERATOR, actor)

    def abort(self, actor: Actor, reason: str) -> None:
        self.machine.command(Command.ABORT, Trigger.OPERATOR, actor, reason)
        self._make_safe()
        self.machine.complete(actor)

    def answer(self, value: Any, actor: Actor) -> None:
        prompt = self.pending_prompt
        if prompt is None:
            raise ValueError("no question is waiting for an answer")
        if prompt.response == "data" and (
            prompt.data_low is not None or prompt.data_high is not None
        ):
            number = float(value)
            low = prompt.data_low if prompt.data_low is not None else -math.inf
            high = prompt.data_high if prompt.data_high is not None else math.inf
            if not low <= number <= high:  # also refuses nan
                raise ValueError(f"{number:g} is outside {low:g}..{high:g}")
        self.record.answered(self.current_step, prompt, value, actor)
        self._advance(value)

    def acknowledge(self, tag: str, actor: Actor) -> None:
        """An operator has seen the alarm (the service layer checks who may)."""
        self.alarms.acknowledge(tag, actor, self.process_s)

    def _on_alarm(self, event: AlarmEvent) -> None:
        self.record.alarm(event)
        alarm = self.alarms.alarms.get(event.tag)
        coming_in = event.new is AlarmState.UNACKNOWLEDGED and event.old is not event.new
        if alarm and alarm.definition.holds_batch and coming_in:
            why = (Trigger.ALARM, SYSTEM, f"alarm {event.tag}: {event.message}")
            if self._in_phase:
                self._hold_wanted = why  # the phase is sending: hold once it waits
            else:
                self.hold(*why)

    def recovered(self, actor: Actor = RECOVERY) -> None:
        """The instrument is attached again and the outage back-filled: hold the run
        (if it is not held already) until an operator restarts it."""
        self._recovering = False
        reason = f"console restarted during step {self.current_step}; run recovered"
        if self.state is State.STOPPING:  # the stop was asked for: finish it now
            self._let_transfer_finish = False
            self._check_stop()
        elif self.state is State.ABORTING:
            self._make_safe()
            self.machine.complete(actor, "pumps and rotor stopped")
        elif self.state is State.HOLDING:
            self._make_safe()
            self.machine.complete(actor, "pumps and rotor stopped; temperature and gas on")
            self.held_reason, self.held_by = reason, Trigger.SYSTEM
        elif self.state is State.HELD:
            self._make_safe()
            self.held_reason = self.held_reason or reason
            self.held_by = Trigger.SYSTEM
            self.record.note(self.current_step, reason, actor)
        else:
            self.hold(Trigger.SYSTEM, actor, reason)

    # ------------------------------------------------------------------ inputs
    def on_sample(self, boot: int, t_ms: int, values: tuple[float, ...] | list[float]) -> None:
        """Feed one telemetry sample (instrument boot and time, channel values in
        protocol order). Only newer samples count: a late back-filled one changes nothing."""
        last = self.clock
        if last is not None and (boot, t_ms) <= last:
            return
        fresh = {name: float(values[i]) for name, i in CHANNEL_INDEX.items()}
        if last is not None and boot == last[0]:
            dt = (t_ms - last[1]) / 1000.0
            self.process_s += dt
            waiting = self._waiting
            if self.state in PROGRESSING and waiting and fresh.get("state") != SAFE_STATE:
                waiting.elapsed_s += dt
        elif last is not None:  # a firmware reset: the same rule as the historian's clock
            self.process_s += RESET_GAP_MS / 1000.0
            self._carry_pump_counter(fresh)
        self.clock, self.values = (boot, t_ms), fresh
        if self._recovering:
            return
        if self.state not in (State.IDLE, *FINAL):
            phase = self.recipe.steps[self.step_index].phase if self._phase else ""
            self.alarms.evaluate(self.process_s, fresh, phase)
        if self.state in PROGRESSING:
            self._check_wait()
        elif self.state is State.STOPPING:
            self._check_stop()

    def _carry_pump_counter(self, fresh: dict[str, float]) -> None:
        """The firmware restarted: its pump counters start again at 0. Move the pump
        wait's baseline so that the volume moved before the restart still counts."""
        waiting = self._waiting
        if waiting and isinstance(waiting.wait, PumpDone):
            counter = f"p{waiting.wait.pump}_vol"
            waiting.baseline -= self.values.get(counter, 0.0) - fresh.get(counter, 0.0)

    def on_event(self, event: Event) -> None:
        if self._recovering:
            return  # what happened meanwhile: the run is held at recovery in any case
        if self._in_phase:
            self._deferred.append(event)
            return
        if event.code == "INTERLOCK" and event.data.get("state") == "ON":
            name = event.data.get("name", "?")
            self.hold(Trigger.INTERLOCK, INSTRUMENT, f"interlock {name}")
        elif event.code == "BOOT":
            self.hold(Trigger.SYSTEM, INSTRUMENT, "firmware restarted")

    def link_lost(self, detail: str) -> None:
        if self.state is State.RUNNING:
            self.machine.command(Command.HOLD, Trigger.SYSTEM, SYSTEM, f"link lost: {detail}")
            self.held_reason, self.held_by = f"link lost: {detail}", Trigger.SYSTEM
            self._checkpoint(running=False)
            self.machine.complete(SYSTEM, "the instrument keeps temperature and gas")

    # ------------------------------------------------------------------ stepping
    def _context(self, number: int, journal: PhaseJournal) -> PhaseContext:
        def note(text: str) -> None:
            if not journal.replaying:
                self.record.note(number, text)

        def report(name: str, value: float) -> None:
            if not journal.replaying:
                self.record.journal(number, "outcome", {"name": name, "value": value})
            self.outcomes[name] = value

        return PhaseContext(self._phase_send(journal), journal.read, self.recipe.kit, note, report)

    def _phase_send(self, journal: PhaseJournal) -> Callable[[InstrumentCommand], str]:
        """A command the instrument refuses (an interlock) or the link cannot carry does
        not end the phase: the run is held, and restarting sends it again."""

        def send(command: InstrumentCommand) -> str:
            try:
                return journal.send(command)
            except (InstrumentError, LinkError) as exc:
                self.record.note(journal.step, f"{command.label} not done: {exc}")
                if not isinstance(command, RunPump):  # a pump wait resends its own rest
                    self._restore.append(command)
                self._hold_wanted = (Trigger.SYSTEM, SYSTEM, f"{command.label} not done: {exc}")
                return "not done"

        return send

    def _next_step(self) -> None:
        while self.step_index < len(self.recipe.steps) and self.state is State.RUNNING:
            step = self.recipe.steps[self.step_index]
            self.record.step_started(step.number, step.name, self.process_s)
            self._journal = PhaseJournal(step.number, self.record.journal, self.latest, self.send)
            context = self._context(step.number, self._journal)
            self._phase = EXECUTORS[step.phase](context, self.arguments[self.step_index])
            if self._advance(None, first=True):
                return  # waiting for something
        if self.state is not State.RUNNING:
            return  # paused (or held) between steps
        self._check_outcomes()
        self.machine.complete(SYSTEM, "last step finished")

    def _check_outcomes(self) -> None:
        """The recipe's expected ranges against what the run produced, on record."""
        measured = {"product_volume": self.latest("w_product"), **self.outcomes}
        last = len(self.recipe.steps)
        for name, (low, high) in self.recipe.outcome.items():
            value = measured.get(name)
            if value is None:
                text = f"outcome {name}: not measured (expected {low:.4g}..{high:.4g})"
                self.outcome_problems.append(text)
            elif low <= value <= high:
                text = f"outcome {name}: {value:.4g} within {low:.4g}..{high:.4g}"
            else:
                text = f"outcome {name}: {value:.4g} OUTSIDE {low:.4g}..{high:.4g}"
                self.outcome_problems.append(text)
            self.record.note(last, text)

    def _replay_step(self, replay: list[JournalEntry], progress: dict[str, Any] | None) -> None:
        """Walk the step's phase through its journal, sending nothing, to the wait it
        was in when the console stopped."""
        step = self.recipe.steps[self.step_index]
        journal = PhaseJournal(step.number, self.record.journal, self.latest, self.send, replay)
        self._journal = journal
        self._phase = EXECUTORS[step.phase](
            self._context(step.number, journal), self.arguments[self.step_index]
        )
        self._in_phase = True
        try:
            wait = next(self._phase)
            while True:
                replayed, result = journal.next_result()
                if not replayed:
                    break
                wait = self._phase.send(result)
        except StopIteration:  # the phase had ended; only its end was not on record
            self._in_phase = False
            self._finish_step()
            return
        finally:
            self._in_phase = False
        if journal.replaying:
            raise JournalMismatch(
                f"step {step.number}: the journal goes on where the phase waits: "
                f"{journal.pending[0].kind} {journal.pending[0].data}"
            )
        self._restore = journal.state_to_restore()
        baseline = wait.baseline if isinstance(wait, PumpDone) else 0.0
        self._waiting = _Waiting(wait, self.process_s, baseline=baseline)
        if progress:
            self._waiting.elapsed_s = float(progress.get("elapsed_s", 0.0))
            self._waiting.baseline = float(progress.get("baseline", baseline))
            self.clock = (int(progress["boot"]), int(progress["t_ms"]))

    def _finish_step(self) -> None:
        step = self.recipe.steps[self.step_index]
        self.record.step_finished(step.number, step.name, self.process_s)
        self._waiting, self._phase, self._journal = None, None, None
        self.step_index += 1

    def _advance(self, result: Any, first: bool = False) -> bool:
        """Run the phase on to its next wait; True while it waits, False when it ended
        (the engine then moves to the next step)."""
        self._in_phase = True  # commands the phase sends deliver samples: no re-entry
        try:
            if first:
                wait = next(self._phase)
            else:
                assert self._journal is not None
                self._journal.done(result)  # on record before the phase acts on it
                wait = self._phase.send(result)
        except StopIteration:
            self._in_phase = False
            self._finish_step()
            if self.state is State.PAUSING:
                self.machine.complete(SYSTEM, f"paused before step {self.current_step}")
            elif not first:
                self._next_step()
            return False
        finally:
            self._in_phase = False
        baseline = wait.baseline if isinstance(wait, PumpDone) else 0.0
        self._waiting = _Waiting(wait, self.process_s, baseline=baseline)
        self._checkpoint(running=True)
        deferred, self._deferred = self._deferred, []
        for event in deferred:  # events that arrived while the phase was sending
            self.on_event(event)
        if self._hold_wanted:
            why, self._hold_wanted = self._hold_wanted, None
            self.hold(*why)
        if not first:
            self._check_wait()
        return True

    def _checkpoint(self, running: bool) -> None:
        """The wait's progress on record (at its start, at holds and restarts), the
        base a recovering console counts on from."""
        waiting, journal = self._waiting, self._journal
        if waiting is None or journal is None or self.clock is None:
            return
        self.record.journal(
            journal.step,
            "progress",
            {
                "elapsed_s": waiting.elapsed_s,
                "baseline": waiting.baseline,
                "boot": self.clock[0],
                "t_ms": self.clock[1],
                "process_s": self.process_s,
                "running": running,
            },
        )

    def _check_wait(self) -> None:
        waiting = self._waiting
        if waiting is None or self._in_phase or self.state not in PROGRESSING:
            return
        wait = waiting.wait
        if isinstance(wait, Elapsed):
            done = waiting.elapsed_s >= wait.seconds
        elif isinstance(wait, PumpDone):
            moved = self.latest(f"p{wait.pump}_vol") - waiting.baseline
            # the pump's own volume counter, not PUMP_DONE events: an event of the
            # previous command can arrive after the next one was sent
            done = moved >= wait.volume - 0.01
        elif isinstance(wait, Until):
            value = self.latest(wait.channel)
            done = value > wait.value if wait.above else value < wait.value
            if not done and waiting.elapsed_s >= wait.timeout_s:
                self.record.note(
                    self.current_step,
                    f"{wait.channel} did not reach {wait.value:g} within {wait.timeout_s:g} s",
                )
                done = True
        else:
            return  # a prompt: answered through answer()
        if done:
            self._advance(None)

    # ------------------------------------------------------------------ hold / resume
    def _make_safe(self) -> None:
        for command in (RunPump(1, 0.0), RunPump(2, 0.0), SetRotor(0.0)):
            self._try(command)

    def _resume_wait(self) -> str:
        """Send again what the interrupted wait needs; the wait itself (and its pump
        baseline) stays, so the volume counts from where the step began. Returns what
        could not be done ("" when everything was)."""
        self._try_clear_safe()
        commands, self._restore = list(self._restore), []  # a recovered step's set-points
        waiting = self._waiting
        wait = waiting.wait if waiting else None
        if isinstance(wait, PumpDone):
            moved = self.latest(f"p{wait.pump}_vol") - waiting.baseline
            remaining = wait.volume - moved
            if remaining > 0.01:
                commands += [SetValve(valve, True) for valve in wait.valves]
                commands.append(RunPump(wait.pump, wait.rate, remaining))
        elif isinstance(wait, Elapsed):
            commands += wait.resume
        failed = [command for command in commands if not self._try(command)]
        self._restore = [c for c in failed if not isinstance(c, RunPump)]
        return ", ".join(c.label for c in failed)

    def _try_clear_safe(self) -> None:
        if self.latest("state") == SAFE_STATE:  # SAFE after a watchdog trip
            self._try(ClearSafeState())

    def _try(self, command: InstrumentCommand) -> bool:
        try:
            self.send(command)
        except Exception as exc:  # the record says what could not be done
            self.record.note(self.current_step, f"{command.label} not done: {exc}")
            return False
        return True
