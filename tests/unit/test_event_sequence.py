"""Numbered instrument events: repeats dropped, holes noticed and asked for once."""

from hardware.connection import EventSequence
from hardware.protocol import Event


def ev(n: int, code: str = "X") -> Event:
    return Event(n * 10, code, {"n": str(n)})


def test_first_attach_takes_only_later_events():
    seq = EventSequence()
    seq.attach(count=5, restarted=False, first=True)
    assert not seq.replay_wanted()
    assert not seq.accept(ev(5))
    assert seq.accept(ev(6))


def test_repeats_are_dropped_and_holes_asked_for_once():
    seq = EventSequence()
    seq.attach(count=0, restarted=False, first=True)
    assert seq.accept(ev(1))
    assert not seq.accept(ev(1))
    assert seq.accept(ev(4))  # 2 and 3 lost on the wire
    assert seq.replay_wanted()
    assert seq.take_replay() == (2, 3)
    assert seq.accept(ev(2))  # the replay brings 2 but 3 fell out of the log
    assert seq.give_up_below(4) == 1
    assert seq.next_n == 5
    assert not seq.replay_wanted()


def test_reattach_to_same_boot_replays_what_was_missed():
    seq = EventSequence()
    seq.attach(count=2, restarted=False, first=True)
    assert seq.accept(ev(3))
    seq.attach(count=6, restarted=False, first=False)  # link was down for 4, 5, 6
    assert seq.take_replay() == (4, 6)


def test_restart_wants_the_new_boot_whole():
    seq = EventSequence()
    seq.attach(count=9, restarted=False, first=True)
    seq.attach(count=3, restarted=True, first=False)
    assert seq.take_replay() == (1, 3)


def test_boot_event_seen_live_keeps_its_numbering():
    seq = EventSequence()
    seq.attach(count=9, restarted=False, first=True)
    seq.new_boot()
    assert seq.accept(ev(1, "BOOT"))
    seq.attach(count=1, restarted=True, first=False)
    assert not seq.replay_wanted()


def test_events_without_numbers_pass():
    seq = EventSequence()
    seq.attach(count=0, restarted=False, first=True)
    assert seq.accept(Event(1, "HISTORY_GAP", {}))


def test_clock_rate_learns_simulator_speed_and_rounds_real_time_to_one():
    from hardware.connection import ClockRate

    clock = ClockRate()
    clock.observe(0, 100.0)
    clock.observe(3_000_000, 103.0)  # 1000 instrument seconds per wall second
    assert abs(clock.rate - 1000.0) < 1e-6
    real = ClockRate()
    real.observe(0, 100.0)
    real.observe(3_010, 103.0)  # jitter of a real instrument
    assert real.rate == 1.0
