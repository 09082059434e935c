"""The screens' handle on the run host, which lives on the hardware thread: calls go
there queued, results and status come back as signals on the GUI thread. The GUI
never touches the engine, the serial port or the database directly."""

from __future__ import annotations

from PySide6.QtCore import Signal

from app.batch.host import RunHost, RunStatus
from app.ui.hardware_calls import Done, HardwareCalls
from hardware.worker import InstrumentController

__all__ = ["Done", "RunController"]


class RunController(HardwareCalls):
    status_changed = Signal(object)  # RunStatus

    def __init__(self, instrument: InstrumentController, host: RunHost) -> None:
        super().__init__(instrument, host)
        self.status = RunStatus()
        host.on_status = self.status_changed.emit  # from the hardware thread: queued
        self.status_changed.connect(self._keep)

    def _keep(self, status: RunStatus) -> None:
        self.status = status
