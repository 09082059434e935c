"""Sign-off of a finished run's batch record: a supervisor reviews it (signature meaning
"reviewed"), then approves it ("approved"), or rejects it with a reason. Every
signature is bound to the record's content hash, so a record that changes afterwards
shows its signatures as no longer matching. Approval is refused while an alarm waits
for acknowledgement or a required signature is missing, and nothing is signed on a
record whose audit trail fails verification."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.records import Records
from app.review.exceptions import RunException, find_exceptions
from app.review.record import RunRecordData, load_run_record
from app.store.audit import AuditEntry
from app.store.security import Permission
from app.store.signatures import Meaning, Signature, SignatureCheck
from app.store.users import Session

FINAL = ("Complete", "Stopped", "Aborted")
WAITING = ("unacknowledged", "returned-unacknowledged")


@dataclass
class SignOffStatus:
    record: RunRecordData
    exceptions: list[RunException]
    signatures: list[SignatureCheck]  # the run's own sign-off signatures, checked now

    def valid(self, meaning: Meaning) -> bool:
        return any(c.valid and c.signature.meaning is meaning for c in self.signatures)

    @property
    def approvable_problems(self) -> list[str]:
        """Why the record cannot be approved yet ([] when it can)."""
        problems = []
        if not self.record.chain.ok:
            problems.append(f"the audit trail failed verification: {self.record.chain.message}")
        if self.record.state not in FINAL:
            problems.append(f"the run is {self.record.state}, not finished")
        waiting = unacknowledged_alarms(self.record)
        if waiting:
            problems.append(f"alarms not acknowledged: {', '.join(waiting)}")
        missing = [x.text for x in self.exceptions if x.kind == "signature"]
        problems += missing
        if not self.valid(Meaning.REVIEWED):
            problems.append("the record has no valid review signature yet")
        return problems


def unacknowledged_alarms(record: RunRecordData) -> list[str]:
    """Tags whose last state in the run's record waits for an acknowledgement."""
    last: dict[str, str] = {}
    for entry in record.audit:
        if entry.object_type == "alarm" and entry.action.startswith("alarm."):
            last[entry.object_id] = entry.action.removeprefix("alarm.")
    return sorted(tag for tag, state in last.items() if state in WAITING)


class SignOff:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.db_path: Path = records.path

    def status(self, run_id: int) -> SignOffStatus:
        record = load_run_record(self.db_path, run_id)
        checks = self.records.signatures.verify("run", str(run_id), record.content_hash())
        return SignOffStatus(record, find_exceptions(record), checks)

    def _ready(self, session: Session, run_id: int) -> SignOffStatus:
        self.records.users.require(session, Permission.RECORD_REVIEW, "run", str(run_id))
        status = self.status(run_id)
        if not status.record.chain.ok:
            raise ValueError(
                "the audit trail failed verification: this record cannot be signed "
                f"({status.record.chain.message})"
            )
        if status.record.state not in FINAL:
            raise ValueError(f"run {run_id} is {status.record.state}: review comes after the end")
        return status

    def review(
        self, session: Session, password: str, run_id: int, username: str | None = None
    ) -> Signature:
        status = self._ready(session, run_id)
        return self._sign(session, password, status, Meaning.REVIEWED, username)

    def approve(
        self, session: Session, password: str, run_id: int, username: str | None = None
    ) -> Signature:
        status = self._ready(session, run_id)
        problems = status.approvable_problems
        if problems:
            raise ValueError("not approvable: " + "; ".join(problems))
        return self._sign(session, password, status, Meaning.APPROVED, username)

    def reject(
        self,
        session: Session,
        password: str,
        run_id: int,
        reason: str,
        username: str | None = None,
    ) -> Signature:
        if not reason.strip():
            raise ValueError("rejecting a batch record needs a reason")
        status = self._ready(session, run_id)
        return self._sign(session, password, status, Meaning.REJECTED, username, reason)

    def _sign(
        self,
        session: Session,
        password: str,
        status: SignOffStatus,
        meaning: Meaning,
        username: str | None,
        reason: str = "",
    ) -> Signature:
        record = status.record
        digest = record.content_hash()

        def effect(ctx, signature: Signature) -> None:
            ctx.audit.append(
                AuditEntry(
                    str(session.user_id),
                    session.full_name,
                    f"record.{meaning.value}",
                    "batch-record",
                    str(record.run_id),
                    new_value=f"batch {record.batch_id} sha256:{digest}",
                    reason=reason or None,
                )
            )

        return self.records.signatures.sign(
            session, password, meaning, "run", str(record.run_id), digest, username, then=effect
        )
