"""Signing a run step: the performer's signature and, where the step needs one, a second
person's (verified), each saying in words what is signed (21 CFR 11.50).

The run host calls ``sign_step`` after its permission check and before the engine takes
the answer; a refusal (duty rule, wrong password, missing second person) raises and
leaves the step waiting.
"""

from __future__ import annotations

from app.batch.engine import BatchEngine
from app.batch.executors import Prompt
from app.records import Records
from app.store.actor import Actor
from app.store.signatures import Meaning
from app.store.users import Session


def automated_identity(session: Session) -> bool:
    """The headless runner's accounts (``automation…``)."""
    return session.username.startswith("automation")


def sign_step(
    records: Records,
    session: Session,
    password: str,
    prompt: Prompt,
    second: tuple[str, str] | None,
    username: str | None,
    *,
    engine: BatchEngine,
    run_id: int | None,
    batch: str,
) -> None:
    """The performer's signature, and a second person's (verified) where the step
    needs one. What each signs is said in words (``step_request``), the same words
    the run screen showed; the duty rule (the performer does not verify) is checked
    before any password."""
    from app.store.signing import Duties, step_request  # (imports owned by the lead)

    steps = engine.recipe.steps
    step = engine.current_step
    name = steps[min(engine.step_index, len(steps) - 1)].name  # as the status shows it
    words = (run_id, batch, step, name, len(steps), prompt.second_person)
    performed = step_request(Meaning.PERFORMED, *words)
    verified = step_request(Meaning.VERIFIED, *words)
    record_id = performed.record_id
    content = f"{prompt.message}\nrun {run_id} batch {batch}"
    if prompt.second_person and second is None:
        raise ValueError("this step needs a second person's signature as well")
    users, signatures = records.users, records.signatures
    verifier = None
    if prompt.second_person and second is not None:
        duties = Duties(users, records.path)
        named = duties.account(second[0])
        if named is not None:  # refused (and audited) before any password is checked
            duties.enforce(verified, named, performer=Actor.of(session))
        # the second person is checked first: a wrong second password leaves no
        # first signature behind to be given twice on the next try
        verifier = users.login(*second)
    if automated_identity(session) and username is None:
        username = session.username  # the headless runner signs as itself
    try:
        signatures.sign(
            session,
            password,
            Meaning.PERFORMED,
            "run-step",
            record_id,
            content,
            username=username,
            statement=performed.statement,
        )
        if verifier is not None:
            signatures.sign(
                verifier,
                second[1],
                Meaning.VERIFIED,
                "run-step",
                record_id,
                content,
                username=verifier.username,
                statement=verified.statement,
            )
    finally:
        if verifier is not None:
            users.logout(verifier)  # signed in for this signature only
