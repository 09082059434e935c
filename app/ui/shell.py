"""The console's shell: top bar, navigation rail, pages, sign-in and the inactivity lock.

Each page is offered only to the roles that may use it (the service layer refuses
anyway). Signing in, the lock screen and every database round trip run off the GUI
thread. The inactivity lock shows the running process read-only and needs the
password to act again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QDialog,
    QFrame,
    QHBoxLayout,
    QMainWindow,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.batch.engine import SAFE_STATE
from app.batch.library import RecipeLibrary
from app.batch.status import RunStatus
from app.paths import resources_dir
from app.records import Records
from app.review.signoff import SignOff
from app.store.security import Permission, allowed
from app.store.users import Session
from app.ui.alarms_page import AlarmsPage
from app.ui.background import Background
from app.ui.compare_page import ComparePage
from app.ui.hardware_calls import ServiceCalls
from app.ui.history_page import HistoryPage
from app.ui.lock_screen import LockScreen
from app.ui.login import LoginPage
from app.ui.records_bar import RecordsBar
from app.ui.run_controller import RunController
from app.ui.run_detail import RunDetailPage
from app.ui.run_page import RunPage
from app.ui.service.page import ServicePage
from app.ui.top_bar import TopBar
from hardware.driver import Identity
from hardware.worker import InstrumentController, TelemetryBatch

log = logging.getLogger(__name__)

INACTIVITY_CHECK_MS = 5000

# (page, label, permission that shows it)
NAVIGATION = (
    ("run", "Run", Permission.RUN_OPERATE),
    ("alarms", "Alarms", Permission.ALARM_ACKNOWLEDGE),
    ("history", "History", Permission.RECORD_REVIEW),
    ("audit", "Audit trail", Permission.AUDIT_READ),
    ("recipes", "Recipes", Permission.RECIPE_APPROVE),
    ("service", "Service", Permission.SERVICE_MODE),
    ("admin", "Admin", Permission.USER_ADMIN),
)


@dataclass
class ShellParts:
    instrument: InstrumentController
    runs: RunController
    records: Records
    library: RecipeLibrary
    recipe_folder: Path
    demo_hint: str = ""
    service: ServiceCalls | None = None  # the service host's typed calls (service mode)


class Shell(QMainWindow):
    def __init__(self, parts: ShellParts) -> None:
        super().__init__()
        self.parts = parts
        self.setWindowTitle("CellDeck")
        self.session: Session | None = None
        self.background = Background(self)
        self.top = TopBar()
        self.records_bar = RecordsBar()
        self.pages: dict[str, QWidget] = {}
        self.nav_buttons: dict[str, QToolButton] = {}
        self.status = RunStatus()
        session = self.current_session
        self.login = LoginPage(parts.records.users, self.background, parts.demo_hint)
        self.lock = LockScreen(parts.records.users, self.background)
        self.run_page = RunPage(
            parts.runs, parts.library, self.background, session, parts.records.path
        )
        self.alarms_page = AlarmsPage(parts.runs, session)
        self.history_page = HistoryPage(parts.records.path, self.background)
        self.service_page = ServicePage(parts.service, session, self.background)
        self.service_page.records = parts.records
        self.pages = {
            "login": self.login,
            "lock": self.lock,
            "run": self.run_page,
            "alarms": self.alarms_page,
            "history": self.history_page,
            "service": self.service_page,
        }
        self._optional_pages()
        self.detail_page = RunDetailPage(
            SignOff(parts.records),
            self.background,
            session,
            parts.records.path.parent / "exports",
        )
        self.pages["detail"] = self.detail_page
        self.compare_page = ComparePage(
            parts.records.path,
            self.background,
            parts.records.path.parent / "exports",
            parts.records,
            session,
        )
        self.pages["compare"] = self.compare_page
        self._build()
        self._connect()
        self._inactivity = QTimer(self)
        self._inactivity.timeout.connect(self._check_inactivity)
        self._inactivity.start(INACTIVITY_CHECK_MS)
        QApplication.instance().installEventFilter(self)
        self.show_login()

    def _optional_pages(self) -> None:
        """Recipes, Admin and Audit trail screens (their own modules)."""
        from app.store.settings import SettingsService
        from app.ui.admin_page import AdminPage
        from app.ui.audit_page import AuditPage
        from app.ui.recipes_page import RecipesPage

        records = self.parts.records
        self.pages["recipes"] = RecipesPage(
            self.parts.library, self.current_session, self.background, self.parts.recipe_folder
        )
        settings = SettingsService(records.writer, records.path)
        self.pages["admin"] = AdminPage(
            records.users, settings, self.current_session, self.background
        )
        self.pages["audit"] = AuditPage(
            records.path,
            self.background,
            self.current_session,
            records.path.parent / "exports",
            users=records.users,  # refusals are audited
        )

    def _build(self) -> None:
        self.stack = QStackedWidget()
        for page in self.pages.values():
            self.stack.addWidget(page)
        self.rail = QFrame()
        self.rail.setObjectName("NavRail")
        rail = QVBoxLayout(self.rail)
        rail.setContentsMargins(0, 0, 0, 0)
        rail.setSpacing(0)
        group = QButtonGroup(self)
        for key, label, _ in NAVIGATION:
            button = QToolButton()
            button.setText(label)
            button.setIcon(QIcon(str(resources_dir() / "icons" / f"{key}.svg")))
            button.setIconSize(QSize(40, 40))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setObjectName("NavButton")
            button.setCheckable(True)
            button.setAccessibleName(f"nav {key}")
            button.clicked.connect(lambda _=False, k=key: self.show_page(k))
            group.addButton(button)
            rail.addWidget(button)
            self.nav_buttons[key] = button
        rail.addStretch(1)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.rail)
        content = QVBoxLayout()
        content.setContentsMargins(12, 8, 12, 12)
        content.addWidget(self.records_bar)
        content.addWidget(self.stack, 1)
        body.addLayout(content, 1)
        root = QVBoxLayout()
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self.top)
        root.addLayout(body, 1)
        central = QWidget()
        central.setLayout(root)
        self.setCentralWidget(central)

    def _connect(self) -> None:
        worker = self.parts.instrument.worker
        worker.telemetry.connect(self._telemetry)
        worker.link_state.connect(self.top.set_link)
        # a bound method, never a lambda: the worker emits on the hardware thread, and only
        # a slot of an object living here is queued to the GUI thread (a lambda would run
        # there and touch widgets from the wrong thread: a hang seen in CI)
        worker.link_state.connect(self._link_state)
        worker.identity.connect(self._identity)
        worker.stats.connect(self.service_page.set_stats)
        self.parts.runs.status_changed.connect(self._status)
        self.top.alarms_clicked.connect(lambda: self.show_page("alarms"))
        self.top.lock_clicked.connect(self.lock_now)
        self.top.sign_out_clicked.connect(self.sign_out)
        self.login.logged_in.connect(self._signed_in)
        self.lock.unlocked.connect(self._unlocked)
        self.lock.switch_user.connect(self.sign_out)
        self.history_page.open_run.connect(self.open_run)
        self.detail_page.back.connect(lambda: self.show_page("history"))
        self.history_page.compare_runs.connect(self.open_comparison)
        self.compare_page.back.connect(lambda: self.show_page("history"))

    # ------------------------------------------------------------------ signals in
    def _telemetry(self, batch: TelemetryBatch) -> None:
        self.run_page.add_telemetry(batch)
        if self.stack.currentWidget() is self.service_page:
            newest = batch.values[-1]
            self.service_page.channels.show_values(newest)
            self.service_page.show_values(dict(zip(batch.channels, newest.tolist(), strict=True)))

    def _link_state(self, state: str, _detail: str) -> None:
        self.service_page.channels.set_stale(state != "CONNECTED")

    def _identity(self, identity: Identity) -> None:
        self.top.set_instrument(identity.serial)
        self.service_page.identity = identity

    def _status(self, status: RunStatus) -> None:
        self.status = status
        self.top.set_run(status)
        self.top.set_safe(status.values.get("state") == SAFE_STATE)
        self.top.set_alarms(status.alarms)
        self.lock.show_status(status)

    # ------------------------------------------------------------------ sessions
    def current_session(self) -> Session | None:
        return self.session

    def show_login(self) -> None:
        self.session = None
        self.top.set_user("Nobody signed in")
        self.rail.hide()
        self.login.reset()
        self.stack.setCurrentWidget(self.login)

    def _signed_in(self, session: Session) -> None:
        self.session = session
        self.top.set_user(f"{session.full_name} · {session.role.value}")
        for key, _, permission in NAVIGATION:
            self.nav_buttons[key].setVisible(allowed(session.role, permission))
        self.rail.show()
        first = next((k for k, _, p in NAVIGATION if allowed(session.role, p)), None)
        self.show_page(first or "run")

    def sign_out(self) -> None:
        session = self.session
        if session is not None:
            self.service_page.leave_on_sign_out(session)
            self.background.submit(lambda: self.parts.records.users.logout(session))
        self.show_login()

    def lock_now(self) -> None:
        if self.session is None:
            return
        self.session.locked = True
        self.session.signed_once = False  # the next signature asks for the user name again
        for dialog in self.findChildren(QDialog):  # nothing half-entered stays above the lock
            if dialog.isVisible():
                dialog.reject()
        self.rail.hide()
        self.lock.lock(self.session, self.status)
        self.stack.setCurrentWidget(self.lock)

    def _unlocked(self) -> None:
        self.rail.show()
        self.show_page(self._last_page or "run")

    def end_session(self, sentence: str) -> None:
        """The account behind the session was disabled, locked or given another role
        (UserService.check_session audited it): back to the sign-in screen, saying why."""
        session = self.session
        if session is not None:
            self.service_page.leave_on_sign_out(session)
        for dialog in self.findChildren(QDialog):  # nothing half-signed stays open
            if dialog.isVisible():
                dialog.reject()
        self.show_login()
        self.login.names_message.setText(sentence[:1].upper() + sentence[1:] + ".")

    def _session_checked(self, session: Session) -> None:
        if session is self.session and session.ended:
            self.end_session(session.ended)

    def _check_inactivity(self) -> None:
        session = self.session
        if session is None:
            return
        if session.ended:  # a refusal elsewhere (require, a signature) ended it
            self.end_session(session.ended)
            return
        users = self.parts.records.users  # an idle session ends too, within seconds
        self.background.submit(
            lambda: users.check_session(session), lambda _ok, _v: self._session_checked(session)
        )
        if self.stack.currentWidget() is self.lock:
            return
        if session.check_inactivity():
            self.lock_now()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Any touch or key counts as activity for the inactivity lock."""
        touched = event.type() in (
            QEvent.Type.MouseButtonPress,
            QEvent.Type.KeyPress,
            QEvent.Type.TouchBegin,
        )
        if touched and self.session is not None and not self.session.locked:
            self.session.touch()
        return False

    # ------------------------------------------------------------------ pages
    _last_page: str | None = None

    def show_page(self, key: str) -> None:
        session = self.session
        permission = next((p for k, _, p in NAVIGATION if k == key), None)
        if session is None or session.locked:
            return  # signed out or locked: only the lock screen (or sign-in) is shown
        if permission and not allowed(session.role, permission):
            return  # not offered: the rail hides it and the service layer refuses anyway
        self._last_page = key
        page = self.pages[key]
        for name, button in self.nav_buttons.items():
            button.setChecked(name == key)
        if key == "run":
            self.run_page.start_panel.reload()
        elif key == "history":
            self.history_page.reload()
        elif hasattr(page, "reload"):
            page.reload()
        self.stack.setCurrentWidget(page)

    def open_run(self, run_id: int) -> None:
        """A run's detail, for those who may review (the service layer checks again)."""
        session = self.session
        if session is None or session.locked:
            return
        if not allowed(session.role, Permission.RECORD_REVIEW):
            return
        self.detail_page.load(run_id)
        for name, button in self.nav_buttons.items():
            button.setChecked(name == "history")
        self.stack.setCurrentWidget(self.detail_page)

    def open_comparison(self, run_ids: list[int]) -> None:
        """Runs side by side, for those who may review (as ``open_run``)."""
        session = self.session
        if session is None or session.locked:
            return
        if not allowed(session.role, Permission.RECORD_REVIEW):
            return
        self.compare_page.load(run_ids)
        for name, button in self.nav_buttons.items():
            button.setChecked(name == "history")
        self.stack.setCurrentWidget(self.compare_page)

    def closeEvent(self, event: QCloseEvent) -> None:
        QApplication.instance().removeEventFilter(self)
        service = self.parts.service
        if service is not None:  # service mode does not outlive the window
            service.host.leave_before_shutdown(self.parts.instrument)
        self.parts.instrument.shutdown()
        self.background.close()
        super().closeEvent(event)
