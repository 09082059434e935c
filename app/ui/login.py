"""Signing in with gloves and no keyboard: tap your name, type the password on the
on-screen keyboard. A password that has expired (or was reset) is changed here before
anything else; a locked account says so and who can unlock it. Checking a password
takes tens of milliseconds of scrypt, so it runs in the background, never on the GUI
thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.store.users import Session, UserService
from app.ui.background import Background
from app.ui.keyboard import OnScreenKeyboard

TILE_COLUMNS = 4


class LoginPage(QWidget):
    logged_in = Signal(object)  # Session

    def __init__(self, users: UserService, background: Background, demo_hint: str = "") -> None:
        super().__init__()
        self.users, self.background = users, background
        self.username = ""
        self.session: Session | None = None  # signed in, but must change the password
        self._old_password = ""
        self.stack = QStackedWidget()
        self.stack.addWidget(self._names_view(demo_hint))
        self.stack.addWidget(self._password_view())
        self.stack.addWidget(self._change_view())
        root = QVBoxLayout(self)
        root.setContentsMargins(24, 8, 24, 8)
        root.addWidget(self.stack)

    # ------------------------------------------------------------------ views
    def _names_view(self, demo_hint: str) -> QWidget:
        view = QWidget()
        column = QVBoxLayout(view)
        title = QLabel("Tap your name to sign in")
        title.setObjectName("PageTitle")
        column.addWidget(title)
        if demo_hint:
            hint = QLabel(demo_hint)
            hint.setObjectName("Hint")
            column.addWidget(hint)
        self.tiles = QGridLayout()
        self.tiles.setSpacing(16)
        column.addLayout(self.tiles)
        column.addStretch(1)
        self.names_message = QLabel("")
        self.names_message.setObjectName("Error")
        column.addWidget(self.names_message)
        return view

    def _password_view(self) -> QWidget:
        view = QWidget()
        column = QVBoxLayout(view)
        self.password_title = QLabel("")
        self.password_title.setObjectName("PageTitle")
        column.addWidget(self.password_title)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("password")
        self.password.setPlaceholderText("password")
        column.addWidget(self.password)
        self.message = QLabel("")
        self.message.setObjectName("Error")
        self.message.setWordWrap(True)
        column.addWidget(self.message)
        self.keyboard = OnScreenKeyboard()
        self.keyboard.set_target(self.password)
        self.keyboard.enter_pressed.connect(self._sign_in)
        column.addWidget(self.keyboard, 1)
        buttons = QHBoxLayout()
        back = QPushButton("Back")
        back.setAccessibleName("back")
        back.clicked.connect(self.reset)
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setObjectName("Primary")
        self.sign_in_button.setAccessibleName("sign in")
        self.sign_in_button.clicked.connect(self._sign_in)
        buttons.addWidget(back)
        buttons.addStretch(1)
        buttons.addWidget(self.sign_in_button)
        column.addLayout(buttons)
        return view

    def _change_view(self) -> QWidget:
        view = QWidget()
        column = QVBoxLayout(view)
        title = QLabel("Your password must be changed before you go on")
        title.setObjectName("PageTitle")
        column.addWidget(title)
        self.new_password = QLineEdit()
        self.again_password = QLineEdit()
        for field, name in ((self.new_password, "new password"), (self.again_password, "again")):
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.setAccessibleName(name)
            field.setPlaceholderText(name)
            column.addWidget(field)
        self.change_message = QLabel("")
        self.change_message.setObjectName("Error")
        self.change_message.setWordWrap(True)
        column.addWidget(self.change_message)
        self.change_keyboard = OnScreenKeyboard()
        self.change_keyboard.set_target(self.new_password)
        self.new_password.installEventFilter(self)
        self.again_password.installEventFilter(self)
        column.addWidget(self.change_keyboard, 1)
        save = QPushButton("Change password")
        save.setObjectName("Primary")
        save.setAccessibleName("change password")
        save.clicked.connect(self._change)
        column.addWidget(save, 0, Qt.AlignmentFlag.AlignRight)
        return view

    def eventFilter(self, watched, event) -> bool:
        """The keyboard types into whichever password field was tapped last."""
        if event.type() == event.Type.FocusIn and watched in (
            self.new_password,
            self.again_password,
        ):
            self.change_keyboard.set_target(watched)
        return False

    # ------------------------------------------------------------------ flow
    def reset(self) -> None:
        """Back to the name tiles, everything typed forgotten."""
        self.username, self.session, self._old_password = "", None, ""
        for field in (self.password, self.new_password, self.again_password):
            field.clear()
        self.message.clear()
        self.change_message.clear()
        self.names_message.clear()
        self.stack.setCurrentIndex(0)
        self.background.submit(self.users.login_tiles, self._show_tiles)

    def _show_tiles(self, ok: bool, tiles) -> None:
        while self.tiles.count():
            widget = self.tiles.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        if not ok:
            self.names_message.setText(f"The accounts cannot be read: {tiles}")
            return
        if not tiles:
            self.names_message.setText(
                "No accounts yet: an administrator creates the first one with "
                "'celldeck users init'."
            )
        for index, (username, full_name, role) in enumerate(tiles):
            tile = QPushButton(f"{full_name}\n{role.value}")
            tile.setObjectName("Tile")
            tile.setAccessibleName(f"user {username}")
            tile.clicked.connect(lambda _=False, u=username, n=full_name: self._choose(u, n))
            self.tiles.addWidget(tile, index // TILE_COLUMNS, index % TILE_COLUMNS)

    def _choose(self, username: str, full_name: str) -> None:
        self.username = username
        self.password_title.setText(f"{full_name}: enter your password")
        self.password.clear()
        self.message.clear()
        self.stack.setCurrentIndex(1)
        self.keyboard.set_target(self.password)

    def _sign_in(self) -> None:
        if not self.username or not self.password.text():
            self.message.setText("Type your password first.")
            return
        password = self.password.text()
        self._old_password = password  # needed again only if it must be changed now
        self.sign_in_button.setEnabled(False)
        self.message.setText("Checking…")
        self.background.submit(lambda: self.users.login(self.username, password), self._signed)

    def _signed(self, ok: bool, result) -> None:
        self.sign_in_button.setEnabled(True)
        self.password.clear()
        if not ok:
            self.message.setText(str(result))
            return
        session: Session = result
        if session.must_change_password:
            self.session = session
            self.stack.setCurrentIndex(2)
            self.change_keyboard.set_target(self.new_password)
            return
        self._old_password = ""
        self.message.clear()
        self.logged_in.emit(session)

    def _change(self) -> None:
        new, again = self.new_password.text(), self.again_password.text()
        if new != again:
            self.change_message.setText("The two new passwords differ.")
            return
        session = self.session
        if session is None:
            self.reset()
            return
        self.change_message.setText("Saving…")
        self.background.submit(
            lambda: self._apply_change(session, new),
            lambda ok, value: self._changed(ok, value, session),
        )

    def _apply_change(self, session: Session, new: str) -> None:
        # the old password was typed a moment ago on this screen: it is the reset one
        self.users.change_password(session, self._old_password, new)

    def _changed(self, ok: bool, value, session: Session) -> None:
        if not ok:
            self.change_message.setText(str(value))
            return
        self.new_password.clear()
        self.again_password.clear()
        self._old_password = ""
        self.logged_in.emit(session)
