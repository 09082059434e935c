"""Administration for administrators: accounts (add, unlock, reset the password,
disable) and the site settings (account rules, the instrument's serial port).

Every change goes through UserService or SettingsService, which check the permission,
need a reason and write the audit trail; this screen collects the answers with the
on-screen keyboard dialogs (opened in small ``_ask_*`` methods so tests can answer
them) and shows the outcome as a sentence. Reads and writes run in ``Background``,
never on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.store.security import (
    PasswordRejected,
    Role,
    SecurityPolicy,
    check_policy,
    describe_policy,
)
from app.store.settings import SETTINGS, Setting, SettingsService, SettingValue
from app.store.users import Session, UserRecord, UserService
from app.ui import dialogs, theme
from app.ui.background import Background
from app.ui.page_kit import (
    RecordsPage,
    button_row,
    plain_sentence,
    short_utc,
    text_label,
    touch_button,
    touch_table,
)

SIMULATOR = "simulator"
TYPE_PORT = "type"
ROLE_WORDS = {
    Role.OPERATOR: "Operator\nruns batches",
    Role.SUPERVISOR: "Supervisor\nreviews, approves",
    Role.SERVICE: "Service engineer\nmaintains the instrument",
    Role.ADMINISTRATOR: "Administrator\naccounts, settings",
}
ADD_REASONS = ["New employee", "New role for an employee", "Temporary contractor", "Other"]
DISABLE_REASONS = ["Left the company", "Role ended", "Security concern", "Other"]
UNLOCK_REASONS = ["Identity confirmed in person", "Forgotten password, identity confirmed", "Other"]
RESET_REASONS = ["Forgotten password", "Password may be known to others", "Other"]
SETTING_REASONS = [
    "Site SOP / change control",
    "QA instruction",
    "Instrument installed or moved",
    "Correction of an entry error",
    "Other",
]


def _parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def password_expiry(user: UserRecord, policy: SecurityPolicy, now: datetime | None = None) -> str:
    """When the user's password must next be changed, in words."""
    if user.must_change:
        return "at next sign-in"
    try:
        due = _parse_utc(user.password_changed_utc) + timedelta(days=policy.password_max_age_days)
    except ValueError:
        return "unknown"
    now = now or datetime.now(UTC)
    return f"EXPIRED {due:%Y-%m-%d}" if due < now else f"{due:%Y-%m-%d}"


def account_state(user: UserRecord) -> str:
    """'active', 'LOCKED', 'DISABLED' or both."""
    states = [word for flag, word in ((user.disabled, "DISABLED"), (user.locked, "LOCKED")) if flag]
    return ", ".join(states) or "active"


class TileChoiceDialog(QDialog):
    """Pick one of a few answers from big tiles (no list box to scroll, no typing)."""

    def __init__(
        self,
        title: str,
        prompt: str,
        options: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.setMinimumWidth(700)
        self._value: str | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 20, 24, 20)
        column.setSpacing(14)
        column.addWidget(text_label(title, "PageTitle"))
        column.addWidget(text_label(prompt))
        grid = QGridLayout()
        grid.setSpacing(16)
        self.tiles: dict[str, QPushButton] = {}
        for index, (value, label) in enumerate(options):
            tile = QPushButton(label)
            tile.setObjectName("Tile")
            tile.setAccessibleName(value)
            tile.setMinimumSize(240, 110)
            tile.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            tile.setAutoDefault(False)
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            tile.clicked.connect(lambda _=False, v=value: self.choose(v))
            grid.addWidget(tile, index // 2, index % 2)
            self.tiles[value] = tile
        column.addLayout(grid)
        column.addStretch(1)
        cancel = touch_button("Cancel", "Cancel")
        cancel.setMinimumWidth(220)
        cancel.clicked.connect(self.reject)
        column.addWidget(cancel, 0, Qt.AlignmentFlag.AlignLeft)

    def choose(self, value: str) -> None:
        self._value = value
        self.accept()

    def value(self) -> str | None:
        return self._value


class AdminPage(RecordsPage):
    USER_COLUMNS = ("User name", "Name", "Role", "Account", "Password expires")
    SIGN_IN = "Sign in as an administrator to manage accounts and settings."

    def __init__(
        self,
        users: UserService,
        settings: SettingsService,
        session_provider: Callable[[], Session | None],
        background: Background,
    ) -> None:
        super().__init__("Administration", session_provider, background)
        self.users = users
        self.settings = settings
        self.accounts: list[UserRecord] = []
        self.setting_values: dict[str, SettingValue] = {}
        self.policy = SecurityPolicy()
        self._select_after_load: str | None = None
        columns = QHBoxLayout()
        columns.setSpacing(16)
        columns.addWidget(self._accounts_panel(), 2)
        columns.addWidget(self._settings_panel(), 1)
        self.root.addLayout(columns, 1)
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    @staticmethod
    def _panel(title: str) -> tuple[QFrame, QVBoxLayout]:
        frame = QFrame()
        frame.setObjectName("Panel")
        column = QVBoxLayout(frame)
        column.setContentsMargins(14, 12, 14, 12)
        label = QLabel(title)
        label.setObjectName("PanelTitle")
        column.addWidget(label)
        return frame, column

    def _accounts_panel(self) -> QFrame:
        frame, column = self._panel("ACCOUNTS")
        single = QAbstractItemView.SelectionMode.SingleSelection
        self.table = touch_table(self.USER_COLUMNS, "accounts", single, stretch_column=1)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        column.addWidget(self.table, 1)
        self.selection_hint = text_label()
        column.addWidget(self.selection_hint)
        self.add_button = touch_button("Add user…", "add user", "Primary")
        self.unlock_button = touch_button("Unlock…", "unlock")
        self.reset_button = touch_button("Reset password…", "reset password")
        self.disable_button = touch_button("Disable…", "disable", "Danger")
        self.add_button.clicked.connect(self.add_user)
        self.unlock_button.clicked.connect(self.unlock_selected)
        self.reset_button.clicked.connect(self.reset_selected)
        self.disable_button.clicked.connect(self.disable_selected)
        left = (self.add_button, self.unlock_button, self.reset_button)
        column.addLayout(button_row(left, [self.disable_button]))
        return frame

    def _settings_panel(self) -> QFrame:
        frame, column = self._panel("SETTINGS")
        body = QWidget()
        rows = QVBoxLayout(body)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(10)
        self.value_labels: dict[str, QLabel] = {}
        self.changed_labels: dict[str, QLabel] = {}
        self.change_buttons: dict[str, QPushButton] = {}
        for key, setting in SETTINGS.items():
            name = QLabel(setting.label)
            name.setStyleSheet("font-weight: bold; background: transparent;")
            name.setWordWrap(True)
            value = QLabel("–")
            value.setStyleSheet("font-size: 22px; background: transparent;")
            value.setAccessibleName(f"value {key}")
            value.setWordWrap(True)
            changed = text_label()
            button = touch_button("Change…", f"change {key}")
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _=False, k=key: self.change_setting(k))
            text = QVBoxLayout()
            text.setSpacing(0)
            text.addWidget(name)
            text.addWidget(value)
            text.addWidget(changed)
            line = QHBoxLayout()
            line.addLayout(text, 1)
            line.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            rows.addLayout(line)
            self.value_labels[key] = value
            self.changed_labels[key] = changed
            self.change_buttons[key] = button
        rows.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        body.setStyleSheet("background: transparent;")
        scroll.setStyleSheet("QScrollArea { background: transparent; }")
        column.addWidget(scroll, 1)
        return frame

    # ------------------------------------------------------------------ loading
    def reload(self) -> None:
        """Read accounts and settings again (in the background). The shell calls this
        each time it shows the page."""
        session = self.session_provider()
        if session is None:
            self.accounts = []
            self.table.setRowCount(0)
            self._update_buttons()
            self.hint(self.SIGN_IN)
            return
        self._load(session, READING)

    def _load(self, session: Session, busy: str = "") -> None:
        users, settings = self.users, self.settings

        def job() -> tuple[list[UserRecord], list[SettingValue], SecurityPolicy]:
            return users.list_users(session), settings.current(), settings.policy()

        self.call(job, self._loaded, "The accounts cannot be read.", busy)

    def _loaded(self, value: tuple[list[UserRecord], list[SettingValue], SecurityPolicy]) -> None:
        self.accounts, current, self.policy = value
        self.setting_values = {item.setting.key: item for item in current}
        self.table.clearSelection()
        self.table.setRowCount(len(self.accounts))
        for row, user in enumerate(self.accounts):
            cells = (
                user.username,
                user.full_name,
                user.role.value,
                account_state(user),
                password_expiry(user, self.policy),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, user.username)
                if col == 3 and (user.disabled or user.locked):
                    item.setForeground(QBrush(QColor(theme.BAD)))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                elif user.disabled:
                    item.setForeground(QBrush(QColor(theme.STALE)))
                if col == 4 and text.startswith("EXPIRED"):
                    item.setForeground(QBrush(QColor(theme.WARN)))
                self.table.setItem(row, col, item)
        for key, item in self.setting_values.items():
            self.value_labels[key].setText(item.setting.show(item.value))
            self.changed_labels[key].setText(
                f"set by {item.changed_by}, {short_utc(item.changed_utc)}"
                if item.changed_by
                else f"default · {item.setting.allowed()}"
            )
        if self.message.text() == READING:
            self.hint(f"{len(self.accounts)} accounts. Tap an account to select it.")
        if self._select_after_load:
            self.select_user(self._select_after_load)
            self._select_after_load = None
        self._update_buttons()

    def _reload_after(self, text: str, select: str | None = None) -> None:
        self.hint(text)
        session = self.session_provider()
        if session is None:
            return
        self._select_after_load = select
        self._load(session)

    # ------------------------------------------------------------------ selection
    def selected_user(self) -> UserRecord | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.accounts):
            return None
        return self.accounts[rows[0].row()]

    def select_user(self, username: str) -> None:
        for row, user in enumerate(self.accounts):
            if user.username.lower() == username.lower():
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))

    def _update_buttons(self) -> None:
        user = self.selected_user() if hasattr(self, "table") else None
        idle = not self.busy
        self.add_button.setEnabled(idle)
        usable = user is not None and not user.disabled
        self.unlock_button.setEnabled(idle and usable and user.locked)
        self.reset_button.setEnabled(idle and usable)
        self.disable_button.setEnabled(idle and usable)
        for button in self.change_buttons.values():
            button.setEnabled(idle)
        if user is None:
            text = "Tap an account to unlock it, reset its password or disable it."
        elif user.disabled:
            text = f"{user.username} is disabled: accounts are kept, never re-enabled or reused."
        else:
            state = "locked" if user.locked else "active"
            text = f"Selected: {user.username} ({user.full_name}, {user.role.value}), {state}."
        self.selection_hint.setText(text)

    # ------------------------------------------------------------------ dialogs
    def _ask_number(self, setting: Setting, initial: int) -> float | None:
        assert setting.low is not None and setting.high is not None
        return dialogs.ask_number(
            self, setting.label, setting.unit, setting.low, setting.high, initial, decimals=0
        )

    def _confirm(self, title: str, message: str, confirm_text: str) -> bool:
        return dialogs.confirm(self, title, message, confirm_text, danger=True)

    def _choose(self, title: str, prompt: str, options: list[tuple[str, str]]) -> str | None:
        dialog = TileChoiceDialog(title, prompt, options, self)
        try:
            return dialog.value() if dialog.exec() == QDialog.DialogCode.Accepted.value else None
        finally:
            dialog.deleteLater()

    def _temporary_password(self, username: str, title: str) -> str | None:
        """A temporary password typed twice, checked against the rules before the
        reason is asked (the service checks it again)."""
        rule = describe_policy(self.policy)
        prompt = f"Temporary password for {username} ({rule}). They change it at first sign-in."
        while True:
            first = self._ask_text(title, prompt, password=True)
            if not first:
                return None
            try:
                check_policy(self.policy, username, first, [])
            except PasswordRejected as exc:
                prompt = f"{plain_sentence(exc)} Type another temporary password for {username}."
                continue
            again = self._ask_text(
                title, f"Type the temporary password for {username} again.", True
            )
            if again is None:
                return None
            if again == first:
                return first
            prompt = f"The two entries differ. Type the temporary password for {username} again."

    # ------------------------------------------------------------------ accounts
    def add_user(self) -> None:
        session = self._session()
        if session is None:
            return
        title = "Add user"
        username = self._ask_text(title, "User name, used to sign in (e.g. jsmith)")
        if not username:
            return self.hint("No user added: cancelled.")
        username = username.strip()
        if any(u.username.lower() == username.lower() for u in self.accounts):
            return self.error(
                f"The user name {username} is taken (accounts are never reused): choose another."
            )
        full_name = self._ask_text(title, f"Printed name of {username}, shown on signatures")
        if not full_name:
            return self.hint("No user added: cancelled.")
        full_name = full_name.strip()
        roles = [(role.value, ROLE_WORDS[role]) for role in Role]
        role = self._choose(f"Role of {full_name}", "What may this person do?", roles)
        if role is None:
            return self.hint("No user added: cancelled.")
        password = self._temporary_password(username, title)
        if password is None:
            return self.hint("No user added: cancelled.")
        reason = self._ask_reason(f"Why add {username} ({role})?", ADD_REASONS)
        if not reason:
            return self.hint("No user added: cancelled.")
        self._change_account(
            lambda: self.users.add_user(session, username, full_name, Role(role), password, reason),
            f"Adding {username}…",
            f"Added {username} ({full_name}, {role}). Give them the temporary password;"
            " they must change it at first sign-in.",
            "No user added.",
            username,
        )

    def _change_account(
        self, job: Callable[[], object], busy: str, success: str, failure: str, username: str
    ) -> None:
        """Run an account change in the background; then list the accounts again with
        ``username`` selected, or say why it was refused."""
        self.call(job, lambda _: self._reload_after(success, username), failure, busy)

    def _selected_or_say(self) -> tuple[Session, UserRecord] | None:
        session = self._session()
        if session is None:
            return None
        user = self.selected_user()
        if user is None:
            self.error("Tap an account in the list first.")
            return None
        return session, user

    def _reasoned_change(
        self,
        words: tuple[str, str, str],
        reasons: list[str],
        change: Callable[[Session, str, str], object],
        user: UserRecord,
        session: Session,
    ) -> None:
        """Ask why, then ``change(session, username, reason)``; ``words`` are the verb's
        forms, e.g. ('unlock', 'unlocking', 'unlocked')."""
        verb, doing, done = words
        name = user.username
        reason = self._ask_reason(f"Why {verb} {name}?", reasons)
        if not reason:
            return self.hint(f"{name} not {done}: cancelled.")
        self._change_account(
            lambda: change(session, name, reason),
            f"{doing.capitalize()} {name}…",
            f"{name} is {done}.",
            f"Not {done}.",
            name,
        )

    def unlock_selected(self) -> None:
        chosen = self._selected_or_say()
        if chosen is None:
            return
        session, user = chosen
        words = ("unlock", "unlocking", "unlocked")
        self._reasoned_change(words, UNLOCK_REASONS, self.users.unlock, user, session)

    def reset_selected(self) -> None:
        chosen = self._selected_or_say()
        if chosen is None:
            return
        session, user = chosen
        password = self._temporary_password(user.username, f"Reset password of {user.username}")
        if password is None:
            return self.hint(f"Password of {user.username} not reset: cancelled.")
        reason = self._ask_reason(f"Why reset the password of {user.username}?", RESET_REASONS)
        if not reason:
            return self.hint(f"Password of {user.username} not reset: cancelled.")
        self._change_account(
            lambda: self.users.reset_password(session, user.username, password, reason),
            f"Resetting the password of {user.username}…",
            f"The password of {user.username} is reset; they must change it at sign-in.",
            "Password not reset.",
            user.username,
        )

    def disable_selected(self) -> None:
        chosen = self._selected_or_say()
        if chosen is None:
            return
        session, user = chosen
        if not self._confirm(
            f"Disable {user.username}?",
            f"{user.full_name} will never be able to sign in again. Accounts are kept for"
            " the records and are never re-enabled or reused.",
            "Disable account",
        ):
            return self.hint(f"{user.username} not disabled: cancelled.")
        words = ("disable", "disabling", "disabled")
        self._reasoned_change(words, DISABLE_REASONS, self.users.disable, user, session)

    # ------------------------------------------------------------------ settings
    def change_setting(self, key: str) -> None:
        session = self._session()
        if session is None:
            return
        setting = SETTINGS[key]
        item = self.setting_values.get(key)
        current = item.value if item else setting.default
        if setting.key == "serial_port":
            self.call(
                list_serial_ports,
                lambda ports: self._ports_found(True, ports, str(current)),
                "",
                "Looking for serial ports…",
                on_error=lambda exc: self._ports_found(False, exc, str(current)),
            )
            return
        if setting.choices:
            options = [(choice, choice) for choice in setting.choices]
            picked = self._choose(setting.label, f"Now: {setting.show(current)}.", options)
            if picked is None:
                return self.hint(f"{setting.label} not changed: cancelled.")
            return self._confirm_setting(session, setting, current, picked)
        if setting.kind is bool:  # a duty rule: switched on or off, always with a reason
            return self._confirm_setting(session, setting, current, not current)
        answer = self._ask_number(setting, int(current))
        if answer is None:
            return self.hint(f"{setting.label} not changed: cancelled.")
        self._confirm_setting(session, setting, current, int(answer))

    def _ports_found(self, ok: bool, ports, current: str) -> None:
        session = self._session()
        if session is None:
            return
        setting = SETTINGS["serial_port"]
        options = [(SIMULATOR, "Simulator (demo)\nno instrument")]
        if ok:
            options += [(device, f"{device}\n{description}") for device, description in ports]
        options.append((TYPE_PORT, "Type a port name…\ne.g. /dev/ttyUSB0, COM3"))
        prompt = f"Now: {setting.show(current)}."
        if not ok:
            prompt += f" The ports could not be listed ({plain_sentence(ports)})"
        elif len(options) == 2:
            prompt += " No serial ports were found on this workstation."
        choice = self._choose("Instrument serial port", prompt, options)
        if choice is None:
            return self.hint(f"{setting.label} not changed: cancelled.")
        if choice == SIMULATOR:
            value = ""
        elif choice == TYPE_PORT:
            typed = self._ask_text(
                "Instrument serial port", "Port name or pyserial URL", initial=current
            )
            if typed is None:
                return self.hint(f"{setting.label} not changed: cancelled.")
            value = typed.strip()
        else:
            value = choice
        self._confirm_setting(session, setting, current, value)

    def _confirm_setting(
        self, session: Session, setting: Setting, old: int | str, new: int | str
    ) -> None:
        if new == old:
            return self.hint(f"{setting.label} stays {setting.show(old)}: nothing changed.")
        reason = self._ask_reason(
            f"Why change {setting.label} from {setting.show(old)} to {setting.show(new)}?",
            SETTING_REASONS,
        )
        if not reason:
            return self.hint(f"{setting.label} not changed: cancelled.")
        users, settings = self.users, self.settings

        def job() -> int | str:
            stored = settings.set(session, setting.key, new, reason)
            users.policy = settings.policy()  # account rules apply from now on
            return stored

        self.call(
            job,
            lambda value: self._reload_after(
                f"{setting.label} is now {setting.show(value)} (was {setting.show(old)})."
            ),
            f"{setting.label} not changed.",
            f"Saving {setting.label}…",
        )


READING = "Reading accounts and settings…"


def list_serial_ports() -> list[tuple[str, str]]:
    """(device, description) of the workstation's serial ports (pyserial)."""
    from serial.tools import list_ports

    return [(port.device, port.description or "") for port in sorted(list_ports.comports())]
