"""Electronic signatures (21 CFR 11.50/11.70/11.200): who, printed name, when, meaning,
bound to the signed record by the hash of its content at signing.

Signing needs the password again; the first signing of a session needs the user name
too. A signature whose record has changed since shows as broken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlite_utils import Database

from app.store.actor import AUTOMATION, Actor
from app.store.audit import AuditEntry
from app.store.db import connect, utc_now
from app.store.purpose import Purpose, read_purpose
from app.store.users import AuthError, Session, UserService
from app.store.writer import WriterContext


class Meaning(StrEnum):
    AUTHORED = "authored"
    PERFORMED = "performed"
    VERIFIED = "verified"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Signature:
    id: int
    user_id: int
    user_name: str  # printed name at the time of signing
    ts_utc: str
    meaning: Meaning
    record_type: str
    record_id: str
    content_hash: str
    audit_id: int
    statement: str = ""  # what the signer saw and signed, in words (schema 11; "" before)

    @property
    def stated(self) -> str:
        """The statement signed, or for a signature from before statements were kept,
        one derived from the record's type and id."""
        return self.statement or compose_statement(
            self.meaning.value, record_words(self.record_type, self.record_id)
        )


def record_words(record_type: str, record_id: str) -> str:
    """A record named in words from its type and id alone (older signatures)."""
    if record_type == "run-step" and "/step/" in record_id:
        run, step = record_id.split("/step/", 1)
        return f"run {run}, step {step}"
    if record_type == "run":
        return f"batch record of run {record_id}"
    if record_type == "recipe":
        return f"recipe version {record_id} (library id)"
    if record_type == "golden-batch":
        return f"golden band {record_id}"
    if record_type == "calibration":
        return f"calibration {record_id}"
    return f"{record_type} {record_id}"


def compose_statement(meaning_words: str, record: str, consequence: str = "") -> str:
    """'Verified: batch B-0042, step 5 "Harvest". The run goes on to step 6.'"""
    text = f"{meaning_words[:1].upper()}{meaning_words[1:]}: {record}."
    if consequence:
        text += f" {consequence[:1].upper()}{consequence[1:].rstrip('.')}."
    return text


@dataclass(frozen=True)
class SignatureCheck:
    signature: Signature
    valid: bool  # the record's content still hashes to what was signed

    def manifestation(self) -> str:
        """The human-readable form shown with the record (11.50): printed name, UTC
        time, meaning and the statement signed."""
        status = "" if self.valid else "  [BROKEN: record changed after signing]"
        s = self.signature
        when = f"{s.ts_utc.removesuffix('Z').replace('T', ' ')} UTC"
        return f"{s.user_name}  {when}  {s.meaning.value}  {s.stated}{status}"


def content_hash(content: bytes | str) -> str:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()


class SignatureService:
    def __init__(self, users: UserService, db_path: str | Path) -> None:
        self.users = users
        self.db_path = Path(db_path)

    def sign(
        self,
        session: Session,
        password: str,
        meaning: Meaning,
        record_type: str,
        record_id: str,
        content: bytes | str,
        username: str | None = None,
        then: Callable[[WriterContext, Signature], None] | None = None,
        statement: str = "",
    ) -> Signature:
        """Re-authenticate, then store the signature and its audit entry together, with
        ``then`` (what the signature makes happen, e.g. a status change) in the same
        transaction: a signature never exists without its effect, nor the effect
        without it. ``statement`` is what the signer was shown (app/store/signing.py);
        without one, a statement derived from the record's type and id is kept."""
        if session.must_change_password:
            raise AuthError("change your password before signing")
        if Actor.of(session).id == AUTOMATION.id and read_purpose(self.db_path) is Purpose.GMP:
            raise AuthError(  # automation never signs for people on GMP records
                "automation does not sign GMP records: a person signs in the console"
            )
        session.check_inactivity()
        if not session.signed_once and username is None:
            raise AuthError("first signature of this session: enter your user name too")
        self.users.reauthenticate(session, password, username)
        digest = content_hash(content)
        ts = utc_now()
        statement = statement.strip() or compose_statement(
            meaning.value, record_words(record_type, record_id)
        )

        def job(ctx: WriterContext) -> Signature:
            audit_id = ctx.audit.append(
                AuditEntry(
                    str(session.user_id),
                    session.full_name,
                    "signature.apply",
                    record_type,
                    record_id,
                    new_value=f"{meaning.value} sha256:{digest}; {statement}",
                )
            )
            sig_id = ctx.conn.execute(
                "INSERT INTO signatures (user_id, user_name, ts_utc, meaning, record_type, "
                "record_id, content_hash, audit_id, statement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session.user_id,
                    session.full_name,
                    ts,
                    meaning.value,
                    record_type,
                    record_id,
                    digest,
                    audit_id,
                    statement,
                ),
            ).lastrowid
            signature = Signature(
                sig_id,
                session.user_id,
                session.full_name,
                ts,
                meaning,
                record_type,
                record_id,
                digest,
                audit_id,
                statement,
            )
            if then is not None:
                then(ctx, signature)
            return signature

        signature = self.users.writer.call(job)
        session.signed_once = True
        return signature

    def signatures(self, record_type: str, record_id: str) -> list[Signature]:
        """A record's signatures in the order they were applied (sqlite-utils read)."""
        conn = connect(self.db_path, readonly=True)
        try:
            rows = list(
                Database(conn)["signatures"].rows_where(
                    "record_type = ? AND record_id = ?", [record_type, record_id], order_by="id"
                )
            )
        finally:
            conn.close()
        return [
            Signature(
                r["id"],
                r["user_id"],
                r["user_name"],
                r["ts_utc"],
                Meaning(r["meaning"]),
                r["record_type"],
                r["record_id"],
                r["content_hash"],
                r["audit_id"],
                r.get("statement") or "",
            )
            for r in rows
        ]

    def verify(
        self, record_type: str, record_id: str, content: bytes | str
    ) -> list[SignatureCheck]:
        """Every signature of a record, each checked against the record as it is now."""
        digest = content_hash(content)
        return [
            SignatureCheck(s, s.content_hash == digest)
            for s in self.signatures(record_type, record_id)
        ]
