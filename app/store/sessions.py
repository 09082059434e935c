"""Sessions and sign-in (the service layer): who is signed in, and may they do this.

Log-in, re-authentication (to unlock an idle session or to sign), log-out, the session
that ends at once when its account is disabled, locked or given another role, and the
permission check every procedure makes (``require``). Failed log-ins and refusals are
audited; wrong passwords count toward the lockout. Account administration (adding,
disabling, unlocking accounts, passwords) builds on this in ``app/store/users.py``.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from app.store.actor import AUTOMATION_ACCOUNTS
from app.store.audit import AuditEntry
from app.store.db import connect
from app.store.security import (
    PERMISSION_WORDS,
    Permission,
    Role,
    SecurityPolicy,
    allowed,
    check_password,
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


class SignInService:
    """Reading accounts, sessions and their authority, log-in and log-out.
    ``UserService`` (app/store/users.py) adds account administration."""

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
