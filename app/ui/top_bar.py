"""The top bar, always in view: instrument and link state, the run in one line, the
active-alarm count in the colour of the highest priority, who is signed in, the clock,
and the lock button. Tapping the clock opens About (version, commit, build date): the
bar has no room for one more button at 1280 px with a long name signed in."""

from __future__ import annotations

from PySide6.QtCore import QDateTime, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
)

from app.batch.status import RunStatus
from app.ui import theme

LINK_WORDS = {
    "CONNECTED": "Connected",
    "CONNECTING": "Connecting…",
    "RECONNECTING": "Link lost – reconnecting",
    "LOST": "Link lost",
    "DISCONNECTED": "Not connected",
}


class TopBar(QFrame):
    alarms_clicked = Signal()
    lock_clicked = Signal()
    sign_out_clicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("TopBar")
        self.setFixedHeight(72)
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 6, 16, 6)
        row.setSpacing(20)
        self.link_dot = QLabel("●")
        self.link_dot.setStyleSheet(f"font-size: 30px; color: {theme.BAD};")
        self.instrument = QLabel("No instrument")
        self.instrument.setStyleSheet("font-size: 18px; font-weight: bold;")
        self.link_text = QLabel("Not connected")
        self.link_text.setStyleSheet("font-size: 16px;")
        left = QVBoxLayout()
        left.setSpacing(0)
        left.addWidget(self.instrument)
        left.addWidget(self.link_text)
        row.addWidget(self.link_dot)
        row.addLayout(left, 1)
        self.run = QLabel("")
        self.run.setStyleSheet("font-size: 18px;")
        row.addWidget(self.run, 3)
        self.instrument.setMinimumWidth(160)
        for label in (self.link_text, self.run):
            # long texts give way (the window must fit a 1280 px panel); never push it wider
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(120)
        self.alarm_button = QPushButton("No alarms")
        self.alarm_button.setAccessibleName("alarms")
        self.alarm_button.setMinimumWidth(190)
        self.alarm_button.clicked.connect(self.alarms_clicked)
        row.addWidget(self.alarm_button)
        self.user = QLabel("Nobody signed in")
        self.user.setStyleSheet("font-size: 18px;")
        row.addWidget(self.user)
        self.clock = QLabel()
        self.clock.setObjectName("Clock")
        self.clock.setAccessibleName("about")
        self.clock.setToolTip("About CellDeck: version and build")
        self.clock.setCursor(Qt.CursorShape.PointingHandCursor)
        self.clock.setMinimumWidth(theme.MIN_TOUCH_PX)  # a tap target like any button
        self.clock.installEventFilter(self)
        self.about_dialog = None
        row.addWidget(self.clock)
        self.lock_button = QPushButton("Lock")
        self.lock_button.setAccessibleName("lock")
        self.lock_button.clicked.connect(self.lock_clicked)
        row.addWidget(self.lock_button)
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setAccessibleName("sign out")
        self.sign_out_button.clicked.connect(self.sign_out_clicked)
        row.addWidget(self.sign_out_button)
        self._safe = False
        self._link = ("DISCONNECTED", "")
        self._tick()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(1000)
        self.set_alarms(())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.clock and event.type() == QEvent.Type.MouseButtonRelease:
            self.show_about()  # a tap on the clock (touch arrives as a mouse release)
            return True
        return super().eventFilter(watched, event)

    def show_about(self) -> None:
        """The About dialog (version, commit, build date), over the whole window."""
        from app.ui.about import AboutDialog

        if self.about_dialog is None:  # made once, on first use: start-up stays quick
            self.about_dialog = AboutDialog(self.window())
        self.about_dialog.open()

    def _tick(self) -> None:
        self.clock.setText(QDateTime.currentDateTime().toString("HH:mm"))

    def set_link(self, state: str, detail: str) -> None:
        self._link = (state, detail)
        self.link_dot.setStyleSheet(
            f"font-size: 30px; color: {theme.LINK_COLOURS.get(state, theme.BAD)};"
        )
        if self._safe and state == "CONNECTED":
            return  # the safe state says more than "Connected"
        words = LINK_WORDS.get(state, state.title())
        self.link_text.setText(words if state == "CONNECTED" else f"{words}: {detail}")
        self.link_text.setToolTip(detail)

    def set_safe(self, safe: bool) -> None:
        """The instrument's safe state, said plainly where everyone looks."""
        if safe == self._safe:
            return
        self._safe = safe
        if safe:
            self.link_text.setText("SAFE state: pumps stopped, temperature and gas kept")
            self.link_text.setStyleSheet(
                "font-size: 16px; color: #FFB74D; font-weight: bold;"  # amber on the dark bar
            )
        else:
            self.link_text.setStyleSheet("font-size: 16px;")
            self.set_link(*self._link)

    def set_instrument(self, text: str) -> None:
        self.instrument.setText(text)

    def set_user(self, text: str) -> None:
        self.user.setText(text)
        signed_in = bool(text) and text != "Nobody signed in"
        self.lock_button.setVisible(signed_in)
        self.sign_out_button.setVisible(signed_in)

    def set_run(self, status: RunStatus) -> None:
        if not status.state:
            self.run.setText("No run")
            return
        self.run.setText(f"{status.batch} · {status.state} · {status.step}/{status.steps}")

    def set_alarms(self, alarms) -> None:
        """Count of alarms needing attention, coloured by the highest priority."""
        if not alarms:
            self.alarm_button.setText("No alarms")
            self.alarm_button.setStyleSheet("")
            return
        order = ("high", "medium", "low")
        top = min((a.priority for a in alarms), key=order.index)
        colour = theme.PRIORITY_COLOURS[top]
        self.alarm_button.setText(f"{len(alarms)} alarm{'s' if len(alarms) > 1 else ''}")
        self.alarm_button.setStyleSheet(
            f"background: {colour}; color: white; border-color: {colour}; font-weight: bold;"
        )
