"""The Service page: service mode entered and left with one big button (audited, the
firmware told), and the engineer's tools behind a row of tabs. Tools that act on the
instrument are enabled only in service mode; live readings and link statistics are
always shown.

Every act goes to the service host on the hardware thread through the typed
``ServiceCalls`` proxy; answers and refusals come back as sentences on the message line.
The page imports its tabs; a tab knows the page only as ``kit.ServicePageApi``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.records import Records
from app.store.users import Session
from app.ui.background import Background
from app.ui.channel_panel import ChannelPanel
from app.ui.dialogs import DialogHost
from app.ui.hardware_calls import HardwareCalls, ServiceCalls
from app.ui.page_kit import plain_sentence, set_message, touch_button
from app.ui.service.calibration_tab import CalibrationTab
from app.ui.service.console_tab import ConsoleTab
from app.ui.service.kit import Request, ServiceTab
from app.ui.service.link_tab import LinkTab
from app.ui.service.manual_tab import ManualTab
from app.ui.service.raw_tab import RawTab
from app.ui.service.selftest_tab import SelfTestTab
from hardware.driver import Identity


class ReadingsTab(ServiceTab):
    """Every channel's calibrated value, grouped, and the link's statistics."""

    title = "Readings"
    needs_service = False

    def __init__(self, page: ServicePage) -> None:
        super().__init__(page)
        column = QVBoxLayout(self)
        self.stats = QLabel("")
        self.stats.setObjectName("Hint")
        self.stats.setWordWrap(True)
        column.addWidget(self.stats)
        self.channels = ChannelPanel()
        scroll = QScrollArea()  # all 26 channels are taller than a 1280 x 800 panel's page
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.channels)
        column.addWidget(scroll, 1)


class ServicePage(DialogHost, QWidget):
    service_changed = Signal(bool)

    def __init__(
        self,
        calls: HardwareCalls | None,
        session: Callable[[], Session | None],
        background: Background | None = None,
    ) -> None:
        super().__init__()
        self.calls = ServiceCalls.of(calls) if calls is not None else None
        self.session = session
        self.background = background  # file and port-list work off the GUI thread
        self.records: Records | None = None  # calibration records, exports (set by the shell)
        self.identity: Identity | None = None  # the instrument, set at each connection
        self.active = False
        column = QVBoxLayout(self)
        top = QHBoxLayout()
        title = QLabel("Service")
        title.setObjectName("PageTitle")
        top.addWidget(title)
        self.mode = QLabel("Not in service mode")
        self.mode.setObjectName("Hint")
        top.addWidget(self.mode, 1)
        self.mode_button = touch_button("Enter service mode", "enter service mode", "Primary")
        self.mode_button.clicked.connect(self._toggle_mode)
        top.addWidget(self.mode_button)
        column.addLayout(top)
        self.tabs_row = QHBoxLayout()
        self.tab_group = QButtonGroup(self)
        self.stack = QStackedWidget()
        self.tabs: list[ServiceTab] = []
        self.tab_buttons: dict[str, QPushButton] = {}
        column.addLayout(self.tabs_row)
        column.addWidget(self.stack, 1)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        column.addWidget(self.message)
        self.readings = self.add_tab(ReadingsTab(self))
        self.channels, self.stats = self.readings.channels, self.readings.stats
        self._add_tools()
        self.tab_buttons[self.readings.title].setChecked(True)
        self._show_mode()

    def _add_tools(self) -> None:
        """The tools that have their own modules."""
        self.add_tab(ManualTab(self))
        self.add_tab(RawTab(self))
        self.calibration = self.add_tab(CalibrationTab(self))
        self.selftest = self.add_tab(SelfTestTab(self))
        self.console = self.add_tab(ConsoleTab(self))
        self.add_tab(LinkTab(self))

    def add_tab(self, tab: ServiceTab) -> Any:
        button = QPushButton(tab.title)
        button.setCheckable(True)
        button.setAccessibleName(f"service tab {tab.title}")
        button.clicked.connect(lambda _=False, t=tab: self.show_tab(t))
        self.tab_group.addButton(button)
        self.tabs_row.addWidget(button)
        self.tab_buttons[tab.title] = button
        self.stack.addWidget(tab)
        self.tabs.append(tab)
        return tab

    def show_tab(self, tab: ServiceTab) -> None:
        self.tab_buttons[tab.title].setChecked(True)
        self.stack.setCurrentWidget(tab)
        tab.shown()

    # ------------------------------------------------------------------ calls
    def call(
        self,
        request: Request,
        *args: Any,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
    ) -> bool:
        """``request(calls, session, *args)``, ``request`` a ServiceCalls method (as
        ``page.call(ServiceCalls.raw, "ph", done=...)``); a refusal becomes the message
        line and goes to ``failed``. False when nothing was sent (nobody signed in, no
        hardware), so a caller waiting for an answer does not wait forever."""
        session = self.session()
        if session is None or self.calls is None:
            return False

        def answered(ok: bool, value: Any) -> None:
            if not ok:
                self.say(plain_sentence(value), error=True)
                if failed is not None:
                    failed(value)
            elif done is not None:
                done(value)

        request(self.calls, session, *args, done=answered)
        return True

    def show_values(self, values: dict[str, float]) -> None:
        """The newest telemetry, for the tabs that show live values."""
        for tab in self.tabs:
            show = getattr(tab, "show_values", None)
            if show is not None:
                show(values)

    def say(self, text: str, error: bool = False) -> None:
        set_message(self.message, text, error)

    # ------------------------------------------------------------------ mode
    def _toggle_mode(self) -> None:
        session = self.session()
        if session is None or self.calls is None:
            return
        entering = not self.active
        self.mode_button.setEnabled(False)

        def changed(ok: bool, result: Any) -> None:
            self.mode_button.setEnabled(True)
            if not ok:
                self.say(plain_sentence(result), error=True)
                return
            self.set_active(entering)
            self.say(f"Instrument: {result}")

        if entering:
            self.calls.enter(session, done=changed)
        else:
            self.calls.leave(session, done=changed)

    def leave_on_sign_out(self, session: Session) -> None:
        """An engineer signing out leaves service mode: the instrument is not left in it."""
        if self.active and self.calls is not None:
            self.calls.cancel_selftest()  # a running self-test stops first
            self.calls.leave(session)
            self.set_active(False)

    def set_active(self, active: bool) -> None:
        self.active = active
        self._show_mode()
        self.service_changed.emit(active)

    def _show_mode(self) -> None:
        session = self.session()
        who = session.full_name if session else ""
        self.mode.setText(
            f"In service mode ({who}): no run can start" if self.active else "Not in service mode"
        )
        self.mode_button.setText("Leave service mode" if self.active else "Enter service mode")
        self.mode_button.setObjectName("Danger" if self.active else "Primary")
        self.mode_button.style().unpolish(self.mode_button)
        self.mode_button.style().polish(self.mode_button)
        for tab in self.tabs:
            enabled = self.active or not tab.needs_service
            tab.setEnabled(enabled)
            tab.service_changed(self.active)

    def reload(self) -> None:
        """Shown again: the current tab refreshes itself."""
        current = self.stack.currentWidget()
        if isinstance(current, ServiceTab):
            current.shown()

    def set_stats(self, stats: dict) -> None:
        self.stats.setText(
            "   ".join(f"{k.replace('_', ' ')}: {v}" for k, v in stats.items() if k != "state")
        )
