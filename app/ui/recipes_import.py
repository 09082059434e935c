"""The Recipes page's import view: the recipe folder's files as tiles (no file dialog:
a cleanroom has no mouse); a tap imports one as a draft, or lists its problems.

A part of ``RecipesPage`` (app/ui/recipes_page.py), mixed into it: it uses the page's
``call``, ``hint``, ``error``, ``_session``, ``library``, ``recipe_folder``, ``stack``,
``versions`` and ``_load``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QWidget,
)

from app.batch.recipe import RecipeError, load_recipe_file
from app.store.recipes import RecipeVersion
from app.ui.page_kit import button_row, plain_sentence, text_label, touch_button, view_column
from app.ui.recipes_list import STATUS_WORDS

TILE_COLUMNS = 3  # file names stay whole on a 1280 px screen beside the rail


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


class RecipeImport:
    """The import view of ``RecipesPage`` (stack page 1)."""

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
