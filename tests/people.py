"""More people than the demo folder seeds: duties kept apart need a second supervisor
(one reviews, another approves; one imports a recipe, another approves it)."""

from __future__ import annotations

from app.records import DEMO_PASSWORD, Records
from app.store.security import Role
from app.store.users import Session

QA_PASSWORD = "quality7 check9"  # letters and digits, not common, not a run


def second_supervisor(records: Records, username: str = "qa") -> Session:
    """A second supervisor ("Quinn Adams"), added by the demo administrator with a
    temporary password and changed at first sign-in, as on the console; signed in."""
    admin = records.users.login("admin", DEMO_PASSWORD)
    temporary = "temporary8 start4"
    records.users.add_user(
        admin, username, "Quinn Adams", Role.SUPERVISOR, temporary, "second signer for tests"
    )
    first = records.users.login(username, temporary)
    records.users.change_password(first, temporary, QA_PASSWORD)
    return records.users.login(username, QA_PASSWORD)
