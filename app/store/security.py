"""Roles, the permission table, passwords and the security policy.

One table maps every protected action to the roles that may do it; the service layer
checks it (``require``) whatever the screens show. Passwords are stored only as
scrypt hashes (memory-hard, per-user salt).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from itertools import pairwise
from pathlib import Path


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

PERMISSION_WORDS: dict[Permission, str] = {
    Permission.RUN_OPERATE: "operate a run",
    Permission.RUN_ABORT: "stop or abort a run",
    Permission.RUN_RECOVER: "restart a run held by a fault",
    Permission.ALARM_ACKNOWLEDGE: "acknowledge alarms",
    Permission.ALARM_SHELVE: "shelve alarms",
    Permission.RECIPE_APPROVE: "approve or retire recipes",
    Permission.RECORD_REVIEW: "review and approve batch records",
    Permission.GOLDEN_SELECT: "choose golden bands",
    Permission.RECORD_EXPORT: "export records",
    Permission.AUDIT_READ: "read the audit trail",
    Permission.SERVICE_MODE: "use service mode",
    Permission.CALIBRATE: "calibrate the instrument",
    Permission.USER_ADMIN: "administer accounts",
    Permission.SETTINGS_ADMIN: "change site settings",
}
"""What each permission lets a person do, in words: a code name is never shown."""
assert set(PERMISSION_WORDS) == set(Permission), "every permission needs its words"


def allowed(role: Role, permission: Permission) -> bool:
    return role in PERMISSIONS[permission]


RULE_LETTERS_DIGITS = "letters and digits, or a passphrase of 4 words"
RULE_NOT_COMMON = "any characters, but not common or sequential"
PASSWORD_RULES = (RULE_LETTERS_DIGITS, RULE_NOT_COMMON)
"""The site's password rule (setting ``password_rule``). Both refuse common and
sequential passwords; the first (the default) also needs letters and digits, unless
the password is a passphrase."""


@dataclass(frozen=True)
class SecurityPolicy:
    """Account rules; a site may tighten them (settings issue)."""

    min_password_length: int = 10
    password_history: int = 5  # a new password may not be one of the last N
    password_max_age_days: int = 90
    max_failed_logins: int = 5
    inactivity_lock_minutes: float = 5.0
    password_rule: str = RULE_LETTERS_DIGITS  # one of PASSWORD_RULES
    passphrase_words: int = 4


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


def describe_policy(policy: SecurityPolicy) -> str:
    """The rules for a new password in a few words, for the screens that ask for one."""
    rule = f"at least {policy.min_password_length} characters, not containing the name"
    rule += ", not common or sequential"
    if policy.password_rule == RULE_LETTERS_DIGITS:
        rule += f"; letters and digits, or a passphrase of {policy.passphrase_words} words"
    return rule


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
    if _predictable(password):
        raise PasswordRejected(
            "a password may not be a run or a repeat of characters (like aaaa, 1234, abcd, qwerty)"
        )
    if is_common(password):
        raise PasswordRejected(
            "a password may not be a common password, nor a common one with digits or "
            "symbols added (like password12)"
        )
    if policy.password_rule == RULE_LETTERS_DIGITS and not _letters_and_digits(
        password, policy.passphrase_words
    ):
        raise PasswordRejected(
            "a password needs letters and digits, or must be a passphrase of at least "
            f"{policy.passphrase_words} words"
        )
    for old in previous_hashes[: policy.password_history]:
        if check_password(password, old):
            raise PasswordRejected(
                f"a password may not be one of the last {policy.password_history} used"
            )


# ---------------------------------------------------------------- guessable passwords
# Keyboard rows and columns (QWERTY, AZERTY, QWERTZ), the alphabet and the digits: two
# neighbours on any of these, either way round, are one "step" of a run.
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "`1234567890-=",
    "~!@#$%^&*()_+",
    "qwertyuiop[]",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "azertyuiop",
    "qsdfghjklm",
    "wxcvbn",
    "qwertzuiop",
    "yxcvbnm",
    *("1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik,", "9ol.", "0p;/"),
)
_STEPS = frozenset(
    pair for seq in _SEQUENCES for a, b in pairwise(seq) for pair in ((a, b), (b, a))
)
_LEET = str.maketrans("@4310$5!7", "aaeiosslt")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")  # digits and symbols before or after a word


def _predictable(password: str) -> bool:
    """A repeat (aaaa, abab, abcabc) or runs of neighbours (1234, abcd, qwerty, 4321,
    1qaz2wsx) with at most one break in six characters: guessed in the first seconds."""
    text = password.lower()
    if len(set(text)) <= 2:
        return True
    n = len(text)
    for period in range(1, n // 2 + 1):
        if all(text[i] == text[i - period] for i in range(period, n)):
            return True
    breaks = sum(1 for a, b in pairwise(text) if a != b and (a, b) not in _STEPS)
    return breaks <= n // 6


def common_passwords_file() -> Path:
    """The shipped list (resources/security): beside the packages, or where the
    bundle's resources are (``CELLDECK_RESOURCES``, as app.paths.resources_dir, which
    this layer may not import: it needs Qt)."""
    override = os.environ.get("CELLDECK_RESOURCES")
    root = Path(override) if override else Path(__file__).resolve().parents[2] / "resources"
    return root / "security" / "common-passwords.txt"


@cache
def _common() -> frozenset[str]:
    path = common_passwords_file()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:  # fail closed: no password passes an unread list
        raise PasswordRejected(
            f"passwords cannot be checked: the list of common passwords is missing ({path}); "
            "reinstall CellDeck"
        ) from exc
    return frozenset(line for line in lines if line and not line.startswith("#"))


def is_common(password: str) -> bool:
    """On the list as typed, or once digits and symbols around it are taken off and
    look-alike characters read as letters (password12, P@ssw0rd!, 2monkey2)."""
    text = password.lower()
    core = _EDGES.sub("", text)
    common = _common()
    return any(c in common for c in (text, core, core.translate(_LEET)) if c)


def _letters_and_digits(password: str, words: int) -> bool:
    """Letters and digits both, or a passphrase: ``words`` different words of two or
    more letters, apart by spaces or symbols."""
    if any(c.isalpha() for c in password) and any(c.isdigit() for c in password):
        return True
    found = {w.lower() for w in re.findall(r"[^\W\d_]{2,}", password)}
    return len(found) >= words
