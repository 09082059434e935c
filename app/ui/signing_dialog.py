"""The one signing dialog of the console (21 CFR 11.50): every electronic signature,
whatever it signs, is given here.

Before any password is typed it shows who signs (the printed name), what the signature
means in words, the record in words and what the signature will cause: the
``SigningRequest`` built in the service layer (app/store/signing.py), whose statement is
stored with the signature. Then the user name (on a session's first signature, and for
a second person) and the password, typed on the on-screen keyboard. One primary action:
Sign. A signature the duty rules refuse is refused here, in words, before a password is
asked: Sign stays disabled and the password field with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QWidget

from app.store.signing import SigningRequest
from app.store.users import Session
from app.ui.dialogs import DialogHost, TouchDialog, _line_edit
from app.ui.keyboard import KEY_SPACING, OnScreenKeyboard

ROW_STYLE = "font-size: 22px; background: transparent;"
NAME_STYLE = "font-size: 22px; font-weight: bold; background: transparent;"
WIDTH = 1120  # of a 1280 px panel


class SigningDialog(TouchDialog):
    """What is signed, then the credentials. ``signer``: the printed name of the
    signed-in person; for a second person ("" here) the printed name follows the user
    name typed (``names``: user name -> printed name). ``refusal(user name)`` says why
    the duty rules refuse that person (None: allowed)."""

    def __init__(
        self,
        request: SigningRequest,
        signer: str,
        ask_username: bool,
        parent: QWidget | None = None,
        names: Mapping[str, str] | None = None,
        refusal: Callable[[str], str | None] | None = None,
    ) -> None:
        second = not signer
        who = "Second person's signature" if second else "Electronic signature"
        title = f"{who}: {request.said}"
        super().__init__(title, parent)
        self.request, self.signer, self.ask_username = request, signer, ask_username
        self.names = {k.casefold(): v for k, v in (names or {}).items()}
        self.refusal = refusal
        self.body.setSpacing(8)  # statement, fields and keyboard fit 800 px in height
        self.setMinimumWidth(WIDTH)  # wide: the statement reads in one line a row
        self.add_title(title)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(4)
        self.values: dict[str, QLabel] = {}
        rows = (
            ("Signer", signer or "type the second person's user name"),
            ("Meaning", f"{request.said.capitalize()} – {request.sense}"),
            ("Record", request.record_words),
            ("Effect", request.consequence[:1].upper() + request.consequence[1:]),
        )
        for row, (name, text) in enumerate(rows):
            label = QLabel(name)
            label.setStyleSheet(NAME_STYLE)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            value = QLabel(text)
            value.setWordWrap(True)
            value.setStyleSheet(ROW_STYLE)
            value.setAccessibleName(name.lower())
            grid.addWidget(label, row, 0)
            grid.addWidget(value, row, 1)
            self.values[name.lower()] = value
        grid.setColumnStretch(1, 1)
        self.body.addLayout(grid)
        self.refused = self.add_message("", "Error")
        self.refused.setStyleSheet("font-size: 22px;")
        self.refused.hide()

        fields = QHBoxLayout()
        fields.setSpacing(KEY_SPACING)
        self.username_edit = _line_edit("user name")
        self.username_edit.setAccessibleName("user name")
        self.password_edit = _line_edit("password")
        self.password_edit.setAccessibleName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        fields.addWidget(self.username_edit, 1)
        fields.addWidget(self.password_edit, 1)
        self.username_edit.setVisible(ask_username)
        self.body.addLayout(fields)
        self.keyboard = OnScreenKeyboard()
        self.body.addWidget(self.keyboard)
        for edit in (self.username_edit, self.password_edit):
            edit.installEventFilter(self)
            edit.textChanged.connect(self._update)
            edit.returnPressed.connect(self._enter)
        self.keyboard.enter_pressed.connect(self._enter)

        self.cancel_button = self.make_button("Cancel", "Cancel")
        self.sign_button = self.make_button("Sign", "Sign", "Primary")
        self.add_button_row(self.cancel_button, self.sign_button)
        self.cancel_button.clicked.connect(self.reject)
        self.sign_button.clicked.connect(self._sign)
        first = self.username_edit if ask_username else self.password_edit
        self.keyboard.set_target(first)
        first.setFocus()
        self._update()

    # ------------------------------------------------------------------ answers
    def username(self) -> str | None:
        """The user name typed, or None when none was asked."""
        return self.username_edit.text().strip() if self.ask_username else None

    def password(self) -> str:
        return self.password_edit.text()

    def statement(self) -> str:
        return self.request.statement

    # ------------------------------------------------------------------ behaviour
    def showEvent(self, event: QShowEvent) -> None:
        """A window opens at its minimum size, which does not count the lines a
        wrapped statement needs: grow to the height it asks for, within the screen."""
        super().showEvent(event)
        room = self.screen().availableGeometry()
        height = self.layout().totalHeightForWidth(self.width())
        self.resize(self.width(), min(max(height, self.height()), room.height()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The keyboard types into whichever field was tapped last."""
        if event.type() == QEvent.Type.FocusIn and watched in (
            self.username_edit,
            self.password_edit,
        ):
            self.keyboard.set_target(watched)  # type: ignore[arg-type]
        return False

    def _update(self) -> None:
        name = self.username()
        if not self.signer:  # a second person: who it is follows the name typed
            shown = self.names.get((name or "").casefold(), "")
            self.values["signer"].setText(shown or "type the second person's user name")
        why = self.refusal(name or "") if self.refusal and name is not None else None
        self.refused.setText(why or "")
        self.refused.setVisible(bool(why))
        self.password_edit.setEnabled(not why)
        ready = bool(self.password()) and name != "" and not why
        self.sign_button.setEnabled(ready)

    def _enter(self) -> None:
        if self.keyboard.target() is self.username_edit and not self.password():
            self.password_edit.setFocus()
            self.keyboard.set_target(self.password_edit)
        else:
            self._sign()

    def _sign(self) -> None:
        if self.sign_button.isEnabled():
            self.accept()


def ask_signature(
    host: DialogHost,
    request: SigningRequest,
    session: Session,
    then: Callable[[str, str | None], None],
) -> SigningDialog:
    """Open the signing dialog for the signed-in person (the user name too at the
    session's first signature); ``then(password, user name or None)`` once signed."""
    parent = host if isinstance(host, QWidget) else None
    dialog = SigningDialog(request, session.full_name, not session.signed_once, parent)
    host.open_dialog(dialog, lambda: then(dialog.password(), dialog.username()))
    return dialog
