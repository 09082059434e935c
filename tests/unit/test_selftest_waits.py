"""The self-test's waiting counts instrument time from the first sample it sees: a
test joining an instrument that has been up for hours still collects its window."""

from app.service.selftest import WINDOW, SelfTest
from hardware.connection import LinkState, Sample
from hardware.protocol import CHANNEL_NAMES


def test_a_window_is_collected_when_the_instrument_clock_is_already_far_along():
    clock = {"t": 5_000_000}  # the instrument has been up for over an hour
    test = SelfTest(step=lambda: 0.0, execute=lambda command: "")

    def step() -> float:
        clock["t"] += 1000
        values = tuple(float(i) for i in range(len(CHANNEL_NAMES)))
        test.on_samples([Sample(clock["t"], values, 0.0, 1, False)])
        return 0.0

    test.step = step
    test.link = LinkState.CONNECTED
    assert test.wait_until(lambda: len(test.recent) >= WINDOW, 120.0)
    assert len(test.recent) == WINDOW


def test_waiting_gives_up_after_the_instrument_time_not_the_wall_time():
    clock = {"t": 0}
    test = SelfTest(step=lambda: 0.0, execute=lambda command: "")

    def step() -> float:
        clock["t"] += 1000
        test.on_samples([Sample(clock["t"], (0.0,) * len(CHANNEL_NAMES), 0.0, 1, False)])
        return 0.0

    test.step = step
    assert not test.wait_until(lambda: False, 10.0)
    assert 10_000 <= clock["t"] - 1000 <= 11_000  # ten instrument seconds after the first
