"""The audit viewer's dialogs: the action, person and object-type choices built from
what the trail holds, a run number on the keypad (with "Any run"), and one entry
shown whole (old and new values that a table cell has to cut short)."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QWidget

from app.store.audit_query import AuditEntryRow
from app.ui.choice_dialog import Choice, ChoiceDialog
from app.ui.dialogs import KeypadDialog, TouchDialog

ActionChoice = tuple[str, bool]  # (action or prefix, exact)
RUN_MAX = 999_999


def group_label(prefix: str, count: int) -> str:
    return f"{prefix.rstrip('.')}: all {count} actions"


def action_choices(actions: list[str]) -> list[tuple[str, list[Choice]]]:
    """Groups first ("alarm: all 4" picks every alarm.* action), then each action."""
    families = Counter(a.split(".", 1)[0] for a in actions if "." in a)
    groups: list[Choice] = [
        (group_label(f"{name}.", n), (f"{name}.", False))
        for name, n in sorted(families.items())
        if n > 1
    ]
    exact: list[Choice] = [(a, (a, True)) for a in actions]
    return [("Every action of a kind", groups), ("One action", exact)]


def action_text(action: str, exact: bool) -> str:
    """The action filter as its button says it."""
    if not action:
        return "any"
    return action if exact else f"{action.rstrip('.')} (all)"


def action_dialog(actions: list[str], parent: QWidget) -> ChoiceDialog:
    return ChoiceDialog("Show which actions?", action_choices(actions), "Any action", 3, parent)


def user_dialog(people: list[tuple[str, str]], parent: QWidget) -> ChoiceDialog:
    names = sorted({name for _, name in people}, key=str.lower)
    return ChoiceDialog(
        "Show whose entries?",
        [("People in the audit trail", [(n, n) for n in names])],
        "Anyone",
        3,
        parent,
    )


def object_dialog(types: list[str], parent: QWidget) -> ChoiceDialog:
    return ChoiceDialog(
        "Show entries about which kind of object?",
        [("Object type", [(t, t) for t in types])],
        "Any object",
        4,
        parent,
    )


class RunNumberDialog(KeypadDialog):
    """A run number on the keypad; "Any run" clears the run filter (value() None)."""

    def __init__(self, initial: int | None, parent: QWidget | None = None) -> None:
        super().__init__("Show the entries of run", "", 1, RUN_MAX, initial, 0, parent)
        self.any_run = False
        self.any_button = self.make_button("Any run", "Any run")
        self.any_button.clicked.connect(self._any)
        row = self.body.itemAt(self.body.count() - 1).layout()  # Cancel's row
        row.addWidget(self.any_button)

    def _any(self) -> None:
        self.any_run = True
        self._value = None
        self.accept()

    def run_id(self) -> int | None:
        value = self.value()
        return None if self.any_run or value is None else int(value)


def entry_html(entry: AuditEntryRow) -> str:
    """Every field of an entry, labelled, for reading whole."""
    from html import escape
    from textwrap import wrap

    def row(label: str, value: object) -> str:
        shown = "—" if value is None or value == "" else escape(str(value))
        return (
            f"<tr><td style='padding:4px 16px 4px 0; color:#4A5260'><b>{label}</b></td>"
            f"<td style='padding:4px 0'>{shown}</td></tr>"
        )

    rows = [
        row("Time (UTC)", entry.ts_utc),
        row("Time zone", entry.tz),
        row("User", f"{entry.user_name} (account {entry.user_id})"),
        row("Action", entry.action),
        row("Object", f"{entry.object_type} {entry.object_id}"),
        row("Old value", entry.old_value),
        row("New value", entry.new_value),
        row("Reason", entry.reason),
        row("Run", entry.run_id),
        row("Workstation", entry.workstation),
        row("Entry hash (SHA-256)", "\u200b".join(wrap(entry.hash, 16))),
    ]
    return f"<table>{''.join(rows)}</table>"


class EntryDialog(TouchDialog):
    """One audit entry, every field in full; read only, one Close button."""

    def __init__(self, entry: AuditEntryRow, parent: QWidget | None = None) -> None:
        super().__init__(f"Audit entry #{entry.id}", parent)
        self.setMinimumSize(960, 640)
        self.add_title(f"Audit entry #{entry.id}")
        self.text = QLabel(entry_html(entry))
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.text.setStyleSheet("font-size: 20px; background: transparent;")
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.text)
        self.body.addWidget(scroll, 1)
        self.close_button: QPushButton = self.make_button("Close", "Close", "Primary")
        self.close_button.clicked.connect(self.accept)
        self.add_button_row(self.close_button, None)
