"""Site settings: account rules and the instrument's serial port, kept in the records.

Each setting has a type and, for numbers, a range; a value outside it is refused with
a sentence saying what is allowed, and nothing changes. Only an administrator
(``settings.admin``) changes a setting, always with a reason; the change and its audit
entry (old and new value) commit together. A setting never changed has its default,
which for the account rules is ``SecurityPolicy``'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.store.audit import AuditEntry
from app.store.db import connect, utc_now
from app.store.security import PASSWORD_RULES, Permission, SecurityPolicy
from app.store.users import Session, UserService
from app.store.writer import StoreWriter, WriterContext

log = logging.getLogger(__name__)

Value = int | str
_POLICY = SecurityPolicy()
MAX_TEXT = 200


@dataclass(frozen=True)
class Setting:
    """What a setting is: its key, how people call it, its type and allowed values."""

    key: str
    label: str
    kind: type  # int, str or bool (a rule that is on or off)
    default: Value
    low: int | None = None
    high: int | None = None
    unit: str = ""
    help: str = ""
    choices: tuple[str, ...] = ()  # a text setting that takes one of these only

    def allowed(self) -> str:
        """'1 to 60 minutes', or 'text' for a free-text setting."""
        if self.choices:
            return "one of: " + "; ".join(self.choices)
        if self.kind is bool:
            return "on or off"
        if self.kind is int:
            return f"{self.low} to {self.high} {self.unit}".rstrip()
        if self.key == "serial_port":
            return "empty: the simulator"
        return "text (may be empty)"

    def show(self, value: Value) -> str:
        """A value as an administrator reads it: '5 minutes', 'simulator (demo)'."""
        if self.kind is bool:
            return "on" if value else "off"
        if self.kind is int:
            return f"{value} {self.unit}".rstrip()
        if self.key == "serial_port" and not value:
            return "simulator (demo)"
        return str(value)


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "inactivity_lock_minutes",
            "Inactivity lock",
            int,
            int(_POLICY.inactivity_lock_minutes),
            1,
            60,
            "minutes",
            "An idle session locks after this long; the password unlocks it.",
        ),
        Setting(
            "min_password_length",
            "Shortest password",
            int,
            _POLICY.min_password_length,
            8,
            64,
            "characters",
            "New and temporary passwords need at least this many characters.",
        ),
        Setting(
            "password_max_age_days",
            "Password lifetime",
            int,
            _POLICY.password_max_age_days,
            30,
            365,
            "days",
            "A password older than this must be changed at the next log-in.",
        ),
        Setting(
            "max_failed_logins",
            "Failed log-ins before lock",
            int,
            _POLICY.max_failed_logins,
            3,
            10,
            "attempts",
            "This many wrong passwords in a row lock the account.",
        ),
        Setting(
            "serial_port",
            "Instrument serial port",
            str,
            "",
            help="The port the instrument is on; empty runs the simulator (demo).",
        ),
        Setting(
            "password_rule",
            "Password rule",
            str,
            _POLICY.password_rule,
            help="Common and sequential passwords are always refused; the default rule "
            "also needs letters and digits, or a passphrase of 4 words.",
            choices=PASSWORD_RULES,
        ),
        # Duties kept apart (app/store/signing.py): on unless an administrator decides
        # otherwise, with a reason, in the audit trail.
        Setting(
            "duty_step_verifier",
            "Second person verifies a step",
            bool,
            True,
            help="The person who performed a step may not also verify it.",
        ),
        Setting(
            "duty_batch_review",
            "Independent batch review",
            bool,
            True,
            help="The reviewer of a batch record signed none of its steps and does"
            " not also approve it.",
        ),
        Setting(
            "duty_recipe_approval",
            "Recipe approved by another",
            bool,
            True,
            help="The person who imported a recipe version may not approve it.",
        ),
    )
}
ON_WORDS = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


def validate(key: str, value: object) -> Value:
    """The value as stored for ``key``, or ValueError saying what is allowed."""
    setting = SETTINGS.get(key)
    if setting is None:
        raise ValueError(f"there is no setting {key!r} (known: {', '.join(SETTINGS)})")
    if setting.kind is bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word not in ON_WORDS:
            raise ValueError(f"{setting.label} must be on or off, not {value!r}")
        return ON_WORDS[word]
    if setting.kind is int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            number = int(value.strip())
        if number is None:
            raise ValueError(
                f"{setting.label} must be a whole number of {setting.unit}, not {value!r}"
            )
        assert setting.low is not None and setting.high is not None
        if not setting.low <= number <= setting.high:
            raise ValueError(
                f"{setting.label} must be {setting.allowed()}: {number} is outside that range"
            )
        return number
    if not isinstance(value, str):
        raise ValueError(f"{setting.label} must be text, not {value!r}")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"{setting.label} may be at most {MAX_TEXT} characters long")
    if any(not ch.isprintable() for ch in text):
        raise ValueError(f"{setting.label} may not contain control characters")
    if setting.choices and text not in setting.choices:
        raise ValueError(f"{setting.label} must be {setting.allowed()}: not {text!r}")
    return text


@dataclass(frozen=True)
class SettingValue:
    """A setting as it stands: its value and who changed it last (None: the default)."""

    setting: Setting
    value: Value
    changed_utc: str | None
    changed_by: str | None


class SettingsService:
    def __init__(
        self, writer: StoreWriter, db_path: str | Path, users: UserService | None = None
    ) -> None:
        self.writer = writer
        self.db_path = Path(db_path)
        # only for the authority check (require audits a refusal through the writer)
        self.users = users or UserService(writer, db_path)

    # ------------------------------------------------------------------ reading
    def _stored(self) -> dict[str, tuple[str, str, str]]:
        conn = connect(self.db_path, readonly=True)
        try:
            rows = conn.execute("SELECT key, value, changed_utc, changed_by FROM settings")
            return {key: (value, utc, by) for key, value, utc, by in rows}
        finally:
            conn.close()

    def current(self) -> list[SettingValue]:
        """Every setting in display order, with its value and last change."""
        stored = self._stored()
        result = []
        for key, setting in SETTINGS.items():
            if key not in stored:
                result.append(SettingValue(setting, setting.default, None, None))
                continue
            text, utc, by = stored[key]
            try:
                value = validate(key, text)
            except ValueError as exc:  # written by hand outside CellDeck: not trusted
                log.error("setting %s holds %r (%s): using the default", key, text, exc)
                value = setting.default
            result.append(SettingValue(setting, value, utc, by))
        return result

    def get_all(self) -> dict[str, Value]:
        return {item.setting.key: item.value for item in self.current()}

    def get(self, key: str) -> Value:
        if key not in SETTINGS:
            raise ValueError(f"there is no setting {key!r}")
        return self.get_all()[key]

    def policy(self) -> SecurityPolicy:
        """The account rules as the site has set them (defaults where never set)."""
        values = self.get_all()
        return SecurityPolicy(
            min_password_length=int(values["min_password_length"]),
            password_history=_POLICY.password_history,
            password_max_age_days=int(values["password_max_age_days"]),
            max_failed_logins=int(values["max_failed_logins"]),
            inactivity_lock_minutes=float(values["inactivity_lock_minutes"]),
            password_rule=str(values["password_rule"]),
        )

    # ------------------------------------------------------------------ changing
    def set(self, session: Session, key: str, value: object, reason: str) -> Value:
        """Change one setting (administrators only, with a reason); returns the value
        stored. Audited as ``setting.change`` with old and new value."""
        self.users.require(session, Permission.SETTINGS_ADMIN, "setting", key)
        new = validate(key, value)
        if not reason or not reason.strip():
            raise ValueError(f"changing {SETTINGS[key].label} needs a reason")
        setting = SETTINGS[key]

        def job(ctx: WriterContext) -> Value:
            row = ctx.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            old: Value = setting.default
            if row is not None:
                try:
                    old = validate(key, row[0])
                except ValueError:
                    old = row[0]  # recorded as it was found
            if old == new:
                raise ValueError(f"{setting.label} is already {setting.show(new)}: nothing changed")
            ctx.conn.execute(
                "INSERT INTO settings (key, value, changed_utc, changed_by) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                " changed_utc = excluded.changed_utc, changed_by = excluded.changed_by",
                (key, str(new), utc_now(), session.full_name),
            )
            ctx.audit.append(
                AuditEntry(
                    str(session.user_id),
                    session.full_name,
                    "setting.change",
                    "setting",
                    key,
                    old_value=str(old),
                    new_value=str(new),
                    reason=reason.strip(),
                    reason_required=True,
                )
            )
            return new

        return self.writer.call(job)


def stored_serial_port(data_dir: str | Path) -> str:
    """The serial port the site set (Admin > Settings), read before the console opens
    its records: "" when none is set or the data folder has no database yet."""
    import sqlite3
    from contextlib import closing

    from app.store.db import DB_NAME, connect

    path = Path(data_dir) / DB_NAME
    if not path.exists():
        return ""
    try:
        with closing(connect(path, readonly=True)) as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = 'serial_port'").fetchone()
    except sqlite3.Error:  # an older file without the settings table: nothing set
        return ""
    return str(row[0]).strip() if row and row[0] else ""
