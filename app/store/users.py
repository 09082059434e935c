"""Accounts: passwords and account administration (the service layer).

Every change to an account is a writer job that updates the account and appends its
audit entry in one transaction. Permissions are checked here, whatever the screens
show; refusals and failed log-ins are audited too. Sessions, log-in and the permission
check live in ``app/store/sessions.py``; their names are importable from here too.
"""

from __future__ import annotations

import secrets

from app.store.actor import AUTOMATION_ACCOUNTS
from app.store.audit import AuditEntry
from app.store.db import utc_now
from app.store.security import Permission, Role, check_policy, hash_password
from app.store.sessions import (
    SYSTEM_ID,
    SYSTEM_NAME,
    AuthError,
    PermissionDenied,
    Session,
    SessionEnded,
    SignInService,
    UserRecord,
)
from app.store.writer import WriterContext

__all__ = [
    "SYSTEM_ID",
    "SYSTEM_NAME",
    "AuthError",
    "PermissionDenied",
    "Session",
    "SessionEnded",
    "UserRecord",
    "UserService",
]


class UserService(SignInService):
    """Sign-in (``SignInService``) plus changes to accounts: passwords, adding,
    disabling and unlocking accounts, the first administrator, demo and automation
    accounts."""

    def list_users(self, session: Session) -> list[UserRecord]:
        self.require(session, Permission.USER_ADMIN, "users", "list")
        return self._users()

    # ------------------------------------------------------------------ passwords
    def change_password(self, session: Session, old: str, new: str) -> None:
        self.reauthenticate(session, old)
        check_policy(self.policy, session.username, new, self._password_hashes(session.user_id))
        new_hash = hash_password(new)
        self.writer.call(
            lambda ctx: self._set_password(
                ctx,
                session.user_id,
                new_hash,
                False,
                str(session.user_id),
                session.full_name,
                session.username,
                "password changed",
            )
        )
        session.must_change_password = False

    def _set_password(
        self,
        ctx: WriterContext,
        user_id: int,
        new_hash: str,
        must_change: bool,
        actor_id: str,
        actor_name: str,
        username: str,
        reason: str,
    ) -> None:
        old_hash = ctx.conn.execute(
            "SELECT password_hash FROM users WHERE id = ?", (user_id,)
        ).fetchone()[0]
        ctx.conn.execute(
            "INSERT INTO password_history (user_id, password_hash, set_utc) VALUES (?, ?, ?)",
            (user_id, old_hash, utc_now()),
        )
        ctx.conn.execute(
            "UPDATE users SET password_hash = ?, password_changed_utc = ?, must_change = ?, "
            "failed_attempts = 0, audit_id = (SELECT COALESCE(MAX(id), 0) + 1 FROM audit)"
            " WHERE id = ?",
            (new_hash, utc_now(), int(must_change), user_id),
        )
        ctx.audit.append(
            AuditEntry(
                actor_id,
                actor_name,
                "user.password",
                "user",
                username,
                new_value="temporary" if must_change else "changed",
                reason=reason,
            )
        )

    # ------------------------------------------------------------------ administration
    def has_administrator(self) -> bool:
        """An enabled administrator who is a person exists (the headless runner's
        automation accounts and other roles do not count): ``users init`` is refused."""
        admins = self._users("role = ? AND disabled = 0", (Role.ADMINISTRATOR.value,))
        return any(u.username not in AUTOMATION_ACCOUNTS for u in admins)

    def create_first_administrator(self, username: str, full_name: str, password: str) -> None:
        """First start of a fresh install, or a folder with no enabled administrator
        (only automation or other accounts); refused once an administrator exists."""
        if self.has_administrator():
            raise PermissionDenied("an administrator already exists: sign in as one")
        if self._find(username) is not None:
            raise ValueError(f"user name {username!r} is taken (accounts are never reused)")
        check_policy(self.policy, username, password, [])
        reason = (
            "first administrator of an installation with no enabled administrator"
            if self.has_users()
            else "first administrator of a new installation"
        )
        self.writer.call(
            lambda ctx: self._insert_user(
                ctx,
                username,
                full_name,
                Role.ADMINISTRATOR,
                hash_password(password),
                False,
                SYSTEM_ID,
                SYSTEM_NAME,
                reason,
            )
        )

    def create_demo_accounts(self, password: str) -> list[str]:
        """Demo data folder only: one account per role, all with ``password``, no forced
        change. Refused once any account exists."""
        if self.has_users():
            raise PermissionDenied("demo accounts go only into an empty demo folder")
        names = []
        for role in Role:
            username = "admin" if role is Role.ADMINISTRATOR else role.value
            full_name = f"Demo {role.value.title()}"
            password_hash = hash_password(password)
            self.writer.call(
                lambda ctx, u=username, f=full_name, r=role, h=password_hash: self._insert_user(
                    ctx, u, f, r, h, False, SYSTEM_ID, SYSTEM_NAME, "demo account"
                )
            )
            names.append(username)
        return names

    def automation_session(self, username: str, full_name: str) -> tuple[Session, str]:
        """The headless runner's identity (role supervisor), clearly named as automation:
        created if missing, given a fresh random password known only to this process
        (audited), and signed in. Every act under it is recorded as automated."""
        password = "auto-" + secrets.token_urlsafe(24)
        password_hash = hash_password(password)
        user = self._find(username)
        if user is None:
            self.writer.call(
                lambda ctx: self._insert_user(
                    ctx,
                    username,
                    full_name,
                    Role.SUPERVISOR,
                    password_hash,
                    False,
                    SYSTEM_ID,
                    SYSTEM_NAME,
                    "automation identity for headless runs",
                )
            )
        else:
            if user.disabled:
                raise AuthError(f"the automation account {username} is disabled")
            self.writer.call(
                lambda ctx: self._set_password(
                    ctx,
                    user.id,
                    password_hash,
                    False,
                    SYSTEM_ID,
                    SYSTEM_NAME,
                    username,
                    "automation credentials renewed for a headless run",
                )
            )
        return self.login(username, password), password

    def add_user(
        self,
        session: Session,
        username: str,
        full_name: str,
        role: Role,
        temporary_password: str,
        reason: str,
    ) -> None:
        self.require(session, Permission.USER_ADMIN, "user", username)
        if not username.strip() or not full_name.strip():
            raise ValueError("a user needs a user name and a printed name")
        if self._find(username) is not None:
            raise ValueError(f"user name {username!r} is taken (accounts are never reused)")
        check_policy(self.policy, username, temporary_password, [])
        self.writer.call(
            lambda ctx: self._insert_user(
                ctx,
                username,
                full_name,
                role,
                hash_password(temporary_password),
                True,
                str(session.user_id),
                session.full_name,
                reason,
            )
        )

    def _insert_user(
        self,
        ctx: WriterContext,
        username: str,
        full_name: str,
        role: Role,
        password_hash: str,
        must_change: bool,
        actor_id: str,
        actor_name: str,
        reason: str,
    ) -> None:
        now = utc_now()
        ctx.conn.execute(
            "INSERT INTO users (username, full_name, role, password_hash, password_changed_utc,"
            " must_change, created_utc, audit_id) VALUES (?, ?, ?, ?, ?, ?, ?,"
            " (SELECT COALESCE(MAX(id), 0) + 1 FROM audit))",
            (username, full_name, role.value, password_hash, now, int(must_change), now),
        )
        ctx.audit.append(
            AuditEntry(
                actor_id,
                actor_name,
                "user.add",
                "user",
                username,
                new_value=f"{full_name}; {role.value}",
                reason=reason,
                reason_required=True,
            )
        )

    def disable(self, session: Session, username: str, reason: str) -> None:
        self._admin_flag(session, username, "disabled", 1, "user.disable", reason)

    def unlock(self, session: Session, username: str, reason: str) -> None:
        self._admin_flag(session, username, "locked", 0, "user.unlock", reason)

    def reset_password(
        self, session: Session, username: str, temporary_password: str, reason: str
    ) -> None:
        self.require(session, Permission.USER_ADMIN, "user", username)
        user = self._existing(username)
        check_policy(self.policy, username, temporary_password, self._password_hashes(user.id))
        new_hash = hash_password(temporary_password)
        self.writer.call(
            lambda ctx: self._set_password(
                ctx,
                user.id,
                new_hash,
                True,
                str(session.user_id),
                session.full_name,
                username,
                reason,
            )
        )

    def _admin_flag(
        self, session: Session, username: str, column: str, value: int, action: str, reason: str
    ) -> None:
        self.require(session, Permission.USER_ADMIN, "user", username)
        user = self._existing(username)
        if user.id == session.user_id and column == "disabled":
            raise ValueError("an administrator may not disable their own account")

        def job(ctx: WriterContext) -> None:
            old = ctx.conn.execute(
                f"SELECT {column} FROM users WHERE id = ?", (user.id,)
            ).fetchone()[0]
            ctx.conn.execute(
                f"UPDATE users SET {column} = ?, failed_attempts = 0,"
                " audit_id = (SELECT COALESCE(MAX(id), 0) + 1 FROM audit) WHERE id = ?",
                (value, user.id),
            )
            ctx.audit.append(
                AuditEntry(
                    str(session.user_id),
                    session.full_name,
                    action,
                    "user",
                    username,
                    old_value=f"{column}={old}",
                    new_value=f"{column}={value}",
                    reason=reason,
                    reason_required=True,
                )
            )

        self.writer.call(job)
