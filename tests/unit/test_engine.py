"""The batch engine against a scripted instrument: only newer samples count, a phase's
journal brings a killed run back to its wait without sending anything twice, and a
journal that does not match the recipe is refused."""

from pathlib import Path
from typing import Any

import pytest

from app.batch.engine import BatchEngine
from app.batch.journal import JournalEntry, JournalMismatch
from app.batch.recipe import load_recipe_file
from app.batch.states import State
from app.store.actor import Actor
from hardware.commands import RunPump, SetRotor, SetValve
from hardware.driver import InstrumentError
from hardware.protocol import CHANNEL_INDEX, CHANNELS

OP = Actor("1", "Olga Operator", "operator")
DEMO = Path(__file__).parents[2] / "resources" / "recipes" / "demo.toml"


class MemoryRecord:
    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []
        self.states: list[str] = []
        self.notes: list[str] = []
        self.alarm_events: list = []

    def transition(self, transition) -> None:
        self.states.append(transition.new.value)

    def step_started(self, number: int, name: str, process_s: float) -> None:
        self.entries.append(JournalEntry(number, "start", {"process_s": process_s}))

    def step_finished(self, number: int, name: str, process_s: float) -> None:
        self.entries.append(JournalEntry(number, "end", {"process_s": process_s}))

    def note(self, number: int, text: str, actor=None) -> None:
        self.notes.append(text)

    def answered(self, number, prompt, answer, user) -> None:
        pass

    def alarm(self, event) -> None:
        self.alarm_events.append(event)

    def journal(self, step: int, kind: str, data: dict[str, Any]) -> None:
        self.entries.append(JournalEntry(step, kind, data))


def values(**channels: float) -> list[float]:
    row = [0.0] * len(CHANNELS)
    for name, value in channels.items():
        row[CHANNEL_INDEX[name]] = value
    return row


def engine_at_prime(sent: list) -> tuple[BatchEngine, MemoryRecord]:
    """The demo recipe started, its first prompt answered: step 2 (prime) is moving
    buffer into the chamber."""
    recipe = load_recipe_file(DEMO)
    record = MemoryRecord()
    engine = BatchEngine(recipe, recipe.resolve(), lambda c: sent.append(c) or "ok", record)
    engine.on_sample(1, 1000, values(p1_vol=100.0))
    engine.start(OP)
    engine.answer("confirmed", OP)
    assert engine.current_step == 2
    return engine, record


def test_a_late_back_filled_sample_does_not_move_the_engine_back():
    sent: list = []
    engine, _ = engine_at_prime(sent)
    engine.on_sample(1, 5000, values(p1_vol=104.0, w_product=7.0))
    engine.on_sample(1, 3000, values(p1_vol=102.0, w_product=3.0))  # older, delivered late
    assert engine.latest("p1_vol") == 104.0 and engine.latest("w_product") == 7.0
    assert engine.process_s == pytest.approx(4.0)  # not 4 + 2 counted again


def test_a_killed_run_replays_to_its_wait_and_moves_only_the_rest():
    sent: list = []
    engine, record = engine_at_prime(sent)
    assert sent == [SetValve("buffer", True), RunPump(1, 60.0, 10.0)]
    engine.on_sample(1, 11_000, values(p1_vol=110.0))  # buffer -> chamber done
    assert sent[-1] == RunPump(1, -60.0, 10.0)  # chamber -> waste under way
    engine.on_sample(1, 14_000, values(p1_vol=113.0))
    journal = list(record.entries)  # the console dies here

    resent: list = []
    recovered = BatchEngine.recover(
        engine.recipe,
        engine.arguments,
        lambda c: resent.append(c) or "ok",
        record,
        journal,
        State.RUNNING,
        dict(engine.values),
        (1, 14_000),
    )
    assert resent == [] and recovered.current_step == 2  # replay sends nothing
    recovered.on_sample(1, 16_000, values(p1_vol=114.0))  # the instrument went on alone
    recovered.recovered(OP)
    assert recovered.state is State.HELD
    recovered.restart(OP, "checked")
    pumped = [c for c in resent if isinstance(c, RunPump) and c.rate_ml_min]
    assert len(pumped) == 1 and pumped[0].rate_ml_min == -60.0
    assert pumped[0].volume_ml == pytest.approx(6.0)  # 10 mL less the 4 already moved
    assert resent.count(SetValve("waste", True)) >= 1
    recovered.on_sample(1, 22_000, values(p1_vol=120.0))
    assert recovered.current_step == 3  # prime finished once; the load began
    starts = [e.step for e in record.entries if e.kind == "start"]
    assert starts == [1, 2, 3]


def test_a_journal_that_does_not_match_the_recipe_is_refused():
    sent: list = []
    engine, record = engine_at_prime(sent)
    tampered = [
        JournalEntry(e.step, e.kind, {**e.data, "args": {**e.data["args"], "volume_ml": 99.0}})
        if e.kind == "send" and e.data["command"] == "RunPump"
        else e
        for e in record.entries
    ]
    with pytest.raises(JournalMismatch, match="step 2"):
        BatchEngine.recover(
            engine.recipe, engine.arguments, sent.append, record, tampered, State.RUNNING, {}, None
        )


def test_a_refused_phase_command_holds_the_run_and_is_sent_again_at_restart():
    recipe = load_recipe_file(DEMO)
    record = MemoryRecord()
    sent: list = []

    def send(command):
        if isinstance(command, SetValve) and command.name == "buffer" and not sent:
            sent.append("refused")
            raise InstrumentError("VALVE", "INTERLOCK", "door open")
        sent.append(command)
        return "ok"

    engine = BatchEngine(recipe, recipe.resolve(), send, record)
    engine.on_sample(1, 1000, values())
    engine.start(OP)
    engine.answer("confirmed", OP)
    assert engine.state is State.HELD and "VALVE refused" in engine.held_reason
    engine.restart(OP, "door closed")
    assert SetValve("buffer", True) in sent


def test_pause_waits_for_the_step_to_end_and_resume_goes_on_with_the_next():
    sent: list = []
    engine, record = engine_at_prime(sent)
    engine.pause(OP)
    assert engine.state is State.PAUSING
    engine.on_sample(1, 11_000, values(p1_vol=110.0))  # the prime goes on while pausing
    engine.on_sample(1, 21_000, values(p1_vol=120.0))  # and ends
    assert engine.state is State.PAUSED and engine.current_step == 3
    assert [e.step for e in record.entries if e.kind == "start"] == [1, 2]  # no step 3 yet
    engine.resume(OP)
    assert engine.state is State.RUNNING
    assert [e.step for e in record.entries if e.kind == "start"] == [1, 2, 3]


def test_stop_lets_the_transfer_under_way_finish_then_stops_everything():
    sent: list = []
    engine, record = engine_at_prime(sent)
    with pytest.raises(ValueError, match="reason"):
        engine.stop(OP, " ")
    engine.stop(OP, "donor sample rejected")
    assert engine.state is State.STOPPING
    engine.on_sample(1, 6_000, values(p1_vol=105.0))
    assert engine.state is State.STOPPING  # 5 of 10 mL moved
    engine.on_sample(1, 11_000, values(p1_vol=110.0))
    assert engine.state is State.STOPPED
    assert sent[-3:] == [RunPump(1, 0.0), RunPump(2, 0.0), SetRotor(0.0)]
    assert record.states[-2:] == ["Stopping", "Stopped"]
    engine.reset(OP)
    assert engine.state is State.IDLE


def test_an_alarm_that_holds_the_batch_holds_it_once_after_its_delay():
    recipe = load_recipe_file(DEMO)
    record = MemoryRecord()
    sent: list = []
    engine = BatchEngine(recipe, recipe.resolve(), lambda c: sent.append(c) or "ok", record)
    engine.on_sample(1, 0, values())
    engine.start(OP)
    engine.answer("confirmed", OP)
    engine.on_sample(1, 1_000, values(pressure=300.0))
    assert engine.state is State.RUNNING  # on-delay 5 s not yet over
    engine.on_sample(1, 7_000, values(pressure=310.0))
    assert engine.state is State.HELD and "LINE_PRESSURE_HIGH" in engine.held_reason
    came = [e for e in record.alarm_events if e.tag == "LINE_PRESSURE_HIGH"]
    assert [e.new.value for e in came] == ["unacknowledged"]
    engine.acknowledge("LINE_PRESSURE_HIGH", OP)
    assert engine.alarms.active()[0][1].value == "acknowledged"


def test_an_interlock_while_restarting_leaves_the_run_held_not_broken():
    """The restart's commands go out; the instrument reports an interlock meanwhile (the
    link delivers events while it waits for a reply): the run is held again, and can
    be restarted later (a headless run once died here: "nothing to finish")."""
    from hardware.protocol import Event

    sent: list = []
    engine, record = engine_at_prime(sent)
    engine.on_event(Event(2000, "INTERLOCK", {"name": "BUBBLE", "state": "ON"}))
    assert engine.state is State.HELD
    bubbles = [True]

    def send(command):
        sent.append(command)
        if isinstance(command, RunPump) and bubbles:
            bubbles.pop()
            engine.on_event(Event(3000, "INTERLOCK", {"name": "BUBBLE", "state": "ON"}))
        return "ok"

    engine.send = send
    engine.restart(OP, "cleared")
    assert engine.state is State.HELD and "BUBBLE" in engine.held_reason
    engine.restart(OP, "cleared again")
    assert engine.state is State.RUNNING
    assert record.states[-6:] == ["Held", "Restarting", "Holding", "Held", "Restarting", "Running"]


def test_the_engine_and_the_historian_keep_one_process_time_across_firmware_resets():
    """Two firmware resets: the engine's process time and the historian's (the run's
    time axis on every trend and the golden band) stay equal, by one rule."""
    import numpy as np

    from app.store.historian import RunClock

    sent: list = []
    engine, _ = engine_at_prime(sent)  # its clock starts at boot 1, t 1000
    clock = RunClock()
    ticks = [(1, 1000), (1, 3000), (1, 9000), (2, 200), (2, 4200), (3, 0), (3, 500)]
    for boot, t_ms in ticks[1:]:
        engine.on_sample(boot, t_ms, values(p1_vol=100.0))
    run_ms = clock.convert(np.array([b for b, _ in ticks]), np.array([t for _, t in ticks]))
    assert engine.process_s * 1000 == pytest.approx(run_ms[-1])
    assert run_ms[-1] == 8000 + 1000 + 4000 + 1000 + 500  # two resets, a second each
