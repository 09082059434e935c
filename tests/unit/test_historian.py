"""The historian: every sample stored, rollups current, extremes never lost."""

import numpy as np
import pytest

from app.store.db import connect, open_database, transaction
from app.store.historian import Historian, query
from hardware.protocol import CHANNEL_INDEX, CHANNEL_NAMES

C = len(CHANNEL_NAMES)


@pytest.fixture
def conn(tmp_path):
    path = open_database(tmp_path)
    conn = connect(path)
    conn.execute(
        "INSERT INTO runs (id, batch_id, started_utc, state) VALUES (1, 'B1', 'now', 'RUNNING')"
    )
    yield conn
    conn.close()


def batch(t_inst, boot=1, fill=None):
    t_inst = np.asarray(t_inst, dtype=np.int64)
    values = np.tile(np.arange(C, dtype=float), (len(t_inst), 1)) if fill is None else fill
    return (np.full(len(t_inst), boot), t_inst, t_inst / 1000.0 + 1.7e9, values)


def ingest(conn, hist, *args):
    with transaction(conn):
        return hist.ingest(conn, 1, *args)


def test_every_sample_is_stored_and_read_back_raw(conn):
    hist = Historian()
    temps = np.linspace(20, 37, 100)
    values = np.tile(np.arange(C, dtype=float), (100, 1))
    values[:, CHANNEL_INDEX["temp"]] = temps
    assert ingest(conn, hist, *batch(np.arange(100) * 1000 + 5000, fill=values)) == 100
    series = query(conn, 1, ["temp", "ph"], 0, 10**9)
    assert series.level == "raw" and len(series) == 100
    assert series.t_ms[0] == 0  # process time starts at the run's first sample
    np.testing.assert_allclose(series.mean["temp"], temps)


def test_redelivered_samples_are_skipped(conn):
    hist = Historian()
    ingest(conn, hist, *batch([0, 1000, 2000]))
    assert ingest(conn, hist, *batch([2000, 3000])) == 1


def test_firmware_reset_keeps_process_time_continuous(conn):
    hist = Historian()
    ingest(conn, hist, *batch([10_000, 11_000, 12_000], boot=1))
    ingest(conn, hist, *batch([0, 1000], boot=2))
    t = conn.execute("SELECT t_ms FROM samples ORDER BY t_ms").fetchall()
    assert [r[0] for r in t] == [0, 1000, 2000, 3000, 4000]


def test_extremes_survive_every_level_of_reduction(conn):
    hist = Historian()
    n = 6 * 3600  # six hours at 1 Hz
    values = np.full((n, C), 37.0)
    values[12_345, CHANNEL_INDEX["temp"]] = 41.5  # a one-second spike
    values[20_001, CHANNEL_INDEX["temp"]] = 30.25  # and a dip
    for start in range(0, n, 600):  # delivered in ten-minute batches
        rows = slice(start, start + 600)
        ingest(conn, hist, *batch(np.arange(n)[rows] * 1000, fill=values[rows]))
    for points in (50, 200, 2000):
        series = query(conn, 1, ["temp"], 0, n * 1000, max_points=points)
        assert len(series) <= points // 2 + 1
        assert series.hi["temp"].max() == 41.5 and series.lo["temp"].min() == 30.25
        assert series.level != "raw"
    window = query(conn, 1, ["temp"], 12_000_000, 12_600_000, max_points=2000)
    assert window.level == "raw" and window.hi["temp"].max() == 41.5


def test_rollups_are_current_and_survive_a_restart(conn):
    hist = Historian()
    ingest(conn, hist, *batch([0, 1000, 2000]))
    row = conn.execute("SELECT n, t_last FROM rollups WHERE level = 0 AND bucket = 0").fetchone()
    assert row == (3, 2000)
    restarted = Historian()  # console restarted in the middle of a bucket
    ingest(conn, restarted, *batch([3000, 4000]))
    row = conn.execute("SELECT n, t_last FROM rollups WHERE level = 0 AND bucket = 0").fetchone()
    assert row == (5, 4000)
    series = query(conn, 1, ["temp_sp"], 0, 10_000, max_points=4)
    assert series.mean["temp_sp"][0] == pytest.approx(CHANNEL_INDEX["temp_sp"])


def test_late_samples_of_the_same_boot_fill_in_without_shifting_time(conn):
    hist = Historian()
    ingest(conn, hist, *batch([0, 1000, 4000, 5000]))
    ingest(conn, hist, *batch([2000, 3000]))  # a hole back-filled from history
    t = conn.execute("SELECT t_ms FROM samples ORDER BY t_ms").fetchall()
    assert [r[0] for r in t] == [0, 1000, 2000, 3000, 4000, 5000]


def test_redelivery_does_not_count_twice_in_the_rollups(conn):
    hist = Historian()
    ingest(conn, hist, *batch([0, 1000, 2000]))
    ingest(conn, hist, *batch([1000, 2000, 3000]))  # two repeated, one new
    assert conn.execute("SELECT n FROM rollups WHERE level = 0 AND bucket = 0").fetchone() == (4,)


def test_late_and_new_samples_in_one_batch_keep_the_open_bucket(conn):
    hist = Historian()
    ingest(conn, hist, *batch([0, 1000, 5000, 6000]))
    ingest(conn, hist, *batch([2000, 3000, 7000]))  # a filled hole and the next sample
    rows = conn.execute("SELECT n, t_first, t_last FROM rollups WHERE level = 0 AND bucket = 0")
    assert rows.fetchone() == (7, 0, 7000)
    late_only = Historian()
    ingest(conn, late_only, *batch([8000]))
    ingest(conn, late_only, *batch([4000]))  # only a late sample
    rows = conn.execute("SELECT n, t_first, t_last FROM rollups WHERE level = 0 AND bucket = 0")
    assert rows.fetchone() == (9, 0, 8000)


def test_zooming_into_a_minute_reads_raw_samples(conn):
    hist = Historian()
    t = np.arange(0, 36000) * 100  # an hour at 10 Hz
    for start in range(0, len(t), 6000):
        ingest(conn, hist, *batch(t[start : start + 6000]))
    series = query(conn, 1, ["temp"], 600_000, 660_000, max_points=2000)
    assert series.level == "raw" and len(series) == 601
