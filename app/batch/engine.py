"""The batch engine: runs a recipe's steps on the instrument under the ISA-88 state
machine, driven by telemetry and instrument events (no clock of its own, no Qt).

Each step's phase is a generator (app/batch/executors.py) that sends commands and
yields what it waits for; the engine checks the wait against every sample, answers
prompts, and on an interlock or a lost link holds the batch: pumps and rotor stop,
temperature and gas go on. Restarting sends again what the interrupted wait needs (for
a pump, only the volume it has still to move).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.batch.executors import (
    EXECUTORS,
    Elapsed,
    PhaseContext,
    Prompt,
    PumpDone,
    Until,
    Wait,
)
from app.batch.phases import PHASES
from app.batch.recipe import Recipe
from app.batch.states import BatchStateMachine, Command, State, Transition, Trigger
from hardware.commands import ClearSafeState, InstrumentCommand, RunPump, SetRotor, SetValve
from hardware.protocol import CHANNEL_INDEX, Event

assert set(EXECUTORS) == set(PHASES), "every phase needs an executor"


class RunRecord(Protocol):
    """Where the engine writes what happens (audit trail and run record)."""

    def transition(self, transition: Transition) -> None: ...
    def step_started(self, number: int, name: str, process_s: float) -> None: ...
    def step_finished(self, number: int, name: str, process_s: float) -> None: ...
    def note(self, number: int, text: str) -> None: ...
    def answered(self, number: int, prompt: Prompt, answer: Any, user: str) -> None: ...


@dataclass
class _Waiting:
    wait: Wait
    started_s: float  # process time the wait began
    elapsed_s: float = 0.0  # running time spent in it (holds do not count)
    baseline: float = 0.0  # pump volume counter when a pump wait began


class BatchEngine:
    def __init__(
        self,
        recipe: Recipe,
        arguments: list[dict[str, Any]],
        send: Callable[[InstrumentCommand], str],
        record: RunRecord,
        first_step: int = 1,
    ) -> None:
        self.recipe = recipe
        self.arguments = arguments
        self.send = send
        self.record = record
        self.machine = BatchStateMachine(record.transition)
        self.step_index = first_step - 1
        self.values: dict[str, float] = {}
        self.process_s = 0.0
        self._last_t: int | None = None
        self._phase = None
        self._waiting: _Waiting | None = None
        self.held_reason = ""
        self._in_phase = False
        self._deferred: list[Event] = []

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
        if self.state is State.RUNNING and waiting and isinstance(waiting.wait, Prompt):
            return waiting.wait
        return None

    @property
    def current_step(self) -> int:
        return self.step_index + 1

    def latest(self, channel: str) -> float:
        return self.values.get(channel, 0.0)

    # ------------------------------------------------------------------ commands
    def start(self, actor: str) -> None:
        self.machine.command(Command.START, Trigger.OPERATOR, actor)
        self._next_step()

    def hold(self, trigger: Trigger, actor: str, reason: str) -> None:
        if self.state not in (State.RUNNING, State.PAUSED, State.PAUSING, State.RESTARTING):
            return
        self.machine.command(Command.HOLD, trigger, actor, reason)
        self.held_reason = reason
        self._make_safe()
        self.machine.complete(actor, "pumps and rotor stopped; temperature and gas on")

    def restart(self, actor: str, reason: str) -> None:
        self.machine.command(Command.RESTART, Trigger.OPERATOR, actor, reason)
        self._resume_wait()
        self.machine.complete(actor)
        self.held_reason = ""

    def abort(self, actor: str, reason: str) -> None:
        self.machine.command(Command.ABORT, Trigger.OPERATOR, actor, reason)
        self._make_safe()
        self.machine.complete(actor)

    def answer(self, value: Any, user: str) -> None:
        prompt = self.pending_prompt
        if prompt is None:
            raise ValueError("no question is waiting for an answer")
        if prompt.response == "data" and prompt.data_low is not None:
            number = float(value)
            if not prompt.data_low <= number <= (prompt.data_high or number):
                raise ValueError(f"{number:g} is outside {prompt.data_low:g}..{prompt.data_high:g}")
        self.record.answered(self.current_step, prompt, value, user)
        self._advance(value)

    # ------------------------------------------------------------------ inputs
    def on_sample(self, t_ms: int, values: tuple[float, ...] | list[float]) -> None:
        """Feed one telemetry sample (instrument time, channel values in protocol order)."""
        if self._last_t is not None and t_ms > self._last_t:
            dt = (t_ms - self._last_t) / 1000.0
            self.process_s += dt
            if self.state is State.RUNNING and self._waiting is not None:
                self._waiting.elapsed_s += dt
        self._last_t = t_ms
        self.values = {name: float(values[i]) for name, i in CHANNEL_INDEX.items()}
        if self.state is State.RUNNING:
            self._check_wait()

    def on_event(self, event: Event) -> None:
        if self._in_phase:
            self._deferred.append(event)
            return
        if event.code == "INTERLOCK" and event.data.get("state") == "ON":
            name = event.data.get("name", "?")
            self.hold(Trigger.INTERLOCK, "instrument", f"interlock {name}")
        elif event.code == "BOOT":
            self._last_t = None  # the instrument clock restarted
            self.hold(Trigger.SYSTEM, "instrument", "firmware restarted")

    def link_lost(self, detail: str) -> None:
        self._last_t = None
        if self.state is State.RUNNING:
            self.machine.command(Command.HOLD, Trigger.SYSTEM, "console", f"link lost: {detail}")
            self.held_reason = f"link lost: {detail}"
            self.machine.complete("console", "the instrument keeps temperature and gas")

    # ------------------------------------------------------------------ stepping
    def _next_step(self) -> None:
        while self.step_index < len(self.recipe.steps):
            step = self.recipe.steps[self.step_index]
            self.record.step_started(step.number, step.name, self.process_s)
            context = PhaseContext(
                self.send,
                self.latest,
                self.recipe.kit,
                lambda text, n=step.number: self.record.note(n, text),
            )
            self._phase = EXECUTORS[step.phase](context, self.arguments[self.step_index])
            if self._advance(None, first=True):
                return  # waiting for something
        self.machine.complete("system", "last step finished")

    def _advance(self, result: Any, first: bool = False) -> bool:
        """Run the phase on to its next wait; True while it waits, False when it ended
        (the engine then moves to the next step)."""
        self._in_phase = True  # commands the phase sends deliver samples: no re-entry
        try:
            wait = next(self._phase) if first else self._phase.send(result)
        except StopIteration:
            self._in_phase = False
            step = self.recipe.steps[self.step_index]
            self.record.step_finished(step.number, step.name, self.process_s)
            self._waiting, self._phase = None, None
            self.step_index += 1
            if not first:
                self._next_step()
            return False
        finally:
            self._in_phase = False
        baseline = wait.baseline if isinstance(wait, PumpDone) else 0.0
        self._waiting = _Waiting(wait, self.process_s, baseline=baseline)
        deferred, self._deferred = self._deferred, []
        for event in deferred:  # events that arrived while the phase was sending
            self.on_event(event)
        if not first:
            self._check_wait()
        return True

    def _check_wait(self) -> None:
        waiting = self._waiting
        if waiting is None or self._in_phase:
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

    def _resume_wait(self) -> None:
        waiting = self._waiting
        if waiting is None:
            return
        wait = waiting.wait
        self._try_clear_safe()
        if isinstance(wait, PumpDone):
            moved = self.latest(f"p{wait.pump}_vol") - waiting.baseline
            remaining = wait.volume - moved
            if remaining > 0.01:
                for valve in wait.valves:
                    self._try(SetValve(valve, True))
                before = self.latest(f"p{wait.pump}_vol")
                self._waiting = _Waiting(
                    PumpDone(wait.pump, wait.rate, remaining, wait.valves, before),
                    self.process_s,
                    baseline=before,
                )
                self._try(RunPump(wait.pump, wait.rate, remaining))
        elif isinstance(wait, Elapsed):
            for command in wait.resume:
                self._try(command)

    def _try_clear_safe(self) -> None:
        if self.latest("state") == 1:  # SAFE after a watchdog trip
            self._try(ClearSafeState())

    def _try(self, command: InstrumentCommand) -> None:
        try:
            self.send(command)
        except Exception as exc:  # the record says what could not be done
            self.record.note(self.current_step, f"{command.label} not done: {exc}")
