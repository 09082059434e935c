"""Calls from the screens to a service object that lives on the hardware thread (the
run host, the service host): queued there, the result or the exception delivered back
on the GUI thread. The GUI never touches the engine, the port or the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from hardware.worker import InstrumentController

Done = Callable[[bool, Any], None]


class HardwareCalls(QObject):
    _finished = Signal(object)

    def __init__(self, instrument: InstrumentController, host: object) -> None:
        super().__init__()
        self.instrument = instrument
        self.host = host
        self._finished.connect(self._deliver)

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
