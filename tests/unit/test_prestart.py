"""Pre-start checks: each condition the start screen lists refuses what it should."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.batch.prestart import StartRequest, prestart_checks
from app.batch.recipe import load_recipe_file
from app.store.security import Role
from hardware.driver import Identity

RECIPES = Path(__file__).parents[2] / "resources" / "recipes"
DEMO = load_recipe_file(RECIPES / "demo.toml")
WASH = load_recipe_file(RECIPES / "wash_concentrate.toml")
IDENTITY = Identity("CD-1000", "SIM-0001", "1.0.0", "CART-STD-0042", 1, 1000)
READY = {"door": 0.0, "state": 0.0, "ilk": 0.0}
NOW = datetime(2026, 11, 27, tzinfo=UTC)


def failing(request: StartRequest, identity=IDENTITY, values=READY, calibrations=None):
    checks = prestart_checks(request, identity, values, calibrations, NOW)
    return {c.name: c.detail for c in checks if not c.ok}


def request(**changes) -> StartRequest:
    fields = dict(
        recipe=DEMO, batch_id="B-1", batch_id_again="B-1", overrides={}, role=Role.OPERATOR
    )
    fields.update(changes)
    return StartRequest(**fields)


def test_a_ready_instrument_and_a_proper_request_pass_every_check():
    checks = prestart_checks(request(), IDENTITY, READY, {"ph": "2027-01-01"}, NOW)
    assert len(checks) == 8 and all(c.ok for c in checks), checks


@pytest.mark.parametrize(
    "case, kwargs, name, words",
    [
        ("no instrument", {"identity": None}, "instrument connected", "no instrument"),
        ("wrong kit", {"req": request(recipe=WASH)}, "kit loaded", "not a WASH-MINI"),
        ("door open", {"values": {**READY, "door": 1.0}}, "door closed", "open"),
        ("interlock", {"values": {**READY, "ilk": 1.0}}, "instrument ready", "interlock"),
        ("safe state", {"values": {**READY, "state": 1.0}}, "instrument ready", "SAFE"),
        (
            "calibration expired",
            {"calibrations": {"ph": "2026-11-01", "do": "2027-03-01"}},
            "calibrations in date",
            "expired: ph",
        ),
        ("batch typed differently", {"req": request(batch_id_again="B-7")}, "batch ID", "differ"),
        ("no batch", {"req": request(batch_id=" ", batch_id_again=" ")}, "batch ID", "enter"),
        (
            "batch in progress",
            {"req": request(batch_ids_in_progress=("B-1",))},
            "batch ID",
            "unfinished",
        ),
        (
            "parameter out of range",
            {"req": request(overrides={"load_volume": 500.0})},
            "run parameters",
            "outside",
        ),
        (
            "parameter not for this role",
            {"req": request(recipe=WASH, overrides={"final_volume": 40.0})},
            "run parameters",
            "only by: supervisor",
        ),
        (
            "service may not run",
            {"req": request(role=Role.SERVICE)},
            "operator authorised",
            "may not",
        ),
    ],
)
def test_each_check_refuses_what_it_should(case, kwargs, name, words):
    req = kwargs.pop("req", request())
    failed = failing(req, **kwargs)
    assert name in failed, f"{case}: {failed}"
    assert words in failed[name], f"{case}: {failed[name]}"
