"""Site settings: typed and range-checked, changed only by an administrator with a
reason, audited with old and new value; the account rules come from them."""

import sqlite3

import pytest

from app.records import DEMO_PASSWORD, Records
from app.store.security import RULE_LETTERS_DIGITS, RULE_NOT_COMMON, SecurityPolicy
from app.store.settings import SETTINGS, SettingsService, validate
from app.store.users import AuthError, PermissionDenied


@pytest.fixture
def records(tmp_path):
    records = Records.open(tmp_path, demo=True)
    yield records
    records.close()


@pytest.fixture
def settings(records):
    return SettingsService(records.writer, records.path)


SITE_RULES = {  # account rules a site might set, each away from its default
    "inactivity_lock_minutes": 2,
    "min_password_length": 12,
    "password_max_age_days": 180,
    "max_failed_logins": 3,
}


def set_site_rules(settings, admin):
    for key, value in SITE_RULES.items():
        settings.set(admin, key, value, "site policy")


def changes(records):
    conn = sqlite3.connect(records.path)
    try:
        return conn.execute(
            "SELECT user_name, object_id, old_value, new_value, reason FROM audit"
            " WHERE action = 'setting.change' ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def test_defaults_come_from_the_security_policy(settings):
    assert settings.get_all() == {
        "inactivity_lock_minutes": 5,
        "min_password_length": 10,
        "password_max_age_days": 90,
        "max_failed_logins": 5,
        "serial_port": "",
        "password_rule": RULE_LETTERS_DIGITS,
        "duty_step_verifier": True,  # duties kept apart: on unless a site decides otherwise
        "duty_batch_review": True,
        "duty_recipe_approval": True,
    }
    assert settings.policy() == SecurityPolicy()
    assert all(item.changed_by is None for item in settings.current())


def test_an_administrator_changes_a_setting_with_a_reason_and_it_is_audited(records, settings):
    admin = records.users.login("admin", DEMO_PASSWORD)
    assert settings.set(admin, "inactivity_lock_minutes", "15", "Site SOP 12 rev 3") == 15
    assert settings.set(admin, "inactivity_lock_minutes", 10, "Back to 10 per QA") == 10
    assert settings.set(admin, "serial_port", " /dev/ttyUSB0 ", "Instrument installed") == (
        "/dev/ttyUSB0"
    )
    assert changes(records) == [
        ("Demo Administrator", "inactivity_lock_minutes", "5", "15", "Site SOP 12 rev 3"),
        ("Demo Administrator", "inactivity_lock_minutes", "15", "10", "Back to 10 per QA"),
        ("Demo Administrator", "serial_port", "", "/dev/ttyUSB0", "Instrument installed"),
    ]
    assert settings.get("inactivity_lock_minutes") == 10
    item = next(i for i in settings.current() if i.setting.key == "serial_port")
    assert item.value == "/dev/ttyUSB0" and item.changed_by == "Demo Administrator"
    assert item.changed_utc


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("inactivity_lock_minutes", 0, r"Inactivity lock must be 1 to 60 minutes: 0 is outside"),
        ("inactivity_lock_minutes", 61, r"must be 1 to 60 minutes: 61 is outside"),
        ("min_password_length", 7, r"Shortest password must be 8 to 64 characters: 7"),
        ("min_password_length", 65, r"8 to 64 characters: 65"),
        ("password_max_age_days", 29, r"30 to 365 days: 29"),
        ("password_max_age_days", 366, r"30 to 365 days: 366"),
        ("max_failed_logins", 2, r"3 to 10 attempts: 2"),
        ("max_failed_logins", 11, r"3 to 10 attempts: 11"),
        ("max_failed_logins", "five", r"must be a whole number of attempts, not 'five'"),
        ("max_failed_logins", 4.5, r"whole number"),
        ("max_failed_logins", True, r"whole number"),
        ("serial_port", 3, r"must be text"),
        ("serial_port", "/dev/tty\nUSB0", r"control characters"),
        ("serial_port", "x" * 201, r"at most 200 characters"),
        ("colour", "blue", r"there is no setting 'colour'"),
    ],
)
def test_values_out_of_range_or_of_the_wrong_type_are_refused(
    records, settings, key, value, message
):
    admin = records.users.login("admin", DEMO_PASSWORD)
    with pytest.raises(ValueError, match=message):
        settings.set(admin, key, value, "testing")
    assert changes(records) == []


def test_the_limits_themselves_are_accepted():
    for setting in SETTINGS.values():
        if setting.kind is int:
            assert validate(setting.key, setting.low) == setting.low
            assert validate(setting.key, str(setting.high)) == setting.high
    assert validate("serial_port", "") == ""


def test_a_reason_is_required_and_an_unchanged_value_is_refused(records, settings):
    admin = records.users.login("admin", DEMO_PASSWORD)
    with pytest.raises(ValueError, match="needs a reason"):
        settings.set(admin, "max_failed_logins", 4, "  ")
    with pytest.raises(ValueError, match="already 5 attempts: nothing changed"):
        settings.set(admin, "max_failed_logins", 5, "no-op")
    assert changes(records) == []


def test_only_an_administrator_may_change_settings(records, settings):
    for username in ("supervisor", "operator", "service"):
        session = records.users.login(username, DEMO_PASSWORD)
        with pytest.raises(PermissionDenied, match="may not change site settings"):
            settings.set(session, "max_failed_logins", 4, "trying")
    conn = sqlite3.connect(records.path)
    denied = conn.execute(
        "SELECT COUNT(*) FROM audit WHERE action = 'permission.denied' AND object_type = 'setting'"
    ).fetchone()[0]
    conn.close()
    assert denied == 3
    assert settings.get("max_failed_logins") == 5
    admin = records.users.login("admin", DEMO_PASSWORD)
    admin.locked = True
    with pytest.raises(AuthError, match="locked"):
        settings.set(admin, "max_failed_logins", 4, "trying")


def test_policy_is_built_from_the_stored_values(records, settings):
    set_site_rules(settings, records.users.login("admin", DEMO_PASSWORD))
    assert settings.policy() == SecurityPolicy(
        min_password_length=12,
        password_history=SecurityPolicy().password_history,
        password_max_age_days=180,
        max_failed_logins=3,
        inactivity_lock_minutes=2.0,
    )


def test_a_stored_value_tampered_outside_celldeck_falls_back_to_the_default(records, settings):
    admin = records.users.login("admin", DEMO_PASSWORD)
    settings.set(admin, "max_failed_logins", 4, "site policy")
    conn = sqlite3.connect(records.path)
    conn.execute("UPDATE settings SET value = '999' WHERE key = 'max_failed_logins'")
    conn.commit()
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        conn.execute("DELETE FROM settings")
    conn.close()
    assert settings.policy().max_failed_logins == 5


def test_stored_account_rules_apply_from_start_up(tmp_path):
    """Settings saved in one session are the rules the next console start runs by."""
    records = Records.open(tmp_path, demo=True)
    settings = SettingsService(records.writer, records.path)
    set_site_rules(settings, records.users.login("admin", DEMO_PASSWORD))
    records.close()

    records = Records.open(tmp_path, demo=True)  # the console starts again
    try:
        users = records.users
        assert users.policy == SettingsService(records.writer, records.path).policy()
        assert users.policy.password_max_age_days == 180
        session = users.login("admin", DEMO_PASSWORD)
        assert session.inactivity_s == 2 * 60
        with pytest.raises(ValueError, match="12 characters"):
            users.reset_password(session, "operator", "eleven-char", "Forgotten password")
        for _ in range(3):
            with pytest.raises(AuthError):
                users.login("service", "wrong-password")
        with pytest.raises(AuthError, match="locked"):
            users.login("service", DEMO_PASSWORD)
    finally:
        records.close()


def test_the_console_connects_to_the_serial_port_the_site_set(tmp_path):
    from app.console import Console, ConsoleOptions
    from app.store.settings import stored_serial_port

    assert stored_serial_port(tmp_path) == ""  # no database yet: nothing set
    records = Records.open(tmp_path, demo=True)  # demo accounts, in the real folder here
    admin = records.users.login("admin", DEMO_PASSWORD)
    SettingsService(records.writer, records.path).set(admin, "serial_port", "/dev/ttyUSB7", "new")
    records.close()
    assert stored_serial_port(tmp_path) == "/dev/ttyUSB7"
    console = Console(ConsoleOptions(data_dir=str(tmp_path)))  # no --port, no --demo
    try:
        assert console.port == "/dev/ttyUSB7" and not console.demo
    finally:
        console.stop()
    given = Console(ConsoleOptions(data_dir=str(tmp_path), port="socket://127.0.0.1:9"))
    try:
        assert given.port == "socket://127.0.0.1:9"  # --port wins over the setting
    finally:
        given.stop()


def test_the_password_rule_is_a_site_setting(records, settings):
    users = records.users
    admin = users.login("admin", DEMO_PASSWORD)
    with pytest.raises(ValueError, match="needs letters and digits, or must be a passphrase"):
        users.reset_password(admin, "operator", "tulipgardens", "forgotten")
    with pytest.raises(ValueError, match="Password rule must be one of: "):
        settings.set(admin, "password_rule", "anything goes", "site policy")
    settings.set(admin, "password_rule", RULE_NOT_COMMON, "site policy: long passwords")
    users.policy = settings.policy()  # as the Admin page does after a change
    assert users.policy.password_rule == RULE_NOT_COMMON
    users.reset_password(admin, "operator", "tulipgardens", "forgotten")  # letters only: fine
    with pytest.raises(ValueError, match="may not be a common password"):
        users.reset_password(admin, "operator", "password12", "forgotten")  # never fine
    assert changes(records)[-1][2:] == (
        RULE_LETTERS_DIGITS,
        RULE_NOT_COMMON,
        "site policy: long passwords",
    )
