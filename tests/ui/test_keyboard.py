"""On-screen keyboard, numeric keypad and touch dialogs, driven the way an operator
drives them: by tapping keys found by their label (accessibleName)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme
from app.ui.dialogs import (
    OTHER,
    STANDARD_REASONS,
    ConfirmDialog,
    KeypadDialog,
    ReasonDialog,
    TextEntryDialog,
    ask_number,
    ask_reason,
    ask_text,
    confirm,
)
from app.ui.keyboard import NumericKeypad, OnScreenKeyboard, ShiftState

# -- helpers ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def console_style(qapp):
    """The real stylesheet, so sizes are the ones the operator gets."""
    theme.apply(qapp)
    yield
    qapp.setStyleSheet("")


def key(widget: QWidget, name: str) -> QPushButton:
    """The one visible button labelled ``name`` (its accessibleName)."""
    found = [
        b for b in widget.findChildren(QPushButton) if b.accessibleName() == name and b.isVisible()
    ]
    assert len(found) == 1, f"{len(found)} visible keys named {name!r}"
    return found[0]


def has_key(widget: QWidget, name: str) -> bool:
    return any(
        b.accessibleName() == name and b.isVisible() for b in widget.findChildren(QPushButton)
    )


def tap(qtbot, widget: QWidget, *names: str) -> None:
    for name in names:
        qtbot.mouseClick(key(widget, name), Qt.MouseButton.LeftButton)


def show(qtbot, widget: QWidget) -> QWidget:
    qtbot.addWidget(widget)
    with qtbot.waitExposed(widget):
        widget.show()
    return widget


def assert_touch_sized(widget: QWidget) -> None:
    small = [
        (w.accessibleName() or w.text(), w.width(), w.height())
        for w in widget.findChildren(QPushButton) + widget.findChildren(QLineEdit)
        if w.isVisible() and (w.width() < theme.MIN_TOUCH_PX or w.height() < theme.MIN_TOUCH_PX)
    ]
    assert not small, f"below {theme.MIN_TOUCH_PX} px: {small}"


@pytest.fixture
def typing(qtbot):
    """A line edit with an on-screen keyboard typing into it."""
    host = QWidget()
    layout = QVBoxLayout(host)
    edit = QLineEdit()
    keyboard = OnScreenKeyboard()
    keyboard.set_target(edit)
    layout.addWidget(edit)
    layout.addWidget(keyboard)
    show(qtbot, host)
    yield edit, keyboard  # the fixture holds the host: qtbot only keeps a weak reference


def answer_modal(qtbot, actions: Callable[[QDialog], None]) -> None:
    """Run ``actions`` on the modal dialog a blocking helper is about to exec().

    If the actions fail, the dialog is rejected so exec() returns and the test
    fails on its assertion instead of hanging.
    """

    def run() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:  # exec() has not shown it yet
            QTimer.singleShot(10, run)
            return
        try:
            actions(dialog)
        finally:
            if dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(0, run)


# -- OnScreenKeyboard -------------------------------------------------------------


def test_typing_op_7_by_clicking_keys(qtbot, typing):
    edit, keyboard = typing
    tap(qtbot, keyboard, "Shift", "O", "p", "-", "7")
    assert edit.text() == "Op-7"


def test_shift_is_for_one_letter_and_twice_is_caps_lock(qtbot, typing):
    edit, keyboard = typing
    assert has_key(keyboard, "a") and not has_key(keyboard, "A")
    tap(qtbot, keyboard, "Shift")
    assert keyboard.shift_state() is ShiftState.ONCE
    assert has_key(keyboard, "A") and not has_key(keyboard, "a")
    tap(qtbot, keyboard, "A", "b")
    assert edit.text() == "Ab"
    tap(qtbot, keyboard, "Shift", "Shift")
    assert keyboard.shift_state() is ShiftState.LOCKED
    tap(qtbot, keyboard, "C", "D", "Shift", "e")
    assert edit.text() == "AbCDe"
    assert keyboard.shift_state() is ShiftState.OFF


def test_backspace_space_and_clear(qtbot, typing):
    edit, keyboard = typing
    tap(qtbot, keyboard, "b", "a", "g", "Space", "x", "Backspace")
    assert edit.text() == "bag "
    tap(qtbot, keyboard, "Backspace")
    assert edit.text() == "bag"
    tap(qtbot, keyboard, "Clear")
    assert edit.text() == ""


def test_symbols_layer_and_back(qtbot, typing):
    edit, keyboard = typing
    assert not has_key(keyboard, "@")
    tap(qtbot, keyboard, "Symbols")
    assert keyboard.symbols_shown() and not has_key(keyboard, "q")
    tap(qtbot, keyboard, "@", "/", "#", "+", "(", ")", "&", "_", ".")
    assert key(keyboard, "&").text() == "&&"  # shown as "&", not eaten as a mnemonic
    assert not key(keyboard, "Shift").isEnabled()
    tap(qtbot, keyboard, "Symbols", "q")
    assert edit.text() == "@/#+()&_.q"


def test_keys_type_at_the_cursor_and_keep_the_line_edit_focused(qtbot, typing):
    edit, keyboard = typing
    edit.setText("CAR042")
    edit.setCursorPosition(3)
    tap(qtbot, keyboard, "-")
    assert edit.text() == "CAR-042"
    assert all(
        b.focusPolicy() == Qt.FocusPolicy.NoFocus for b in keyboard.findChildren(QPushButton)
    )


def test_enter_key_emits_enter_pressed(qtbot, typing):
    _, keyboard = typing
    with qtbot.waitSignal(keyboard.enter_pressed, timeout=1000):
        tap(qtbot, keyboard, "Enter")


def test_every_key_is_named_after_what_it_types(qtbot, typing):
    _, keyboard = typing
    names = [b.accessibleName() for b in keyboard.findChildren(QPushButton)]
    assert len(names) == len(set(names)), "two keys share a name"
    for special in ("Shift", "Space", "Backspace", "Clear", "Enter", "Symbols"):
        assert special in names
    assert all(b.objectName() == "Key" for b in keyboard.findChildren(QPushButton))


# -- NumericKeypad ----------------------------------------------------------------


def keypad(qtbot, low=30.0, high=38.0, **kwargs) -> NumericKeypad:
    pad = NumericKeypad("Chamber temperature", "°C", low, high, **kwargs)
    return show(qtbot, pad)


def test_keypad_shows_title_unit_and_range(qtbot):
    pad = keypad(qtbot)
    assert pad.title_label.text() == "Chamber temperature"
    assert pad.range_label.text() == "Allowed 30 – 38 °C"
    tap(qtbot, pad, "3", "6")
    assert pad.display.text() == "36 °C"


def test_keypad_refuses_out_of_range(qtbot):
    pad = keypad(qtbot)
    tap(qtbot, pad, "4", "1")
    with qtbot.assertNotEmitted(pad.accepted):
        tap(qtbot, pad, "OK")
    assert pad.value() == 41.0
    assert pad.error() == "41 is outside 30 – 38 °C"


def test_keypad_refuses_what_is_not_a_number(qtbot):
    pad = keypad(qtbot, low=-5.0, high=5.0)
    with qtbot.assertNotEmitted(pad.accepted):
        tap(qtbot, pad, "OK")
        assert "Enter a value" in pad.error()
        tap(qtbot, pad, "-")
        assert pad.value() is None
        tap(qtbot, pad, "OK")
        assert "not a number" in pad.error()
    tap(qtbot, pad, "2")  # the next key clears the message
    assert pad.error() == ""


def test_keypad_accepts_36_5(qtbot):
    pad = keypad(qtbot)
    tap(qtbot, pad, "3", "6", ".", "5")
    assert pad.value() == 36.5
    with qtbot.waitSignal(pad.accepted, timeout=1000) as signal:
        tap(qtbot, pad, "OK")
    assert signal.args == [36.5]
    assert pad.error() == ""


def test_minus_only_when_the_range_allows_negatives(qtbot):
    pad = keypad(qtbot, low=0.0, high=100.0)
    assert not has_key(pad, "-")
    negative = keypad(qtbot, low=-50.0, high=50.0)
    assert "to" in negative.range_label.text()  # "−50 to 50", never "−50 – 50"
    tap(qtbot, negative, "1", "2", "-")
    assert negative.value() == -12.0
    with qtbot.waitSignal(negative.accepted, timeout=1000) as signal:
        tap(qtbot, negative, "OK")
    assert signal.args == [-12.0]


def test_keypad_backspace_clear_and_decimal_limit(qtbot):
    pad = keypad(qtbot, decimals=1)
    tap(qtbot, pad, ".", "5", "5")  # a second decimal is ignored, not rounded
    assert pad.text() == "0.5"
    tap(qtbot, pad, "Backspace")
    assert pad.text() == "0."
    tap(qtbot, pad, "Clear")
    assert pad.value() is None and pad.display.text() == ""
    whole = keypad(qtbot, low=0, high=500, decimals=0)
    assert not has_key(whole, ".")


def test_initial_value_is_shown_and_replaced_by_the_first_digit(qtbot):
    pad = keypad(qtbot, initial=37.0)
    assert pad.value() == 37.0 and pad.display.text() == "37 °C"
    tap(qtbot, pad, "3", "5")
    assert pad.value() == 35.0
    edited = keypad(qtbot, initial=36.5)
    tap(qtbot, edited, "Backspace", "8")
    assert edited.value() == 36.8


# -- dialogs ----------------------------------------------------------------------


def open_dialog(qtbot, dialog: QDialog) -> QDialog:
    qtbot.addWidget(dialog)
    with qtbot.waitExposed(dialog):
        dialog.open()
    assert dialog.isModal()
    return dialog


def test_text_entry_dialog(qtbot):
    dialog = open_dialog(qtbot, TextEntryDialog("Batch ID", "Enter the batch ID", initial="B"))
    qtbot.waitUntil(lambda: not dialog.line_edit.hasSelectedText(), timeout=1000)
    tap(qtbot, dialog, "-", "4", "2")
    assert dialog.text() == "B-42"
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        tap(qtbot, dialog, "OK")
    assert dialog.result() == QDialog.DialogCode.Accepted.value


def test_text_entry_ok_disabled_while_empty_and_enter_accepts(qtbot):
    dialog = open_dialog(qtbot, TextEntryDialog("Password", "Your password", password=True))
    assert dialog.line_edit.echoMode() == QLineEdit.EchoMode.Password
    assert not key(dialog, "OK").isEnabled()
    tap(qtbot, dialog, "s", "3")
    assert key(dialog, "OK").isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        tap(qtbot, dialog, "Enter")
    assert dialog.text() == "s3"


def test_keypad_dialog_accepts_only_in_range(qtbot):
    dialog = open_dialog(qtbot, KeypadDialog("Set-point", "°C", 30, 38, initial=37.0))
    with qtbot.assertNotEmitted(dialog.accepted):
        tap(qtbot, dialog, "4", "1", "OK")
    assert dialog.isVisible() and dialog.value() is None
    tap(qtbot, dialog, "Clear", "3", "6", ".", "5")
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        tap(qtbot, dialog, "OK")
    assert dialog.value() == 36.5


def test_keypad_dialog_cancel(qtbot):
    dialog = open_dialog(qtbot, KeypadDialog("Set-point", "°C", 30, 38))
    with qtbot.waitSignal(dialog.rejected, timeout=1000):
        tap(qtbot, dialog, "Cancel")
    assert dialog.value() is None


def test_reason_dialog_ok_only_once_a_reason_is_chosen(qtbot):
    dialog = open_dialog(qtbot, ReasonDialog("Hold", STANDARD_REASONS["hold"]))
    assert not key(dialog, "OK").isEnabled()
    tap(qtbot, dialog, "Operator break", "Sample taken")  # one at a time
    assert key(dialog, "Sample taken").isChecked()
    assert not key(dialog, "Operator break").isChecked()
    assert key(dialog, "OK").isEnabled()
    assert dialog.reason() == "Sample taken"
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        tap(qtbot, dialog, "OK")


def test_reason_dialog_with_a_comment(qtbot):
    dialog = open_dialog(qtbot, ReasonDialog("Hold", STANDARD_REASONS["hold"]))
    tap(qtbot, dialog, "Sample taken", "Comment")
    assert dialog.keyboard.isVisible()
    tap(qtbot, dialog, "p", "Shift", "H")
    tap(qtbot, dialog, "Reasons")
    assert not dialog.keyboard.isVisible()
    assert dialog.reason() == "Sample taken: pH"


def test_reason_dialog_requiring_text(qtbot):
    reasons = STANDARD_REASONS["abort"]
    dialog = open_dialog(qtbot, ReasonDialog("Abort", reasons, require_text=True))
    tap(qtbot, dialog, "Equipment failure")
    assert dialog.keyboard.isVisible()  # explaining is the next thing to do
    assert not key(dialog, "OK").isEnabled()
    tap(qtbot, dialog, "p", "u", "m", "p")
    assert key(dialog, "OK").isEnabled()
    assert dialog.reason() == "Equipment failure: pump"
    text_only = open_dialog(qtbot, ReasonDialog("Note", [], require_text=True))
    tap(qtbot, text_only, "o", "k")
    assert text_only.reason() == "ok"


def test_other_reason_asks_for_text(qtbot):
    dialog = open_dialog(qtbot, ReasonDialog("Hold", STANDARD_REASONS["hold"]))
    tap(qtbot, dialog, OTHER)
    assert dialog.keyboard.isVisible() and not key(dialog, "OK").isEnabled()
    tap(qtbot, dialog, "l", "e", "a", "k")
    assert dialog.reason() == "Other: leak"


def test_confirm_dialog_accept_and_reject(qtbot):
    dialog = open_dialog(qtbot, ConfirmDialog("Abort", "Abort the run?", "Abort run", danger=True))
    assert key(dialog, "Abort run").objectName() == "Danger"
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        tap(qtbot, dialog, "Abort run")
    plain = open_dialog(qtbot, ConfirmDialog("Start", "Start the run?"))
    assert key(plain, "Confirm").objectName() == "Primary"
    with qtbot.waitSignal(plain.rejected, timeout=1000):
        tap(qtbot, plain, "Cancel")


def test_standard_reasons_cover_each_action():
    assert set(STANDARD_REASONS) == {"setpoint", "hold", "abort", "restart", "shelve"}
    assert "Sample taken" in STANDARD_REASONS["hold"]
    assert all(reasons and reasons[-1] == OTHER for reasons in STANDARD_REASONS.values())


# -- sizes ------------------------------------------------------------------------


def test_every_button_and_field_is_at_least_touch_size(qtbot, typing):
    _, keyboard = typing
    assert_touch_sized(keyboard.parentWidget())
    tap(qtbot, keyboard, "Symbols")
    assert_touch_sized(keyboard.parentWidget())
    assert_touch_sized(keypad(qtbot, low=-5, high=5))
    for dialog in (
        TextEntryDialog("Batch ID", "Batch ID"),
        KeypadDialog("Set-point", "°C", 30, 38),
        ConfirmDialog("Abort", "Abort?", danger=True),
    ):
        assert_touch_sized(open_dialog(qtbot, dialog))
    reason = open_dialog(qtbot, ReasonDialog("Hold", STANDARD_REASONS["hold"]))
    assert_touch_sized(reason)
    tap(qtbot, reason, "Comment")
    assert_touch_sized(reason)


def test_dialogs_fit_the_1280x800_console(qtbot):
    for dialog in (
        TextEntryDialog("Batch ID", "Batch ID"),
        KeypadDialog("Set-point", "°C", 30, 38),
        ReasonDialog("Abort", STANDARD_REASONS["abort"], require_text=True),
    ):
        size = open_dialog(qtbot, dialog).minimumSizeHint()
        assert size.width() <= 1240 and size.height() <= 760, size


# -- blocking helpers -------------------------------------------------------------


def test_ask_number_returns_the_value(qtbot):
    answer_modal(qtbot, lambda d: tap(qtbot, d, "3", "7", ".", "5", "OK"))
    assert ask_number(None, "Set-point", "°C", 30, 38) == 37.5


def test_ask_text_cancelled_returns_none(qtbot):
    answer_modal(qtbot, lambda d: tap(qtbot, d, "a", "Cancel"))
    assert ask_text(None, "Batch ID", "Batch ID") is None


def test_ask_reason_and_confirm(qtbot):
    answer_modal(qtbot, lambda d: tap(qtbot, d, "Break over", "OK"))
    assert ask_reason(None, "Restart", STANDARD_REASONS["restart"]) == "Break over"
    answer_modal(qtbot, lambda d: tap(qtbot, d, "Hold"))
    assert confirm(None, "Hold", "Hold the run?", confirm_text="Hold") is True
