"""The inactivity lock: the running process stays in view, read-only (state, step,
alarms, the main values), and nothing can be done until the signed-in user types the
password again, or someone else signs in instead."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.batch.status import RunStatus
from app.store.users import Session, UserService
from app.ui.background import Background
from app.ui.keyboard import OnScreenKeyboard

SHOWN = (
    ("temp", "Temperature", "°C", 1),
    ("ph", "pH", "", 2),
    ("do", "DO", "%", 0),
    ("vcd", "Cells", "1e6/mL", 2),
)


class LockScreen(QWidget):
    unlocked = Signal()
    switch_user = Signal()

    def __init__(self, users: UserService, background: Background) -> None:
        super().__init__()
        self.users, self.background = users, background
        self.session: Session | None = None
        column = QVBoxLayout(self)
        column.setSpacing(10)
        process = QFrame()
        process.setObjectName("Panel")
        summary = QVBoxLayout(process)
        summary.setContentsMargins(16, 8, 16, 8)
        self.run = QLabel("No run")
        self.run.setStyleSheet("font-size: 24px; font-weight: bold; background: transparent;")
        self.run.setWordWrap(True)
        summary.addWidget(self.run)
        self.values = QLabel("")
        self.values.setStyleSheet("font-size: 22px; background: transparent;")
        summary.addWidget(self.values)
        self.alarms = QLabel("")
        self.alarms.setWordWrap(True)
        self.alarms.setStyleSheet("font-size: 20px; background: transparent;")
        summary.addWidget(self.alarms)
        column.addWidget(process)
        self.title = QLabel("Locked")
        self.title.setObjectName("PageTitle")
        column.addWidget(self.title)
        entry = QHBoxLayout()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("password")
        self.password.setPlaceholderText("password")
        entry.addWidget(self.password, 1)
        other = QPushButton("Someone else")
        other.setAccessibleName("switch user")
        other.clicked.connect(self.switch_user)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setObjectName("Primary")
        self.unlock_button.setAccessibleName("unlock")
        self.unlock_button.clicked.connect(self._unlock)
        entry.addWidget(self.unlock_button)
        entry.addWidget(other)
        column.addLayout(entry)
        self.message = QLabel("")
        self.message.setObjectName("Error")
        self.message.setWordWrap(True)
        column.addWidget(self.message)
        self.keyboard = OnScreenKeyboard()
        self.keyboard.set_target(self.password)
        self.keyboard.enter_pressed.connect(self._unlock)
        column.addWidget(self.keyboard, 1)

    def lock(self, session: Session, status: RunStatus) -> None:
        self.session = session
        self.title.setText(f"Locked: {session.full_name}, enter your password")
        self.password.clear()
        self.message.clear()
        self.show_status(status)

    def show_status(self, status: RunStatus) -> None:
        if status.state:
            self.run.setText(
                f"Read-only: batch {status.batch} · {status.state} · step {status.step} of "
                f"{status.steps}: {status.step_name}"
            )
        else:
            self.run.setText("Read-only: no run in progress")
        values = status.values
        self.values.setText(
            "    ".join(
                f"{label}: {values[name]:.{decimals}f} {unit}"
                for name, label, unit, decimals in SHOWN
                if name in values
            )
        )
        self.alarms.setText(
            "    ".join(f"{a.priority.upper()} alarm {a.tag}: {a.state}" for a in status.alarms)
        )

    def _unlock(self) -> None:
        session, password = self.session, self.password.text()
        if session is None or not password:
            self.message.setText("Type your password first.")
            return
        self.unlock_button.setEnabled(False)
        self.message.setText("Checking…")
        self.password.clear()
        self.background.submit(lambda: self.users.reauthenticate(session, password), self._checked)

    def _checked(self, ok: bool, value) -> None:
        self.unlock_button.setEnabled(True)
        if not ok:
            self.message.setText(str(value))
            return
        self.message.clear()
        self.unlocked.emit()
