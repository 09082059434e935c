"""The Recipes page's list of the library's versions: reading them (in the background),
the table, selecting one or two, and which buttons a selection allows.

A part of ``RecipesPage`` (app/ui/recipes_page.py), mixed into it: it uses the page's
``call``, ``hint``, ``busy``, ``message``, ``library``, ``session_provider`` and the
buttons the page builds here.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QTableWidgetItem, QWidget

from app.store.recipes import RETIRED, RecipeVersion
from app.ui import theme
from app.ui.page_kit import (
    button_row,
    short_utc,
    text_label,
    touch_button,
    touch_table,
    view_column,
)

HASH_CHARS = 12
READING = "Reading the recipe library…"
STATUS_WORDS = {
    "draft": "draft (not approved)",
    "approved": "APPROVED",
    "superseded": "superseded",
    RETIRED: "retired",
}


class RecipeList:
    """The list view of ``RecipesPage`` (stack page 0)."""

    COLUMNS = ("Recipe", "Version", "Status", "Content hash", "Imported by", "Imported")

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
