"""Choosing a golden band on screen: the dialogs the compare page opens.

(Which band the compared runs share, ``band_state``, is read in
app/review/golden_select.py on the background thread.) ``ask_reason_and_signature``
collects why the band is chosen (tapped, with an optional comment) and the electronic signature
("approved") in the console's signing dialog (app/ui/signing_dialog.py: what is signed and
what it causes, then the user name at a session's first signing and the password), as
non-blocking dialogs on a ``DialogHost`` page, the way the run detail signs a record.
The service layer (app/review/golden_select.py) checks the permission, the runs and the
password again and stores nothing when one fails.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from app.store.signing import SigningRequest
from app.store.users import Session
from app.ui.dialogs import OTHER, DialogHost, ReasonDialog
from app.ui.signing_dialog import ask_signature

GOLDEN_REASONS = [
    "First golden band for this recipe version",
    "More approved runs available",
    "Approved process change",
    "Replacing unrepresentative runs",
    "Supervisor / QA decision",
    OTHER,
]


def ask_reason_and_signature(
    host: DialogHost,
    question: str,
    request: SigningRequest,
    session: Session,
    then: Callable[[str, str, str | None], None],
) -> None:
    """Why (a reason tapped; "Other" asks for text), then the signature ``request``
    (``golden_request``: "the golden band of CAR-T 10-day v1 from runs 1, 2, 3",
    approved); ``then(reason, password, username or None)``."""
    parent = host if isinstance(host, QWidget) else None
    dialog = ReasonDialog(question, GOLDEN_REASONS, False, parent)
    host.open_dialog(
        dialog,
        lambda: ask_signature(
            host, request, session, lambda password, user: then(dialog.reason(), password, user)
        ),
    )
