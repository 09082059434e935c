"""Modal touch dialogs: text entry, number entry, reason for a change, confirmation.

Each dialog is a QDialog that works both ways the console needs: non-blocking with
``.open()`` and the ``accepted``/``finished`` signals (what the shell and the tests
use), or blocking through the ``ask_*``/``confirm`` helpers at the bottom, which
return the answer or None.

The dialogs only collect the answer; the caller checks permissions and writes the
audit entry (who, what, old/new value, why) in the service layer, so a dialog can
never be the only thing standing between an operator and an unrecorded change.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme
from app.ui.keyboard import KEY_PX, KEY_SPACING, NumericKeypad, OnScreenKeyboard, TouchKey

# Predefined reasons, so the operator taps rather than types and reasons read the
# same across batches (the exceptions review groups by them). "Other" asks for a
# typed explanation: no operator is ever stuck because the list lacks their case.
OTHER = "Other"
STANDARD_REASONS: dict[str, list[str]] = {
    "setpoint": [
        "Batch record instruction",
        "Process adjustment per SOP",
        "Correction of entry error",
        "Deviation response",
        "Supervisor / QA instruction",
        OTHER,
    ],
    "hold": [
        "Sample taken",
        "Operator break",
        "Material check",
        "Deviation raised",
        "Alarm investigation",
        "Equipment check",
        "Supervisor request",
        OTHER,
    ],
    "abort": [
        "Contamination suspected",
        "Kit integrity failure",
        "Equipment failure",
        "Process out of specification",
        "Material not released",
        "Supervisor / QA decision",
        OTHER,
    ],
    "restart": [
        "Sample completed",
        "Break over",
        "Material check completed",
        "Alarm cleared",
        "Deviation assessed, continuation approved",
        "Equipment check passed",
        OTHER,
    ],
    "shelve": [
        "Known nuisance alarm",
        "Sensor under maintenance",
        "Planned activity in progress",
        "Under investigation",
        "Supervisor instruction",
        OTHER,
    ],
}

# Dialog buttons are wider than keys: they end the dialog, so they must be
# unmistakable, and far enough apart that Cancel is never hit for OK.
BUTTON_MIN_WIDTH = 220
MESSAGE_STYLE = "font-size: 24px; background: transparent;"
BUTTON_STYLE = "QPushButton { font-size: 24px; }"
# The application stylesheet gives #Primary no disabled look, so a disabled OK
# would look exactly like an enabled one. Until console.qss has a
# "QPushButton#Primary:disabled" rule, the dialog supplies it from theme colours.
DISABLED_PRIMARY = (
    f" QPushButton:disabled {{ background: {theme.SURFACE}; color: {theme.STALE};"
    f" border-color: {theme.STALE}; }}"
)


class TouchDialog(QDialog):
    """Common frame: modal, generous margins, a title readable at 1.5 m, and a
    bottom row with Cancel on the left and the action on the right."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(24, 20, 24, 20)
        self.body.setSpacing(14)

    def add_title(self, title: str) -> QLabel:
        label = QLabel(title)
        label.setObjectName("PageTitle")
        label.setWordWrap(True)
        self.body.addWidget(label)
        return label

    def add_message(self, text: str, object_name: str = "") -> QLabel:
        label = QLabel(text)
        label.setWordWrap(True)
        if object_name:
            label.setObjectName(object_name)
        else:
            label.setStyleSheet(MESSAGE_STYLE)
        self.body.addWidget(label)
        return label

    def make_button(self, text: str, name: str, object_name: str = "") -> TouchKey:
        button = TouchKey(text, name, KEY_PX)
        button.set_min_width(BUTTON_MIN_WIDTH)
        if object_name:
            button.setObjectName(object_name)
        style = BUTTON_STYLE + (DISABLED_PRIMARY if object_name == "Primary" else "")
        button.setStyleSheet(style)
        return button

    def add_button_row(
        self, cancel: QPushButton, action: QPushButton | None, *middle: QPushButton
    ) -> None:
        row = QHBoxLayout()
        row.setSpacing(KEY_SPACING)
        row.addWidget(cancel)
        row.addStretch(1)
        for button in middle:
            row.addWidget(button)
            row.addStretch(1)
        if action is not None:
            row.addWidget(action)
        self.body.addSpacing(KEY_SPACING)
        self.body.addLayout(row)


def _hint(text: str) -> QLabel:
    """A muted instruction line, larger than the stylesheet's hint (read at 1.5 m)."""
    label = QLabel(text)
    label.setObjectName("Hint")
    label.setWordWrap(True)
    label.setStyleSheet("font-size: 22px;")
    return label


def _line_edit(placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setPlaceholderText(placeholder)
    edit.setStyleSheet("font-size: 28px;")  # what was typed must be checkable from 1.5 m
    return edit


class TextEntryDialog(TouchDialog):
    """A line of text typed on the on-screen keyboard (batch ID, password, name).

    OK stays disabled while the field is empty, so an empty answer cannot be given
    by accident; Enter on the keyboard is the same as OK.
    """

    def __init__(
        self,
        title: str,
        prompt: str,
        password: bool = False,
        initial: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, parent)
        self.add_title(title)
        self.prompt_label = self.add_message(prompt)
        self.line_edit = _line_edit()
        self.line_edit.setAccessibleName(prompt)
        if password:
            self.line_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.line_edit.setText(initial)
        self.body.addWidget(self.line_edit)
        self.keyboard = OnScreenKeyboard()
        self.keyboard.set_target(self.line_edit)
        self.body.addWidget(self.keyboard)

        self.cancel_button = self.make_button("Cancel", "Cancel")
        self.ok_button = self.make_button("OK", "OK", "Primary")
        self.add_button_row(self.cancel_button, self.ok_button)
        self.cancel_button.clicked.connect(self.reject)
        self.ok_button.clicked.connect(self._ok)
        self.keyboard.enter_pressed.connect(self._ok)
        self.line_edit.returnPressed.connect(self._ok)
        self.line_edit.textChanged.connect(self._update)
        self._update()
        self.line_edit.setFocus()

    def showEvent(self, event: QShowEvent) -> None:
        """Qt selects the whole field when a dialog gives it focus, and the next key
        would then replace an initial value the operator meant to extend."""
        super().showEvent(event)
        QTimer.singleShot(0, self._cursor_to_end)

    def _cursor_to_end(self) -> None:
        self.line_edit.deselect()
        self.line_edit.end(False)

    def text(self) -> str:
        return self.line_edit.text()

    def _update(self) -> None:
        self.ok_button.setEnabled(bool(self.line_edit.text()))

    def _ok(self) -> None:
        if self.ok_button.isEnabled():
            self.accept()


class KeypadDialog(TouchDialog):
    """A number typed on the keypad, accepted only inside [low, high]; the keypad
    shows the limits and refuses anything else with a message."""

    def __init__(
        self,
        title: str,
        unit: str,
        low: float,
        high: float,
        initial: float | None = None,
        decimals: int = 2,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, parent)
        self._value: float | None = None
        self.keypad = NumericKeypad(title, unit, low, high, initial, decimals)
        self.body.addWidget(self.keypad)
        self.keypad.accepted.connect(self._on_accepted)
        self.cancel_button = self.make_button("Cancel", "Cancel")
        self.add_button_row(self.cancel_button, None)
        self.cancel_button.clicked.connect(self.reject)

    def value(self) -> float | None:
        """The accepted value; None until OK has accepted one."""
        return self._value

    def _on_accepted(self, value: float) -> None:
        self._value = value
        self.accept()


class ReasonDialog(TouchDialog):
    """Why a change is made (Part 11: the audit trail records who, what and why).

    Two pages share one title and one Cancel/OK row, so the dialog fits the
    1280x800 panel: the reasons page (large checkable buttons, one at a time, and
    a button showing the comment) and the comment page (the text field and the
    on-screen keyboard). OK is enabled once a reason is chosen; when text is
    required (``require_text``, the "Other" reason, or no reasons given) once text
    is typed, and choosing such a reason opens the comment page by itself.
    """

    def __init__(
        self,
        title: str,
        reasons: list[str],
        require_text: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, parent)
        if not reasons and not require_text:
            raise ValueError("a reason dialog needs reasons to choose from or a text field")
        self.require_text = require_text
        self.add_title(title)
        self.pages = QStackedWidget()
        self.body.addWidget(self.pages, 1)

        # Page 1: the reasons.
        self.reasons_page = QWidget()
        page = QVBoxLayout(self.reasons_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(14)
        prompt = "Choose the reason" + (" and explain it" if require_text else "")
        page.addWidget(_hint(prompt))
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        grid = QGridLayout()
        grid.setSpacing(KEY_SPACING)
        columns = 2 if len(reasons) <= 4 else 3
        for index, reason in enumerate(reasons):
            button = TouchKey(reason, reason, KEY_PX)
            button.set_min_width(BUTTON_MIN_WIDTH)
            button.setStyleSheet("font-size: 22px;")
            button.setCheckable(True)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.group.addButton(button)
            grid.addWidget(button, index // columns, index % columns)
        page.addLayout(grid)
        # Shows the comment typed so far; tapping it opens the keyboard page.
        self.comment_button = TouchKey("", "Comment", KEY_PX)
        self.comment_button.setStyleSheet("font-size: 22px; text-align: left;")
        self.comment_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        page.addWidget(self.comment_button)
        page.addStretch(1)
        self.pages.addWidget(self.reasons_page)

        # Page 2: the comment, typed on the keyboard.
        self.comment_page = QWidget()
        page = QVBoxLayout(self.comment_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(14)
        self.chosen_label = _hint("")
        page.addWidget(self.chosen_label)
        self.comment = _line_edit()
        self.comment.setAccessibleName("Comment text")
        page.addWidget(self.comment)
        self.keyboard = OnScreenKeyboard()
        self.keyboard.set_target(self.comment)
        page.addWidget(self.keyboard)
        self.pages.addWidget(self.comment_page)

        self.cancel_button = self.make_button("Cancel", "Cancel")
        self.back_button = self.make_button("◀ Reasons", "Reasons")
        self.ok_button = self.make_button("OK", "OK", "Primary")
        self.add_button_row(self.cancel_button, self.ok_button, self.back_button)
        self.cancel_button.clicked.connect(self.reject)
        self.ok_button.clicked.connect(self._ok)
        self.back_button.clicked.connect(self.show_reasons)
        self.comment_button.clicked.connect(self.show_comment)
        self.keyboard.enter_pressed.connect(self._ok)
        self.group.buttonClicked.connect(self._reason_clicked)
        self.comment.textChanged.connect(self._update)
        if reasons:
            self.show_reasons()
        else:
            self.show_comment()
            self.back_button.setVisible(False)  # nothing to go back to

    def chosen(self) -> str:
        """The predefined reason tapped, or "" when none."""
        button = self.group.checkedButton()
        return button.accessibleName() if button is not None else ""

    def free_text(self) -> str:
        return self.comment.text().strip()

    def text_required(self) -> bool:
        return self.require_text or self.chosen() == OTHER or not self.group.buttons()

    def reason(self) -> str:
        """ "Sample taken", "Sample taken: pH check", or just the typed text."""
        chosen, text = self.chosen(), self.free_text()
        if chosen and text:
            return f"{chosen}: {text}"
        return chosen or text

    def show_reasons(self) -> None:
        self.pages.setCurrentWidget(self.reasons_page)
        self.back_button.setVisible(False)
        self._update()

    def show_comment(self) -> None:
        self.pages.setCurrentWidget(self.comment_page)
        self.back_button.setVisible(bool(self.group.buttons()))
        self.comment.setFocus()
        self._update()

    def _reason_clicked(self) -> None:
        if self.text_required() and not self.free_text():
            self.show_comment()  # the one obvious next action: explain
        else:
            self._update()

    def _update(self) -> None:
        required = self.text_required()
        text = self.free_text()
        self.ok_button.setEnabled(bool(text) if required else bool(self.chosen()))
        need = "Explanation (required)" if required else "Comment (optional)"
        self.comment.setPlaceholderText(need)
        self.comment_button.setText(f"✎  {text}" if text else f"✎  {need}: tap to type")
        chosen = self.chosen()
        self.chosen_label.setText(f"Reason: {chosen}" if chosen else need)

    def _ok(self) -> None:
        if self.ok_button.isEnabled():
            self.accept()


class ConfirmDialog(TouchDialog):
    """One question, two big answers. ``danger`` makes the confirm button red
    (objectName "Danger") for actions that cannot be undone, such as Abort."""

    def __init__(
        self,
        title: str,
        message: str,
        confirm_text: str = "Confirm",
        danger: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, parent)
        self.setMinimumWidth(640)  # short questions still get a dialog-sized target
        self.add_title(title)
        self.message_label = self.add_message(message)
        self.message_label.setStyleSheet("font-size: 26px; background: transparent;")
        self.body.addStretch(1)
        self.cancel_button = self.make_button("Cancel", "Cancel")
        self.confirm_button = self.make_button(
            confirm_text, confirm_text, "Danger" if danger else "Primary"
        )
        self.add_button_row(self.cancel_button, self.confirm_button)
        self.cancel_button.clicked.connect(self.reject)
        self.confirm_button.clicked.connect(self.accept)


# -- blocking helpers -------------------------------------------------------------
# Each runs a nested event loop (exec) and deletes its dialog afterwards. Prefer
# the classes with .open() in code that must keep the GUI thread's timers in step.


def _run(dialog: QDialog) -> bool:
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted.value
    finally:
        dialog.deleteLater()


def ask_text(
    parent: QWidget | None, title: str, prompt: str, password: bool = False, initial: str = ""
) -> str | None:
    """The text typed, or None when cancelled."""
    dialog = TextEntryDialog(title, prompt, password, initial, parent)
    return dialog.text() if _run(dialog) else None


def ask_number(
    parent: QWidget | None,
    title: str,
    unit: str,
    low: float,
    high: float,
    initial: float | None = None,
    decimals: int = 2,
) -> float | None:
    """A number within [low, high], or None when cancelled."""
    dialog = KeypadDialog(title, unit, low, high, initial, decimals, parent)
    return dialog.value() if _run(dialog) else None


def ask_reason(
    parent: QWidget | None, title: str, reasons: list[str], require_text: bool = False
) -> str | None:
    """The reason as ReasonDialog.reason() gives it, or None when cancelled."""
    dialog = ReasonDialog(title, reasons, require_text, parent)
    return dialog.reason() if _run(dialog) else None


def confirm(
    parent: QWidget | None,
    title: str,
    message: str,
    confirm_text: str = "Confirm",
    danger: bool = False,
) -> bool:
    """True only when the operator tapped the confirm button."""
    return _run(ConfirmDialog(title, message, confirm_text, danger, parent))


class DialogHost:
    """For pages that open entry dialogs without blocking: ``open_dialog`` shows one
    and calls ``on_accept`` when it is accepted; ``self.dialog`` is the one open now
    (tests drive it), cleared when it closes unless a follow-up dialog replaced it."""

    dialog: QDialog | None = None

    def open_dialog(self, dialog: QDialog, on_accept: Callable[[], None] | None = None) -> None:
        self.dialog = dialog
        if on_accept is not None:
            dialog.accepted.connect(on_accept)
        dialog.finished.connect(lambda _, d=dialog: self._dialog_closed(d))
        dialog.open()

    def _dialog_closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
