"""The administrators' screen, driven offscreen against real records: add a user,
unlock, reset a password, disable; change settings (numbers and the serial port);
refusals shown as sentences; touch-sized buttons."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.records import DEMO_PASSWORD
from app.store.security import Role
from app.store.settings import SettingsService
from app.store.users import AuthError
from app.ui import admin_settings, theme
from app.ui.admin_page import AdminPage, TileChoiceDialog

TEMP = "temporary-pass-1"


class Env:
    """The demo records, signed in as the administrator (fixtures: tests/ui/conftest.py)."""

    def __init__(self, records, background, audit_rows, wait_idle) -> None:
        self.records = records
        self.users = records.users
        self.settings = SettingsService(records.writer, records.path)
        self.background = background
        self.audit = audit_rows
        self.idle = wait_idle
        self.session = self.users.login("admin", DEMO_PASSWORD)


@pytest.fixture
def env(demo_records, ui_background, audit_rows, wait_idle):
    return Env(demo_records, ui_background, audit_rows, wait_idle)


@pytest.fixture
def page(env, show_page):
    return show_page(AdminPage(env.users, env.settings, lambda: env.session, env.background))


def tap(qtbot, button: QPushButton) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


class Answers:
    """Scripted answers for one of the page's dialog methods; keeps what was asked."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.asked: list[tuple] = []

    def __call__(self, *args, **kwargs):
        self.asked.append(args)
        return self.answers.pop(0)


def script(monkeypatch, page, **methods) -> dict[str, Answers]:
    scripted = {}
    for name, answers in methods.items():
        scripted[name] = Answers(*answers)
        monkeypatch.setattr(page, f"_{name}", scripted[name])
    return scripted


def row_of(page, username: str) -> list[str]:
    for row in range(page.table.rowCount()):
        if page.table.item(row, 0).text() == username:
            return [page.table.item(row, c).text() for c in range(page.table.columnCount())]
    raise AssertionError(f"{username} not listed")


def test_the_accounts_and_settings_are_listed(env, page):
    assert [u.username for u in page.accounts] == [
        "admin",
        "operator",
        "service",
        "supervisor",
    ]
    admin = row_of(page, "admin")
    assert admin[:4] == ["admin", "Demo Administrator", "administrator", "active"]
    assert admin[4][:2] == "20"  # the date the password expires
    assert page.value_labels["inactivity_lock_minutes"].text() == "5 minutes"
    assert page.value_labels["serial_port"].text() == "simulator (demo)"
    assert "default" in page.changed_labels["max_failed_logins"].text()


def test_adding_a_user(env, page, qtbot, monkeypatch):
    asked = script(
        monkeypatch,
        page,
        ask_text=["jsmith", "Jane Smith", "short", TEMP, TEMP],
        choose=["operator"],
        ask_reason=["New employee"],
    )
    tap(qtbot, page.add_button)
    env.idle(page)
    assert page.message.objectName() == "Hint", page.message.text()
    assert "Added jsmith (Jane Smith, operator)" in page.message.text()
    assert row_of(page, "jsmith") == [
        "jsmith",
        "Jane Smith",
        "operator",
        "active",
        "at next sign-in",
    ]
    assert page.selected_user().username == "jsmith"
    prompts = [args[1] for args in asked["ask_text"].asked]
    assert "at least 10 characters" in prompts[2]
    assert prompts[3].startswith("A password needs at least 10 characters.")  # re-asked
    assert "again" in prompts[4]
    options = asked["choose"].asked[0][2]
    assert [value for value, _ in options] == [role.value for role in Role]
    assert env.audit("user.add")[-1] == (
        "Demo Administrator",
        "jsmith",
        None,
        "Jane Smith; operator",
        "New employee",
    )
    session = env.users.login("jsmith", TEMP)
    assert session.must_change_password


def test_a_taken_user_name_is_refused_before_anything_else_is_asked(env, page, qtbot, monkeypatch):
    asked = script(monkeypatch, page, ask_text=["Operator"])
    tap(qtbot, page.add_button)
    assert page.message.objectName() == "Error"
    assert "The user name Operator is taken" in page.message.text()
    assert len(asked["ask_text"].asked) == 1


def test_temporary_passwords_that_differ_are_asked_again(env, page, qtbot, monkeypatch):
    page.select_user("operator")
    script(
        monkeypatch,
        page,
        ask_text=[TEMP, TEMP + "x", TEMP, TEMP],
        ask_reason=["Forgotten password"],
    )
    tap(qtbot, page.reset_button)
    env.idle(page)
    assert "The password of operator is reset" in page.message.text()
    assert env.audit("user.password")[-1][1:] == (
        "operator",
        None,
        "temporary",
        "Forgotten password",
    )
    assert env.users.login("operator", TEMP).must_change_password


def test_unlocking_a_locked_account(env, page, qtbot, monkeypatch):
    for _ in range(env.users.policy.max_failed_logins):
        with pytest.raises(AuthError):
            env.users.login("operator", "wrong-password")
    page.reload()
    env.idle(page)
    assert row_of(page, "operator")[3] == "LOCKED"
    page.select_user("supervisor")
    assert not page.unlock_button.isEnabled()  # not locked: nothing to unlock
    page.select_user("operator")
    script(monkeypatch, page, ask_reason=["Identity confirmed in person"])
    tap(qtbot, page.unlock_button)
    env.idle(page)
    assert "operator is unlocked" in page.message.text()
    assert row_of(page, "operator")[3] == "active"
    assert env.audit("user.unlock")[-1][2:] == (
        "locked=1",
        "locked=0",
        "Identity confirmed in person",
    )
    env.users.login("operator", DEMO_PASSWORD)


def test_disabling_needs_confirmation_and_a_reason(env, page, qtbot, monkeypatch):
    page.select_user("service")
    script(monkeypatch, page, confirm=[False])
    tap(qtbot, page.disable_button)
    assert page.message.text() == "service not disabled: cancelled."
    script(monkeypatch, page, confirm=[True], ask_reason=["Left the company"])
    tap(qtbot, page.disable_button)
    env.idle(page)
    assert "service is disabled" in page.message.text()
    assert row_of(page, "service")[3] == "DISABLED"
    page.select_user("service")
    assert not page.disable_button.isEnabled() and not page.reset_button.isEnabled()
    with pytest.raises(AuthError, match="disabled"):
        env.users.login("service", DEMO_PASSWORD)


def test_an_administrator_cannot_disable_themselves(env, page, qtbot, monkeypatch):
    page.select_user("admin")
    script(monkeypatch, page, confirm=[True], ask_reason=["Other: testing"])
    tap(qtbot, page.disable_button)
    env.idle(page)
    assert page.message.objectName() == "Error"
    assert page.message.text() == (
        "Not disabled. An administrator may not disable their own account."
    )


def test_changing_a_number_setting(env, page, qtbot, monkeypatch):
    asked = script(monkeypatch, page, ask_number=[15.0], ask_reason=["Site SOP / change control"])
    tap(qtbot, page.change_buttons["inactivity_lock_minutes"])
    env.idle(page)
    assert page.message.text() == "Inactivity lock is now 15 minutes (was 5 minutes)."
    assert page.value_labels["inactivity_lock_minutes"].text() == "15 minutes"
    assert "by Demo Administrator" in page.changed_labels["inactivity_lock_minutes"].text()
    setting, initial = asked["ask_number"].asked[0]
    assert (setting.low, setting.high, initial) == (1, 60, 5)
    assert "from 5 minutes to 15 minutes" in asked["ask_reason"].asked[0][0]
    assert env.audit("setting.change") == [
        (
            "Demo Administrator",
            "inactivity_lock_minutes",
            "5",
            "15",
            "Site SOP / change control",
        )
    ]
    assert env.users.policy.inactivity_lock_minutes == 15.0  # applies from now on


def test_a_refused_setting_is_shown_as_a_sentence(env, page, qtbot, monkeypatch):
    script(monkeypatch, page, ask_number=[99.0], ask_reason=["QA instruction"])
    tap(qtbot, page.change_buttons["inactivity_lock_minutes"])
    env.idle(page)
    assert page.message.objectName() == "Error"
    assert page.message.text() == (
        "Inactivity lock not changed. Inactivity lock must be 1 to 60 minutes:"
        " 99 is outside that range."
    )
    assert env.audit("setting.change") == []
    script(monkeypatch, page, ask_number=[5.0])
    tap(qtbot, page.change_buttons["inactivity_lock_minutes"])
    assert page.message.text() == "Inactivity lock stays 5 minutes: nothing changed."


def test_choosing_the_serial_port_from_tiles(env, page, qtbot, monkeypatch):
    monkeypatch.setattr(
        admin_settings, "list_serial_ports", lambda: [("/dev/ttyUSB0", "FT232R USB UART")]
    )
    asked = script(monkeypatch, page, choose=["/dev/ttyUSB0"], ask_reason=["Instrument installed"])
    tap(qtbot, page.change_buttons["serial_port"])
    env.idle(page)
    options = [value for value, _ in asked["choose"].asked[0][2]]
    assert options == [admin_settings.SIMULATOR, "/dev/ttyUSB0", admin_settings.TYPE_PORT]
    assert page.value_labels["serial_port"].text() == "/dev/ttyUSB0"
    assert env.settings.get("serial_port") == "/dev/ttyUSB0"

    script(
        monkeypatch,
        page,
        choose=[admin_settings.TYPE_PORT],
        ask_text=["socket://localhost:7000"],
        ask_reason=["Other: bench test"],
    )
    tap(qtbot, page.change_buttons["serial_port"])
    env.idle(page)
    assert env.settings.get("serial_port") == "socket://localhost:7000"

    script(monkeypatch, page, choose=[admin_settings.SIMULATOR], ask_reason=["Other: demo"])
    tap(qtbot, page.change_buttons["serial_port"])
    env.idle(page)
    assert page.value_labels["serial_port"].text() == "simulator (demo)"
    assert [row[2:4] for row in env.audit("setting.change")] == [
        ("", "/dev/ttyUSB0"),
        ("/dev/ttyUSB0", "socket://localhost:7000"),
        ("socket://localhost:7000", ""),
    ]


def test_a_non_administrator_is_refused_by_the_service(env, qtbot):
    env.session = env.users.login("supervisor", DEMO_PASSWORD)
    page = AdminPage(env.users, env.settings, lambda: env.session, env.background)
    qtbot.addWidget(page)
    page.reload()
    env.idle(page)
    assert page.message.objectName() == "Error"
    assert page.message.text() == (
        "The accounts cannot be read. Not allowed: Demo Supervisor (supervisor) may not "
        "administer accounts."
    )


def test_without_a_session_the_page_asks_to_sign_in(env, qtbot):
    page = AdminPage(env.users, env.settings, lambda: None, env.background)
    qtbot.addWidget(page)
    page.reload()
    assert "Sign in as an administrator" in page.message.text()
    page.add_user()
    assert page.message.objectName() == "Error"


def test_the_tile_choice_dialog(qtbot):
    dialog = TileChoiceDialog("Role", "Pick one", [("a", "Alpha"), ("b", "Beta")])
    qtbot.addWidget(dialog)
    dialog.setStyleSheet(theme.stylesheet())
    dialog.show()
    qtbot.waitExposed(dialog)
    for button in dialog.findChildren(QPushButton):
        assert button.width() >= theme.MIN_TOUCH_PX and button.height() >= theme.MIN_TOUCH_PX
    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(dialog.tiles["b"], Qt.MouseButton.LeftButton)
    assert dialog.value() == "b"


def test_every_button_is_a_touch_target(env, page, qtbot):
    page.select_user("operator")
    qtbot.wait(1)
    buttons = [b for b in page.findChildren(QPushButton) if b.isVisible()]
    assert len(buttons) >= 4 + len(page.change_buttons)
    for button in buttons:
        size = button.size()
        assert size.width() >= theme.MIN_TOUCH_PX, (button.text(), size)
        assert size.height() >= theme.MIN_TOUCH_PX, (button.text(), size)
    assert page.table.verticalHeader().defaultSectionSize() >= theme.MIN_TOUCH_PX


def test_choosing_the_password_rule(env, page, qtbot, monkeypatch):
    from app.store.security import RULE_LETTERS_DIGITS, RULE_NOT_COMMON

    asked = script(monkeypatch, page, choose=[RULE_NOT_COMMON], ask_reason=["Site SOP"])
    tap(qtbot, page.change_buttons["password_rule"])
    env.idle(page)
    title, prompt, options = asked["choose"].asked[0]
    assert title == "Password rule" and prompt == f"Now: {RULE_LETTERS_DIGITS}."
    assert [value for value, _ in options] == [RULE_LETTERS_DIGITS, RULE_NOT_COMMON]
    assert page.message.text() == (
        f"Password rule is now {RULE_NOT_COMMON} (was {RULE_LETTERS_DIGITS})."
    )
    assert env.users.policy.password_rule == RULE_NOT_COMMON  # applies from now on
