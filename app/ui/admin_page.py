"""Administration for administrators: accounts (add, unlock, reset the password,
disable) and the site settings (account rules, the instrument's serial port).

Every change goes through UserService or SettingsService, which check the permission,
need a reason and write the audit trail; this screen collects the answers with the
on-screen keyboard dialogs (opened in small ``_ask_*`` methods so tests can answer
them) and shows the outcome as a sentence. Reads and writes run in ``Background``,
never on the GUI thread.

The page is put together from one part per job, each in its own module: the accounts
(``admin_accounts``) and the settings (``admin_settings``).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QFrame, QHBoxLayout, QLabel, QVBoxLayout

from app.store.security import SecurityPolicy
from app.store.settings import SettingsService, SettingValue
from app.store.users import Session, UserRecord, UserService
from app.ui import dialogs
from app.ui.admin_accounts import AdminAccounts
from app.ui.admin_settings import AdminSettings
from app.ui.background import Background
from app.ui.page_kit import RecordsPage
from app.ui.tile_choice import TileChoiceDialog

READING = "Reading accounts and settings…"


class AdminPage(AdminAccounts, AdminSettings, RecordsPage):
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
        self._show_accounts()
        self._show_settings()
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

    # ------------------------------------------------------------------ dialogs
    def _confirm(self, title: str, message: str, confirm_text: str) -> bool:
        return dialogs.confirm(self, title, message, confirm_text, danger=True)

    def _choose(self, title: str, prompt: str, options: list[tuple[str, str]]) -> str | None:
        dialog = TileChoiceDialog(title, prompt, options, self)
        try:
            return dialog.value() if dialog.exec() == QDialog.DialogCode.Accepted.value else None
        finally:
            dialog.deleteLater()
