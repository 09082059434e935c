"""Recipes for supervisors: the library's versions, importing a recipe file from the
recipe folder (tiles, no file dialog: a cleanroom has no mouse), comparing two
versions side by side, approving or retiring a version with an electronic signature.

Everything that reads or writes the records runs through ``Background`` (never on the
GUI thread); the library checks permissions and records the audit trail and the
signatures, so this screen only collects answers and shows what happened. Dialogs are
opened in small ``_ask_*`` methods so tests can answer them directly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFrame,
    QGridLayout,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.batch.library import RecipeLibrary
from app.batch.recipe import RecipeError, load_recipe_file
from app.store.recipes import RETIRE_MEANING, RETIRED, RecipeVersion
from app.store.signatures import Meaning
from app.store.signing import SigningRequest
from app.store.users import Session
from app.ui import theme
from app.ui.background import Background
from app.ui.page_kit import (
    RecordsPage,
    button_row,
    plain_sentence,
    short_utc,
    text_label,
    touch_button,
    touch_table,
    view_column,
)
from app.ui.signing_dialog import SigningDialog

TILE_COLUMNS = 3  # file names stay whole on a 1280 px screen beside the rail
HASH_CHARS = 12
READING = "Reading the recipe library…"
RETIRE_REASONS = [
    "Replaced by a newer version",
    "Process discontinued",
    "Error found in the recipe",
    "Imported by mistake",
    "QA / change control decision",
    "Other",
]
# Diff colours: light tints so the dark text stays readable; the marker at the start
# of each line says the same thing without colour.
DIFF_TINTS = {"changed": "#FBE3B0", "added": "#CFE8CF", "removed": "#F3C7C7"}
DIFF_MARKS = {"same": " ", "changed": "≠", "added": "+", "removed": "−"}
STATUS_WORDS = {
    "draft": "draft (not approved)",
    "approved": "APPROVED",
    "superseded": "superseded",
    RETIRED: "retired",
}


def lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


def scan_recipe_folder(folder: Path) -> list[tuple[Path, str]]:
    """The folder's recipe files, each with what its tile says: the recipe's name and
    declared version, or how many problems it has (checked in full again on import)."""
    found = []
    for path in sorted(folder.glob("*.toml"), key=lambda p: p.name.lower()):
        try:
            recipe = load_recipe_file(path)
        except RecipeError as exc:
            count = len(exc.problems)
            summary = f"⚠ {count} problem{'s' if count != 1 else ''}"
        else:
            summary = f"{recipe.name} {recipe.version}"
        found.append((path, summary))
    return found


class RecipesPage(RecordsPage):
    COLUMNS = ("Recipe", "Version", "Status", "Content hash", "Imported by", "Imported")
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

    # ------------------------------------------------------------------ views
    def _list_view(self) -> QWidget:
        view, column = view_column()
        # a tap toggles a row: two taps select the pair to compare, no modifier keys
        multi = QAbstractItemView.SelectionMode.MultiSelection
        self.table = touch_table(self.COLUMNS, "recipe versions", multi, stretch_column=0)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        column.addWidget(self.table, 1)

        self.selection_hint = text_label()
        self.selection_hint.setWordWrap(False)
        column.addWidget(self.selection_hint)

        self.import_button = touch_button("Import recipe…", "import recipe", "Primary")
        self.compare_button = touch_button("Compare two", "compare")
        self.approve_button = touch_button("Approve…", "approve", "Primary")
        self.retire_button = touch_button("Retire…", "retire", "Danger")
        self.clear_button = touch_button("Clear selection", "clear selection")
        self.refresh_button = touch_button("Refresh", "refresh")
        self.import_button.clicked.connect(self.show_import)
        self.compare_button.clicked.connect(self.compare_selected)
        self.approve_button.clicked.connect(self.approve_selected)
        self.retire_button.clicked.connect(self.retire_selected)
        self.clear_button.clicked.connect(self.table.clearSelection)
        self.refresh_button.clicked.connect(self.reload)
        left = (self.import_button, self.compare_button, self.clear_button)
        right = (self.refresh_button, self.retire_button, self.approve_button)
        column.addLayout(button_row(left, right))
        return view

    def _import_view(self) -> QWidget:
        view, column = view_column()
        self.import_title = text_label()
        column.addWidget(self.import_title)
        tiles = QWidget()
        self.tiles = QGridLayout(tiles)
        self.tiles.setSpacing(16)
        self.tiles.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.tile_scroll = QScrollArea()
        self.tile_scroll.setWidgetResizable(True)
        self.tile_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.tile_scroll.setWidget(tiles)
        column.addWidget(self.tile_scroll, 1)
        self.problems_title = text_label(object_name="Error")
        column.addWidget(self.problems_title)
        self.problems = QListWidget()
        self.problems.setAccessibleName("problems")
        self.problems.setWordWrap(True)
        self.problems.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.problems.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        column.addWidget(self.problems, 1)
        self.problems_title.hide()
        self.problems.hide()
        self.import_back = touch_button("Back to the list", "back")
        self.import_back.clicked.connect(self.show_list)
        self.import_rescan = touch_button("Look again", "look again")
        self.import_rescan.clicked.connect(self._scan_folder)
        column.addLayout(button_row([self.import_back], [self.import_rescan]))
        return view

    def _compare_view(self) -> QWidget:
        view, column = view_column()
        self.compare_summary = text_label()
        column.addWidget(self.compare_summary)
        self.diff = QTableWidget(0, 4)  # left no., left line, right no., right line
        self.diff.setAccessibleName("comparison")
        self.diff.verticalHeader().hide()
        self.diff.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.diff.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.diff.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.diff.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.diff.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.diff.setWordWrap(False)
        self.diff.setShowGrid(False)
        header = self.diff.horizontalHeader()
        for col in (0, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        for col in (1, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        self.diff.verticalHeader().setDefaultSectionSize(32)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPixelSize(17)
        self.diff.setFont(font)
        column.addWidget(self.diff, 1)
        self.compare_back = touch_button("Back to the list", "back")
        self.compare_back.clicked.connect(self.show_list)
        self.previous_change = touch_button("▲ Previous change", "previous change")
        self.next_change = touch_button("▼ Next change", "next change")
        self.previous_change.clicked.connect(lambda: self._jump(-1))
        self.next_change.clicked.connect(lambda: self._jump(1))
        column.addLayout(button_row([self.compare_back], [self.previous_change, self.next_change]))
        return view

    # ------------------------------------------------------------------ busy
    def _set_busy(self, busy: bool, text: str = "") -> None:
        super()._set_busy(busy, text)
        for button in (self.import_back, self.import_rescan, self.compare_back):
            button.setEnabled(not busy)
        for index in range(self.tiles.count()):
            widget = self.tiles.itemAt(index).widget()
            if widget is not None:
                widget.setEnabled(not busy)

    # ------------------------------------------------------------------ list
    def reload(self) -> None:
        """Read the library again (in the background) and show the list. The shell
        calls this each time it shows the page."""
        self.show_list()
        if self.session_provider() is None:
            self.versions = []
            self.table.setRowCount(0)
            self._update_buttons()
            self.hint(self.SIGN_IN)
            return
        self._load(READING)

    def _load(self, busy: str = "", select: int | None = None) -> None:
        """Read the versions again, and which drafts the duty rules keep this person
        from approving; then select ``select`` (a version id) if given."""
        self._select_after_load = select
        library, session = self.library, self.session_provider()

        def job() -> tuple[list[RecipeVersion], dict[int, str]]:
            versions = library.all_versions()
            refusals: dict[int, str] = {}
            drafts = [v for v in versions if v.status == "draft"] if session else []
            for version in drafts:
                why = library.approval_refusal(session, version)
                if why:
                    refusals[version.id] = why
            return versions, refusals

        self.call(job, self._loaded, "The recipe library cannot be read:", busy)

    def _loaded(self, value: tuple[list[RecipeVersion], dict[int, str]]) -> None:
        versions, self.refusals = value
        self.versions = sorted(versions, key=lambda v: (v.name.lower(), v.version_no))
        self.table.clearSelection()
        self.table.setRowCount(len(self.versions))
        for row, version in enumerate(self.versions):
            cells = (
                version.name,
                f"v{version.version_no}  ({version.declared_version})",
                STATUS_WORDS.get(version.status, version.status),
                version.content_hash[:HASH_CHARS],
                version.imported_by,
                short_utc(version.imported_utc),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, version.id)
                if col == 2:
                    self._style_status(item, version.status)
                if col == 3:
                    item.setToolTip(version.content_hash)
                self.table.setItem(row, col, item)
        if not self.versions:
            self.hint("The library is empty. Tap “Import recipe…” to add a recipe file.")
        elif self.message.text() in ("", READING):
            self.hint(f"{len(self.versions)} recipe versions. Tap a row to select it.")
        if self._select_after_load is not None:
            self._select_version(self._select_after_load)
            self._select_after_load = None
        self._update_buttons()

    @staticmethod
    def _style_status(item: QTableWidgetItem, status: str) -> None:
        font = item.font()
        if status == "approved":
            font.setBold(True)
            item.setForeground(QBrush(QColor(theme.GOOD)))
        elif status in ("superseded", RETIRED):
            item.setForeground(QBrush(QColor(theme.MUTED)))
            font.setStrikeOut(status == RETIRED)
        item.setFont(font)

    def _select_version(self, version_id: int) -> None:
        for row, version in enumerate(self.versions):
            if version.id == version_id:
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))

    def selected_versions(self) -> list[RecipeVersion]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.versions[r] for r in rows if r < len(self.versions)]

    def select_ids(self, *version_ids: int) -> None:
        """Select exactly these versions (as taps would)."""
        self.table.clearSelection()
        for version_id in version_ids:
            self._select_version(version_id)

    def _update_buttons(self) -> None:
        chosen = self.selected_versions() if hasattr(self, "table") else []
        idle = not self.busy
        one = len(chosen) == 1
        self.import_button.setEnabled(idle)
        self.refresh_button.setEnabled(idle)
        self.compare_button.setEnabled(idle and len(chosen) == 2)
        refused = self.refusals.get(chosen[0].id, "") if one else ""
        self.approve_button.setEnabled(idle and one and chosen[0].status == "draft" and not refused)
        self.retire_button.setEnabled(idle and one and chosen[0].status != RETIRED)
        self.clear_button.setEnabled(idle and bool(chosen))
        if not chosen:
            text = "Tap a version to approve or retire it; tap two to compare them."
        elif one:
            v = chosen[0]
            text = f"Selected: {v.label}, {STATUS_WORDS.get(v.status, v.status)}."
            if v.status == RETIRED and v.retired_reason:
                text += f" Retired because: {v.retired_reason}."
            if refused:  # beside the disabled Approve button: why
                text += f" {refused}"
        elif len(chosen) == 2:
            text = f"Selected: {chosen[0].label} and {chosen[1].label}. Tap “Compare two”."
        else:
            text = f"{len(chosen)} versions selected: compare takes exactly two."
        self.selection_hint.setWordWrap(bool(refused))  # a long recipe name: never clipped
        self.selection_hint.setText(text)

    def show_list(self) -> None:
        self.stack.setCurrentIndex(0)

    # ------------------------------------------------------------------ import
    def show_import(self) -> None:
        if self._session() is None:
            return
        self.problems.clear()
        self.problems.hide()
        self.problems_title.hide()
        self.tile_scroll.show()
        self.import_title.setText(
            f"Tap the recipe file to import from {self.recipe_folder}. It becomes a draft"
            " that a supervisor approves before it can run."
        )
        self.stack.setCurrentIndex(1)
        self._scan_folder()

    def _scan_folder(self) -> None:
        folder = self.recipe_folder
        while self.tiles.count():
            widget = self.tiles.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.call(
            lambda: scan_recipe_folder(folder),
            self._show_files,
            "The recipe folder cannot be read:",
            "Looking for recipe files…",
        )

    def _show_files(self, value: list[tuple[Path, str]]) -> None:
        self.tile_scroll.show()
        if not value:
            self.error(f"There are no recipe files (*.toml) in {self.recipe_folder}.")
            return
        self.hint(f"{len(value)} recipe files in {self.recipe_folder}.")
        for index, (path, summary) in enumerate(value):
            tile = QPushButton(f"{summary}\n{path.name}")
            tile.setObjectName("Tile")
            tile.setAccessibleName(f"file {path.name}")
            tile.setMinimumSize(240, 110)
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            tile.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            tile.clicked.connect(lambda _=False, p=path: self.import_file(p))
            self.tiles.addWidget(tile, index // TILE_COLUMNS, index % TILE_COLUMNS)

    def import_file(self, path: Path) -> None:
        session = self._session()
        if session is None:
            return
        known = {v.id for v in self.versions}
        library = self.library

        def job() -> RecipeVersion:
            return library.import_file(path, session)  # checks the permission, then the file

        self.problems.clear()
        self.problems.hide()
        self.problems_title.hide()
        self.call(
            job,
            lambda version: self._imported(version, path, known),
            "",
            f"Checking {path.name}…",
            on_error=lambda exc: self._not_imported(exc, path),
        )

    def _not_imported(self, exc: BaseException, path: Path) -> None:
        if not isinstance(exc, RecipeError):
            self.error(f"{path.name} was not imported: {plain_sentence(exc)}")
            return
        count = len(exc.problems)
        self.error(
            f"{path.name} was not imported: {count} problem"
            f"{'s' if count != 1 else ''} to correct in the file (listed below)."
        )
        self.problems_title.setText(f"What is wrong in {path.name}:")
        for problem in exc.problems:
            item = QListWidgetItem(str(problem))
            item.setSizeHint(item.sizeHint())
            self.problems.addItem(item)
        self.problems_title.show()
        self.problems.show()

    def _imported(self, version: RecipeVersion, path: Path, known: set[int]) -> None:
        if version.id in known:
            self.hint(
                f"{path.name} is already in the library as {version.label}"
                f" ({STATUS_WORDS.get(version.status, version.status)}): nothing new imported."
            )
        else:
            self.hint(
                f"Imported {path.name} as {version.label}, a draft: it needs a supervisor's"
                " approval before it can run."
            )
        self.stack.setCurrentIndex(0)
        self._load(select=version.id)

    # ------------------------------------------------------------------ compare
    def compare_selected(self) -> None:
        chosen = self.selected_versions()
        if len(chosen) != 2:
            self.error("Select exactly two versions to compare.")
            return
        left, right = sorted(chosen, key=lambda v: v.id)
        self.call(
            lambda: self.library.compare(left.id, right.id),
            lambda rows: self._compared(rows, left, right),
            "The versions cannot be compared:",
            f"Comparing {left.label} with {right.label}…",
        )

    def _compared(
        self, rows: list[tuple[str, str, str]], left: RecipeVersion, right: RecipeVersion
    ) -> None:
        self.comparison = rows
        self.diff.setHorizontalHeaderLabels(
            ["", f"{left.label} ({left.status})", "", f"{right.label} ({right.status})"]
        )
        self.diff.setRowCount(len(rows))
        numbers = [0, 0]
        counts = {"changed": 0, "added": 0, "removed": 0}
        for row, (kind, a, b) in enumerate(rows):
            counts[kind] = counts.get(kind, 0) + 1
            for side, text in enumerate((a, b)):
                present = kind in ("same", "changed") or (kind == "added") == (side == 1)
                number = QTableWidgetItem("")
                line = QTableWidgetItem(text if present else "")
                if present:
                    numbers[side] += 1
                    number.setText(f"{DIFF_MARKS[kind]} {numbers[side]}".strip())
                number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                number.setForeground(QBrush(QColor(theme.MUTED)))
                for item in (number, line):
                    item.setData(Qt.ItemDataRole.UserRole, kind)
                    if kind != "same":
                        tint = DIFF_TINTS[kind] if present else theme.SURFACE
                        item.setBackground(QBrush(QColor(tint)))
                self.diff.setItem(row, 2 * side, number)
                self.diff.setItem(row, 2 * side + 1, line)
        if not any(counts.values()):
            summary = f"{left.label} and {right.label} have the same text."
        else:
            summary = (
                f"{left.label} (left) against {right.label} (right): "
                f"{lines(counts['changed'])} changed (≠), {lines(counts['added'])} added (+),"
                f" {lines(counts['removed'])} removed (−)."
            )
        self.compare_summary.setText(summary)
        self.hint(f"Comparing {left.label} with {right.label}.")
        self._change_rows = [
            r
            for r, (kind, _, _) in enumerate(rows)
            if kind != "same" and (r == 0 or rows[r - 1][0] == "same")
        ]
        self._current_change = -1
        self.previous_change.setEnabled(bool(self._change_rows))
        self.next_change.setEnabled(bool(self._change_rows))
        self.stack.setCurrentIndex(2)
        if self._change_rows:
            self._jump(1)

    def _jump(self, step: int) -> None:
        if not self._change_rows:
            return
        self._current_change = (self._current_change + step) % len(self._change_rows)
        row = self._change_rows[self._current_change]
        self.diff.scrollToItem(
            self.diff.item(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter
        )
        self.compare_summary.setText(
            self.compare_summary.text().split("  [")[0]
            + f"  [change {self._current_change + 1} of {len(self._change_rows)}]"
        )

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
