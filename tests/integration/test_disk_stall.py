"""A records disk that stalls for 20 s mid-run (an antivirus scan, a network drive):
the thread that owns the instrument's link waits for its record without starving the
instrument's 5 s watchdog. The instrument never goes to its safe state, no sample is
lost, the operator's answer counts only once it is on disk, and every entry commits
after the stall."""

import sqlite3
import threading
import time

import numpy as np

from app.batch.host import RunHost
from app.batch.library import RecipeLibrary
from app.demo import seed_demo_recipes
from app.records import DEMO_PASSWORD, Records
from hardware.connection import Connection, LinkState
from hardware.protocol import CHANNEL_INDEX, STATES, FirmwareState
from hardware.simulator.launcher import SimulatorProcess
from tests.headless import drive

STALL_S = 20.0
SPEED = 10.0
SAFE = float(STATES.index(FirmwareState.SAFE))


def test_a_stalled_records_disk_never_trips_the_instruments_watchdog(tmp_path):
    records = Records.open(tmp_path, demo=True)
    seed_demo_recipes(records)
    operator = records.users.login("operator", DEMO_PASSWORD)
    library = RecipeLibrary(records.users, records.signatures, records.path)
    version = next(v for v in library.approved() if v.name == "Demo")
    samples, events = [], []
    with SimulatorProcess(["--speed", str(SPEED), "--kit", "CART-STD-SIM-0001"]) as sim:
        connection: Connection | None = None
        host = RunHost(
            records,
            lambda command: connection.execute(command),
            keep_alive=lambda: connection.keepalive(),
        )
        on_samples, on_events = host.on_samples, host.on_events
        host.on_samples = lambda batch: samples.extend(batch) or on_samples(batch)
        host.on_events = lambda batch: events.extend(batch) or on_events(batch)
        connection = Connection(sim.url, host, telemetry_hz=10.0)
        connection.start()
        drive(connection, lambda: host.link is LinkState.CONNECTED and host.samples_seen > 20)
        run_id = host.start(operator, version.id, "B-STALL", "B-STALL")
        first = len(samples)  # from here on the historian keeps every sample of the run
        drive(connection, lambda: host.engine.pending_prompt is not None)
        disk = threading.Event()
        records.writer.submit(lambda ctx: disk.wait(STALL_S))  # the disk stops answering
        began = time.monotonic()
        host.answer(operator, "confirmed")  # its record waits for the disk
        waited = time.monotonic() - began
        assert waited >= STALL_S - 1.0, f"the answer did not wait for its record ({waited} s)"
        drive(connection, lambda: host.engine.current_step >= 2 and host.samples_seen > 0)
        span = (waited + 3) * 1000 * SPEED
        drive(connection, lambda: samples[-1].t_ms - samples[0].t_ms > span)
        host.abort(operator, "test over")
        host.close()
        connection.close()
    assert "WATCHDOG" not in {e.code for e in events}, events
    state = np.array([s.values[CHANNEL_INDEX["state"]] for s in samples])
    assert not (state == SAFE).any(), "the instrument went to its safe state"
    t = np.array([s.t_ms for s in samples])
    assert np.all(np.diff(t) > 0)
    assert np.diff(t).max() <= 2 * 100 * SPEED, "samples lost while the disk stalled"
    records.writer.call(lambda ctx: None)
    with sqlite3.connect(records.path) as conn:
        answered = conn.execute(
            "SELECT COUNT(*) FROM audit WHERE action = 'step.answer' AND run_id = ?", (run_id,)
        ).fetchone()[0]
        stored = conn.execute("SELECT COUNT(*) FROM samples WHERE run_id = ?", (run_id,)).fetchone()
    records.close()
    assert answered == 1
    assert stored[0] == len(samples) - first, (stored, len(samples) - first)
