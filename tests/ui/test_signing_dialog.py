"""The one signing dialog, on the run screen: the performer sees the step in words and
what the signature causes before any password; the second person's dialog refuses the
performer's own user name in words, before a password, and shows who the typed user
name is; what is then sent to the run host is the two people's answers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QApplication

from app.batch.executors import Prompt
from app.batch.status import RunStatus
from app.records import DEMO_PASSWORD
from app.store.settings import SettingsService
from app.ui import theme
from app.ui.run_screen import RunScreen
from app.ui.signing_dialog import SigningDialog

WAIT_MS = 5000


@pytest.fixture
def screen(qtbot, demo_records):
    theme.apply(QApplication.instance())
    operator = demo_records.users.login("operator", DEMO_PASSWORD)
    calls: list[tuple] = []
    runs = SimpleNamespace(
        host=SimpleNamespace(records=demo_records),
        answer=lambda *args, done=None: calls.append(("answer", *args)),
    )
    screen = RunScreen(runs, lambda: operator)
    qtbot.addWidget(screen)
    prompt = Prompt("Check the kit against the batch record", "signature", second_person=True)
    screen.status = RunStatus(
        run_id=4, batch="B-4", state="Running", step=1, steps=8, step_name="Confirm kit",
        prompt=prompt,
    )  # fmt: skip
    return screen, operator, calls


def dialog_of(qtbot, screen, previous=None) -> SigningDialog:
    qtbot.waitUntil(
        lambda: isinstance(screen.dialog, SigningDialog) and screen.dialog is not previous,
        timeout=WAIT_MS,
    )
    return screen.dialog


def test_a_second_person_step_is_signed_by_two_people(qtbot, screen):
    screen, operator, calls = screen
    screen._answer()
    first = dialog_of(qtbot, screen)
    assert first.windowTitle() == "Electronic signature: performed"
    shown = {key: label.text() for key, label in first.values.items()}
    assert shown == {
        "signer": "Demo Operator",
        "meaning": "Performed – I did this myself, as written",
        "record": 'batch B-4, step 1 "Confirm kit"',
        "effect": "A second person verifies it, then the run goes on to step 2",
    }
    assert not first.password_edit.text() and first.username_edit.isVisibleTo(first)
    first.username_edit.setText("operator")
    first.password_edit.setText(DEMO_PASSWORD)
    first.sign_button.click()

    second = dialog_of(qtbot, screen, first)
    assert second.windowTitle() == "Second person's signature: verified"
    assert second.values["effect"].text() == "The run goes on to step 2"
    second.username_edit.setText("Operator")  # the performer again: refused in words
    assert second.refused.text() == (
        "You performed step 1 of this batch: a second person must verify it."
    )
    assert not second.password_edit.isEnabled() and not second.sign_button.isEnabled()
    second.username_edit.setText("supervisor")
    assert second.values["signer"].text() == "Demo Supervisor" and second.refused.isHidden()
    second.password_edit.setText(DEMO_PASSWORD)
    assert second.sign_button.isEnabled()
    second.sign_button.click()
    assert calls == [
        ("answer", operator, "signed", DEMO_PASSWORD, ("supervisor", DEMO_PASSWORD), "operator")
    ]


def test_with_the_rule_switched_off_the_dialog_lets_the_performer_verify(qtbot, screen):
    screen, _, _ = screen
    records = screen.runs.host.records
    admin = records.users.login("admin", DEMO_PASSWORD)
    SettingsService(records.writer, records.path, records.users).set(
        admin, "duty_step_verifier", False, "one operator on the night shift"
    )
    screen._ask_second(screen.session(), DEMO_PASSWORD, None)
    second = dialog_of(qtbot, screen)
    second.username_edit.setText("operator")
    second.password_edit.setText(DEMO_PASSWORD)
    assert second.refused.isHidden() and second.sign_button.isEnabled()
