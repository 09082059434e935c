"""A dialog that picks one of a few answers from big tiles: no list box to scroll, no
typing (the administrators' screen: a role, a choice setting, the serial port)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QGridLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.ui.page_kit import text_label, touch_button


class TileChoiceDialog(QDialog):
    """Pick one of a few answers from big tiles (no list box to scroll, no typing)."""

    def __init__(
        self,
        title: str,
        prompt: str,
        options: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.setMinimumWidth(700)
        self._value: str | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 20, 24, 20)
        column.setSpacing(14)
        column.addWidget(text_label(title, "PageTitle"))
        column.addWidget(text_label(prompt))
        grid = QGridLayout()
        grid.setSpacing(16)
        self.tiles: dict[str, QPushButton] = {}
        for index, (value, label) in enumerate(options):
            tile = QPushButton(label)
            tile.setObjectName("Tile")
            tile.setAccessibleName(value)
            tile.setMinimumSize(240, 110)
            tile.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            tile.setAutoDefault(False)
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            tile.clicked.connect(lambda _=False, v=value: self.choose(v))
            grid.addWidget(tile, index // 2, index % 2)
            self.tiles[value] = tile
        column.addLayout(grid)
        column.addStretch(1)
        cancel = touch_button("Cancel", "Cancel")
        cancel.setMinimumWidth(220)
        cancel.clicked.connect(self.reject)
        column.addWidget(cancel, 0, Qt.AlignmentFlag.AlignLeft)

    def choose(self, value: str) -> None:
        self._value = value
        self.accept()

    def value(self) -> str | None:
        return self._value
