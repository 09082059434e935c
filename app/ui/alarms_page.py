"""The alarm list: every alarm needing attention, highest priority first, each with its
operator response; acknowledge (anyone on shift) and shelve (supervisor, with a reason
and a time limit). New alarms give an audible cue per priority, which can be switched
off and is testable as a signal."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.batch.status import AlarmView, RunStatus
from app.store.security import Permission, allowed
from app.store.users import Session
from app.ui import theme
from app.ui.dialogs import STANDARD_REASONS, DialogHost, KeypadDialog, ReasonDialog
from app.ui.run_controller import RunController

WAITING = ("unacknowledged", "returned-unacknowledged")
ORDER = ("high", "medium", "low")


class AlarmSounder(QObject):
    """A cue for each alarm that newly needs acknowledging: ``cue(priority)``; a beep
    when sound is on (high: three, medium: two, low: one)."""

    cue = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.enabled = True
        self._heard: set[str] = set()

    def update(self, alarms: tuple[AlarmView, ...]) -> None:
        waiting = {a.tag: a for a in alarms if a.state in WAITING}
        for tag in sorted(
            set(waiting) - self._heard, key=lambda t: ORDER.index(waiting[t].priority)
        ):
            self.cue.emit(waiting[tag].priority)
            if self.enabled:
                for _ in range({"high": 3, "medium": 2}.get(waiting[tag].priority, 1)):
                    QApplication.beep()
        self._heard = set(waiting)


class AlarmsPage(DialogHost, QWidget):
    def __init__(self, runs: RunController, session: Callable[[], Session | None]) -> None:
        super().__init__()
        self.runs, self.session = runs, session
        self.sounder = AlarmSounder()
        column = QVBoxLayout(self)
        top = QHBoxLayout()
        title = QLabel("Alarms")
        title.setObjectName("PageTitle")
        top.addWidget(title)
        top.addStretch(1)
        self.sound = QPushButton("Sound on")
        self.sound.setCheckable(True)
        self.sound.setChecked(True)
        self.sound.setAccessibleName("alarm sound")
        self.sound.toggled.connect(self._sound)
        top.addWidget(self.sound)
        column.addLayout(top)
        self.rows = QVBoxLayout()
        self.rows.setSpacing(10)
        column.addLayout(self.rows)
        column.addStretch(1)
        self.message = QLabel("")
        self.message.setObjectName("Error")
        column.addWidget(self.message)
        self.alarms: tuple[AlarmView, ...] = ()
        runs.status_changed.connect(self.show_status)
        self.show_status(RunStatus())

    def _sound(self, on: bool) -> None:
        self.sounder.enabled = on
        self.sound.setText("Sound on" if on else "Sound off")

    def show_status(self, status: RunStatus) -> None:
        self.sounder.update(status.alarms)
        if status.alarms == self.alarms and self.rows.count():
            return
        self.alarms = status.alarms
        while self.rows.count():
            widget = self.rows.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        if not status.alarms:
            none = QLabel("No alarm needs attention.")
            none.setObjectName("Hint")
            self.rows.addWidget(none)
            return
        alarms = sorted(
            status.alarms, key=lambda a: (a.state not in WAITING, ORDER.index(a.priority))
        )
        for alarm in alarms:
            self.rows.addWidget(self._row(alarm))

    def _row(self, alarm: AlarmView) -> QFrame:
        colour = theme.PRIORITY_COLOURS[alarm.priority]
        frame = QFrame()
        frame.setObjectName("Card")
        frame.setStyleSheet(
            f"QFrame#Card {{ background: white; border-left: 14px solid {colour};"
            " border-radius: 8px; }"
        )
        row = QHBoxLayout(frame)
        text = QLabel(
            f"<b style='color:{colour}'>{alarm.priority.upper()}</b> <b>{alarm.tag}</b>"
            f" – {alarm.state}<br>{alarm.message}"
        )
        text.setWordWrap(True)
        text.setStyleSheet("font-size: 19px; background: transparent;")
        row.addWidget(text, 1)
        if alarm.state in WAITING:
            ack = QPushButton("Acknowledge")
            ack.setAccessibleName(f"acknowledge {alarm.tag}")
            ack.setMinimumWidth(200)
            ack.clicked.connect(lambda _=False, t=alarm.tag: self._call(self.runs.acknowledge, t))
            row.addWidget(ack)
        session = self.session()
        if session is not None and allowed(session.role, Permission.ALARM_SHELVE):
            shelve = QPushButton("Shelve")
            shelve.setAccessibleName(f"shelve {alarm.tag}")
            shelve.clicked.connect(lambda _=False, t=alarm.tag: self._shelve(t))
            row.addWidget(shelve)
        return frame

    def _call(self, method: Callable[..., None], *args) -> None:
        """``method``: one of the run controller's typed calls, e.g. ``self.runs.shelve``."""
        session = self.session()
        if session is None:
            return
        method(session, *args, done=lambda ok, v: self.message.setText("" if ok else str(v)))

    def _shelve(self, tag: str) -> None:
        why = ReasonDialog(f"Shelve {tag}: why?", STANDARD_REASONS["shelve"], parent=self)

        def reasoned() -> None:
            reason = why.reason()
            minutes = KeypadDialog(f"Shelve {tag} for", "min", 1, 1440, initial=60, parent=self)
            self.open_dialog(
                minutes, lambda: self._call(self.runs.shelve, tag, reason, minutes.value())
            )

        self.open_dialog(why, reasoned)
