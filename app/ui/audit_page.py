"""The audit trail viewer (supervisors, administrators): the chain's verification at
the top, filters by time, person, action, object and run set by taps, the newest
matching entries with old and new values and reasons, a tap on a row to read an
entry whole, and a CSV copy of the whole filtered selection. Every read, the
verification and the export go through AuditReader (which checks the permission)
on the background thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.review.audit_export import AuditExport, chain_line
from app.review.audit_reader import AuditReader
from app.store.audit import VerifyResult
from app.store.audit_query import AuditFilter, AuditSelection
from app.store.users import Session, UserService
from app.ui import theme
from app.ui.audit_dialogs import (
    EntryDialog,
    RunNumberDialog,
    action_dialog,
    action_text,
    object_dialog,
    user_dialog,
)
from app.ui.background import Background
from app.ui.date_range import DateRangeBar
from app.ui.dialogs import DialogHost, TextEntryDialog
from app.ui.page_kit import plain_sentence, set_message, touch_button

ROW_PX = 72  # two lines of 18 px text per cell, and a touch target
FIXED_WIDTHS = {0: 128, 7: 64}  # Time (UTC) on two lines, Run
COLUMN_WEIGHTS = {1: 1.0, 2: 1.3, 3: 1.15, 4: 0.85, 5: 1.0, 6: 1.4}  # the rest
BAD_ROW = "#F6D5D5"  # the entry the chain verification names: a pale red row
STATUS_STYLE = "font-size: 21px; font-weight: bold; background: transparent; color: {};"


class AuditTable(QTableWidget):
    """Time and run at their own width; the other columns share what is left by
    weight, so reasons and action names get the room they need at any width."""

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        free = self.viewport().width() - sum(FIXED_WIDTHS.values())
        total = sum(COLUMN_WEIGHTS.values())
        for index in range(self.columnCount()):
            width = FIXED_WIDTHS.get(index) or int(free * COLUMN_WEIGHTS[index] / total)
            self.setColumnWidth(index, max(width, 60))


class AuditPage(DialogHost, QWidget):
    COLUMNS = (
        "Time (UTC)",
        "User",
        "Action",
        "Object",
        "Old value",
        "New value",
        "Reason",
        "Run",
    )
    loaded = Signal()  # the table shows a new selection (or says why it cannot)
    verified = Signal()  # the chain status line was updated
    exported = Signal()  # an export finished (written or refused): see the message

    def __init__(
        self,
        db_path: Path,
        background: Background,
        session: Callable[[], Session | None],
        export_folder: Path,
        users: UserService | None = None,
    ) -> None:
        super().__init__()
        self.background, self.session = background, session
        self.export_folder = export_folder
        self.reader = AuditReader(db_path, users)  # users: refusals are audited
        self.filter = AuditFilter()
        self.selection: AuditSelection | None = None
        self.chain: VerifyResult | None = None
        self.last_export: AuditExport | None = None
        self._asked = 0  # queries asked for; only the newest one's answer is shown
        self._waiting = 0  # background jobs of this page not yet answered
        self._build()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 0, 4, 4)  # the shell has its margins: rows get the room
        column.setSpacing(8)
        top = QHBoxLayout()
        title = QLabel("Audit trail")
        title.setObjectName("PageTitle")
        top.addWidget(title, 1)
        self.export_button = touch_button("Export CSV", "export csv")
        self.export_button.clicked.connect(self.export_csv)
        top.addWidget(self.export_button)
        column.addLayout(top)
        self.chain_label = QLabel("")
        self.chain_label.setWordWrap(True)
        self.chain_label.setAccessibleName("audit chain status")
        column.addWidget(self.chain_label)

        dates = QHBoxLayout()
        self.dates = DateRangeBar()
        self.dates.changed.connect(lambda since, until: self._set(since_utc=since, until_utc=until))
        dates.addWidget(self.dates)
        dates.addStretch(1)
        self.clear_button = touch_button("Clear filters", "clear filters")
        self.clear_button.clicked.connect(self.clear_filters)
        dates.addWidget(self.clear_button)
        column.addLayout(dates)

        filters = QHBoxLayout()
        filters.setSpacing(12)
        self.user_button = self._filter_button("filter user", self._ask_user)
        self.action_button = self._filter_button("filter action", self._ask_action)
        self.object_button = self._filter_button("filter object", self._ask_object)
        self.run_button = self._filter_button("filter run", self._ask_run)
        for button in (self.user_button, self.action_button, self.object_button):
            filters.addWidget(button, 3)
        filters.addWidget(self.run_button, 2)
        column.addLayout(filters)

        self.count = QLabel("")
        self.count.setObjectName("Hint")
        self.count.setWordWrap(True)
        self.count.setStyleSheet("font-size: 19px;")
        self.count.setAccessibleName("entry count")
        column.addWidget(self.count)

        self.table = self._table()
        column.addWidget(self.table, 1)
        self.message = QLabel("")
        self.message.setObjectName("Hint")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("message")
        self.message.hide()  # shown with a message only: until then the table has the room
        column.addWidget(self.message)
        self._show_filter()

    def _filter_button(self, name: str, slot: Callable[[], None]) -> QPushButton:
        button = touch_button("", name)
        button.clicked.connect(slot)
        return button

    def _table(self) -> QTableWidget:
        table = AuditTable(0, len(self.COLUMNS))
        table.setAccessibleName("audit entries")
        table.setHorizontalHeaderLabels(self.COLUMNS)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(ROW_PX)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setWordWrap(True)
        table.setAlternatingRowColors(True)  # rows followed across eight columns at 1.5 m
        table.setStyleSheet(f"QTableWidget {{ alternate-background-color: {theme.SURFACE}; }}")
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.cellClicked.connect(lambda row, _: self.show_entry(row))
        return table

    # ------------------------------------------------------------------ filters
    def _show_filter(self) -> None:
        where = self.filter
        self.user_button.setText(f"User: {where.user or 'anyone'}")
        self.action_button.setText(f"Action: {action_text(where.action, where.action_exact)}")
        what = " ".join(p for p in (where.object_type, where.object_id) if p)
        self.object_button.setText(f"Object: {what or 'any'}")
        self.run_button.setText(f"Run: {where.run_id if where.run_id is not None else 'any'}")

    def _set(self, **changes: Any) -> None:
        self.filter = replace(self.filter, **changes)
        self._show_filter()
        self.query()

    def clear_filters(self) -> None:
        """Every filter off; "All time" re-lit (its signal runs the query)."""
        self.filter = AuditFilter(since_utc=self.filter.since_utc, until_utc=self.filter.until_utc)
        self.dates.buttons["All time"].click()

    def _with_choices(self, read: Callable[[Session], Any], then: Callable[[Any], None]) -> None:
        """Read a filter's choices in the background, then open its dialog."""
        session = self._session()
        if session is None:
            return

        def done(ok: bool, value: Any) -> None:
            if ok:
                if self.isVisible():  # not over another page (or the lock) shown meanwhile
                    then(value)
            else:
                self._error(f"The choices cannot be read: {plain_sentence(value)}")

        self._submit(lambda: read(session), done)

    def _ask_user(self) -> None:
        def choose(people: list[tuple[str, str]]) -> None:
            dialog = user_dialog(people, self)
            self.open_dialog(dialog, lambda: self._set(user=dialog.value() or ""))

        self._with_choices(self.reader.users, choose)

    def _ask_action(self) -> None:
        def choose(actions: list[str]) -> None:
            dialog = action_dialog(actions, self)

            def chosen() -> None:
                action, exact = dialog.value() or ("", False)
                self._set(action=action, action_exact=exact)

            self.open_dialog(dialog, chosen)

        self._with_choices(self.reader.actions, choose)

    def _ask_object(self) -> None:
        def choose(types: list[str]) -> None:
            dialog = object_dialog(types, self)

            def typed() -> None:
                kind = dialog.value()
                if kind is None:
                    self._set(object_type="", object_id="")
                    return
                ident = TextEntryDialog(
                    f"Which {kind}?",
                    f"{kind} ID contains (leave empty for every {kind})",
                    initial=self.filter.object_id if kind == self.filter.object_type else "",
                    parent=self,
                )
                ident.ok_button.setEnabled(True)  # empty: every object of the kind
                ident.line_edit.textChanged.connect(lambda _: ident.ok_button.setEnabled(True))
                self.open_dialog(
                    ident, lambda: self._set(object_type=kind, object_id=ident.text().strip())
                )

            self.open_dialog(dialog, typed)

        self._with_choices(self.reader.object_types, choose)

    def _ask_run(self) -> None:
        dialog = RunNumberDialog(self.filter.run_id, self)
        self.open_dialog(dialog, lambda: self._set(run_id=dialog.run_id()))

    # ------------------------------------------------------------------ background
    @property
    def busy(self) -> bool:
        """Waiting for an answer from the background thread."""
        return self._waiting > 0

    def _submit(self, job: Callable[[], Any], done: Callable[[bool, Any], None]) -> None:
        self._waiting += 1

        def answered(ok: bool, value: Any) -> None:
            self._waiting -= 1
            done(ok, value)

        self.background.submit(job, answered)

    # ------------------------------------------------------------------ reading
    def _session(self) -> Session | None:
        session = self.session()
        if session is None:
            self._error("Sign in to read the audit trail.")
        return session

    def reload(self) -> None:
        """Shown: the entries, then the chain verified in full (slower, so second)."""
        self.query()
        self.verify()

    def query(self) -> None:
        session = self._session()
        if session is None:
            return
        self._asked += 1
        asked, where = self._asked, self.filter
        self.count.setText("Reading the audit trail…")
        self._submit(
            lambda: self.reader.query(session, where),
            lambda ok, value: self._show(asked, ok, value),
        )

    def verify(self) -> None:
        session = self._session()
        if session is None:
            return
        self.chain_label.setStyleSheet(STATUS_STYLE.format(theme.MUTED))
        self.chain_label.setText("Checking the audit trail's hash chain…")
        self._submit(lambda: self.reader.chain(session), self._verified)

    def _verified(self, ok: bool, value: Any) -> None:
        if ok:
            self.chain = value
            colour = theme.GOOD if value.ok else theme.BAD
            self.chain_label.setStyleSheet(STATUS_STYLE.format(colour))
            self.chain_label.setText(chain_line(value))
            self._mark_first_bad()
        else:
            self.chain_label.setStyleSheet(STATUS_STYLE.format(theme.BAD))
            self.chain_label.setText(f"The audit trail cannot be checked: {plain_sentence(value)}")
        self.verified.emit()

    def _show(self, asked: int, ok: bool, value: Any) -> None:
        if asked != self._asked:
            return  # a newer filter was asked for meanwhile
        if not ok:
            self.selection = None
            self.table.setRowCount(0)  # no rows left over from other filters
            self.count.setText("")
            self._error(f"The audit trail cannot be read: {plain_sentence(value)}")
            self.loaded.emit()
            return
        selection: AuditSelection = value
        self.selection = selection
        if self.message.objectName() == "Error":
            self._hint("")  # an earlier failure no longer applies
        self.count.setText(count_text(selection))
        self.table.setRowCount(0)
        self.table.setRowCount(len(selection.rows))
        for r, entry in enumerate(selection.rows):
            cells = (
                f"{entry.ts_utc[:10]} {entry.ts_utc[11:19]}",
                entry.user_name,
                breakable(entry.action),
                breakable(f"{entry.object_type} {entry.object_id}"),
                entry.old_value or "",
                entry.new_value or "",
                entry.reason or "",
                "" if entry.run_id is None else str(entry.run_id),
            )
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self._mark_first_bad()
        self.table.scrollToTop()
        self.loaded.emit()

    def _mark_first_bad(self) -> None:
        """The entry the verification names, when it is in the table: in red."""
        chain, selection = self.chain, self.selection
        if chain is None or chain.ok or chain.first_bad_id is None or selection is None:
            return
        for r, entry in enumerate(selection.rows):
            if entry.id == chain.first_bad_id:
                for c in range(self.table.columnCount()):
                    item = self.table.item(r, c)
                    item.setBackground(QColor(BAD_ROW))
                    item.setForeground(QColor(theme.BAD))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                return

    def show_entry(self, row: int) -> None:
        """A tapped row, every field in full."""
        if self.selection is None or not 0 <= row < len(self.selection.rows):
            return
        self.open_dialog(EntryDialog(self.selection.rows[row], self))

    # ------------------------------------------------------------------ export
    def export_csv(self) -> None:
        session = self._session()
        if session is None:
            return
        where, folder = self.filter, self.export_folder
        self.export_button.setEnabled(False)
        self._hint("Writing the CSV file (the whole filtered selection)…")
        self._submit(lambda: self.reader.export_csv(session, where, folder), self._exported)

    def _exported(self, ok: bool, value: Any) -> None:
        self.export_button.setEnabled(True)
        if not ok:
            self._error(f"The CSV file was not written: {plain_sentence(value)}")
        else:
            self.last_export = value
            warning = (
                "" if value.chain.ok else " The file says the audit trail FAILED verification."
            )
            entries = f"{value.entries:,} entr{'y' if value.entries == 1 else 'ies'}"
            self._hint(f"Wrote {entries} to {value.path}.{warning}")
        self.exported.emit()

    # ------------------------------------------------------------------ messages
    def _error(self, text: str) -> None:
        set_message(self.message, text, error=True)
        self.message.setVisible(bool(text))

    def _hint(self, text: str) -> None:
        set_message(self.message, text, error=False)
        self.message.setVisible(bool(text))


def breakable(text: str) -> str:
    """Names like "alarm.returned-unacknowledged" have no spaces to wrap at: a zero-width
    space after each dot and slash lets a narrow cell break them there."""
    return text.replace(".", ".\u200b").replace("/", "/\u200b")


def count_text(selection: AuditSelection) -> str:
    """'12 entries', 'The newest 1,000 of 12,345 entries: …', or that none match."""
    if not selection.rows:
        if selection.where.empty:
            return "The audit trail has no entries yet."
        return "No audit entry matches these filters."
    if selection.truncated:
        return (
            f"The newest {len(selection.rows):,} of {selection.total:,} entries: narrow the"
            " filters to see older ones; Export CSV writes them all."
        )
    return f"{selection.total:,} entr{'y' if selection.total == 1 else 'ies'}, newest first."
