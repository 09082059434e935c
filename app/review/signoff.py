"""Sign-off of a finished run's batch record: a supervisor reviews it (signature meaning
"reviewed"), then approves it ("approved"), or rejects it with a reason. Every
signature is bound to the record's content hash, so a record that changes afterwards
shows its signatures as no longer matching. Approval is refused while an alarm waits
for acknowledgement or a required signature is missing, and nothing is signed on a
record whose audit trail fails verification. Duties are kept apart (app/store/signing.py):
the reviewer signed none of the run's steps and is not its approver."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.batch.states import FINAL
from app.records import Records
from app.review.exceptions import RunException, find_exceptions
from app.review.record import RunRecordData, load_run_record
from app.store.actor import Actor
from app.store.audit import AuditEntry
from app.store.security import Permission
from app.store.signatures import Meaning, Signature, SignatureCheck
from app.store.signing import Duties, SigningRequest, batch_request
from app.store.users import Session

WAITING = ("unacknowledged", "returned-unacknowledged")


@dataclass
class SignOffStatus:
    record: RunRecordData
    exceptions: list[RunException]
    signatures: list[SignatureCheck]  # the run's own sign-off signatures, checked now
    # what the duty rules refuse the person asking (review, approval), in words
    refused: dict[Meaning, str] = field(default_factory=dict)

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

    def status(self, run_id: int, session: Session | None = None) -> SignOffStatus:
        """The record, its exceptions and signatures; with ``session``, also what the
        duty rules would refuse that person (the screen shows those buttons disabled)."""
        record = load_run_record(self.db_path, run_id)
        checks = self.records.signatures.verify("run", str(run_id), record.content_hash())
        refused: dict[Meaning, str] = {}
        if session is not None:
            duties = self.duties()
            for meaning in (Meaning.REVIEWED, Meaning.APPROVED):
                found = duties.refusal(self.request(meaning, record), Actor.of(session))
                if found is not None:
                    refused[meaning] = found.reason
        return SignOffStatus(record, find_exceptions(record), checks, refused)

    def duties(self) -> Duties:
        return Duties(self.records.users, self.db_path)

    @staticmethod
    def request(meaning: Meaning, record: RunRecordData) -> SigningRequest:
        """What signing the record with ``meaning`` says, as the dialog shows it."""
        return batch_request(meaning, record.batch_id, record.run_id)

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
        request = self.request(meaning, record)
        self.duties().enforce(request, Actor.of(session))  # before the password is checked

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
            session,
            password,
            meaning,
            "run",
            str(record.run_id),
            digest,
            username,
            then=effect,
            statement=request.statement,
        )
