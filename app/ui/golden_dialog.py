"""Choosing a golden band on screen: the dialogs the compare page opens.

(Which band the compared runs share, ``band_state``, is read in
app/review/golden_select.py on the background thread.) ``ask_reason_and_signature``
collects why the band is chosen (tapped, with an optional comment) and the electronic signature
("approved": the user name at a session's first signing, then the password) as
non-blocking dialogs on a ``DialogHost`` page, the way the run detail signs a record.
The service layer (app/review/golden_select.py) checks the permission, the runs and the
password again and stores nothing when one fails.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from app.store.users import Session
from app.ui.dialogs import OTHER, DialogHost, ReasonDialog, TextEntryDialog

GOLDEN_REASONS = [
    "First golden band for this recipe version",
    "More approved runs available",
    "Approved process change",
    "Replacing unrepresentative runs",
    "Supervisor / QA decision",
    OTHER,
]


def ask_signature(
    host: DialogHost,
    session: Session,
    signing: str,
    then: Callable[[str, str | None], None],
    meaning: str = "approved",
) -> None:
    """The password (and, at the session's first signing, the user name first), each
    dialog saying what is signed and with which meaning; ``then(password, username or
    None)`` once given."""
    parent = host if isinstance(host, QWidget) else None
    title = f"Sign: {meaning}"
    what = f"You sign {signing}, meaning: {meaning}."
    if session.signed_once:
        dialog = TextEntryDialog(title, f"{what}\nYour password", True, parent=parent)
        host.open_dialog(dialog, lambda: then(dialog.text(), None))
        return
    name = TextEntryDialog(title, f"{what}\nYour user name (first signature)", parent=parent)

    def named() -> None:
        dialog = TextEntryDialog(title, f"{what}\nYour password", True, parent=parent)
        host.open_dialog(dialog, lambda: then(dialog.text(), name.text()))

    host.open_dialog(name, named)


def ask_reason_and_signature(
    host: DialogHost,
    question: str,
    signing: str,
    session: Session,
    then: Callable[[str, str, str | None], None],
) -> None:
    """Why (a reason tapped; "Other" asks for text), then the signature "approved" of
    ``signing`` (what is signed, e.g. "the golden band of CAR-T 10-day v1 from runs 1,
    2, 3"); ``then(reason, password, username or None)``."""
    parent = host if isinstance(host, QWidget) else None
    dialog = ReasonDialog(question, GOLDEN_REASONS, False, parent)
    host.open_dialog(
        dialog,
        lambda: ask_signature(
            host, session, signing, lambda password, user: then(dialog.reason(), password, user)
        ),
    )
