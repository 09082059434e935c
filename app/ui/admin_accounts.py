"""The administrators' accounts panel: the list of accounts, and adding a user,
unlocking, resetting a password and disabling, each with a reason.

A part of ``AdminPage`` (app/ui/admin_page.py), mixed into it: it uses the page's
``call``, ``hint``, ``error``, ``busy``, ``_session``, ``_panel``, ``_reload_after`` and
the dialog methods ``_ask_text``, ``_ask_reason``, ``_choose`` and ``_confirm`` (which
tests answer), and the page's ``users``, ``accounts`` and ``policy``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QFrame, QTableWidgetItem

from app.store.security import (
    PasswordRejected,
    Role,
    SecurityPolicy,
    check_policy,
    describe_policy,
)
from app.store.users import Session, UserRecord
from app.ui import theme
from app.ui.page_kit import button_row, plain_sentence, text_label, touch_button, touch_table

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


class AdminAccounts:
    """The accounts panel of ``AdminPage`` (left)."""

    USER_COLUMNS = ("User name", "Name", "Role", "Account", "Password expires")

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

    def _show_accounts(self) -> None:
        """Fill the table from ``accounts`` (just read)."""
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
