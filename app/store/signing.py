"""What a signature says, and who may give it (21 CFR 11.50, 11.10(g); Annex 11 §14).

A ``SigningRequest`` is one signature about to be given: its meaning, the record in
words and what the signature will cause. The console shows it before any password is
asked, and the same statement is stored with the signature and printed in the batch
record, so what was signed is what was seen. The request builders below are the only
place these words are made: a screen and the service that signs both call them.

``Duties`` keeps duties apart, by site settings that are on by default: the performer
of a step does not verify it; the reviewer of a batch record signed none of its steps
and does not approve it; the person who imported a recipe version does not approve it.
A refusal comes before any credentials are checked, says the rule in words and is
audited as ``signature.refused``; screens ask the same question to show the button
disabled with the reason.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from app.store.actor import Actor
from app.store.audit import AuditEntry
from app.store.db import connect
from app.store.settings import SettingsService
from app.store.signatures import Meaning, compose_statement
from app.store.users import UserService

SENSE: dict[Meaning, str] = {  # what each meaning commits the signer to, first person
    Meaning.AUTHORED: "I wrote this record",
    Meaning.PERFORMED: "I did this myself, as written",
    Meaning.VERIFIED: "I saw it done and checked it, as the second person",
    Meaning.REVIEWED: "I reviewed this record, with its exceptions, and found it complete",
    Meaning.APPROVED: "I approve this record for its use",
    Meaning.REJECTED: "I reject this record for any further use",
}


@dataclass(frozen=True)
class SigningRequest:
    """One signature about to be given, in words a person reads before signing."""

    meaning: Meaning
    record_type: str
    record_id: str
    record_words: str  # 'batch B-0042, step 5 "Harvest"'
    consequence: str  # 'the run goes on to step 6'
    meaning_words: str = ""  # how the meaning is said here ("retired"); default its name

    @property
    def said(self) -> str:
        """The meaning as the signer reads it: 'approved', 'retired'."""
        return self.meaning_words or self.meaning.value

    @property
    def sense(self) -> str:
        """What the meaning commits the signer to, in the first person."""
        return SENSE[self.meaning]

    @property
    def statement(self) -> str:
        """The sentence stored with the signature and printed in the record."""
        return compose_statement(self.said, self.record_words, self.consequence)


# ------------------------------------------------------------------ the requests
def step_request(
    meaning: Meaning,
    run_id: int | None,
    batch: str,
    step: int,
    step_name: str,
    steps: int,
    second_person: bool = False,
) -> SigningRequest:
    """A run step's signature: performed by the operator, verified by a second person."""
    then = f"the run goes on to step {step + 1}" if step < steps else "the run ends"
    if meaning is Meaning.PERFORMED and second_person:
        then = f"a second person verifies it, then {then}"
    return SigningRequest(
        meaning,
        "run-step",
        f"{run_id}/step/{step}",
        f'batch {batch}, step {step} "{step_name}"',
        then,
    )


BATCH_CONSEQUENCE = {
    Meaning.REVIEWED: "the batch record is reviewed and can then be approved",
    Meaning.APPROVED: "the batch record is approved: it needs no further signature",
    Meaning.REJECTED: "the batch record is rejected, with the reason given",
}


def batch_request(meaning: Meaning, batch: str, run_id: int) -> SigningRequest:
    """A batch record's sign-off: reviewed, approved or rejected."""
    words = f"batch record of batch {batch} (run {run_id})"
    return SigningRequest(meaning, "run", str(run_id), words, BATCH_CONSEQUENCE[meaning])


def recipe_request(meaning: Meaning, name: str, version_no: int, version_id: int) -> SigningRequest:
    """A recipe version approved (operators can run it) or retired (never again)."""
    words = f'recipe "{name}" version {version_no}'
    if meaning is Meaning.APPROVED:
        then = "operators can run this version; an earlier approved version is superseded"
        return SigningRequest(meaning, "recipe", str(version_id), words, then)
    then = "it can never run or be approved again"
    return SigningRequest(meaning, "recipe", str(version_id), words, then, "retired")


def golden_request(recipe: str, run_ids: tuple[int, ...] | list[int]) -> SigningRequest:
    """A golden band chosen for a recipe version from approved runs."""
    runs = ", ".join(str(r) for r in run_ids)
    words = f"the golden band of {recipe} from runs {runs}"
    then = f"runs of {recipe} are judged against this band from now on"
    return SigningRequest(Meaning.APPROVED, "golden-batch", recipe, words, then)


def calibration_request(channel: str, serial: str) -> SigningRequest:
    """A calibration written to the instrument, signed by the service engineer."""
    words = f"calibration of {channel} on instrument {serial}"
    then = "the new coefficients are recorded as this channel's calibration"
    return SigningRequest(Meaning.PERFORMED, "calibration", f"{serial}/{channel}", words, then)


# ------------------------------------------------------------------ duties kept apart
def same_person(request: SigningRequest) -> str:
    """The step rule in words, for the performer who named themselves as verifier."""
    step = request.record_id.rsplit("/", 1)[-1]
    return f"You performed step {step} of this batch: a second person must verify it."


class Rule(StrEnum):
    """A duty rule; its value is the site setting that switches it (app/store/settings.py)."""

    STEP = "duty_step_verifier"
    BATCH = "duty_batch_review"
    RECIPE = "duty_recipe_approval"


@dataclass(frozen=True)
class Refusal:
    rule: Rule
    reason: str  # the rule in words, addressed to the signer


class DutyRefused(PermissionError):
    """A signature the duty rules refuse; the message is the rule in words."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


class Duties:
    """The duty rules, as the site has set them, over the records."""

    def __init__(self, users: UserService, db_path: str | Path) -> None:
        self.users = users
        self.db_path = Path(db_path)

    def on(self, rule: Rule) -> bool:
        settings = SettingsService(self.users.writer, self.db_path, self.users)
        return bool(settings.get(rule.value))

    def account(self, username: str) -> Actor | None:
        """The person a typed user name names (None: no such account): the second
        person is checked before their password is asked."""
        with closing(connect(self.db_path, readonly=True)) as conn:
            row = conn.execute(
                "SELECT id, full_name, role FROM users WHERE username = ? COLLATE NOCASE",
                (username.strip(),),
            ).fetchone()
        return Actor(str(row[0]), row[1], row[2]) if row else None

    def refusal(
        self, request: SigningRequest, signer: Actor, performer: Actor | None = None
    ) -> Refusal | None:
        """Why ``signer`` may not give this signature (None: the rules allow it).
        ``performer``: who performed the step a verification is for."""
        meaning, kind = request.meaning, request.record_type
        if kind == "run-step" and meaning is Meaning.VERIFIED and performer is not None:
            return self._verifier(request, signer, performer)
        if kind == "run" and meaning in (Meaning.REVIEWED, Meaning.APPROVED):
            return self._batch(request, signer) if self.on(Rule.BATCH) else None
        if kind == "recipe" and meaning is Meaning.APPROVED:
            return self._recipe(request, signer) if self.on(Rule.RECIPE) else None
        return None

    def _verifier(self, request: SigningRequest, signer: Actor, performer: Actor) -> Refusal | None:
        if performer.id != signer.id or not self.on(Rule.STEP):
            return None
        return Refusal(Rule.STEP, same_person(request))

    def _batch(self, request: SigningRequest, signer: Actor) -> Refusal | None:
        if request.meaning is Meaning.APPROVED:
            reviewed = self._query(
                "SELECT 1 FROM signatures WHERE record_type = 'run' AND record_id = ?"
                " AND meaning = 'reviewed' AND CAST(user_id AS TEXT) = ?",
                (request.record_id, signer.id),
            )
            why = "You reviewed this batch record: a second person must approve it."
            return Refusal(Rule.BATCH, why) if reviewed else None
        signed = self._query(
            "SELECT meaning, record_id FROM signatures WHERE record_type = 'run-step'"
            " AND record_id GLOB ? AND CAST(user_id AS TEXT) = ? ORDER BY id LIMIT 1",
            (f"{request.record_id}/step/*", signer.id),
        )
        if not signed:
            return None
        step = signed[1].rsplit("/", 1)[-1]
        why = (
            f"You {signed[0]} step {step} of this batch: someone who signed none of its"
            " steps must review it."
        )
        return Refusal(Rule.BATCH, why)

    def _recipe(self, request: SigningRequest, signer: Actor) -> Refusal | None:
        """The author is who imported the version (its ``recipe.import`` entry)."""
        imported = self._query(
            "SELECT 1 FROM audit WHERE object_type = 'recipe' AND action = 'recipe.import'"
            " AND object_id = (SELECT name || ' v' || version_no FROM recipes WHERE id = ?)"
            " AND user_id = ?",
            (int(request.record_id), signer.id),
        )
        why = f"You imported {request.record_words}: someone else must approve it."
        return Refusal(Rule.RECIPE, why) if imported else None

    def enforce(
        self, request: SigningRequest, signer: Actor, performer: Actor | None = None
    ) -> None:
        """Refuse (audited, before any password is checked) what the rules forbid."""
        found = self.refusal(request, signer, performer)
        if found is None:
            return
        self.users.writer.record(
            AuditEntry(
                signer.id,
                signer.name,
                "signature.refused",
                request.record_type,
                request.record_id,
                new_value=f"{request.meaning.value}: rule {found.rule.value}",
                reason=found.reason,
            )
        )
        raise DutyRefused(found)

    def _query(self, sql: str, args: tuple) -> tuple | None:
        with closing(connect(self.db_path, readonly=True)) as conn:
            return conn.execute(sql, args).fetchone()
