"""The service host's procedures without Qt: applying a calibration (check, write, read
back, record; the old coefficients written back when the record cannot be made) and
the diagnostics export with its audit entry."""

from __future__ import annotations

import sqlite3
import zipfile
from types import SimpleNamespace

import pytest

from app.records import DEMO_PASSWORD, Records
from app.service.calibration import Point, ph_two_point
from app.service.calibration_apply import ApplyOutcome, ApplyStage
from app.service.host import ServiceHost
from hardware.commands import WriteCalibration
from hardware.driver import Identity, InstrumentError

SERIAL = "SIM-0001"
GOOD_PH = ph_two_point(Point(7.00, 7.08, 0.004, 10), Point(4.01, 4.15, 0.006, 10), 1.0, 0.0)


class Instrument:
    """The coefficients a fake instrument holds; ``refuse``: writes answered ERR;
    ``skew``: what it reads back differs from what was written."""

    def __init__(self) -> None:
        self.held = {"ph": (1.0, 0.0)}
        self.writes: list[tuple[float, float]] = []
        self.refuse = 0  # writes refused from this write on (1: the first), 0: none
        self.skew = 0.0

    def calibration(self, channel: str) -> tuple[float, float]:
        gain, offset = self.held[channel]
        return gain + self.skew, offset

    def execute(self, command) -> str:
        if isinstance(command, WriteCalibration):
            self.writes.append((command.gain, command.offset))
            if self.refuse and len(self.writes) >= self.refuse:
                raise InstrumentError("CAL", "STATE", "not in service")
            self.held[command.channel] = (command.gain, command.offset)
        return "OK"


@pytest.fixture
def setup(tmp_path):
    records = Records.open(tmp_path, demo=True)
    instrument = Instrument()
    connection = SimpleNamespace(execute=instrument.execute, instrument=instrument)
    runs = SimpleNamespace(
        identity=Identity("CD-1", SERIAL, "1.0", "kit", 1, 0), engine=None, service_by=None
    )
    host = ServiceHost(records, runs, lambda: connection)
    engineer = records.users.login("service", DEMO_PASSWORD)
    host.enter(engineer)
    yield host, instrument, engineer, records
    records.close()


def rows(records, sql: str) -> int:
    with sqlite3.connect(records.path) as conn:
        return conn.execute(sql).fetchone()[0]


def test_a_calibration_is_written_read_back_and_recorded(setup):
    host, instrument, engineer, records = setup
    stages = []
    applied = host.apply_calibration(
        engineer, DEMO_PASSWORD, GOOD_PH, SERIAL, username="service", progress=stages.append
    )
    assert applied.outcome is ApplyOutcome.RECORDED and applied.recorded
    assert stages == [ApplyStage.CHECK, ApplyStage.WRITE, ApplyStage.RECORD]
    assert instrument.held["ph"] == pytest.approx((GOOD_PH.gain, GOOD_PH.offset))
    assert applied.record is not None and applied.record.instrument_serial == SERIAL
    assert rows(records, "SELECT COUNT(*) FROM calibrations") == 1
    assert rows(records, "SELECT COUNT(*) FROM signatures WHERE record_type='calibration'") == 1


def test_a_wrong_password_writes_and_records_nothing(setup):
    host, instrument, engineer, records = setup
    applied = host.apply_calibration(engineer, "wrong", GOOD_PH, SERIAL, username="service")
    assert applied.outcome is ApplyOutcome.REFUSED and applied.error is not None
    assert instrument.writes == [] and rows(records, "SELECT COUNT(*) FROM calibrations") == 0


def test_a_refused_write_leaves_the_old_coefficients(setup):
    host, instrument, engineer, records = setup
    instrument.refuse = 1
    applied = host.apply_calibration(engineer, DEMO_PASSWORD, GOOD_PH, SERIAL, "service")
    assert applied.outcome is ApplyOutcome.NOT_WRITTEN
    assert isinstance(applied.error, InstrumentError)
    assert instrument.held["ph"] == (1.0, 0.0)
    assert rows(records, "SELECT COUNT(*) FROM calibrations") == 0


def test_a_wrong_read_back_writes_the_old_coefficients_back(setup):
    host, instrument, engineer, records = setup
    instrument.skew = 0.01
    applied = host.apply_calibration(engineer, DEMO_PASSWORD, GOOD_PH, SERIAL, "service")
    assert applied.outcome is ApplyOutcome.RESTORED
    assert "not what was written" in str(applied.error)
    assert instrument.writes[-1] == (GOOD_PH.old_gain, GOOD_PH.old_offset)
    assert rows(records, "SELECT COUNT(*) FROM calibrations") == 0


def test_a_failed_restore_is_said(setup):
    host, instrument, engineer, _records = setup
    instrument.skew, instrument.refuse = 0.01, 2  # the write back is refused
    applied = host.apply_calibration(engineer, DEMO_PASSWORD, GOOD_PH, SERIAL, "service")
    assert applied.outcome is ApplyOutcome.UNRECORDED
    assert isinstance(applied.restore_error, InstrumentError)


def test_the_steps_on_the_instrument_go_through_on_hardware(setup):
    host, _instrument, engineer, _records = setup
    sent = []

    def on_hardware(work):
        sent.append(work)
        return work()

    applied = host.apply_calibration(
        engineer, DEMO_PASSWORD, GOOD_PH, SERIAL, "service", on_hardware=on_hardware
    )
    assert applied.recorded and len(sent) == 2  # the write and the read-back


def test_the_diagnostics_export_is_audited(setup, tmp_path):
    host, _instrument, engineer, records = setup
    host.connection().link = SimpleNamespace(
        stats=SimpleNamespace(snapshot=lambda: {"frames_in": 3}, latencies_ms=[1.0]),
        url="loop://",
    )
    path = tmp_path / "exports" / "diagnostics-x.zip"
    names = host.export_diagnostics(engineer, tmp_path, path)
    assert "instrument.txt" in names and zipfile.is_zipfile(path)
    with sqlite3.connect(records.path) as conn:
        entry = conn.execute(
            "SELECT object_id, new_value FROM audit WHERE action='diagnostics.export'"
        ).fetchone()
    assert entry == (SERIAL, path.name)
