"""The Run page: the start panel while no run is in progress, the run screen while one
is (and after it ends, until the operator starts another)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from app.batch.host import RunStatus
from app.store.recipes import RecipeLibrary
from app.store.users import Session
from app.ui.background import Background
from app.ui.run_controller import RunController
from app.ui.run_screen import RunScreen
from app.ui.start_panel import StartPanel
from hardware.worker import TelemetryBatch

ACTIVE = ("Running", "Holding", "Held", "Restarting", "Pausing", "Paused", "Stopping", "Aborting")


class RunPage(QWidget):
    def __init__(
        self,
        runs: RunController,
        library: RecipeLibrary,
        background: Background,
        session: Callable[[], Session | None],
    ) -> None:
        super().__init__()
        self.start_panel = StartPanel(runs, library, background, session)
        self.screen = RunScreen(runs, session)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.start_panel)
        self.stack.addWidget(self.screen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self._run_id: int | None = None
        self._dismissed: int | None = None  # a finished run the operator has left
        self.start_panel.started.connect(self._started)
        self.screen.new_run.connect(self._new_run)
        runs.status_changed.connect(self.show_status)

    def show_status(self, status: RunStatus) -> None:
        if status.run_id != self._run_id and status.run_id is not None:
            self._run_id = status.run_id
            self.screen.trends.clear()
            self.screen.trends.set_alarm_limits(status.alarm_definitions)
            if status.kit is not None:
                self.screen.schematic.set_capacities(status.kit.bags, status.kit.chamber)
        running = status.state in ACTIVE
        finished_here = status.state and status.run_id != self._dismissed
        if running or finished_here:
            self.screen.show_status(status)
            self.stack.setCurrentWidget(self.screen)
        else:
            self.stack.setCurrentWidget(self.start_panel)

    def add_telemetry(self, batch: TelemetryBatch) -> None:
        if self._run_id is not None:
            self.screen.trends.add_batch(batch.boot, batch.t_ms, batch.values)

    def _started(self, run_id: int) -> None:
        self._dismissed = None

    def _new_run(self) -> None:
        self._dismissed = self._run_id
        self.stack.setCurrentWidget(self.start_panel)
        self.start_panel.reload()
