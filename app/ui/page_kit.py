"""What the supervisors' and administrators' pages (Recipes, Administration) share:
touch-sized widgets, the message line that shows outcomes as sentences, the busy state,
and background calls whose failures reach the screen as a sentence.

``RecordsPage`` is the base: a title, a message line, ``call`` for work that must not
run on the GUI thread (``Background``), and the entry dialogs opened in small
``_ask_*`` methods so tests can answer them directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from app.store.users import PermissionDenied, Session
from app.ui import dialogs, theme
from app.ui.background import Background

ROW_PX = 64  # table rows are touch targets: a row is selected by tapping it


def plain_sentence(exc: BaseException) -> str:
    """An exception as a sentence for the screen: no class names, no traceback."""
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    else:
        text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, PermissionDenied):
        text = f"not allowed: {text}"
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def short_utc(stamp: str | None) -> str:
    """'2025-03-01T12:34:56.123456Z' -> '2025-03-01 12:34 UTC'."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp else ""


def set_message(label: QLabel, text: str, error: bool) -> None:
    """Show a message as an error (red, objectName "Error") or a hint ("Hint")."""
    label.setObjectName("Error" if error else "Hint")
    label.setText(text)
    label.style().unpolish(label)
    label.style().polish(label)


def touch_button(
    text: str,
    name: str = "",
    object_name: str = "",
    *,
    checkable: bool = False,
    height: int = theme.MIN_TOUCH_PX,
    expanding: bool = False,
) -> QPushButton:
    """A button sized for a finger (a glove with ``height`` above the minimum); named
    for tests and screen readers; never the dialog's default, never keyboard focus.
    ``expanding``: it shares its row's width with its neighbours."""
    button = QPushButton(text)
    button.setAccessibleName(name or text)
    if object_name:
        button.setObjectName(object_name)
    button.setCheckable(checkable)
    button.setMinimumSize(theme.MIN_TOUCH_PX * 2, height)
    if expanding:
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    button.setAutoDefault(False)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


def button_row(left: Sequence[QPushButton], right: Sequence[QPushButton] = ()) -> QHBoxLayout:
    """Buttons in a row: ``left`` at the start, ``right`` pushed to the end."""
    row = QHBoxLayout()
    row.setSpacing(12)
    for button in left:
        row.addWidget(button)
    row.addStretch(1)
    for button in right:
        row.addWidget(button)
    return row


def text_label(text: str = "", object_name: str = "Hint") -> QLabel:
    """A word-wrapped label styled by its object name ("Hint", "Error", "PageTitle")."""
    label = QLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    return label


def view_column() -> tuple[QWidget, QVBoxLayout]:
    """A bare widget and its column, for one view of a page."""
    view = QWidget()
    column = QVBoxLayout(view)
    column.setContentsMargins(0, 0, 0, 0)
    return view, column


def touch_table(
    columns: Sequence[str],
    name: str,
    selection: QAbstractItemView.SelectionMode,
    stretch_column: int,
) -> QTableWidget:
    """A read-only table of whole rows selected by tapping (rows ROW_PX tall), every
    column sized to its contents but one that takes the rest of the width."""
    table = QTableWidget(0, len(columns))
    table.setAccessibleName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(ROW_PX)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(selection)
    table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    return table


class RecordsPage(QWidget):
    """A page that reads and changes the records through services: a title, a message
    line, a busy state that disables the buttons, and ``call`` for background work."""

    SIGN_IN = "Sign in to use this page."  # what the page says without a session

    def __init__(
        self,
        title: str,
        session_provider: Callable[[], Session | None],
        background: Background,
    ) -> None:
        super().__init__()
        self.session_provider = session_provider
        self.background = background
        self.busy = False
        self.title = QLabel(title)
        self.title.setObjectName("PageTitle")
        self.message = text_label()
        self.message.setAccessibleName("message")
        self.message.setMinimumHeight(30)
        self.root = QVBoxLayout(self)
        self.root.setContentsMargins(16, 12, 16, 12)
        self.root.setSpacing(8)
        self.root.addWidget(self.title)
        self.root.addWidget(self.message)

    # ------------------------------------------------------------------ messages
    def error(self, text: str) -> None:
        set_message(self.message, text, error=True)

    def hint(self, text: str) -> None:
        set_message(self.message, text, error=False)

    def _session(self) -> Session | None:
        """The signed-in session, or None after saying that someone must sign in."""
        session = self.session_provider()
        if session is None:
            self.error(self.SIGN_IN)
        return session

    # ------------------------------------------------------------------ busy, background
    def _update_buttons(self) -> None:
        """Enable the buttons that fit the selection and the busy state."""

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.busy = busy
        if busy and text:
            self.hint(text)
        self._update_buttons()

    def call(
        self,
        job: Callable[[], Any],
        on_ok: Callable[[Any], None],
        failure: str,
        busy: str = "",
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run ``job`` in the background with the page busy (saying ``busy``). Then,
        on the GUI thread: ``on_ok(result)``, or on a failure ``on_error(exception)``
        when given, else the error "<failure> <the exception as a sentence>"."""

        def done(ok: bool, value: Any) -> None:
            self._set_busy(False)
            if ok:
                on_ok(value)
            elif on_error is not None:
                on_error(value)
            else:
                self.error(f"{failure} {plain_sentence(value)}")

        self._set_busy(True, busy)
        self.background.submit(job, done)

    # ------------------------------------------------------------------ dialogs
    def _ask_text(
        self, title: str, prompt: str, password: bool = False, initial: str = ""
    ) -> str | None:
        return dialogs.ask_text(self, title, prompt, password, initial)

    def _ask_reason(self, title: str, reasons: list[str]) -> str | None:
        return dialogs.ask_reason(self, title, reasons)


class WrappedItemDelegate(QStyledItemDelegate):
    """Row heights for word-wrapped list items that hold all their text: Qt measures
    the text at the view's full width, but the stylesheet's item padding makes it wrap
    into more lines than measured, and the last line was cut off ("…")."""

    PADDING_X, PADDING_Y, MIN_HEIGHT = 12, 4, theme.MIN_TOUCH_PX

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        width = max(option.rect.width(), 200) - 2 * self.PADDING_X - 4
        text = str(index.data() or "")
        metrics = QFontMetrics(option.font)
        bounds = metrics.boundingRect(0, 0, width, 100_000, Qt.TextFlag.TextWordWrap, text)
        return QSize(width, max(bounds.height() + 2 * self.PADDING_Y + 8, self.MIN_HEIGHT))
