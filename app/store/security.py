"""Roles, the permission table, passwords and the security policy.

One table maps every protected action to the roles that may do it; the service layer
checks it (``require``) whatever the screens show. Passwords are stored only as
scrypt hashes (memory-hard, per-user salt).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    SERVICE = "service"
    ADMINISTRATOR = "administrator"


class Permission(StrEnum):
    RUN_OPERATE = "run.operate"  # start, hold, resume, answer prompts, change set-points
    RUN_ABORT = "run.abort"
    RUN_RECOVER = "run.recover"  # restart a run held by an interlock, alarm, link loss
    ALARM_ACKNOWLEDGE = "alarm.acknowledge"
    ALARM_SHELVE = "alarm.shelve"
    RECIPE_APPROVE = "recipe.approve"
    RECORD_REVIEW = "record.review"  # review and sign batch records
    GOLDEN_SELECT = "golden.select"  # pick the runs a recipe's golden band is built from
    RECORD_EXPORT = "record.export"
    AUDIT_READ = "audit.read"
    SERVICE_MODE = "service.mode"
    CALIBRATE = "instrument.calibrate"
    USER_ADMIN = "user.admin"  # add, disable, unlock, reset passwords
    SETTINGS_ADMIN = "settings.admin"


_ALL = frozenset(Role)
PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.RUN_OPERATE: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    Permission.RUN_ABORT: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    Permission.RUN_RECOVER: frozenset({Role.SUPERVISOR}),
    Permission.ALARM_ACKNOWLEDGE: frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.SERVICE}),
    Permission.ALARM_SHELVE: frozenset({Role.SUPERVISOR}),
    Permission.RECIPE_APPROVE: frozenset({Role.SUPERVISOR}),
    Permission.RECORD_REVIEW: frozenset({Role.SUPERVISOR}),
    Permission.GOLDEN_SELECT: frozenset({Role.SUPERVISOR}),
    Permission.RECORD_EXPORT: frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR}),
    Permission.AUDIT_READ: frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR}),
    Permission.SERVICE_MODE: frozenset({Role.SERVICE}),
    Permission.CALIBRATE: frozenset({Role.SERVICE}),
    Permission.USER_ADMIN: frozenset({Role.ADMINISTRATOR}),
    Permission.SETTINGS_ADMIN: frozenset({Role.ADMINISTRATOR}),
}
assert set(PERMISSIONS) == set(Permission), "every permission needs its roles"


def allowed(role: Role, permission: Permission) -> bool:
    return role in PERMISSIONS[permission]


@dataclass(frozen=True)
class SecurityPolicy:
    """Account rules; a site may tighten them (settings issue)."""

    min_password_length: int = 10
    password_history: int = 5  # a new password may not be one of the last N
    password_max_age_days: int = 90
    max_failed_logins: int = 5
    inactivity_lock_minutes: float = 5.0


class PasswordRejected(ValueError):
    """A new password that breaks the policy; the message says which rule."""


# scrypt cost: 16 MiB of memory and ~50 ms per check, slow for guessing, fine for people
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LEN
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest_hex) // 2,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def check_policy(
    policy: SecurityPolicy, username: str, password: str, previous_hashes: list[str]
) -> None:
    """Raise PasswordRejected naming the rule a new password breaks."""
    if len(password) < policy.min_password_length:
        raise PasswordRejected(f"a password needs at least {policy.min_password_length} characters")
    if username.lower() in password.lower():
        raise PasswordRejected("a password may not contain the user name")
    if password.strip() != password:
        raise PasswordRejected("a password may not start or end with a space")
    for old in previous_hashes[: policy.password_history]:
        if check_password(password, old):
            raise PasswordRejected(
                f"a password may not be one of the last {policy.password_history} used"
            )
