"""Sign-off of a finished run: one supervisor reviews, another approves (the reviewer
may not: refused before the password, audited), each signature bound to the record's
content hash and stating what it signs; approval refused without a review or with an
alarm waiting; rejection needs a reason; a tampered trail can be signed by no one."""

import sqlite3

import pytest

from app.records import DEMO_PASSWORD, Records
from app.review.signoff import SignOff
from app.store.signatures import Meaning
from app.store.signing import DutyRefused
from app.store.users import PermissionDenied
from tests.headless import complete_demo_run
from tests.people import QA_PASSWORD, second_supervisor


@pytest.fixture
def finished(tmp_path):
    Records.open(tmp_path, demo=True).close()  # demo accounts: a supervisor to sign
    complete_demo_run(tmp_path, "B-SIGN")
    records = Records.open(tmp_path)
    yield records, SignOff(records)
    records.close()


def test_review_then_approve_bound_to_the_record(finished):
    records, signoff = finished
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    with pytest.raises(ValueError, match="no valid review signature"):
        signoff.approve(supervisor, DEMO_PASSWORD, 1, username="supervisor")
    operator = records.users.login("operator", DEMO_PASSWORD)
    with pytest.raises(PermissionDenied):
        signoff.review(operator, DEMO_PASSWORD, 1, username="operator")
    signoff.review(supervisor, DEMO_PASSWORD, 1, username="supervisor")
    reason = "You reviewed this batch record: a second person must approve it."
    assert signoff.status(1, supervisor).refused == {Meaning.APPROVED: reason}
    with pytest.raises(DutyRefused, match=reason):  # before the (wrong) password
        signoff.approve(supervisor, "not-the-password", 1)
    conn = sqlite3.connect(records.path)
    refused = conn.execute(
        "SELECT reason FROM audit WHERE action IN ('signature.refused', 'login.failed')"
    ).fetchall()
    conn.close()
    assert refused == [(reason,)]
    qa = second_supervisor(records)
    assert signoff.status(1, qa).refused == {}
    signoff.approve(qa, QA_PASSWORD, 1, username="qa")
    status = signoff.status(1)
    assert status.valid(Meaning.REVIEWED) and status.valid(Meaning.APPROVED)
    signed = [s for s in status.record.signatures if s.record_type == "run"]
    assert [(s.meaning, s.user_name) for s in signed] == [
        ("reviewed", "Demo Supervisor"),
        ("approved", "Quinn Adams"),
    ]
    assert signed[1].stated == (
        "Approved: batch record of batch B-SIGN (run 1). The batch record is approved: it"
        " needs no further signature."
    )


def test_rejection_needs_a_reason_and_a_tampered_trail_is_not_signed(finished, tmp_path):
    records, signoff = finished
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    with pytest.raises(ValueError, match="reason"):
        signoff.reject(supervisor, DEMO_PASSWORD, 1, " ", username="supervisor")
    signoff.reject(supervisor, DEMO_PASSWORD, 1, "count entered twice", username="supervisor")
    conn = sqlite3.connect(records.path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET reason = 'edited' WHERE action = 'step.answer'")
    conn.commit()
    conn.close()
    with pytest.raises(ValueError, match="failed verification"):
        signoff.review(supervisor, DEMO_PASSWORD, 1)
    assert "audit trail failed verification" in signoff.status(1).approvable_problems[0]
