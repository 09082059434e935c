"""The whole operator journey, driven by taps only, against the simulated instrument
over a real pty: sign in on the on-screen keyboard, start the Demo recipe, answer its
prompts (an out-of-range count refused first), acknowledge an alarm, hold and restart,
sign off, finish. Also: a role without the permission neither sees nor reaches Service,
and every button and input on the operator screens is at least 60 x 60 px."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton, QWidget

from app.console import Console, ConsoleOptions
from app.records import DEMO_PASSWORD
from app.store.checks import verify_database
from app.ui import theme

SPEED = 60.0
# The temperature reading stuck at 39 °C raises CHAMBER_OVERTEMP (high priority) a
# process minute into the run: the alarm the operator acknowledges.
FAULTS = ("stuck-temp=39",)


def visible(parent: QWidget, name: str) -> list[QPushButton]:
    return [
        b for b in parent.findChildren(QPushButton) if b.accessibleName() == name and b.isVisible()
    ]


def button(parent: QWidget, name: str) -> QPushButton:
    found = visible(parent, name)
    assert found, f"no visible button {name!r} in {type(parent).__name__}"
    return found[0]


def tap(qtbot, widget: QPushButton) -> None:
    assert widget.isEnabled(), widget.accessibleName()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def type_on(qtbot, keyboard: QWidget, text: str) -> None:
    for ch in text:
        if ch.isupper():  # one-shot shift, as a person would
            tap(qtbot, button(keyboard, "Shift"))
        tap(qtbot, button(keyboard, ch))


@pytest.fixture
def shell(qtbot, tmp_path):
    theme.apply(QApplication.instance())
    from app.gui import build_shell

    options = ConsoleOptions(data_dir=str(tmp_path), demo=True, sim_speed=SPEED, sim_faults=FAULTS)
    console = Console(options)
    window = build_shell(console, console.create_controller())
    qtbot.addWidget(window)
    console.start()
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    yield window, console
    window.close()
    console.stop()


def sign_in(qtbot, window, username: str) -> None:
    login = window.login
    qtbot.waitUntil(lambda: bool(visible(login, f"user {username}")), timeout=10000)
    tap(qtbot, button(login, f"user {username}"))
    type_on(qtbot, login.keyboard, DEMO_PASSWORD)
    tap(qtbot, button(login, "sign in"))
    qtbot.waitUntil(lambda: window.session is not None, timeout=10000)


def dialog_of(qtbot, page):
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=5000)
    return page.dialog


def enter_text(qtbot, page, text: str) -> None:
    dialog = dialog_of(qtbot, page)
    type_on(qtbot, dialog.keyboard, text)
    tap(qtbot, button(dialog, "OK"))
    qtbot.waitUntil(lambda: page.dialog is not dialog, timeout=5000)


def pick_reason(qtbot, page) -> None:
    dialog = dialog_of(qtbot, page)
    tap(qtbot, dialog.group.buttons()[0])
    tap(qtbot, button(dialog, "OK"))
    qtbot.waitUntil(lambda: page.dialog is not dialog, timeout=5000)


def test_operator_runs_the_demo_recipe_by_touch_alone(qtbot, shell):
    window, console = shell
    sign_in(qtbot, window, "operator")
    assert not window.nav_buttons["service"].isVisible()  # operator: no Service
    window.show_page("service")
    assert window.stack.currentWidget() is not window.service_page

    start = window.run_page.start_panel
    qtbot.waitUntil(lambda: bool(visible(start, "recipe Demo")), timeout=10000)
    tap(qtbot, button(start, "recipe Demo"))
    tap(qtbot, button(start, "batch id"))
    enter_text(qtbot, start, "B-UI-7")
    tap(qtbot, button(start, "batch id again"))
    enter_text(qtbot, start, "B-UI-7")
    qtbot.waitUntil(lambda: start.start_button.isEnabled(), timeout=10000)
    tap(qtbot, start.start_button)

    screen = window.run_page.screen
    qtbot.waitUntil(lambda: window.run_page.stack.currentWidget() is screen, timeout=10000)
    acknowledged = held = refused = False
    while True:
        qtbot.waitUntil(
            lambda held=held: (
                screen.prompt.isVisible()
                or screen.alarm.button.isVisible()
                or screen.status.state == "Complete"
                or (not held and screen.status.step >= 5 and screen.hold_button.isVisible())
            ),
            timeout=60000,
        )
        status = screen.status
        if status.state == "Complete":
            break
        if screen.alarm.button.isVisible():  # acknowledge what the banner shows
            tag = screen.alarm.tag
            tap(qtbot, screen.alarm.button)
            qtbot.waitUntil(lambda: not screen.alarm.button.isVisible(), timeout=10000)
            acknowledged = acknowledged or tag == "CHAMBER_OVERTEMP"
        elif not held and status.step >= 5 and screen.hold_button.isVisible():
            tap(qtbot, screen.hold_button)
            pick_reason(qtbot, screen)
            qtbot.waitUntil(lambda: screen.status.state == "Held", timeout=10000)
            assert screen.held.isVisible() and "operator" in screen.status.held_by
            tap(qtbot, screen.restart_button)
            pick_reason(qtbot, screen)
            qtbot.waitUntil(lambda: screen.status.state == "Running", timeout=10000)
            held = True
        elif screen.prompt.isVisible():
            prompt = status.prompt
            tap(qtbot, button(screen.prompt, "answer prompt"))
            dialog = dialog_of(qtbot, screen)
            if prompt.response == "confirm":
                tap(qtbot, dialog.confirm_button)
            elif prompt.response == "data":
                keypad = dialog.keypad
                type_on(qtbot, keypad, "500")
                tap(qtbot, button(keypad, "OK"))
                assert dialog.isVisible() and "outside" in keypad.error()  # refused
                refused = True
                tap(qtbot, button(keypad, "Clear"))
                type_on(qtbot, keypad, "1.5")
                tap(qtbot, button(keypad, "OK"))
            else:  # the signing dialog: what is signed, user name (first), password
                assert dialog.values["signer"].text() == "Demo Operator"
                assert dialog.values["record"].text().startswith("batch B-UI-7, step ")
                if dialog.username_edit.isVisible():
                    type_on(qtbot, dialog.keyboard, "operator")
                    tap(qtbot, button(dialog.keyboard, "Enter"))  # on to the password
                type_on(qtbot, dialog.keyboard, DEMO_PASSWORD)
                tap(qtbot, button(dialog, "Sign"))
            step = status.step
            qtbot.waitUntil(
                lambda s=step: screen.status.step != s or screen.status.state == "Complete",
                timeout=20000,
            )
    assert acknowledged and held and refused
    assert button(screen, "start another run").isVisible()
    assert 44.0 <= screen.status.values["w_product"] <= 46.0  # the 45 mL harvest
    check, _ = verify_database(console.records.path)
    assert check.ok, check.message


def test_every_operator_control_is_at_least_60_px(qtbot, shell):
    window, _ = shell
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800, hint  # fits a 1280x800 panel
    sign_in(qtbot, window, "operator")
    start = window.run_page.start_panel
    qtbot.waitUntil(lambda: bool(visible(start, "recipe Demo")), timeout=10000)
    tap(qtbot, button(start, "recipe Demo"))
    screen = window.run_page.screen
    for key, nav in window.nav_buttons.items():
        if nav.isVisible():
            size = nav.sizeHint().expandedTo(nav.minimumSize())
            assert size.width() >= 60 and size.height() >= 60, f"nav {key}: {size}"
    for page in (window.login, window.lock, start, screen, window.alarms_page):
        page.show()
        for control in page.findChildren(QPushButton) + page.findChildren(QLineEdit):
            if control.isVisibleTo(page):
                size = control.sizeHint().expandedTo(control.minimumSize())
                assert size.width() >= 60 and size.height() >= 60, (
                    f"{type(page).__name__}: {control.accessibleName() or control.text()!r} "
                    f"is {size.width()}x{size.height()}"
                )
