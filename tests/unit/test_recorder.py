"""The telemetry recorder: every sample stored, commits batched, none waits long."""

import threading
import time

import numpy as np

from app.store.db import connect, open_database
from app.store.recorder import TelemetryRecorder
from app.store.writer import StoreWriter
from hardware.protocol import CHANNEL_NAMES


def test_batches_are_gathered_and_committed_within_a_second(tmp_path):
    path = open_database(tmp_path)
    writer = StoreWriter(path, "WS").start()
    run_id = writer.call(
        lambda ctx: (
            ctx.conn.execute(
                "INSERT INTO runs (batch_id, started_utc, state) VALUES ('B', 'now', 'RUNNING')"
            ).lastrowid
        )
    )
    recorder = TelemetryRecorder(writer)
    recorder.add(np.ones(1), np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros((1, 26)))
    recorder.start_run(run_id)
    added: dict[int, float] = {}
    done = threading.Event()

    def hardware_thread():  # 20 batches a second for 2.5 s
        sent = 0
        while sent < 250:
            t = np.arange(sent, sent + 5, dtype=np.int64) * 100
            added[int(t[-1])] = time.monotonic()
            recorder.add(
                np.ones(5, dtype=np.int32), t, t / 1000.0, np.full((5, len(CHANNEL_NAMES)), 1.0)
            )
            sent += 5
            done.wait(0.05)
        done.set()

    feeder = threading.Thread(target=hardware_thread)
    feeder.start()
    reader = connect(path, readonly=True)
    seen: dict[int, float] = {}
    while len(seen) < 50:
        for (t,) in reader.execute("SELECT t_inst FROM samples"):
            if t in added and t not in seen:
                seen[t] = time.monotonic()
        if done.is_set() and time.monotonic() - max(added.values()) > 3:
            break
        threading.Event().wait(0.02)
    feeder.join()
    recorder.close()
    writer.close()
    stored = reader.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    reader.close()
    assert stored == 250  # nothing before start_run, everything after
    waits = [seen[t] - added[t] for t in added]
    assert max(waits) < 1.2  # no sample waits more than about a second
    assert writer.health().committed_jobs < 20  # 50 batches arrived; commits were gathered
