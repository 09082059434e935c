"""Users, roles, log-in, lockout, passwords, permissions and electronic signatures."""

import time

import pytest

from app.store.db import connect, open_database
from app.store.security import (
    PERMISSIONS,
    RULE_NOT_COMMON,
    PasswordRejected,
    Permission,
    Role,
    SecurityPolicy,
    check_policy,
)
from app.store.signatures import Meaning, SignatureService
from app.store.users import AuthError, PermissionDenied, SessionEnded, UserService
from app.store.writer import StoreWriter

ADMIN_PW = "admin-secret-1"
PW = {role: f"secret-{i}-pass-123" for i, role in enumerate(Role)}


@pytest.fixture
def service(tmp_path):
    path = open_database(tmp_path)
    writer = StoreWriter(path, "WS-T").start()
    users = UserService(writer, path)
    users.create_first_administrator("root", "Grace Admin", ADMIN_PW)
    admin = users.login("root", ADMIN_PW)
    for role in Role:
        users.add_user(
            admin, role.value, f"{role.value.title()} Person", role, PW[role], reason="staffing"
        )
        session = users.login(role.value, PW[role])
        users.change_password(session, PW[role], PW[role] + "x")
    yield users
    writer.close()


def login(users, role):
    return users.login(role.value, PW[role] + "x")


def audit_actions(users):
    conn = connect(users.db_path, readonly=True)
    rows = [r[0] for r in conn.execute("SELECT action FROM audit ORDER BY id")]
    conn.close()
    return rows


def test_first_administrator_only_once(service):
    with pytest.raises(PermissionDenied):
        service.create_first_administrator("root2", "Other", "another-pass-1")


def test_every_permission_is_enforced_for_every_role(service):
    for role in Role:
        session = login(service, role)
        for permission in Permission:
            if role in PERMISSIONS[permission]:
                service.require(session, permission, "test", permission.value)
            else:
                with pytest.raises(PermissionDenied):
                    service.require(session, permission, "test", permission.value)
    assert "permission.denied" in audit_actions(service)


def test_account_administration_is_refused_for_other_roles(service):
    for role in (Role.OPERATOR, Role.SUPERVISOR, Role.SERVICE):
        session = login(service, role)
        calls = [
            lambda s=session: service.list_users(s),
            lambda s=session: service.add_user(
                s, "eve", "Eve", Role.ADMINISTRATOR, "eve-password-1", "x"
            ),
            lambda s=session: service.disable(s, "operator", "x"),
            lambda s=session: service.unlock(s, "operator", "x"),
            lambda s=session: service.reset_password(s, "operator", "new-password-9", "x"),
        ]
        for call in calls:
            with pytest.raises(PermissionDenied):
                call()
    admin = login(service, Role.ADMINISTRATOR)
    assert {u.username for u in service.list_users(admin)} >= {r.value for r in Role}


def test_wrong_password_locks_after_five_attempts_and_admin_unlocks(service):
    for _ in range(4):
        with pytest.raises(AuthError, match="not recognised"):
            service.login("operator", "wrong-password")
    with pytest.raises(AuthError, match="now locked"):
        service.login("operator", "wrong-password")
    with pytest.raises(AuthError, match="locked"):
        service.login("operator", PW[Role.OPERATOR] + "x")  # even the right password
    admin = login(service, Role.ADMINISTRATOR)
    with pytest.raises(ValueError, match="reason"):
        service.unlock(admin, "operator", "")
    service.unlock(admin, "operator", "identity confirmed by phone")
    assert login(service, Role.OPERATOR).username == "operator"
    actions = audit_actions(service)
    assert actions.count("login.failed") >= 5
    assert "account.locked" in actions and "user.unlock" in actions


def test_unknown_user_and_disabled_account(service):
    with pytest.raises(AuthError):
        service.login("nobody", "whatever-123")
    admin = login(service, Role.ADMINISTRATOR)
    service.disable(admin, "service", "left the company")
    with pytest.raises(AuthError, match="disabled"):
        login(service, Role.SERVICE)
    conn = connect(service.db_path)
    with pytest.raises(Exception, match="never deleted"):
        conn.execute("DELETE FROM users WHERE username = 'service'")
    conn.close()


def test_password_policy(service):
    session = login(service, Role.OPERATOR)
    current = PW[Role.OPERATOR] + "x"
    with pytest.raises(PasswordRejected, match="at least"):
        service.change_password(session, current, "short")
    with pytest.raises(PasswordRejected, match="user name"):
        service.change_password(session, current, "my-operator-pw")
    with pytest.raises(PasswordRejected, match="last 5"):
        service.change_password(session, current, PW[Role.OPERATOR])  # the temporary one
    with pytest.raises(AuthError):
        service.change_password(session, "not-my-password", "fresh-password-7")
    service.change_password(session, current, "fresh-password-7")


def test_new_and_reset_accounts_must_change_password(service):
    admin = login(service, Role.ADMINISTRATOR)
    service.reset_password(admin, "supervisor", "temporary-pass-5", "forgotten")
    session = service.login("supervisor", "temporary-pass-5")
    assert session.must_change_password


def test_inactivity_locks_and_the_password_unlocks(service):
    session = login(service, Role.OPERATOR)
    assert not session.check_inactivity(session.last_activity + 60)
    # a second past the limit: (t + 300) - t can come out a hair under 300 in floating point
    assert session.check_inactivity(session.last_activity + 5 * 60 + 1)
    with pytest.raises(AuthError, match="locked"):
        service.require(session, Permission.RUN_OPERATE, "run", "1")
    with pytest.raises(AuthError):
        service.reauthenticate(session, "wrong-password-1")
    service.reauthenticate(session, PW[Role.OPERATOR] + "x")
    service.require(session, Permission.RUN_OPERATE, "run", "1")


def test_signatures_need_reauthentication_and_break_when_content_changes(service):
    signer = SignatureService(service, service.db_path)
    session = login(service, Role.SUPERVISOR)
    password = PW[Role.SUPERVISOR] + "x"
    record = "batch B-17: 5 steps, 0 deviations"
    with pytest.raises(AuthError, match="user name"):
        signer.sign(session, password, Meaning.REVIEWED, "run", "17", record)
    with pytest.raises(AuthError):
        signer.sign(
            session, "wrong-pass-11", Meaning.REVIEWED, "run", "17", record, username="supervisor"
        )
    first = signer.sign(
        session, password, Meaning.REVIEWED, "run", "17", record, username="supervisor"
    )
    second = signer.sign(session, password, Meaning.APPROVED, "run", "17", record)
    assert first.user_name == "Supervisor Person" and first.ts_utc.endswith("Z")
    checks = signer.verify("run", "17", record)
    assert [c.valid for c in checks] == [True, True]
    assert (
        "reviewed" in checks[0].manifestation() and "Supervisor Person" in checks[0].manifestation()
    )
    changed = signer.verify("run", "17", record + " (edited)")
    assert [c.valid for c in changed] == [False, False]
    assert "BROKEN" in changed[1].manifestation()
    assert second.audit_id > first.audit_id
    conn = connect(service.db_path)
    with pytest.raises(Exception, match="cannot be changed"):
        conn.execute("UPDATE signatures SET meaning = 'approved'")
    conn.close()


def test_wrong_passwords_at_reauthentication_count_toward_the_lockout(service):
    session = login(service, Role.SUPERVISOR)
    for _ in range(4):
        with pytest.raises(AuthError, match="not recognised"):
            service.reauthenticate(session, "guess-guess-1")
    with pytest.raises(AuthError, match="locked"):
        service.reauthenticate(session, "guess-guess-1")
    with pytest.raises(AuthError):
        service.reauthenticate(session, PW[Role.SUPERVISOR] + "x")  # locked now


def test_a_session_that_must_change_its_password_can_do_nothing_else(service):
    admin = login(service, Role.ADMINISTRATOR)
    service.reset_password(admin, "operator", "temporary-pass-5", "forgotten")
    session = service.login("operator", "temporary-pass-5")
    with pytest.raises(AuthError, match="change your password"):
        service.require(session, Permission.RUN_OPERATE, "run", "1")
    service.change_password(session, "temporary-pass-5", "my-own-secret-7")
    service.require(session, Permission.RUN_OPERATE, "run", "1")


def test_a_wrong_password_does_not_reveal_a_disabled_account(service):
    admin = login(service, Role.ADMINISTRATOR)
    service.disable(admin, "service", "left")
    with pytest.raises(AuthError, match="not recognised"):
        service.login("service", "wrong-password-1")


# ---------------------------------------------------------------- password rule (issue 14)
SEQUENTIAL = "a password may not be a run or a repeat of characters"
COMMON = "a password may not be a common password"


@pytest.mark.parametrize(
    ("weak", "rule"),
    [
        ("aaaaaaaaaa", SEQUENTIAL),
        ("1234567890", SEQUENTIAL),
        ("abcdefghij", SEQUENTIAL),
        ("qwertyuiop", SEQUENTIAL),
        ("1qaz2wsx3edc", SEQUENTIAL),
        ("password12", COMMON),
        ("P@ssw0rd2024", COMMON),
        ("tulipgardens", "a password needs letters and digits, or must be a passphrase of"),
    ],
)
def test_weak_passwords_are_refused_with_the_rule_they_break(weak, rule):
    with pytest.raises(PasswordRejected, match=f"^{rule}"):
        check_policy(SecurityPolicy(), "ada", weak, [])


def test_letters_and_digits_or_a_passphrase_of_four_words_pass(service):
    for good in ("tulip-garden-7", "correct horse battery staple", "Correct-Horse-Battery-Staple"):
        check_policy(SecurityPolicy(), "ada", good, [])
    with pytest.raises(PasswordRejected, match="passphrase of at least 4 words"):
        check_policy(SecurityPolicy(), "ada", "correct horse battery", [])
    admin = service.login("root", ADMIN_PW)
    with pytest.raises(PasswordRejected, match=COMMON):
        service.add_user(admin, "ada", "Ada", Role.OPERATOR, "password12", "new starter")
    service.add_user(admin, "ada", "Ada", Role.OPERATOR, "correct horse battery staple", "new")
    assert service.login("ada", "correct horse battery staple").must_change_password


def test_the_site_rule_can_drop_letters_and_digits_but_never_common_or_sequential():
    lenient = SecurityPolicy(password_rule=RULE_NOT_COMMON)
    check_policy(lenient, "ada", "tulipgardens", [])  # letters only: fine under this rule
    with pytest.raises(PasswordRejected, match=COMMON):
        check_policy(lenient, "ada", "password12", [])
    with pytest.raises(PasswordRejected, match=SEQUENTIAL):
        check_policy(lenient, "ada", "aaaaaaaaaa", [])


# ---------------------------------------------------------------- sessions end (issue 14)
DISABLED = "your account was disabled by an administrator: sign in again is not possible"


def session_entries(users):
    conn = connect(users.db_path, readonly=True)
    rows = conn.execute(
        "SELECT user_id, object_id, new_value FROM audit WHERE action = 'session.ended'"
    ).fetchall()
    conn.close()
    return rows


def test_disabling_a_user_ends_an_open_session_at_once_and_it_is_audited(service):
    operator = login(service, Role.OPERATOR)
    service.require(operator, Permission.RUN_OPERATE, "run", "1")
    service.disable(service.login("root", ADMIN_PW), "operator", "left the company")
    with pytest.raises(SessionEnded, match=f"^{DISABLED}$"):
        service.require(operator, Permission.RUN_OPERATE, "run", "1")
    with pytest.raises(SessionEnded, match=DISABLED):  # still ended, audited once
        service.require(operator, Permission.RUN_OPERATE, "run", "1")
    with pytest.raises(SessionEnded, match=DISABLED):  # no signature either
        service.reauthenticate(operator, PW[Role.OPERATOR] + "x")
    assert session_entries(service) == [(str(operator.user_id), "operator", "account disabled")]


def change_role_outside_celldeck(db_path, username, role):
    """What an insider with the file does (triggers that guard accounts dropped first)."""
    conn = connect(db_path)
    triggers = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'users'"
    ).fetchall()
    for (name,) in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE users SET role = ? WHERE username = ?", (role, username))
    conn.commit()
    conn.close()


def test_a_changed_role_or_a_locked_account_ends_the_session_too(service):
    supervisor = login(service, Role.SUPERVISOR)
    change_role_outside_celldeck(service.db_path, "supervisor", "operator")
    with pytest.raises(SessionEnded, match="role was changed from supervisor to operator"):
        service.require(supervisor, Permission.RUN_OPERATE, "run", "1")
    service_session = login(service, Role.SERVICE)
    for _ in range(service.policy.max_failed_logins):  # someone guesses at another desk
        with pytest.raises(AuthError):
            service.login("service", "not-the-password-1")
    signatures = SignatureService(service, service.db_path)
    with pytest.raises(SessionEnded, match="your account was locked"):
        signatures.sign(
            service_session, PW[Role.SERVICE] + "x", Meaning.PERFORMED, "t", "1", "x", "service"
        )
    notes = [note for _, _, note in session_entries(service)]
    assert notes == ["role changed: supervisor -> operator", "account locked"]


def test_require_with_the_account_check_stays_under_two_milliseconds(service):
    operator = login(service, Role.OPERATOR)
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        service.require(operator, Permission.RUN_OPERATE, "run", "1")
    per_call = (time.perf_counter() - started) / rounds
    assert per_call < 0.002, f"require takes {per_call * 1000:.2f} ms"


# ---------------------------------------------------------------- users init (issue 14)
def test_init_counts_only_administrators_who_are_people(tmp_path):
    path = open_database(tmp_path)
    writer = StoreWriter(path, "WS-T").start()
    try:
        users = UserService(writer, path)
        users.automation_session("automation", "Automation (headless runner)")
        users.automation_session("automation-verifier", "Automation verifier (headless runner)")
        assert users.has_users() and not users.has_administrator()
        users.create_first_administrator("root", "Grace Admin", ADMIN_PW)
        assert users.login("root", ADMIN_PW).role is Role.ADMINISTRATOR
        with pytest.raises(PermissionDenied, match="an administrator already exists"):
            users.create_first_administrator("root2", "Other", "another-pass-1")
        users.disable(users.login("root", ADMIN_PW), "automation", "retired")  # not counted
        with pytest.raises(PermissionDenied, match="an administrator already exists"):
            users.create_first_administrator("root2", "Other", "another-pass-1")
    finally:
        writer.close()
