"""Choosing a golden band on screen: what the compare page needs besides its plot.

``band_state`` (run on the background thread) says which recipe version the compared
runs share and which band is in force for it; ``ask_reason_and_signature`` collects why
the band is chosen (tapped, with an optional comment) and the electronic signature
("approved": the user name at a session's first signing, then the password) as
non-blocking dialogs on a ``DialogHost`` page, the way the run detail signs a record.
The service layer (app/review/golden_select.py) checks the permission, the runs and the
password again and stores nothing when one fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QWidget

from app.analytics import GoldenBatch
from app.records import Records
from app.review.golden_select import recipe_of
from app.store.golden import GoldenRecord, active
from app.store.recipes import RecipeLibrary
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


@dataclass(frozen=True)
class BandState:
    """The recipe version the compared runs share (None: they used different ones, or
    one has none) and its band in force (``golden`` None: none, or its signature no
    longer holds: ``record`` set and ``record.signature_valid`` false)."""

    recipe_id: int | None
    recipe: str  # "CAR-T 10-day v1"; "" when the runs share no version
    record: GoldenRecord | None = None
    golden: GoldenBatch | None = None

    def line(self) -> str:
        """One sentence for the page: which band counts, or why none does."""
        if self.recipe_id is None:
            return "These runs used different recipe versions: no golden band applies."
        if self.record is None:
            return f"No golden band for {self.recipe} yet."
        if self.golden is None:
            return (
                f"The golden band for {self.recipe} was changed after it was signed: "
                "it is not used."
            )
        return f"{self.recipe}: {self.record.summary}."  # "CAR-T v1: golden band of 3 runs…"


def band_state(db_path: Path, records: Records | None, run_ids: Sequence[int]) -> BandState:
    """Which band the compared runs are judged against (reads; background thread)."""
    versions = {recipe_of(db_path, run_id) for run_id in run_ids}
    if len(versions) != 1 or None in versions:
        return BandState(None, "")
    recipe_id = versions.pop()
    assert recipe_id is not None
    label = f"recipe version {recipe_id}"
    if records is not None:
        library = RecipeLibrary(records.users, records.signatures, db_path)
        label = library.get(recipe_id).label
    record = active(db_path, recipe_id)
    if record is None or not record.signature_valid:
        return BandState(recipe_id, label, record)
    return BandState(recipe_id, label, record, record.golden())


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
