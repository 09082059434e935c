"""One tap picks one of many (an action, a person, an object type): sections of big
buttons in a scrolling grid, "Any" to clear the choice, Cancel to keep it. For
filters whose values the records already hold, so nothing is typed that could be
tapped."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui.dialogs import BUTTON_MIN_WIDTH, TouchDialog
from app.ui.keyboard import KEY_PX, KEY_SPACING, TouchKey

Choice = tuple[str, object]  # (label on the button, value chosen)
LINE_CHARS = 24  # what a third of the dialog holds at 20 px
CHOICE_STYLE = "QPushButton { font-size: 20px; padding: 0 10px; }"


def two_lines(text: str, width: int = LINE_CHARS) -> str:
    """A long label on two lines (a push button does not wrap); what is still too
    long ends in an ellipsis rather than being cut off silently."""
    lines = textwrap.wrap(text, width) or [text]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width, placeholder=" …")]
    return "\n".join(lines)


class ChoiceDialog(TouchDialog):
    """``sections``: (heading, choices) in order; a section without choices is left
    out. After ``accepted``, ``value()`` is the chosen value, or None for "Any"."""

    def __init__(
        self,
        title: str,
        sections: Sequence[tuple[str, Sequence[Choice]]],
        any_label: str = "Any",
        columns: int = 3,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, parent)
        # three columns of readable labels, as many rows as fit the 1280 x 800 panel
        self.setMinimumSize(1000, 680)
        self.add_title(title)
        self._value: object = None
        self.buttons: dict[str, QPushButton] = {}  # by label, for tests and tools
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 12, 0)
        column.setSpacing(KEY_SPACING)
        for heading, choices in sections:
            if not choices:
                continue
            label = QLabel(heading)
            label.setObjectName("PanelTitle")
            column.addWidget(label)
            grid = QGridLayout()
            grid.setSpacing(KEY_SPACING)
            for c in range(columns):
                grid.setColumnStretch(c, 1)  # equal columns, whatever the labels
            for index, (text, value) in enumerate(choices):
                grid.addWidget(self._choice(text, value), index // columns, index % columns)
            column.addLayout(grid)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        scroll.setMinimumHeight(3 * KEY_PX + 2 * KEY_SPACING)
        self.body.addWidget(scroll, 1)
        self.cancel_button = self.make_button("Cancel", "Cancel")
        self.any_button = self.make_button(any_label, any_label, "Primary")
        self.any_button.clicked.connect(lambda: self._choose(None))
        self.cancel_button.clicked.connect(self.reject)
        self.add_button_row(self.cancel_button, self.any_button)

    def _choice(self, text: str, value: object) -> QPushButton:
        button = TouchKey(two_lines(text), text, KEY_PX)
        button.set_min_width(BUTTON_MIN_WIDTH)
        button.setStyleSheet(CHOICE_STYLE)
        button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        button.clicked.connect(lambda _=False, v=value: self._choose(v))
        self.buttons[text] = button
        return button

    def _choose(self, value: object) -> None:
        self._value = value
        self.accept()

    def value(self) -> object:
        return self._value
