"""Calibration records: what was written to which instrument's channel, by whom, from
which points, and when it falls due.

A calibration is stored only when it is plausible (app/service/calibration.py), only by
a role with ``instrument.calibrate``, and only under the engineer's electronic signature
(meaning "performed", password re-entered): the row, its ``calibration.write`` audit
entry (old and new coefficients, the figure as the reason) and the signature commit in
one transaction. Rows are append-only (migration 8); the newest row per channel is the
calibration in force, and its due date is what the pre-start check holds a run to.

Writing the coefficients to the instrument is the service screen's job, through the
hardware thread, before it calls ``record``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from app.store.audit import AuditEntry
from app.store.security import Permission
from app.store.signatures import Meaning, Signature, SignatureService
from app.store.signed_rows import insert_signed, read_signed, signature_holds
from app.store.users import Session, UserService
from app.store.writer import StoreWriter, WriterContext
from hardware.protocol import CHANNEL_LABELS, LOAD_CELLS

UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # as app.store.db.utc_now writes it

# How long a calibration holds, per channel, unless the engineer sets another interval:
# pH electrodes drift within weeks, DO membranes too; load cells hold their span for
# months; a Pt100 barely drifts. Sites tighten these under their own SOPs.
DUE_DAYS: dict[str, int] = {"ph": 30, "do": 30, "temp": 365, **{w: 180 for w in LOAD_CELLS}}
DEFAULT_DUE_DAYS = 365  # co2, pressure and anything else
DUE_DAYS_RANGE = (1, 3650)  # a day to ten years: anything else is a typing mistake

COLUMNS = (
    "instrument_serial",
    "channel",
    "method",
    "gain",
    "offset",
    "old_gain",
    "old_offset",
    "figure",
    "figure_text",
    "details",
    "performed_utc",
    "due_utc",
    "user_id",
    "user_name",
)


def default_due_days(channel: str) -> int:
    return DUE_DAYS.get(channel, DEFAULT_DUE_DAYS)


def parse_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_content(values: dict) -> str:
    """The signed content of a calibration: its fields (``COLUMNS``) as canonical JSON,
    so a row changed behind the triggers' back no longer matches its signature."""
    return json.dumps({k: values[k] for k in COLUMNS}, sort_keys=True, separators=(",", ":"))


class CalibrationOutcome(Protocol):
    """What ``CalibrationService.record`` stores of a calibration: the fields of
    app/service/calibration.py's ``CalibrationResult`` (the math lives above the store;
    the store only keeps its outcome)."""

    channel: str
    method: str
    gain: float
    offset: float
    old_gain: float
    old_offset: float
    figure: float
    figure_text: str

    @property
    def plausible(self) -> bool: ...

    @property
    def refusal(self) -> str: ...

    @property
    def reason(self) -> str: ...

    def details(self) -> dict: ...


@dataclass(frozen=True)
class CalibrationRecord:
    """One stored calibration."""

    id: int
    instrument_serial: str
    channel: str
    method: str
    gain: float
    offset: float
    old_gain: float
    old_offset: float
    figure: float
    figure_text: str
    details: dict
    performed_utc: str
    due_utc: str
    user_id: int
    user_name: str
    content_hash: str
    signature_id: int
    audit_id: int
    signature_valid: bool  # the row still hashes to what its signature signed

    @property
    def label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)

    @property
    def due(self) -> datetime:
        return parse_utc(self.due_utc)

    def expired(self, now: datetime | None = None) -> bool:
        """True once the due date has passed."""
        return (now or datetime.now(UTC)) > self.due


class CalibrationService:
    """Stores calibrations through the single writer; reads on reader connections."""

    def __init__(
        self,
        writer: StoreWriter,
        db_path: str | Path,
        users: UserService,
        signatures: SignatureService | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.writer = writer
        self.db_path = Path(db_path)
        self.users = users
        self.signatures = signatures or SignatureService(users, db_path)
        self.clock = clock or (lambda: datetime.now(UTC))

    def record(
        self,
        session: Session,
        password: str,
        result: CalibrationOutcome,
        instrument_serial: str,
        due_days: int | None = None,
        username: str | None = None,
        statement: str = "",
    ) -> CalibrationRecord:
        """Store a calibration already written to the instrument, audited and signed
        ("performed"; ``statement``: what the signer was shown, ``calibration_request``).
        Refuses, storing nothing: a role without ``instrument.calibrate``
        (PermissionDenied, audited), an implausible result (ValueError with its
        sentence), a wrong password (AuthError)."""
        serial = instrument_serial.strip()
        object_id = f"{serial}/{result.channel}"
        self.users.require(session, Permission.CALIBRATE, "calibration", object_id)
        if not serial or not serial.isprintable():
            raise ValueError("the calibration needs the instrument's serial number")
        if result.channel not in CHANNEL_LABELS:
            raise ValueError(f"{result.channel!r} has no calibration")
        if not result.plausible:
            raise ValueError(f"calibration refused: {result.refusal}")
        numbers = (result.gain, result.offset, result.old_gain, result.old_offset, result.figure)
        if not all(math.isfinite(x) for x in numbers):
            raise ValueError("calibration refused: a coefficient is not a number")
        days = default_due_days(result.channel) if due_days is None else due_days
        if type(days) is not int or not DUE_DAYS_RANGE[0] <= days <= DUE_DAYS_RANGE[1]:
            raise ValueError(
                f"the calibration interval must be {DUE_DAYS_RANGE[0]} to {DUE_DAYS_RANGE[1]} "
                f"days, not {days!r}"
            )
        performed = self.clock().astimezone(UTC)
        values = {
            "instrument_serial": serial,
            "channel": result.channel,
            "method": result.method,
            "gain": float(result.gain),
            "offset": float(result.offset),
            "old_gain": float(result.old_gain),
            "old_offset": float(result.old_offset),
            "figure": float(result.figure),
            "figure_text": result.figure_text,
            "details": json.dumps(result.details(), sort_keys=True),
            "performed_utc": performed.strftime(UTC_FORMAT),
            "due_utc": (performed + timedelta(days=days)).strftime(UTC_FORMAT),
            "user_id": session.user_id,
            "user_name": session.full_name,
        }
        content = record_content(values)
        stored: list[int] = []

        def effect(ctx: WriterContext, signature: Signature) -> None:
            audit_id = ctx.audit.append(
                AuditEntry(
                    str(session.user_id),
                    session.full_name,
                    "calibration.write",
                    "calibration",
                    object_id,
                    old_value=f"gain={result.old_gain:.10g} offset={result.old_offset:.10g}",
                    new_value=f"gain={result.gain:.10g} offset={result.offset:.10g}",
                    reason=f"{result.reason}; due {values['due_utc'][:10]}",
                    reason_required=True,
                )
            )
            stored.append(
                insert_signed(ctx.conn, "calibrations", values, COLUMNS, signature, audit_id)
            )

        record_id = f"{object_id}@{values['performed_utc']}"
        self.signatures.sign(
            session,
            password,
            Meaning.PERFORMED,
            "calibration",
            record_id,
            content,
            username,
            then=effect,
            statement=statement,
        )
        found = _select(self.db_path, "t.id = ?", (stored[0],))
        return found[0]

    def current(self, instrument_serial: str) -> list[CalibrationRecord]:
        return current(self.db_path, instrument_serial)

    def history(self, instrument_serial: str | None = None) -> list[CalibrationRecord]:
        return history(self.db_path, instrument_serial)


# ------------------------------------------------------------------ reading
def _select(db_path: str | Path, where: str, args: tuple) -> list[CalibrationRecord]:
    return [_record(row) for row in read_signed(db_path, "calibrations", where, args)]


def _record(row: dict) -> CalibrationRecord:
    valid = signature_holds(row, record_content(row))
    return CalibrationRecord(
        row["id"],
        row["instrument_serial"],
        row["channel"],
        row["method"],
        row["gain"],
        row["offset"],
        row["old_gain"],
        row["old_offset"],
        row["figure"],
        row["figure_text"],
        json.loads(row["details"]),
        row["performed_utc"],
        row["due_utc"],
        row["user_id"],
        row["user_name"],
        row["content_hash"],
        row["signature_id"],
        row["audit_id"],
        valid,
    )


def _channel_order(record: CalibrationRecord) -> tuple[int, str]:
    order = list(CHANNEL_LABELS)
    return (order.index(record.channel) if record.channel in order else len(order), record.channel)


def current(db_path: str | Path, instrument_serial: str) -> list[CalibrationRecord]:
    """The calibration in force on each channel of the instrument (the newest row per
    channel), in channel order; channels never calibrated here are absent."""
    latest = _select(
        db_path,
        "t.id IN (SELECT MAX(id) FROM calibrations WHERE instrument_serial = ? GROUP BY channel)",
        (instrument_serial,),
    )
    return sorted(latest, key=_channel_order)


def history(db_path: str | Path, instrument_serial: str | None = None) -> list[CalibrationRecord]:
    """Every calibration, oldest first, of one instrument (None: of all), each with
    its signature checked: for the diagnostics bundle and QA."""
    if instrument_serial is None:
        return _select(db_path, "1", ())
    return _select(db_path, "t.instrument_serial = ?", (instrument_serial,))


def due_dates(db_path: str | Path, instrument_serial: str) -> dict[str, str]:
    """Channel -> due date (UTC, ISO) of the calibrations in force: what the pre-start
    check needs."""
    return {r.channel: r.due_utc for r in current(db_path, instrument_serial)}
