"""Calibration records: only a service engineer stores one, only a plausible one, only
with the password again; the row, its audit entry and its signature commit together,
rows never change, and an expired calibration blocks the start of a run."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.batch.host import RunHost
from app.batch.library import RecipeLibrary
from app.batch.recipe import load_recipe_file
from app.records import DEMO_PASSWORD, Records
from app.service.calibration import Point, load_cell_tare_span, ph_two_point
from app.store.actor import SYSTEM
from app.store.calibrations import CalibrationService, current, due_dates, history
from app.store.users import AuthError, PermissionDenied
from hardware.connection import LinkState
from hardware.driver import Identity

SERIAL = "SIM-0001"
DEMO = Path(__file__).parents[2] / "resources" / "recipes" / "demo.toml"
READY = {"door": 0.0, "state": 0.0, "ilk": 0.0, "temp_sp": 37.0}
GOOD_PH = ph_two_point(Point(7.00, 7.08, 0.004, 10), Point(4.01, 4.15, 0.006, 10), 1.0, 0.0)
BAD_PH = ph_two_point(Point(7.00, 7.08, 0.004, 10), Point(4.01, 7.05, 0.004, 10), 1.0, 0.0)


class Clock:
    """The time the service takes as 'now': movable, so due dates can be in the past."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def records(tmp_path):
    records = Records.open(tmp_path, demo=True)
    yield records
    records.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def service(records, clock):
    return CalibrationService(records.writer, records.path, records.users, clock=clock)


def login(records, name):
    return records.users.login(name, DEMO_PASSWORD)


def count(records, sql, *args):
    with sqlite3.connect(records.path) as conn:
        return conn.execute(sql, args).fetchone()[0]


def test_a_service_engineer_records_a_signed_audited_calibration(records, service, clock):
    engineer = login(records, "service")
    stored = service.record(engineer, DEMO_PASSWORD, GOOD_PH, SERIAL, username="service")
    assert (stored.channel, stored.instrument_serial) == ("ph", SERIAL)
    assert stored.gain == pytest.approx(GOOD_PH.gain)
    assert stored.offset == pytest.approx(GOOD_PH.offset)
    assert (stored.old_gain, stored.old_offset) == (1.0, 0.0)
    assert stored.figure == pytest.approx(GOOD_PH.figure)
    assert stored.details["points"][1]["reference"] == 4.01
    assert stored.user_name == "Demo Service" and stored.signature_valid
    assert stored.due - clock.now == timedelta(days=30)  # pH's default interval
    with sqlite3.connect(records.path) as conn:
        audit = conn.execute(
            "SELECT object_type, object_id, old_value, new_value, reason FROM audit WHERE id = ?",
            (stored.audit_id,),
        ).fetchone()
        signature = conn.execute(
            "SELECT meaning, record_type, record_id, user_name FROM signatures WHERE id = ?",
            (stored.signature_id,),
        ).fetchone()
    assert audit[:3] == ("calibration", "SIM-0001/ph", "gain=1 offset=0")
    assert audit[3] == f"gain={GOOD_PH.gain:.10g} offset={GOOD_PH.offset:.10g}"
    assert audit[4].startswith("pH two-point calibration, slope 98.0 % of Nernstian")
    assert signature[:2] == ("performed", "calibration")
    assert signature[2].startswith("SIM-0001/ph@") and signature[3] == "Demo Service"
    assert count(records, "SELECT COUNT(*) FROM audit WHERE action = 'signature.apply'") == 1


def test_an_operator_may_not_calibrate_and_the_attempt_is_audited(records, service):
    with pytest.raises(PermissionDenied):
        service.record(
            login(records, "operator"), DEMO_PASSWORD, GOOD_PH, SERIAL, username="operator"
        )
    assert count(records, "SELECT COUNT(*) FROM calibrations") == 0
    denied = "SELECT COUNT(*) FROM audit WHERE action = 'permission.denied' AND object_id = ?"
    assert count(records, denied, "SIM-0001/ph") == 1


def test_a_wrong_password_stores_nothing(records, service):
    engineer = login(records, "service")
    with pytest.raises(AuthError, match="password not recognised"):
        service.record(engineer, "not-the-password", GOOD_PH, SERIAL, username="service")
    assert count(records, "SELECT COUNT(*) FROM calibrations") == 0
    assert count(records, "SELECT COUNT(*) FROM signatures") == 0
    assert count(records, "SELECT COUNT(*) FROM audit WHERE action = 'calibration.write'") == 0


def test_an_implausible_result_is_refused_with_its_sentence(records, service):
    with pytest.raises(ValueError, match=r"slope 1\.0 % of Nernstian is outside 90–105 %"):
        service.record(login(records, "service"), DEMO_PASSWORD, BAD_PH, SERIAL, username="service")
    assert count(records, "SELECT COUNT(*) FROM calibrations") == 0


def test_a_due_interval_out_of_range_is_refused(records, service):
    with pytest.raises(ValueError, match="1 to 3650 days"):
        service.record(
            login(records, "service"), DEMO_PASSWORD, GOOD_PH, SERIAL, 0, username="service"
        )


def test_calibration_rows_are_append_only(records, service):
    service.record(login(records, "service"), DEMO_PASSWORD, GOOD_PH, SERIAL, username="service")
    with sqlite3.connect(records.path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only: UPDATE refused"):
            conn.execute("UPDATE calibrations SET gain = 1.5")
        with pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE refused"):
            conn.execute("DELETE FROM calibrations")


def test_a_row_altered_behind_the_triggers_shows_its_signature_broken(records, service):
    service.record(login(records, "service"), DEMO_PASSWORD, GOOD_PH, SERIAL, username="service")
    with sqlite3.connect(records.path) as conn:
        conn.execute("DROP TRIGGER calibrations_no_update")
        conn.execute("UPDATE calibrations SET gain = 1.5")
    assert not history(records.path, SERIAL)[0].signature_valid


def test_the_newest_calibration_per_channel_is_in_force_with_its_due_date(records, service, clock):
    engineer = login(records, "service")
    load_cell = load_cell_tare_span(
        "w_media", Point(0.0, 3.0, 0.1, 10), Point(1000.0, 1001.0, 0.1, 10)
    )
    clock.now = datetime.now(UTC) - timedelta(days=40)
    service.record(engineer, DEMO_PASSWORD, GOOD_PH, SERIAL, username="service")
    service.record(engineer, DEMO_PASSWORD, load_cell, SERIAL, due_days=20)
    service.record(engineer, DEMO_PASSWORD, load_cell, "CD-0002")
    now = datetime.now(UTC)
    in_force = current(records.path, SERIAL)
    assert [(r.channel, r.expired(now)) for r in in_force] == [("ph", True), ("w_media", True)]
    clock.now = now
    renewed = service.record(engineer, DEMO_PASSWORD, GOOD_PH, SERIAL)
    in_force = service.current(SERIAL)
    assert [(r.channel, r.expired(now)) for r in in_force] == [("ph", False), ("w_media", True)]
    assert in_force[0].id == renewed.id
    assert due_dates(records.path, SERIAL) == {r.channel: r.due_utc for r in in_force}
    assert len(history(records.path, SERIAL)) == 3 and len(history(records.path)) == 4
    performed = datetime.fromisoformat(in_force[1].performed_utc)
    assert in_force[1].due - performed == timedelta(days=20)


@pytest.fixture
def host(records):
    host = RunHost(records, lambda command: "ok")
    host.identity = Identity("CD-1000", SERIAL, "1.0.0", "CART-STD-0001", 1, 0)
    host.link, host.values = LinkState.CONNECTED, dict(READY)
    supervisor = login(records, "supervisor")
    library = RecipeLibrary(records.users, records.signatures, records.path)
    version = library.import_recipe(load_recipe_file(DEMO), SYSTEM)  # not hers
    library.approve(supervisor, DEMO_PASSWORD, version.id, username="supervisor")
    yield host, version.id
    host.close()


def calibration_check(records, host):
    host_, version = host
    checks = host_.checklist(login(records, "operator"), version, "B-1", "B-1", {})
    return next(c for c in checks if c.name == "calibrations in date")


def test_the_prestart_check_passes_with_no_calibration_on_record(records, host):
    check = calibration_check(records, host)
    assert check.ok and "no calibration on record for SIM-0001" in check.detail


def test_an_expired_calibration_blocks_the_start(records, service, clock, host):
    clock.now = datetime.now(UTC) - timedelta(days=31)
    stored = service.record(
        login(records, "service"), DEMO_PASSWORD, GOOD_PH, SERIAL, username="service"
    )
    check = calibration_check(records, host)
    assert not check.ok
    assert check.detail == (
        f"expired: ph (due {stored.due_utc[:10]}): calibrate pH before starting"
    )
    clock.now = datetime.now(UTC)
    service.record(login(records, "service"), DEMO_PASSWORD, GOOD_PH, SERIAL, username="service")
    check = calibration_check(records, host)
    assert check.ok and check.detail.startswith("next due ") and check.detail.endswith("(pH)")
