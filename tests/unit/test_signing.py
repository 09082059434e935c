"""Signatures that say what they mean (21 CFR 11.50) and duties kept apart (11.10(g)):
the statement shown before signing is the one stored and manifested; the duty rules
refuse before any password is checked, in words, audited, and nothing else is written;
each rule is a site setting an administrator can switch off."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.batch.host import RunHost
from app.batch.library import RecipeLibrary
from app.batch.recipe import load_recipe_file
from app.records import DEMO_PASSWORD, Records
from app.store.actor import SYSTEM, Actor
from app.store.recipes import RETIRE_MEANING
from app.store.settings import SettingsService, validate
from app.store.signatures import Meaning, Signature, SignatureCheck
from app.store.signing import (
    Duties,
    DutyRefused,
    Rule,
    batch_request,
    recipe_request,
    same_person,
    step_request,
)
from hardware.connection import LinkState
from hardware.driver import Identity

DEMO = Path(__file__).parents[2] / "resources" / "recipes" / "demo.toml"


@pytest.fixture
def records(tmp_path):
    records = Records.open(tmp_path, demo=True)
    yield records
    records.close()


def rows(records: Records, sql: str, *args) -> list[tuple]:
    conn = sqlite3.connect(records.path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def login(records: Records, username: str):
    return records.users.login(username, DEMO_PASSWORD)


def switch(records: Records, rule: Rule, on: bool) -> None:
    admin = login(records, "admin")
    SettingsService(records.writer, records.path, records.users).set(
        admin, rule.value, on, "one supervisor on this site (training)"
    )


# ------------------------------------------------------------------ the statement
def test_each_request_says_the_record_in_words_and_what_the_signature_causes():
    performed = step_request(Meaning.PERFORMED, 12, "B-0042", 5, "Harvest", 8, True)
    verified = step_request(Meaning.VERIFIED, 12, "B-0042", 5, "Harvest", 8, True)
    assert performed.record_type == "run-step" and performed.record_id == "12/step/5"
    assert performed.statement == (
        'Performed: batch B-0042, step 5 "Harvest". A second person verifies it, then the run'
        " goes on to step 6."
    )
    assert (
        verified.statement == 'Verified: batch B-0042, step 5 "Harvest". The run goes on to step 6.'
    )
    last = step_request(Meaning.PERFORMED, 12, "B-0042", 8, "Release", 8)
    assert last.statement.endswith("The run ends.")
    approve = recipe_request(Meaning.APPROVED, "CAR-T 10-day", 3, 7)
    assert approve.record_id == "7" and approve.said == "approved"
    assert approve.statement.startswith('Approved: recipe "CAR-T 10-day" version 3. Operators can')
    retire = recipe_request(RETIRE_MEANING, "CAR-T 10-day", 3, 7)
    assert retire.meaning is Meaning.REJECTED and retire.said == "retired"
    assert "can never run or be approved again" in retire.statement
    review = batch_request(Meaning.REVIEWED, "B-0042", 12)
    assert review.record_words == "batch record of batch B-0042 (run 12)"
    assert review.sense.startswith("I reviewed")


def test_an_older_signature_gets_a_statement_from_its_record():
    old = Signature(1, 3, "Dana Smith", "2024-05-01T10:00:00Z", Meaning.PERFORMED, "run-step",
                    "1/step/8", "ab" * 32, 10)  # fmt: skip
    assert old.stated == "Performed: run 1, step 8."
    shown = SignatureCheck(old, True).manifestation()
    assert shown == "Dana Smith  2024-05-01 10:00:00 UTC  performed  Performed: run 1, step 8."
    assert "BROKEN" in SignatureCheck(old, False).manifestation()


def test_the_statement_is_stored_with_the_signature_and_in_its_audit_entry(records):
    supervisor = login(records, "supervisor")
    request = batch_request(Meaning.REVIEWED, "B-1", 1)
    records.signatures.sign(
        supervisor, DEMO_PASSWORD, Meaning.REVIEWED, "run", "1", "content", "supervisor",
        statement=request.statement,
    )  # fmt: skip
    (check,) = records.signatures.verify("run", "1", "content")
    assert check.signature.statement == request.statement
    manifested = check.manifestation()
    for part in ("Demo Supervisor", " UTC ", "reviewed", "batch record of batch B-1 (run 1)"):
        assert part in manifested
    (entry,) = rows(records, "SELECT new_value FROM audit WHERE action = 'signature.apply'")
    assert entry[0].endswith(request.statement)
    stored = rows(records, "SELECT statement FROM signatures")
    assert stored == [(request.statement,)]


# ------------------------------------------------------------------ duties kept apart
def test_a_recipes_author_may_not_approve_it_refused_before_the_password(records):
    supervisor = login(records, "supervisor")
    library = RecipeLibrary(records.users, records.signatures, records.path)
    version = library.import_recipe(load_recipe_file(DEMO), supervisor)
    why = 'You imported recipe "Demo" version 1: someone else must approve it.'
    assert library.approval_refusal(supervisor, version) == why
    with pytest.raises(DutyRefused, match=why):  # a wrong password is never even checked
        library.approve(supervisor, "not-the-password", version.id, "supervisor")
    refused = rows(
        records,
        "SELECT user_id, action, object_type, object_id, new_value, reason FROM audit"
        " WHERE action = 'signature.refused'",
    )
    assert refused == [
        (
            str(supervisor.user_id),
            "signature.refused",
            "recipe",
            str(version.id),
            "approved: rule duty_recipe_approval",
            why,
        )
    ]
    assert rows(records, "SELECT COUNT(*) FROM signatures") == [(0,)]
    written = rows(
        records, "SELECT action FROM audit WHERE action IN ('login.failed', 'recipe.approve')"
    )
    assert written == [] and library.get(version.id).status == "draft"

    # another person may; and a site can switch the rule off (audited like any setting)
    operator = Actor.of(login(records, "operator"))
    duties = Duties(records.users, records.path)
    assert duties.refusal(library.request(Meaning.APPROVED, version), operator) is None
    switch(records, Rule.RECIPE, False)
    assert library.approval_refusal(supervisor, version) is None
    library.approve(supervisor, DEMO_PASSWORD, version.id, "supervisor")
    assert library.get(version.id).status == "approved"
    change = rows(records, "SELECT object_id, new_value FROM audit WHERE action = 'setting.change'")
    assert change == [("duty_recipe_approval", "False")]


def test_the_reviewer_signed_no_step_and_is_not_the_approver(records):
    supervisor, operator = login(records, "supervisor"), login(records, "operator")
    sign = records.signatures.sign
    sign(supervisor, DEMO_PASSWORD, Meaning.VERIFIED, "run-step", "1/step/3", "c", "supervisor")
    sign(operator, DEMO_PASSWORD, Meaning.PERFORMED, "run-step", "2/step/1", "c", "operator")
    duties, me = Duties(records.users, records.path), Actor.of(supervisor)
    review, approve = (
        batch_request(Meaning.REVIEWED, "B-1", 1),
        batch_request(Meaning.APPROVED, "B-1", 1),
    )
    found = duties.refusal(review, me)
    assert found is not None and found.rule is Rule.BATCH
    assert found.reason == (
        "You verified step 3 of this batch: someone who signed none of its steps must review it."
    )
    assert duties.refusal(batch_request(Meaning.REVIEWED, "B-2", 2), me) is None  # not run 2
    assert duties.refusal(batch_request(Meaning.REVIEWED, "B-10", 10), me) is None  # nor 10
    assert duties.refusal(approve, me) is None  # no review yet to keep apart from
    sign(supervisor, DEMO_PASSWORD, Meaning.REVIEWED, "run", "1", "record")
    found = duties.refusal(approve, me)
    assert found is not None
    assert found.reason == "You reviewed this batch record: a second person must approve it."
    assert duties.refusal(approve, Actor.of(operator)) is None  # (the role is checked elsewhere)
    with pytest.raises(DutyRefused):
        duties.enforce(approve, me)
    assert rows(records, "SELECT reason FROM audit WHERE action = 'signature.refused'") == [
        (found.reason,)
    ]
    switch(records, Rule.BATCH, False)
    assert duties.refusal(review, me) is None and duties.refusal(approve, me) is None


def test_the_performer_of_a_step_is_not_its_verifier(records):
    duties = Duties(records.users, records.path)
    operator = login(records, "operator")
    named = duties.account("OPERATOR")  # as typed: user names are not case-sensitive
    assert named is not None and named.id == str(operator.user_id)
    assert named.name == "Demo Operator" and duties.account("nobody") is None
    verify = step_request(Meaning.VERIFIED, 4, "B-4", 1, "Confirm kit", 8)
    found = duties.refusal(verify, named, performer=Actor.of(operator))
    assert found is not None and found.reason == same_person(verify)
    assert found.reason == "You performed step 1 of this batch: a second person must verify it."
    supervisor = duties.account("supervisor")
    assert supervisor is not None
    assert duties.refusal(verify, supervisor, performer=Actor.of(operator)) is None
    switch(records, Rule.STEP, False)
    assert duties.refusal(verify, named, performer=Actor.of(operator)) is None


def test_the_duty_settings_are_on_or_off():
    assert validate("duty_batch_review", "off") is False
    assert validate("duty_batch_review", "True") is True
    with pytest.raises(ValueError, match="Independent batch review must be on or off"):
        validate("duty_batch_review", "maybe")


# ------------------------------------------------------------------ a step, on the run host
CART = DEMO.parent / "cart_10day.toml"


def test_a_second_person_step_keeps_performer_and_verifier_apart(records):
    host = RunHost(records, lambda command: "ok")
    host.identity = Identity("CD-1000", "SIM-0001", "1.0.0", "CART-STD-0001", 1, 0)
    host.link = LinkState.CONNECTED
    host.values = {"door": 0.0, "state": 0.0, "ilk": 0.0, "temp_sp": 37.0}
    library = RecipeLibrary(records.users, records.signatures, records.path)
    version = library.import_recipe(load_recipe_file(CART), SYSTEM)
    library.approve(login(records, "supervisor"), DEMO_PASSWORD, version.id, "supervisor")
    operator = login(records, "operator")
    try:
        host.start(operator, version.id, "B-1", "B-1")
        assert host.engine.pending_prompt.second_person
        before = rows(records, "SELECT COUNT(*) FROM audit WHERE action LIKE 'login%'")
        why = "You performed step 1 of this batch: a second person must verify it."
        with pytest.raises(DutyRefused, match=why):  # the second password is never checked
            host.answer(operator, "signed", DEMO_PASSWORD, ("OPERATOR", "wrong"), "operator")
        assert rows(records, "SELECT reason FROM audit WHERE action = 'signature.refused'") == [
            (why,)
        ]
        assert rows(records, "SELECT COUNT(*) FROM signatures WHERE record_type = 'run-step'") == [
            (0,)
        ]
        assert rows(records, "SELECT COUNT(*) FROM audit WHERE action LIKE 'login%'") == before
        host.answer(operator, "signed", DEMO_PASSWORD, ("supervisor", DEMO_PASSWORD), "operator")
        signed = rows(
            records,
            "SELECT user_name, meaning, statement FROM signatures WHERE record_type = 'run-step'",
        )
        step = 'batch B-1, step 1 "Confirm kit and apheresis bag"'
        assert signed == [
            (
                "Demo Operator",
                "performed",
                f"Performed: {step}. A second person verifies it, then the run goes on to step 2.",
            ),
            ("Demo Supervisor", "verified", f"Verified: {step}. The run goes on to step 2."),
        ]
    finally:
        host.close()
