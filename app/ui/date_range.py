"""A date-range filter a gloved hand can set: one tap for the usual ranges (today, the
last 7 or 30 days, all time) and "Dates…" for any other, typed as YYYY-MM-DD on the
on-screen keyboard. Ranges are UTC days, as the records are; ``until_utc`` is the day
after the last day chosen, so a filter reads ``since <= t < until``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QPushButton, QWidget

from app.ui.dialogs import DialogHost, TextEntryDialog

QUICK_RANGES = (("All time", None), ("Today", 0), ("7 days", 6), ("30 days", 29))


def parse_day(text: str) -> date | None:
    """'2026-03-01' as a date, or None when it is not one."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def utc_today() -> date:
    return datetime.now(UTC).date()


class DateEntryDialog(TextEntryDialog):
    """A date typed as YYYY-MM-DD; OK only once the text is a real date."""

    def __init__(self, prompt: str, initial: str = "", parent: QWidget | None = None) -> None:
        super().__init__("Dates", f"{prompt} (YYYY-MM-DD, UTC)", initial=initial, parent=parent)

    def _update(self) -> None:
        self.ok_button.setEnabled(parse_day(self.line_edit.text()) is not None)

    def day(self) -> date:
        day = parse_day(self.text())
        assert day is not None  # OK is enabled only for a real date
        return day


class DateRangeBar(DialogHost, QWidget):
    """Chips for the usual ranges and "Dates…" for any other; ``changed`` carries
    (since_utc, until_utc) as ISO dates, "" where the range is open."""

    changed = Signal(str, str)

    def __init__(self, today: Callable[[], date] = utc_today) -> None:
        super().__init__()
        self.today = today
        self.since_utc, self.until_utc = "", ""
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QPushButton] = {}
        for label, days_back in QUICK_RANGES:
            button = self._chip(label)
            button.clicked.connect(lambda _=False, d=days_back: self._quick(d))
        self.buttons["All time"].setChecked(True)
        self.shown: QPushButton = self.buttons["All time"]  # the chip of the range in force
        self.custom = self._chip("Dates…")
        self.custom.clicked.connect(self._ask_from)

    def _chip(self, label: str) -> QPushButton:
        button = QPushButton(label)
        button.setCheckable(True)
        button.setAccessibleName(f"dates {label.rstrip('…')}")
        self.group.addButton(button)
        self.layout().addWidget(button)
        self.buttons[label] = button
        return button

    def _quick(self, days_back: int | None) -> None:
        self.custom.setText("Dates…")
        self.shown = self.group.checkedButton()
        if days_back is None:
            self._set("", "")
            return
        today = self.today()
        self._set((today - timedelta(days=days_back)).isoformat(), _after(today))

    def _ask_from(self) -> None:
        first = DateEntryDialog("From", self.since_utc[:10], self)

        def then() -> None:
            last = DateEntryDialog("To (inclusive)", first.text().strip(), self)
            self.open_dialog(last, lambda: self.set_days(first.day(), last.day()))
            last.rejected.connect(self._restore)

        self.open_dialog(first, then)
        first.rejected.connect(self._restore)

    def _restore(self) -> None:
        """Cancelled: the chip of the range still in force stays lit."""
        self.shown.setChecked(True)

    def set_days(self, first: date, last: date) -> None:
        """Any range of whole days (given either way round)."""
        first, last = min(first, last), max(first, last)
        self.custom.setText(f"{first.isoformat()} – {last.isoformat()}")
        self.custom.setChecked(True)
        self.shown = self.custom
        self._set(first.isoformat(), _after(last))

    def _set(self, since: str, until: str) -> None:
        self.since_utc, self.until_utc = since, until
        self.changed.emit(since, until)


def _after(day: date) -> str:
    return (day + timedelta(days=1)).isoformat()
