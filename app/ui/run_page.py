"""The Run page: the start panel while no run is in progress, the run screen while one
is (and after it ends, until the operator starts another)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from app.batch.library import RecipeLibrary
from app.batch.status import RunStatus
from app.store.historian import run_history
from app.store.users import Session
from app.ui.background import Background
from app.ui.run_controller import RunController
from app.ui.run_screen import RunScreen
from app.ui.run_trends import BUFFERED
from app.ui.start_panel import StartPanel
from hardware.worker import TelemetryBatch

log = logging.getLogger(__name__)
HISTORY_POINTS = 60_000  # a 14-day run at its 1-minute rollups (two points a bucket)
ACTIVE = ("Running", "Holding", "Held", "Restarting", "Pausing", "Paused", "Stopping", "Aborting")


class RunPage(QWidget):
    def __init__(
        self,
        runs: RunController,
        library: RecipeLibrary,
        background: Background,
        session: Callable[[], Session | None],
        db_path: Path,
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
        self._waiting: list[TelemetryBatch] | None = None  # while the history loads
        self.db_path, self.background = db_path, background
        self._dismissed: int | None = None  # a finished run the operator has left
        self.start_panel.started.connect(self._started)
        self.screen.new_run.connect(self._new_run)
        runs.status_changed.connect(self.show_status)

    def show_status(self, status: RunStatus) -> None:
        if status.run_id != self._run_id and status.run_id is not None:
            self._run_id = status.run_id
            self._take_up(status.run_id)
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

    def _take_up(self, run_id: int) -> None:
        """The run's clock and its history so far from the historian (in the
        background); telemetry arriving meanwhile waits, then follows in order."""
        self._waiting = []

        def load():
            return run_history(self.db_path, run_id, BUFFERED, HISTORY_POINTS)

        def loaded(ok: bool, value) -> None:
            if run_id != self._run_id:
                return  # another run came meanwhile
            trends = self.screen.trends
            if ok:
                trends.begin_run(*value)
            else:
                trends.clear()  # the live view still works; the log says why
                log.error("run %s history not loaded: %s", run_id, value)
            waiting, self._waiting = self._waiting, None
            for batch in waiting or []:
                trends.add_batch(batch.boot, batch.t_ms, batch.values)

        self.background.submit(load, loaded)

    def add_telemetry(self, batch: TelemetryBatch) -> None:
        if self._run_id is None:
            return
        if self._waiting is not None:
            self._waiting.append(batch)
        else:
            self.screen.trends.add_batch(batch.boot, batch.t_ms, batch.values)

    def _started(self, run_id: int) -> None:
        self._dismissed = None

    def _new_run(self) -> None:
        self._dismissed = self._run_id
        self.stack.setCurrentWidget(self.start_panel)
        self.start_panel.reload()
