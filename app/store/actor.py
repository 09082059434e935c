"""Who acted: one value that travels from the signed-in session (or a named system
identity) to every audit row, signature and journal line.

A display-name string is not an identity: two people can share a name, a name can
change, and a string cannot tell a person from the console acting by itself. An
``Actor`` carries the account id, the printed name at the time and the role, or one of
the system identities below, which never belong to a person and so can never satisfy a
rule that needs a person (a signature, a second person, a review).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class _SessionLike(Protocol):
    user_id: int
    username: str
    full_name: str
    role: object


AUTOMATION_ACCOUNTS = ("automation", "automation-verifier")
"""The headless runner's accounts (``celldeck run --auto-confirm``): sessions it signs in
with so that the service layer's checks apply, but never a person."""


@dataclass(frozen=True)
class Actor:
    """A person (account id as text, printed name, role) or a system identity (its
    name as id, a readable name, no role)."""

    id: str
    name: str
    role: str = ""  # a person's role at the time; "" for a system identity

    @property
    def is_person(self) -> bool:
        return self.id not in SYSTEM_IDS and not self.id.startswith(OS_PREFIX)

    @classmethod
    def of(cls, session: _SessionLike) -> Actor:
        """The person signed in to ``session``; the automation identity when the session
        is one of the headless runner's accounts."""
        if session.username in AUTOMATION_ACCOUNTS:
            return Actor(AUTOMATION.id, session.full_name)
        role = getattr(session.role, "value", session.role)
        return cls(str(session.user_id), session.full_name, str(role))


SYSTEM = Actor("system", "CellDeck")
"""The console itself: a step that starts when the one before ends, a hold after a lost
link, the start and stop of the console."""
INSTRUMENT = Actor("instrument", "Instrument")
"""The instrument's firmware: an interlock, a watchdog, a reset it reports."""
RECOVERY = Actor("recovery", "CellDeck (recovery)")
"""The console taking up a run after it died: replay of the step journal, the hold
that waits for a supervisor."""
AUTOMATION = Actor("automation", "Automation (headless runner)")
"""The headless runner's ``--auto-confirm``: demo and training records and tests only;
never a person, so it can never satisfy a rule that needs one."""

SYSTEM_IDS = frozenset(a.id for a in (SYSTEM, INSTRUMENT, RECOVERY, AUTOMATION))

OS_PREFIX = "os:"


def os_account(account: str) -> Actor:
    """Whoever is signed in to the workstation's operating system as ``account``, for a
    command run without a CellDeck sign-in (``celldeck export``): named, but not a
    CellDeck person (the audit entry's workstation says where)."""
    return Actor(f"{OS_PREFIX}{account}", f"OS account {account}")
