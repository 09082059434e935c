"""Recipes for supervisors: the library's versions, importing a recipe file from the
recipe folder (tiles, no file dialog: a cleanroom has no mouse), comparing two
versions side by side, approving or retiring a version with an electronic signature.

Everything that reads or writes the records runs through ``Background`` (never on the
GUI thread); the library checks permissions and records the audit trail and the
signatures, so this screen only collects answers and shows what happened. Dialogs are
opened in small ``_ask_*`` methods so tests can answer them directly.

The page is put together from one part per job, each in its own module: the list of
versions (``recipes_list``), importing a file (``recipes_import``) and comparing two
versions (``recipes_compare``); approving and retiring with a signature are here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QDialog, QStackedWidget

from app.batch.library import RecipeLibrary
from app.store.recipes import RETIRE_MEANING, RecipeVersion
from app.store.signatures import Meaning
from app.store.signing import SigningRequest
from app.store.users import Session
from app.ui.background import Background
from app.ui.page_kit import RecordsPage
from app.ui.recipes_compare import RecipeCompare
from app.ui.recipes_import import RecipeImport
from app.ui.recipes_list import RecipeList
from app.ui.signing_dialog import SigningDialog

RETIRE_REASONS = [
    "Replaced by a newer version",
    "Process discontinued",
    "Error found in the recipe",
    "Imported by mistake",
    "QA / change control decision",
    "Other",
]


class RecipesPage(RecipeList, RecipeImport, RecipeCompare, RecordsPage):
    SIGN_IN = "Sign in as a supervisor to work with recipes."

    def __init__(
        self,
        library: RecipeLibrary,
        session_provider: Callable[[], Session | None],
        background: Background,
        recipe_folder: Path,
    ) -> None:
        super().__init__("Recipes", session_provider, background)
        self.library = library
        self.recipe_folder = Path(recipe_folder)
        self.versions: list[RecipeVersion] = []
        self.refusals: dict[int, str] = {}  # draft id -> why this person may not approve it
        self.comparison: list[tuple[str, str, str]] = []
        self._select_after_load: int | None = None
        self.stack = QStackedWidget()
        self.stack.addWidget(self._list_view())
        self.stack.addWidget(self._import_view())
        self.stack.addWidget(self._compare_view())
        self.root.addWidget(self.stack, 1)
        self._update_buttons()

    # ------------------------------------------------------------------ busy
    def _set_busy(self, busy: bool, text: str = "") -> None:
        super()._set_busy(busy, text)
        for button in (self.import_back, self.import_rescan, self.compare_back):
            button.setEnabled(not busy)
        for index in range(self.tiles.count()):
            widget = self.tiles.itemAt(index).widget()
            if widget is not None:
                widget.setEnabled(not busy)

    # ------------------------------------------------------------------ signing
    def _ask_signature(
        self, session: Session, request: SigningRequest
    ) -> tuple[str | None, str] | None:
        """The signing dialog (what is signed, then the user name at the session's first
        signature and the password): (user name or None, password), or None."""
        dialog = SigningDialog(request, session.full_name, not session.signed_once, self)
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted.value:
                return None
            return dialog.username(), dialog.password()
        finally:
            dialog.deleteLater()

    def _one_selected(self, verb: str) -> tuple[Session, RecipeVersion] | None:
        session = self._session()
        if session is None:
            return None
        chosen = self.selected_versions()
        if len(chosen) != 1:
            self.error(f"Select the one version to {verb}.")
            return None
        return session, chosen[0]

    def _sign(
        self,
        session: Session,
        version: RecipeVersion,
        request: SigningRequest,
        done: str,
        sign: Callable[[str, str | None], RecipeVersion],
    ) -> None:
        """Ask for the signature (the dialog shows ``request``: what it means and
        causes), then ``sign(password, user name)`` in the background; ``done`` is
        'approved' or 'retired'."""
        answer = self._ask_signature(session, request)
        if answer is None:
            self.hint(f"Not {done}: cancelled.")
            return
        username, password = answer
        self.call(
            lambda: sign(password, username),
            lambda signed: self._signed(signed, done),
            f"Not {done}.",
            f"Signing {version.label}…",
        )

    def approve_selected(self) -> None:
        chosen = self._one_selected("approve")
        if chosen is None:
            return
        session, version = chosen
        self._sign(
            session,
            version,
            self.library.request(Meaning.APPROVED, version),
            "approved",
            lambda password, username: self.library.approve(
                session, password, version.id, username
            ),
        )

    def retire_selected(self) -> None:
        chosen = self._one_selected("retire")
        if chosen is None:
            return
        session, version = chosen
        reason = self._ask_reason(f"Why retire {version.label}?", RETIRE_REASONS)
        if not reason:
            self.hint("Not retired: cancelled.")
            return
        self._sign(
            session,
            version,
            self.library.request(RETIRE_MEANING, version),
            "retired",
            lambda password, username: self.library.retire(
                session, password, version.id, reason, username
            ),
        )

    def _signed(self, version: RecipeVersion, done: str) -> None:
        session = self.session_provider()
        who = session.full_name if session else "you"
        if done == "approved":
            text = f"{version.label} approved, signed by {who}. It may now be used for runs."
        else:
            text = f"{version.label} retired, signed by {who}. It can no longer run."
        self.hint(text)
        self._load(select=version.id)
