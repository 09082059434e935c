"""Who exported a batch record: an export copies GMP records out of the console, so it
is attributable like any act (21 CFR 11.10(e)): ``record.export`` in the audit trail,
naming the person signed in, or the operating-system account when none signed in.

The entry carries no ``run_id`` on purpose: a run's record (and the hash its review
and approval signatures are bound to) is its own entries; exporting it must not change
it, nor break a signature made before.
"""

from __future__ import annotations

from app.store.actor import Actor
from app.store.audit import AuditEntry
from app.store.security import Permission
from app.store.users import Session, UserService
from app.store.writer import StoreWriter


def may_export(users: UserService, session: Session, run_id: int) -> None:
    """Refuse (audited, in the service layer) a person whose role may not export."""
    users.require(session, Permission.RECORD_EXPORT, "run", str(run_id))


def record_export(
    writer: StoreWriter, actor: Actor, run_id: int, batch_id: str, written: str
) -> int:
    """Append ``record.export`` (``written``: what went where) and wait until it is on
    disk; returns the entry's id."""
    return writer.record(
        AuditEntry(
            actor.id,
            actor.name,
            "record.export",
            "run",
            str(run_id),
            new_value=f"batch {batch_id}: {written}",
        )
    )
