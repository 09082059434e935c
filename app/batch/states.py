"""The ISA-88 batch state machine: states, commands and the legal transitions.

Every transition is handed to ``on_transition`` (which records it in the audit trail)
before the state changes: if recording fails, the state does not change. An illegal
command is refused with a message saying what the current state allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from app.store.actor import SYSTEM, Actor
from app.store.db import utc_now
from app.store.run_states import FINAL_STATES


class State(StrEnum):
    IDLE = "Idle"
    RUNNING = "Running"
    HOLDING = "Holding"
    HELD = "Held"
    RESTARTING = "Restarting"
    PAUSING = "Pausing"
    PAUSED = "Paused"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    ABORTING = "Aborting"
    ABORTED = "Aborted"
    COMPLETE = "Complete"


class Command(StrEnum):
    START = "Start"
    HOLD = "Hold"
    RESTART = "Restart"
    PAUSE = "Pause"
    RESUME = "Resume"
    STOP = "Stop"
    ABORT = "Abort"
    RESET = "Reset"


class Trigger(StrEnum):
    OPERATOR = "operator"
    ALARM = "alarm"
    INTERLOCK = "interlock"
    SYSTEM = "system"


S, C = State, Command
_ACTIVE = (S.RUNNING, S.HOLDING, S.HELD, S.RESTARTING, S.PAUSING, S.PAUSED)
COMMANDS: dict[tuple[State, Command], State] = {
    (S.IDLE, C.START): S.RUNNING,
    (S.RUNNING, C.HOLD): S.HOLDING,
    (S.PAUSING, C.HOLD): S.HOLDING,
    (S.PAUSED, C.HOLD): S.HOLDING,
    (S.RESTARTING, C.HOLD): S.HOLDING,
    (S.HELD, C.RESTART): S.RESTARTING,
    (S.RUNNING, C.PAUSE): S.PAUSING,
    (S.PAUSED, C.RESUME): S.RUNNING,
    **{(state, C.STOP): S.STOPPING for state in _ACTIVE},
    **{(state, C.ABORT): S.ABORTING for state in (*_ACTIVE, S.STOPPING)},
    (S.COMPLETE, C.RESET): S.IDLE,
    (S.STOPPED, C.RESET): S.IDLE,
    (S.ABORTED, C.RESET): S.IDLE,
}
COMPLETIONS: dict[State, State] = {
    S.HOLDING: S.HELD,
    S.RESTARTING: S.RUNNING,
    S.PAUSING: S.PAUSED,
    S.STOPPING: S.STOPPED,
    S.ABORTING: S.ABORTED,
    S.RUNNING: S.COMPLETE,  # the procedure finished its last step
}
FINAL: tuple[State, ...] = tuple(State(name) for name in FINAL_STATES)
"""States a run never leaves: the runs table's (app/store/run_states.py), typed."""


class IllegalCommand(ValueError):
    """A command the current state does not accept."""


@dataclass(frozen=True)
class Transition:
    time_utc: str
    old: State
    new: State
    cause: str  # the command, or "complete" when a state finished its work
    trigger: Trigger
    actor: Actor  # who gave the command, or the system identity that acted
    reason: str = ""


class BatchStateMachine:
    def __init__(
        self,
        on_transition: Callable[[Transition], None],
        state: State = State.IDLE,
    ) -> None:
        self.state = State(state)  # also accepts the text stored in runs.state
        self.on_transition = on_transition

    def allowed(self) -> list[Command]:
        return [command for (state, command) in COMMANDS if state is self.state]

    def command(
        self, command: Command, trigger: Trigger, actor: Actor, reason: str = ""
    ) -> Transition:
        target = COMMANDS.get((self.state, command))
        if target is None:
            allowed = ", ".join(c.value for c in self.allowed()) or "nothing"
            raise IllegalCommand(
                f"{command.value} is not possible while the batch is {self.state.value} "
                f"(possible now: {allowed})"
            )
        return self._go(target, command.value, trigger, actor, reason)

    def complete(self, actor: Actor = SYSTEM, reason: str = "") -> Transition:
        """The current transient state (or the procedure, when Running) has finished."""
        target = COMPLETIONS.get(self.state)
        if target is None:
            raise IllegalCommand(f"the batch is {self.state.value}: there is nothing to finish")
        return self._go(target, "complete", Trigger.SYSTEM, actor, reason)

    def _go(
        self, target: State, cause: str, trigger: Trigger, actor: Actor, reason: str
    ) -> Transition:
        transition = Transition(utc_now(), self.state, target, cause, trigger, actor, reason)
        self.on_transition(transition)  # recorded first: no record, no transition
        self.state = target
        return transition
