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

from app.store.audit import AuditEntry
from app.store.db import connect, utc_now
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


@dataclass(frozen=True)
class SignatureCheck:
    signature: Signature
    valid: bool  # the record's content still hashes to what was signed

    def manifestation(self) -> str:
        """The human-readable form shown with the record (11.50)."""
        status = "" if self.valid else "  [BROKEN: record changed after signing]"
        s = self.signature
        return f"{s.user_name}  {s.ts_utc}  {s.meaning.value}{status}"


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
    ) -> Signature:
        """Re-authenticate, then store the signature and its audit entry together, with
        ``then`` (what the signature makes happen, e.g. a status change) in the same
        transaction: a signature never exists without its effect, nor the effect
        without it."""
        if session.must_change_password:
            raise AuthError("change your password before signing")
        session.check_inactivity()
        if not session.signed_once and username is None:
            raise AuthError("first signature of this session: enter your user name too")
        self.users.reauthenticate(session, password, username)
        digest = content_hash(content)
        ts = utc_now()

        def job(ctx: WriterContext) -> Signature:
            audit_id = ctx.audit.append(
                AuditEntry(
                    str(session.user_id),
                    session.full_name,
                    "signature.apply",
                    record_type,
                    record_id,
                    new_value=f"{meaning.value} sha256:{digest}",
                )
            )
            sig_id = ctx.conn.execute(
                "INSERT INTO signatures (user_id, user_name, ts_utc, meaning, record_type, "
                "record_id, content_hash, audit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session.user_id,
                    session.full_name,
                    ts,
                    meaning.value,
                    record_type,
                    record_id,
                    digest,
                    audit_id,
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
