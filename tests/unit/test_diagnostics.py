"""The diagnostics bundle: one zip with the technical log, link statistics, instrument
identity and calibration history, a manifest saying what is in it, and no patient or
batch data: a batch ID that reached the technical log does not reach the zip."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile

import pytest

from app.records import DEMO_PASSWORD, Records
from app.service.calibration import Point, ph_two_point
from app.service.diagnostics import (
    CALIBRATIONS,
    INSTRUMENT,
    LINK_STATISTICS,
    MANIFEST,
    REMOVED,
    names_batch,
    scrub_log,
    write_bundle,
)
from app.store.calibrations import CalibrationService
from app.technical_log import LOG_NAME

SERIAL = "SIM-0001"
BATCH = "PT-4471-CART"  # a batch ID as an operator might type it
KIT = "KIT-LOT-99812"
STATS = {"frames_in": 1200, "frames_out": 340, "crc_errors": 2, "latencies_ms": [1.5, 2.0]}
IDENTITY = f"model CD-1000\nserial {SERIAL}\nfirmware 1.0.0"
GOOD_PH = ph_two_point(Point(7.00, 7.08, 0.004, 10), Point(4.01, 4.15, 0.006, 10), 1.0, 0.0)


@pytest.fixture
def records(tmp_path):
    records = Records.open(tmp_path, demo=True)
    yield records
    records.close()


@pytest.fixture
def data_dir(records, tmp_path):
    """A data folder with a run on record, a signed calibration, and a technical log
    (plus a rotated copy) that mentions the run, the batch and the kit."""
    with sqlite3.connect(records.path) as conn:
        conn.execute(
            "INSERT INTO runs (batch_id, started_utc, state, instrument_serial, firmware, kit_id)"
            " VALUES (?, '2025-01-01T00:00:00Z', 'Complete', ?, '1.0.0', ?)",
            (BATCH, SERIAL, KIT),
        )
    engineer = records.users.login("service", DEMO_PASSWORD)
    CalibrationService(records.writer, records.path, records.users).record(
        engineer, DEMO_PASSWORD, GOOD_PH, SERIAL, username="service"
    )
    (tmp_path / LOG_NAME).write_text(
        "2025-01-01T10:00:00+0000 INFO app.console: demo mode: simulated instrument on /dev/pts/3\n"
        f"2025-01-01T10:00:01+0000 INFO app.batch.host: started {BATCH} on {SERIAL}\n"
        "2025-01-01T10:00:02+0000 ERROR app.ui.run_page: run 7 history not loaded: timeout\n"
        "2025-01-01T10:00:03+0000 WARNING hardware.connection: history read-back failed: x\n"
        f"2025-01-01T10:00:04+0000 INFO app.x: kit {KIT} loaded\n",
        encoding="utf-8",
    )
    (tmp_path / f"{LOG_NAME}.1").write_text(
        "2024-12-31T09:00:00+0000 INFO app.y: the batch record was exported\n"
        "2024-12-31T09:00:01+0000 INFO hardware.link: reconnected after 2 retries\n",
        encoding="utf-8",
    )
    (tmp_path / "celldeck.db-notes.txt").write_text("not a log")  # not picked up
    return tmp_path


def read_zip(path) -> dict[str, str]:
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name).decode("utf-8") for name in bundle.namelist()}


def test_the_bundle_holds_log_stats_identity_calibrations_and_a_manifest(
    data_dir, records, tmp_path
):
    path = tmp_path / "exports" / "diagnostics.zip"
    names = write_bundle(data_dir, records.path, path, STATS, IDENTITY)
    files = read_zip(path)
    assert sorted(names) == sorted(files)
    assert names[0] == MANIFEST
    assert set(files) == {
        MANIFEST,
        f"technical-log/{LOG_NAME}.1",
        f"technical-log/{LOG_NAME}",
        LINK_STATISTICS,
        INSTRUMENT,
        CALIBRATIONS,
    }
    assert names.index(f"technical-log/{LOG_NAME}.1") < names.index(f"technical-log/{LOG_NAME}")
    assert json.loads(files[LINK_STATISTICS]) == STATS
    assert "serial SIM-0001" in files[INSTRUMENT] and "firmware 1.0.0" in files[INSTRUMENT]
    assert "CellDeck" in files[INSTRUMENT]
    rows = list(csv.DictReader(io.StringIO(files[CALIBRATIONS])))
    assert len(rows) == 1
    assert rows[0]["channel"] == "ph" and rows[0]["instrument_serial"] == SERIAL
    assert float(rows[0]["gain"]) == pytest.approx(GOOD_PH.gain)
    assert rows[0]["signature_valid"] == "True"
    assert json.loads(rows[0]["details"])["points"][1]["reference"] == 4.01
    manifest = files[MANIFEST]
    for name in names:
        assert name in manifest
    assert "No patient or batch data" in manifest
    assert "4 lines in 2 log files" in manifest
    # the machine's own lines are kept as they were
    log = files[f"technical-log/{LOG_NAME}"]
    assert "demo mode: simulated instrument on /dev/pts/3" in log
    assert "history read-back failed" in log
    assert "reconnected after 2 retries" in files[f"technical-log/{LOG_NAME}.1"]
    assert not list(tmp_path.glob("exports/*.part"))  # written aside, then renamed


def test_no_batch_id_run_reference_or_kit_id_reaches_the_zip(data_dir, records, tmp_path):
    path = tmp_path / "diagnostics.zip"
    write_bundle(data_dir, records.path, path, {**STATS, "note": f"batch {BATCH}"}, IDENTITY)
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as bundle:
        everything = "\n".join(bundle.read(n).decode("utf-8") for n in bundle.namelist())
    for secret in (BATCH, KIT, "run 7"):
        assert secret not in everything
        assert secret.encode() not in raw
    assert "exported" not in everything  # "the batch record was exported": removed
    log = read_zip(path)[f"technical-log/{LOG_NAME}"]
    assert f"2025-01-01T10:00:01+0000 INFO app.batch.host: {REMOVED}" in log  # time kept
    assert log.count(REMOVED) == 3
    for table_word in ("samples", "audit", "signature.apply"):
        assert f"{table_word}," not in everything  # no table dumped
    assert "note" not in json.loads(read_zip(path)[LINK_STATISTICS])


def test_an_empty_data_folder_still_gives_a_bundle_that_says_so(tmp_path):
    path = tmp_path / "out.zip"
    names = write_bundle(tmp_path, tmp_path / "missing.db", path, {}, "")
    files = read_zip(path)
    assert set(names) == {MANIFEST, LINK_STATISTICS, INSTRUMENT, CALIBRATIONS}
    assert "No technical log file" in files[MANIFEST]
    assert files[CALIBRATIONS].startswith("id,instrument_serial,channel")


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("2025-01-01T00:00:00+0000 INFO app.batch.host: engine stepped", False),
        ('  File "/opt/app/batch/host.py", line 12, in step', False),
        ("2025-01-01T00:00:00+0000 INFO app.x: Batch B-1 held", True),
        ("2025-01-01T00:00:00+0000 INFO app.x: run_id=12 closed", True),
        ("2025-01-01T00:00:00+0000 INFO app.x: run #3 started", True),
        ("2025-01-01T00:00:00+0000 INFO app.x: the run is fine", False),
        ("2025-01-01T00:00:00+0000 INFO app.x: patient sample", True),
    ],
)
def test_which_lines_name_a_batch_or_run(line, named):
    assert names_batch(line) is named


def test_scrubbing_counts_and_keeps_the_order():
    text, removed = scrub_log("a\nb XY-1 c\nd\n", ["XY-1"])
    assert (text, removed) == (f"a\n{REMOVED}\nd\n", 1)
