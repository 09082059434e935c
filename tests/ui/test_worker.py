"""The hardware thread under pytest-qt: streaming, commands, and clean teardown."""

import os

import numpy as np

from hardware.commands import SetSetpoint
from hardware.protocol import CHANNEL_NAMES
from hardware.worker import InstrumentController, TelemetryBatch


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def test_streams_batches_and_runs_commands(qtbot, simulator):
    controller = InstrumentController(simulator.url, telemetry_hz=50)
    batches: list[TelemetryBatch] = []
    controller.worker.telemetry.connect(batches.append)
    with qtbot.waitSignal(
        controller.worker.link_state, timeout=10000, check_params_cb=lambda s, d: s == "CONNECTED"
    ):
        controller.start()
    qtbot.waitUntil(lambda: sum(len(b) for b in batches) >= 20, timeout=10000)
    batch = batches[-1]
    assert batch.values.shape[1] == len(CHANNEL_NAMES)
    assert batch.t_ms.dtype == np.int64
    assert len(batches) < sum(len(b) for b in batches)  # several samples per signal
    assert batches[0].values is not batches[-1].values
    with qtbot.waitSignal(controller.worker.command_done, timeout=5000) as blocker:
        controller.send(SetSetpoint("temp_sp", 33.5))
    assert blocker.args[0].ok
    qtbot.waitUntil(lambda: batches[-1].column("temp_sp")[-1] == 33.5, timeout=5000)
    with qtbot.waitSignal(controller.worker.command_done, timeout=5000) as blocker:
        controller.send(SetSetpoint("co2_sp", 19.0))
    assert blocker.args[0].ok
    assert controller.shutdown()


def test_start_stream_stop_100_times_without_leaks(qtbot, qtlog, simulator):
    baseline = thread_count()
    for _ in range(100):
        controller = InstrumentController(simulator.url, telemetry_hz=100)
        got: list[TelemetryBatch] = []
        controller.worker.telemetry.connect(got.append)
        controller.start()
        qtbot.waitUntil(lambda got=got: len(got) > 0, timeout=10000)
        assert controller.shutdown(timeout_ms=5000)
        assert not controller.thread.isRunning()
    qtbot.waitUntil(lambda: thread_count() <= baseline, timeout=5000)
    problems = [r.message for r in qtlog.records if "QThread" in r.message or "Timer" in r.message]
    assert problems == []


def test_shutdown_does_not_wait_for_queued_slow_commands(qtbot, simulator):
    import time

    from hardware.commands import InjectFault

    controller = InstrumentController(simulator.url, telemetry_hz=10)
    with qtbot.waitSignal(
        controller.worker.link_state, timeout=10000, check_params_cb=lambda s, d: s == "CONNECTED"
    ):
        controller.start()
    with qtbot.waitSignal(controller.worker.command_done, timeout=5000):
        controller.send(InjectFault("slow=400"))
    for _ in range(10):  # four seconds of work queued on the hardware thread
        controller.send(SetSetpoint("temp_sp", 36.0))
    qtbot.wait(100)
    start = time.monotonic()
    assert controller.shutdown(timeout_ms=5000)
    assert time.monotonic() - start < 1.5


def test_telemetry_reaches_the_screens_while_a_long_job_holds_the_hardware_thread(
    qtbot, simulator
):
    """A self-test steps the connection itself for minutes on the hardware thread: the
    trends keep getting telemetry (they froze until the job ended)."""
    import threading
    import time

    controller = InstrumentController(simulator.url, telemetry_hz=50)
    batches: list[TelemetryBatch] = []
    controller.worker.telemetry.connect(batches.append)
    with qtbot.waitSignal(
        controller.worker.link_state, timeout=10000, check_params_cb=lambda s, d: s == "CONNECTED"
    ):
        controller.start()
    done, started = threading.Event(), threading.Event()

    def long_job() -> None:  # what SelfTest.wait_until does: step the connection itself
        started.set()
        end = time.monotonic() + 3.0
        while time.monotonic() < end and not done.is_set():
            pause = controller.worker.connection.step()
            time.sleep(min(pause, 0.02))  # stands in for the job's own loop

    qtbot.waitUntil(lambda: len(batches) > 0, timeout=5000)
    try:
        controller.run_on_hardware_thread(long_job)
        qtbot.waitUntil(started.is_set, timeout=5000)
        qtbot.wait(100)  # what was flushed before the job began has arrived
        during = len(batches)
        qtbot.waitUntil(lambda: len(batches) >= during + 5, timeout=2500)  # while it runs
    finally:
        done.set()
        assert controller.shutdown()
