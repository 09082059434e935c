"""ISA-88 states: every legal transition, every illegal command refused, recorded first."""

import pytest

from app.batch.states import (
    COMMANDS,
    COMPLETIONS,
    BatchStateMachine,
    Command,
    IllegalCommand,
    State,
    Trigger,
)
from app.store.actor import Actor

ADA = Actor("3", "Ada Operator", "operator")


def machine(state=State.IDLE):
    log = []
    return BatchStateMachine(log.append, state), log


@pytest.mark.parametrize("start, command", sorted(COMMANDS, key=str), ids=str)
def test_every_legal_command(start, command):
    sm, log = machine(start)
    transition = sm.command(command, Trigger.OPERATOR, ADA, "test")
    assert sm.state is COMMANDS[(start, command)]
    assert log == [transition]
    assert (transition.old, transition.cause, transition.actor) == (start, command.value, ADA)
    assert transition.time_utc.endswith("Z")


@pytest.mark.parametrize("start", list(COMPLETIONS), ids=str)
def test_every_completion(start):
    sm, log = machine(start)
    sm.complete()
    assert sm.state is COMPLETIONS[start] and log[0].trigger is Trigger.SYSTEM


ILLEGAL = [(s, c) for s in State for c in Command if (s, c) not in COMMANDS]


@pytest.mark.parametrize("start, command", ILLEGAL, ids=str)
def test_every_illegal_command_is_refused_and_changes_nothing(start, command):
    sm, log = machine(start)
    with pytest.raises(IllegalCommand, match=start.value):
        sm.command(command, Trigger.OPERATOR, ADA)
    assert sm.state is start and log == []


def test_a_transition_that_cannot_be_recorded_does_not_happen():
    def refuse(_):
        raise OSError("disk full")

    sm = BatchStateMachine(refuse)
    with pytest.raises(OSError):
        sm.command(Command.START, Trigger.OPERATOR, ADA)
    assert sm.state is State.IDLE


def test_a_whole_batch_with_a_hold_by_interlock():
    sm, log = machine()
    sm.command(Command.START, Trigger.OPERATOR, ADA)
    sm.command(Command.HOLD, Trigger.INTERLOCK, "instrument", "door opened")
    sm.complete()
    sm.command(Command.RESTART, Trigger.OPERATOR, "grace", "door closed, checked")
    sm.complete()
    sm.complete()
    assert sm.state is State.COMPLETE
    assert [t.new for t in log] == [
        State.RUNNING,
        State.HOLDING,
        State.HELD,
        State.RESTARTING,
        State.RUNNING,
        State.COMPLETE,
    ]
    assert log[1].trigger is Trigger.INTERLOCK and log[1].reason == "door opened"


def test_a_state_read_back_as_text_works():
    sm = BatchStateMachine(lambda t: None, "Held")
    assert sm.state is State.HELD and Command.RESTART in sm.allowed()
