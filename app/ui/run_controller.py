"""The screens' handle on the run host, which lives on the hardware thread: calls go
there queued, results and status come back as signals on the GUI thread. The GUI
never touches the engine, the serial port or the database directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.batch.host import RunHost, RunStatus
from hardware.worker import InstrumentController

Done = Callable[[bool, Any], None]


class RunController(QObject):
    status_changed = Signal(object)  # RunStatus
    _finished = Signal(object)

    def __init__(self, instrument: InstrumentController, host: RunHost) -> None:
        super().__init__()
        self.instrument = instrument
        self.host = host
        self.status = RunStatus()
        host.on_status = self.status_changed.emit  # from the hardware thread: queued
        self.status_changed.connect(self._keep)
        self._finished.connect(self._deliver)

    def _keep(self, status: RunStatus) -> None:
        self.status = status

    def call(self, method: str, *args: Any, done: Done | None = None) -> None:
        """``host.method(*args)`` on the hardware thread; ``done(ok, result or
        exception)`` back on the GUI thread."""
        target = getattr(self.host, method)

        def job() -> None:
            try:
                result: tuple[bool, Any] = (True, target(*args))
            except Exception as exc:  # shown to the person who asked
                result = (False, exc)
            self._finished.emit((done, *result))

        self.instrument.run_on_hardware_thread(job)

    def _deliver(self, item: tuple[Done | None, bool, Any]) -> None:
        done, ok, value = item
        if done is not None:
            done(ok, value)
