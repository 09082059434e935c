"""Start a run: pick an approved recipe, enter the batch ID twice (or scan it twice),
adjust the parameters your role may change, watch the pre-start checklist turn green,
start. The checklist is the run host's (the same one the headless runner prints), so
the screen cannot start what the service layer would refuse."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.batch.library import RecipeLibrary, load_version
from app.batch.recipe import Recipe
from app.batch.units import DIMENSIONS
from app.store.users import Session
from app.ui import theme
from app.ui.background import Background
from app.ui.dialogs import DialogHost, KeypadDialog, TextEntryDialog
from app.ui.run_controller import RunController

CHECK_EVERY_MS = 2000


class StartPanel(DialogHost, QWidget):
    started = Signal(int)  # run id

    def __init__(
        self,
        runs: RunController,
        library: RecipeLibrary,
        background: Background,
        session: Callable[[], Session | None],
    ) -> None:
        super().__init__()
        self.runs, self.library, self.background, self.session = runs, library, background, session
        self.version_id: int | None = None
        self.recipe: Recipe | None = None
        self.batch = ["", ""]
        self.overrides: dict[str, float] = {}
        self.checks_ok = False
        columns = QHBoxLayout(self)
        columns.setSpacing(16)
        columns.addWidget(self._recipes_column(), 1)
        columns.addWidget(self._entry_column(), 1)
        columns.addWidget(self._checks_column(), 1)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh_checks)
        self._timer.start(CHECK_EVERY_MS)

    # ------------------------------------------------------------------ layout
    def _panel(self, title: str) -> tuple[QFrame, QVBoxLayout]:
        frame = QFrame()
        frame.setObjectName("Panel")
        column = QVBoxLayout(frame)
        label = QLabel(title)
        label.setObjectName("PanelTitle")
        column.addWidget(label)
        return frame, column

    def _recipes_column(self) -> QFrame:
        frame, column = self._panel("1  RECIPE")
        self.recipe_tiles = QVBoxLayout()
        column.addLayout(self.recipe_tiles)
        self.recipe_info = QLabel("")
        self.recipe_info.setObjectName("Hint")
        self.recipe_info.setWordWrap(True)
        column.addWidget(self.recipe_info)
        column.addStretch(1)
        return frame

    def _entry_column(self) -> QFrame:
        frame, column = self._panel("2  BATCH AND PARAMETERS")
        self.batch_buttons = []
        for index, label in enumerate(("Batch ID", "Batch ID again")):
            button = QPushButton(f"{label}: tap to enter")
            button.setAccessibleName(label.lower())
            button.clicked.connect(lambda _=False, i=index: self._enter_batch(i))
            column.addWidget(button)
            self.batch_buttons.append(button)
        self.parameter_grid = QGridLayout()
        column.addLayout(self.parameter_grid)
        column.addStretch(1)
        return frame

    def _checks_column(self) -> QFrame:
        frame, column = self._panel("3  CHECKS")
        self.check_labels = QVBoxLayout()
        column.addLayout(self.check_labels)
        waiting = QLabel("Choose a recipe: the checks appear here.")
        waiting.setObjectName("Hint")
        waiting.setWordWrap(True)
        self.check_labels.addWidget(waiting)
        column.addStretch(1)
        self.message = QLabel("")
        self.message.setObjectName("Error")
        self.message.setWordWrap(True)
        column.addWidget(self.message)
        self.start_button = QPushButton("Start run")
        self.start_button.setObjectName("Primary")
        self.start_button.setAccessibleName("start run")
        self.start_button.setMinimumHeight(90)
        self.start_button.setEnabled(False)
        self.start_button.clicked.connect(self._start)
        column.addWidget(self.start_button)
        return frame

    # ------------------------------------------------------------------ recipes
    def reload(self) -> None:
        self.background.submit(self.library.approved, self._show_recipes)

    def _show_recipes(self, ok: bool, versions) -> None:
        _clear(self.recipe_tiles)
        if not ok:
            self.message.setText(f"Recipes cannot be read: {versions}")
            return
        if not versions:
            self.recipe_info.setText("No approved recipe: a supervisor approves one first.")
        for version in versions:
            tile = QPushButton(f"{version.name}  v{version.version_no}")
            tile.setCheckable(True)
            tile.setAccessibleName(f"recipe {version.name}")
            tile.clicked.connect(lambda _=False, v=version: self._choose(v))
            self.recipe_tiles.addWidget(tile)

    def _choose(self, version) -> None:
        for index in range(self.recipe_tiles.count()):
            tile = self.recipe_tiles.itemAt(index).widget()
            tile.setChecked(tile.accessibleName() == f"recipe {version.name}")
        self.version_id = version.id
        self.recipe = load_version(version)
        self.overrides = {}
        self.recipe_info.setText(
            f"{self.recipe.description}\nKit {self.recipe.kit.name} · "
            f"{len(self.recipe.steps)} steps · sha256 {self.recipe.content_hash[:12]}"
        )
        self._show_parameters()
        self.refresh_checks()

    def _show_parameters(self) -> None:
        _clear(self.parameter_grid)
        session = self.session()
        recipe = self.recipe
        if recipe is None:
            return
        for row, parameter in enumerate(recipe.parameters.values()):
            factor = DIMENSIONS[parameter.dimension].units[parameter.unit]
            value = self.overrides.get(parameter.name, parameter.default) / factor
            label = QLabel(parameter.label)
            label.setWordWrap(True)
            shown = QLabel(f"{value:g} {parameter.unit}")
            shown.setObjectName("ChannelValue")
            change = QPushButton("Change")
            change.setAccessibleName(f"change {parameter.name}")
            allowed = session is not None and session.role.value in parameter.changeable_by
            change.setEnabled(allowed)
            if not allowed:
                change.setToolTip("your role may not change this parameter")
            change.clicked.connect(lambda _=False, p=parameter: self._change_parameter(p))
            self.parameter_grid.addWidget(label, row, 0)
            self.parameter_grid.addWidget(shown, row, 1)
            self.parameter_grid.addWidget(change, row, 2)

    # ------------------------------------------------------------------ entries
    def _enter_batch(self, index: int) -> None:
        title = "Batch ID" if index == 0 else "Batch ID, once more"
        dialog = TextEntryDialog(title, "Type or scan the batch ID", parent=self)
        dialog.accepted.connect(lambda: self._batch_entered(index, dialog.text()))
        self.open_dialog(dialog)

    def _batch_entered(self, index: int, text: str) -> None:
        self.batch[index] = text.strip()
        label = ("Batch ID", "Batch ID again")[index]
        self.batch_buttons[index].setText(f"{label}: {self.batch[index] or 'tap to enter'}")
        self.refresh_checks()

    def _change_parameter(self, parameter) -> None:
        factor = DIMENSIONS[parameter.dimension].units[parameter.unit]
        current = self.overrides.get(parameter.name, parameter.default) / factor
        dialog = KeypadDialog(
            parameter.label,
            parameter.unit,
            parameter.low / factor,
            parameter.high / factor,
            initial=current,
            parent=self,
        )
        dialog.accepted.connect(lambda: self._parameter_entered(parameter, dialog.value()))
        self.open_dialog(dialog)

    def _parameter_entered(self, parameter, value: float | None) -> None:
        if value is None:
            return
        factor = DIMENSIONS[parameter.dimension].units[parameter.unit]
        self.overrides[parameter.name] = value * factor
        self._show_parameters()
        self.refresh_checks()

    # ------------------------------------------------------------------ checks, start

    def refresh_checks(self) -> None:
        session = self.session()
        if session is None or self.version_id is None or not self.isVisible():
            return
        self.runs.checklist(
            session,
            self.version_id,
            self.batch[0],
            self.batch[1],
            dict(self.overrides),
            done=self._show_checks,
        )

    def _show_checks(self, ok: bool, checks) -> None:
        _clear(self.check_labels)
        if not ok:
            self.message.setText(str(checks))
            self.start_button.setEnabled(False)
            return
        for check in checks:
            mark, colour = ("✔", theme.GOOD) if check.ok else ("✖", theme.BAD)
            label = QLabel(
                f"<span style='color:{colour};font-size:24px'>{mark}</span> "
                f"<b>{check.name}</b><br><span style='color:{theme.MUTED}'>{check.detail}</span>"
            )
            label.setWordWrap(True)
            self.check_labels.addWidget(label)
        self.checks_ok = all(c.ok for c in checks)
        self.start_button.setEnabled(self.checks_ok)

    def _start(self) -> None:
        session = self.session()
        if session is None or self.version_id is None:
            return
        self.start_button.setEnabled(False)
        self.message.setText("Starting…")
        self.runs.start(
            session,
            self.version_id,
            self.batch[0],
            self.batch[1],
            dict(self.overrides),
            done=self._after_start,
        )

    def _after_start(self, ok: bool, value) -> None:
        if not ok:
            self.message.setText(str(value))
            self.refresh_checks()
            return
        self.message.clear()
        self.batch = ["", ""]
        for index, label in enumerate(("Batch ID", "Batch ID again")):
            self.batch_buttons[index].setText(f"{label}: tap to enter")
        self.started.emit(int(value))


def _clear(layout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            item.widget().deleteLater()
