"""Cards across the full width of the run screen that cannot be missed: an operator
prompt (what to do, what is required, who is asked), the newest alarm with its
response, and why the run is held and what to do next."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from app.batch.executors import Prompt
from app.batch.status import AlarmView
from app.ui import theme

REQUIRED = {
    "confirm": "Confirm when done",
    "data": "Enter the value",
    "signature": "Sign with your password",
}


def _card(colour: str) -> str:
    return f"QFrame#Card {{ background: white; border: 4px solid {colour}; border-radius: 12px; }}"


class PromptCard(QFrame):
    act = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.setStyleSheet(_card(theme.INFO))
        row = QHBoxLayout(self)
        row.setContentsMargins(20, 8, 20, 8)
        text = QVBoxLayout()
        self.who = QLabel("")
        self.who.setObjectName("Hint")
        self.message = QLabel("")
        self.message.setStyleSheet("font-size: 28px; font-weight: bold; background: transparent;")
        self.message.setWordWrap(True)
        self.required = QLabel("")
        self.required.setStyleSheet("font-size: 20px; background: transparent;")
        text.addWidget(self.who)
        text.addWidget(self.message)
        text.addWidget(self.required)
        row.addLayout(text, 1)
        self.button = QPushButton("Confirm")
        self.button.setObjectName("Primary")
        self.button.setAccessibleName("answer prompt")
        self.button.setMinimumSize(220, 80)
        self.button.clicked.connect(self.act)
        row.addWidget(self.button)
        self.prompt: Prompt | None = None
        self.hide()

    def show_prompt(self, prompt: Prompt | None, step: int, step_name: str) -> None:
        self.prompt = prompt
        if prompt is None:
            self.hide()
            return
        asked = "operator and a second person" if prompt.second_person else "operator"
        self.who.setText(f"STEP {step} · {step_name.upper()} · asks the {asked}")
        self.message.setText(prompt.message)
        required = REQUIRED.get(prompt.response, prompt.response)
        if prompt.response == "data":
            unit = f" ({prompt.data_unit})" if prompt.data_unit else ""
            required = f"Enter {prompt.data_label or 'the value'}{unit}"
        if prompt.second_person:
            required += ", then a second person signs"
        self.required.setText(required)
        self.button.setText(
            {"confirm": "Confirm", "data": "Enter value", "signature": "Sign"}.get(
                prompt.response, "Answer"
            )
        )
        self.show()


class AlarmBanner(QFrame):
    acknowledge = Signal(str)  # tag

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Card")
        row = QHBoxLayout(self)
        row.setContentsMargins(20, 6, 20, 6)
        text = QVBoxLayout()
        self.title = QLabel("")
        self.title.setStyleSheet("font-size: 22px; font-weight: bold; background: transparent;")
        self.response = QLabel("")
        self.response.setWordWrap(True)
        self.response.setStyleSheet("font-size: 19px; background: transparent;")
        text.addWidget(self.title)
        text.addWidget(self.response)
        row.addLayout(text, 1)
        self.button = QPushButton("Acknowledge")
        self.button.setAccessibleName("acknowledge alarm")
        self.button.setMinimumSize(220, 64)
        self.button.clicked.connect(lambda: self.acknowledge.emit(self.tag))
        row.addWidget(self.button)
        self.tag = ""
        self.hide()

    def show_alarms(self, alarms: tuple[AlarmView, ...]) -> None:
        """The highest-priority alarm, unacknowledged ones first."""
        if not alarms:
            self.hide()
            return
        order = ("high", "medium", "low")
        waiting = ("unacknowledged", "returned-unacknowledged")
        alarm = min(alarms, key=lambda a: (a.state not in waiting, order.index(a.priority)))
        colour = theme.PRIORITY_COLOURS[alarm.priority]
        self.setStyleSheet(_card(colour))
        self.tag = alarm.tag
        state = {"returned-unacknowledged": "back to normal, not yet acknowledged"}.get(
            alarm.state, alarm.state
        )
        more = f"   (+{len(alarms) - 1} more)" if len(alarms) > 1 else ""
        self.title.setText(
            f"<span style='color:{colour}'>{alarm.priority.upper()} ALARM</span> "
            f"{alarm.tag} – {state}{more}"
        )
        self.response.setText(alarm.message)
        self.button.setVisible(alarm.state in waiting)
        self.show()


class HeldCard(QFrame):
    """Why the run is held and what happens next."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.setStyleSheet(_card(theme.WARN))
        column = QVBoxLayout(self)
        column.setContentsMargins(20, 6, 20, 6)
        self.title = QLabel("")
        self.title.setStyleSheet("font-size: 22px; font-weight: bold; background: transparent;")
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet("font-size: 19px; background: transparent;")
        column.addWidget(self.title)
        column.addWidget(self.detail)
        self.hide()

    def show_hold(self, state: str, reason: str, held_by: str, link: str) -> None:
        if state not in ("Held", "Holding"):
            self.hide()
            return
        self.title.setText(f"RUN HELD: {reason}")
        who = (
            "You can restart when ready."
            if held_by == "operator"
            else "A supervisor decides to restart or abort."
        )
        doing = "Pumps and rotor are stopped; temperature and gas control go on."
        if link != "CONNECTED":
            doing = (
                "The link to the instrument is down. The instrument keeps the cells at "
                "temperature on its own and the console reconnects by itself."
            )
        self.detail.setText(f"{doing} {who}")
        self.show()
