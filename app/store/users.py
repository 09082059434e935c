"""Accounts, log-in, sessions and account administration (the service layer).

Every change to an account is a writer job that updates the account and appends its
audit entry in one transaction. Permissions are checked here, whatever the screens
show; refusals and failed log-ins are audited too.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from app.store.actor import AUTOMATION_ACCOUNTS
from app.store.audit import AuditEntry
from app.store.db import connect, utc_now
from app.store.security import (
    PERMISSION_WORDS,
    Permission,
    Role,
    SecurityPolicy,
    allowed,
    check_password,
    check_policy,
    hash_password,
)
from app.store.writer import StoreWriter, WriterContext

SYSTEM_ID, SYSTEM_NAME = "system", "CellDeck"
_DUMMY_HASH = hash_password("no account has this password")


class AuthError(Exception):
    """Log-in or re-authentication refused; the message is fit for the operator."""


class PermissionDenied(Exception):
    """The signed-in user's role may not do this."""


class SessionEnded(AuthError):
    """The account behind an open session was disabled, locked or given another role
    since it signed in: the session is over (the console shows the sign-in screen)."""


@dataclass
class Session:
    """A signed-in user. Locks itself after the policy's inactivity time."""

    user_id: int
    username: str
    full_name: str
    role: Role
    must_change_password: bool
    inactivity_s: float
    last_activity: float = field(default_factory=time.monotonic)
    locked: bool = False
    signed_once: bool = False  # first signing of a session needs user name + password
    ended: str = ""  # why the account no longer backs this session (SessionEnded)

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def check_inactivity(self, now: float | None = None) -> bool:
        """Lock if idle too long; True when the session is (now) locked."""
        now = time.monotonic() if now is None else now
        if not self.locked and now - self.last_activity >= self.inactivity_s:
            self.locked = True
            self.signed_once = False  # after a lock, signing needs the user name again
        return self.locked


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    full_name: str
    role: Role
    locked: bool
    disabled: bool
    must_change: bool
    password_changed_utc: str


def _parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class UserService:
    def __init__(
        self, writer: StoreWriter, db_path: str | Path, policy: SecurityPolicy | None = None
    ) -> None:
        self.writer = writer
        self.db_path = Path(db_path)
        self.policy = policy or SecurityPolicy()

    # ------------------------------------------------------------------ reading
    def _read(self) -> sqlite3.Connection:
        return connect(self.db_path, readonly=True)

    def _users(self, where: str = "", args: tuple = (), order_by: str = "username"):
        """Account rows as records, read with sqlite-utils on a reader connection."""
        conn = self._read()
        try:
            rows = list(Database(conn)["users"].rows_where(where or None, args, order_by=order_by))
        finally:
            conn.close()
        return [
            UserRecord(
                r["id"],
                r["username"],
                r["full_name"],
                Role(r["role"]),
                bool(r["locked"]),
                bool(r["disabled"]),
                bool(r["must_change"]),
                r["password_changed_utc"],
            )
            for r in rows
        ]

    def _find(self, username: str) -> UserRecord | None:
        found = self._users("username = ?", (username,))
        return found[0] if found else None

    def _password_hashes(self, user_id: int) -> list[str]:
        conn = self._read()
        try:
            current = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,))
            hashes = [current.fetchone()[0]]
            hashes += [
                r[0]
                for r in conn.execute(
                    "SELECT password_hash FROM password_history WHERE user_id = ? "
                    "ORDER BY rowid DESC",
                    (user_id,),
                )
            ]
        finally:
            conn.close()
        return hashes

    def has_users(self) -> bool:
        conn = self._read()
        try:
            return conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] > 0
        finally:
            conn.close()

    def login_tiles(self) -> list[tuple[str, str, Role]]:
        """(user name, printed name, role) of the accounts that can sign in, for the
        login screen's name tiles (nothing secret: the names are on the badges)."""
        return [
            (u.username, u.full_name, u.role)
            for u in self._users("disabled = 0", order_by="full_name")
            if u.username not in AUTOMATION_ACCOUNTS
        ]

    def list_users(self, session: Session) -> list[UserRecord]:
        self.require(session, Permission.USER_ADMIN, "users", "list")
        return self._users()

    # ------------------------------------------------------------------ authority
    def session_refusal(self, session: Session) -> tuple[str, str] | None:
        """(sentence for the person, audit note) when the account no longer backs the
        session: disabled, locked, or given another role since it signed in. One
        indexed read on a reader connection (well under a millisecond)."""
        conn = self._read()
        try:
            row = conn.execute(
                "SELECT role, disabled, locked FROM users WHERE id = ?", (session.user_id,)
            ).fetchone()
        finally:
            conn.close()
        if row is None or row[1]:
            return (
                "your account was disabled by an administrator: sign in again is not possible",
                "account disabled",
            )
        if row[2]:
            return (
                "your account was locked: an administrator must unlock it before you sign in",
                "account locked",
            )
        if row[0] != session.role.value:
            return (
                f"your role was changed from {session.role.value} to {row[0]}: sign in again",
                f"role changed: {session.role.value} -> {row[0]}",
            )
        return None

    def check_session(self, session: Session) -> None:
        """End the session (SessionEnded) when its account was disabled, locked or given
        another role: at once, not at the next log-in. Audited once, as
        ``session.ended``; the session stays ended."""
        if not session.ended:
            refusal = self.session_refusal(session)
            if refusal is None:
                return
            session.ended, note = refusal
            session.locked = True
            self._audit_session(session, "session.ended", note)
        raise SessionEnded(session.ended)

    def require(
        self, session: Session, permission: Permission, object_type: str, object_id: str
    ) -> None:
        """Refuse (and audit the attempt) unless the session's role has the permission
        and the session is usable."""
        self.check_session(session)
        if session.locked or session.check_inactivity():
            raise AuthError("the session is locked: enter your password to continue")
        if session.must_change_password:
            raise AuthError("change your password before going on")
        if allowed(session.role, permission):
            session.touch()
            return
        self.writer.record(
            AuditEntry(
                str(session.user_id),
                session.full_name,
                "permission.denied",
                object_type,
                object_id,
                new_value=permission.value,
            )
        )
        raise PermissionDenied(
            f"{session.full_name} ({session.role.value}) may not "
            f"{PERMISSION_WORDS[permission]}"
        )

    # ------------------------------------------------------------------ log-in
    def login(self, username: str, password: str) -> Session:
        """Check the credentials; failed attempts count toward the lockout."""
        user = self._find(username)
        if user is None:
            check_password(password, _DUMMY_HASH)  # as slow as a real check: no probing
            self.writer.record(
                AuditEntry(
                    SYSTEM_ID,
                    SYSTEM_NAME,
                    "login.failed",
                    "user",
                    username,
                    new_value="unknown user",
                )
            )
            raise AuthError("user name or password not recognised")
        if not check_password(password, self._password_hashes(user.id)[0]):
            # the password is checked first: a wrong one says nothing about the account
            if user.disabled or user.locked:
                self._audit_user(user, "login.failed", "wrong password (account unusable)")
                raise AuthError("user name or password not recognised")
            locked = self.writer.call(lambda ctx: self._count_failure(ctx, user))
            if locked:
                raise AuthError("too many failed attempts: the account is now locked")
            raise AuthError("user name or password not recognised")
        if user.disabled:
            self._audit_user(user, "login.refused", "account disabled")
            raise AuthError("this account is disabled")
        if user.locked:
            self._audit_user(user, "login.refused", "account locked")
            raise AuthError("this account is locked: ask an administrator to unlock it")
        expired = _parse_utc(user.password_changed_utc) + timedelta(
            days=self.policy.password_max_age_days
        ) < datetime.now(UTC)
        self.writer.call(lambda ctx: self._login_ok(ctx, user, expired))
        return Session(
            user.id,
            user.username,
            user.full_name,
            user.role,
            user.must_change or expired,
            self.policy.inactivity_lock_minutes * 60,
        )

    def _count_failure(self, ctx: WriterContext, user: UserRecord) -> bool:
        failures = ctx.conn.execute(
            "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = ? "
            "RETURNING failed_attempts",
            (user.id,),
        ).fetchone()[0]
        ctx.audit.append(
            AuditEntry(
                str(user.id),
                user.full_name,
                "login.failed",
                "user",
                user.username,
                new_value=f"attempt {failures}",
            )
        )
        if failures >= self.policy.max_failed_logins:
            ctx.conn.execute(  # audit_id: the account.locked entry appended next
                "UPDATE users SET locked = 1,"
                " audit_id = (SELECT COALESCE(MAX(id), 0) + 1 FROM audit) WHERE id = ?",
                (user.id,),
            )
            ctx.audit.append(
                AuditEntry(
                    SYSTEM_ID,
                    SYSTEM_NAME,
                    "account.locked",
                    "user",
                    user.username,
                    old_value="unlocked",
                    new_value="locked",
                    reason=f"{failures} failed log-in attempts",
                )
            )
            return True
        return False

    def _login_ok(self, ctx: WriterContext, user: UserRecord, expired: bool) -> None:
        ctx.conn.execute("UPDATE users SET failed_attempts = 0 WHERE id = ?", (user.id,))
        note = (
            "password expired"
            if expired
            else ("must change password" if user.must_change else None)
        )
        ctx.audit.append(
            AuditEntry(str(user.id), user.full_name, "login", "user", user.username, new_value=note)
        )

    def reauthenticate(self, session: Session, password: str, username: str | None = None) -> None:
        """Password again (and the user name too when ``username`` is given): to unlock
        an idle session or to sign. Wrong passwords count toward the lockout here too,
        and a session whose account was disabled, locked or given another role
        meanwhile has ended (SessionEnded)."""
        if username is not None and username.lower() != session.username.lower():
            self._audit_session(session, "reauth.failed", "user name does not match")
            raise AuthError("that is not the signed-in user")
        self.check_session(session)  # disabled, locked or another role since log-in
        user = self._existing(session.username)
        if not check_password(password, self._password_hashes(session.user_id)[0]):
            if self.writer.call(lambda ctx: self._count_failure(ctx, user)):
                session.locked = True
                raise AuthError("too many failed attempts: the account is now locked")
            raise AuthError("password not recognised")
        if user.id and self._failed_attempts(user.id):
            self.writer.call(
                lambda ctx: ctx.conn.execute(
                    "UPDATE users SET failed_attempts = 0 WHERE id = ?", (user.id,)
                )
            )
        session.locked = False
        session.touch()

    def _failed_attempts(self, user_id: int) -> int:
        conn = self._read()
        try:
            row = conn.execute("SELECT failed_attempts FROM users WHERE id = ?", (user_id,))
            return int(row.fetchone()[0])
        finally:
            conn.close()

    def logout(self, session: Session) -> None:
        self._audit_session(session, "logout", None)

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

    def _existing(self, username: str) -> UserRecord:
        user = self._find(username)
        if user is None:
            raise ValueError(f"no user {username!r}")
        return user

    # ------------------------------------------------------------------ audit helpers
    def _audit_user(self, user: UserRecord, action: str, note: str | None) -> None:
        self.writer.record(
            AuditEntry(str(user.id), user.full_name, action, "user", user.username, new_value=note)
        )

    def _audit_session(self, session: Session, action: str, note: str | None) -> None:
        self.writer.record(
            AuditEntry(
                str(session.user_id),
                session.full_name,
                action,
                "user",
                session.username,
                new_value=note,
            )
        )
