"""The Serial console tab: any protocol line sent to the instrument (the driver adds the
sequence number and CRC), the raw reply frame and its parsed fields, a history of the
exchanges, and the link's live counters.

Typing is fine here (a service engineer may bring a keyboard), and the on-screen
keyboard is one tap away; the common queries are buttons. Tapping a history entry puts
its line back in the entry field, and Send sends it: one tap more than sending at once,
so that a flick through the history on a touchscreen never repeats a pump or
calibration command by accident.

The counters come from the hardware thread's once-a-second statistics signal, not from
a ``link_statistics`` call each second: every service-host call counts as activity of
the signed-in session, and polling it would keep the inactivity lock from ever
engaging while this tab is open.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from app.service.host import ConsoleExchange
from app.ui import theme
from app.ui.dialogs import TextEntryDialog
from app.ui.hardware_calls import ServiceCalls
from app.ui.page_kit import touch_button
from app.ui.service.kit import ServicePageApi, ToolTab, big_label

QUICK_COMMANDS = ("IDN?", "PING", "GET temp", "FAULT?", "RAW? ph")
HISTORY_LIMIT = 200
COUNTERS = (
    ("frames_out", "frames out"),
    ("frames_in", "frames in"),
    ("crc_errors", "CRC errors"),
    ("retries", "retries"),
    ("timeouts", "timeouts"),
)


def reply_fields(exchange: ConsoleExchange) -> list[str]:
    """The reply's fields as 'name = value' lines (bare fields, as FAULT? lists them,
    as they are), in the order of the frame."""
    if not exchange.ok:
        return []
    payload = exchange.reply.rsplit("*", 1)[0].split()
    words = payload[2:] if len(payload) >= 2 and payload[1] == "OK" else payload
    lines = []
    for word in words:
        name, sep, value = word.partition("=")
        lines.append(f"{name} = {value}" if sep else word)
    return lines


class ConsoleTab(ToolTab):
    title = "Serial console"
    needs_service = True

    def __init__(self, page: ServicePageApi) -> None:
        super().__init__(page)
        self.pending = False
        self.exchanges: list[ConsoleExchange] = []
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 4, 0, 0)
        column.setSpacing(8)
        self.counters = big_label("Link counters: waiting for the instrument", 20, bold=True)
        self.counters.setAccessibleName("link counters")
        column.addWidget(self.counters)

        quick = QHBoxLayout()
        quick.setSpacing(10)
        self.quick_buttons = []
        for line in QUICK_COMMANDS:
            button = touch_button(line, f"send {line}")
            button.setMinimumWidth(140)
            button.clicked.connect(lambda _=False, text=line: self.send(text))
            quick.addWidget(button)
            self.quick_buttons.append(button)
        quick.addStretch(1)
        column.addLayout(quick)

        entry = QHBoxLayout()
        entry.setSpacing(10)
        prompt = QLabel(">")
        prompt.setStyleSheet("font-size: 28px; font-weight: bold; background: transparent;")
        entry.addWidget(prompt)
        self.line = QLineEdit()
        self.line.setAccessibleName("console line")
        self.line.setPlaceholderText("a protocol line, such as GET temp")
        self.line.setStyleSheet("font-size: 24px; font-family: 'DejaVu Sans Mono';")
        self.line.returnPressed.connect(lambda: self.send(self.line.text()))
        self.line.textChanged.connect(lambda _t: self._update())
        entry.addWidget(self.line, 1)
        self.keyboard_button = touch_button("⌨ Keyboard", "console keyboard")
        self.keyboard_button.clicked.connect(self._keyboard)
        entry.addWidget(self.keyboard_button)
        self.send_button = touch_button("Send", "send", "Primary")
        self.send_button.setMinimumWidth(160)
        self.send_button.clicked.connect(lambda: self.send(self.line.text()))
        entry.addWidget(self.send_button)
        column.addLayout(entry)

        self.history = QListWidget()
        self.history.setAccessibleName("console history")
        self.history.setWordWrap(True)
        self.history.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.history.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.history.setSpacing(2)
        font = QFont("DejaVu Sans Mono")
        font.setPixelSize(19)
        self.history.setFont(font)
        self.history.setStyleSheet("font-family: 'DejaVu Sans Mono'; font-size: 19px;")
        self.history.itemClicked.connect(self._recall)
        column.addWidget(self.history, 1)
        hint = big_label("Tap an entry to put its line back in the field; Send sends it.", 17)
        hint.setObjectName("Hint")
        column.addWidget(hint)

        worker = getattr(getattr(page.calls, "instrument", None), "worker", None)
        if worker is not None:
            worker.stats.connect(self.show_stats)
        self._update()

    # ------------------------------------------------------------------ counters
    def show_stats(self, stats: dict) -> None:
        parts = [f"{label} {stats.get(key, 0)}" for key, label in COUNTERS]
        median = stats.get("latency_ms_median")
        if median is not None:
            parts.append(f"round trip {median:.1f} ms")
        self.counters.setText(" · ".join(parts))

    # ------------------------------------------------------------------ sending
    def send(self, text: str) -> None:
        line = " ".join(text.split())
        if not line or self.pending:
            return
        self.pending = True
        self._update()
        self.call(ServiceCalls.console_line, line, done=self._answered, failed=self._refused)

    def _answered(self, exchange: ConsoleExchange) -> None:
        self.pending = False
        self.exchanges.append(exchange)
        self._add(exchange)
        if self.line.text().strip() == exchange.sent:
            self.line.clear()
        if exchange.ok:
            self.page.say(f"Sent {exchange.sent}: the instrument answered OK.")
        else:
            self.page.say(f"The instrument refused {exchange.sent}: {exchange.reply}", error=True)
        self._update()

    def _refused(self, _exc: BaseException) -> None:
        self.pending = False  # the page's message line says why (not in service mode, ...)
        self._update()

    def _add(self, exchange: ConsoleExchange) -> None:
        lines = [f"> {exchange.sent}", f"< {exchange.reply}"]
        if exchange.ok:
            fields = reply_fields(exchange)
            if fields:
                lines.append("    " + "   ".join(fields))
        else:
            lines.append("    refused by the instrument")
        item = QListWidgetItem("\n".join(lines))
        item.setData(Qt.ItemDataRole.UserRole, exchange.sent)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, exchange.sent)
        if not exchange.ok:
            item.setForeground(QColor(theme.BAD))
        self.history.addItem(item)
        while self.history.count() > HISTORY_LIMIT:
            self.history.takeItem(0)
            del self.exchanges[0]
        self.history.scrollToBottom()

    def _recall(self, item: QListWidgetItem) -> None:
        self.line.setText(str(item.data(Qt.ItemDataRole.UserRole)))
        self.page.say("Tap Send to send it again.")

    def _keyboard(self) -> None:
        dialog = TextEntryDialog(
            "Serial console",
            "A protocol line, such as GET temp",
            initial=self.line.text(),
            parent=self,
        )

        def typed() -> None:
            self.line.setText(dialog.text())
            self.send(dialog.text())

        self.page.open_dialog(dialog, typed)

    def _update(self) -> None:
        ready = not self.pending
        self.send_button.setEnabled(ready and bool(self.line.text().strip()))
        for button in self.quick_buttons:
            button.setEnabled(ready)
