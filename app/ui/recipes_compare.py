"""The Recipes page's comparison of two versions, side by side: every line of both
texts, changes tinted and marked (≠ + −) so colour is never the only sign, and buttons
that jump from one change to the next.

A part of ``RecipesPage`` (app/ui/recipes_page.py), mixed into it: it uses the page's
``call``, ``hint``, ``error``, ``library``, ``stack``, ``selected_versions`` and
``show_list``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.store.recipes import RecipeVersion
from app.ui import theme
from app.ui.page_kit import button_row, text_label, touch_button, view_column

# Diff colours: light tints so the dark text stays readable; the marker at the start
# of each line says the same thing without colour.
DIFF_TINTS = {"changed": "#FBE3B0", "added": "#CFE8CF", "removed": "#F3C7C7"}
DIFF_MARKS = {"same": " ", "changed": "≠", "added": "+", "removed": "−"}


def lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


class RecipeCompare:
    """The comparison view of ``RecipesPage`` (stack page 2)."""

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
