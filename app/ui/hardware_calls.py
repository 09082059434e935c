"""Calls from the screens to a service object that lives on the hardware thread (the
run host, the service host): queued there, the result or the exception delivered back
on the GUI thread. The GUI never touches the engine, the port or the database.

Each host call is a typed method of a proxy (``ServiceCalls`` here, ``RunController``
for the run host), so a misspelt call is an AttributeError where it is written, in the
first test that runs it, never a name looked up on the hardware thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

from hardware.worker import InstrumentController

if TYPE_CHECKING:
    from app.service.calibration import CalibrationResult
    from app.service.host import ServiceHost
    from app.store.users import Session

Done = Callable[[bool, Any], None]  # done(ok, result or the exception), on the GUI thread
T = TypeVar("T")

POLL_S = 0.5  # how often a procedure waiting on the hardware thread checks it still runs


class HardwareCalls(QObject):
    """The queue to the hardware thread and the way back; subclasses add one typed
    method per host call."""

    _finished = Signal(object)

    def __init__(self, instrument: InstrumentController, host: Any) -> None:
        super().__init__()
        self.instrument = instrument
        self.host = host
        self._finished.connect(self._deliver)

    def queue(self, target: Callable[..., Any], *args: Any, done: Done | None = None) -> None:
        """``target(*args)`` on the hardware thread; ``done(ok, result or exception)``
        back on the GUI thread."""

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


class ServiceCalls(HardwareCalls):
    """The Service page's handle on ``ServiceHost``: one method per host call, queued to
    the hardware thread. A procedure that also waits on disk (applying a calibration)
    runs on a thread of its own and sends only its instrument steps to the hardware
    thread, which never waits for the disk on its behalf."""

    host: ServiceHost

    def __init__(self, instrument: InstrumentController, host: ServiceHost) -> None:
        super().__init__(instrument, host)
        self._procedures = ThreadPoolExecutor(max_workers=1, thread_name_prefix="service-proc")

    @classmethod
    def of(cls, calls: HardwareCalls) -> ServiceCalls:
        """``calls`` as ServiceCalls (a plain HardwareCalls on the service host gets a
        typed proxy on the same instrument and host)."""
        return calls if isinstance(calls, ServiceCalls) else cls(calls.instrument, calls.host)

    # ------------------------------------------------------------------ mode
    def enter(self, session: Session, *, done: Done | None = None) -> None:
        self.queue(self.host.enter, session, done=done)

    def leave(self, session: Session, *, done: Done | None = None) -> None:
        self.queue(self.host.leave, session, done=done)

    def cancel_selftest(self) -> None:
        """Stop a running self-test at its next step (a threading.Event: no queue)."""
        self.host.cancel_selftest.set()

    # ------------------------------------------------------------------ manual control
    def pump(
        self,
        session: Session,
        pump: int,
        rate_ml_min: float,
        volume_ml: float | None = None,
        *,
        done: Done | None = None,
    ) -> None:
        self.queue(self.host.pump, session, pump, rate_ml_min, volume_ml, done=done)

    def valve(self, session: Session, name: str, open_: bool, *, done: Done | None = None):
        self.queue(self.host.valve, session, name, open_, done=done)

    def rotor(self, session: Session, rpm: float, *, done: Done | None = None) -> None:
        self.queue(self.host.rotor, session, rpm, done=done)

    def setpoint(self, session: Session, name: str, value: float, *, done: Done | None = None):
        self.queue(self.host.setpoint, session, name, value, done=done)

    # ------------------------------------------------------------------ readings, link
    def raw(self, session: Session, channel: str, *, done: Done | None = None) -> None:
        self.queue(self.host.raw, session, channel, done=done)

    def raw_all(self, session: Session, channels: tuple[str, ...], *, done: Done | None = None):
        self.queue(self.host.raw_all, session, channels, done=done)

    def calibration(self, session: Session, channel: str, *, done: Done | None = None) -> None:
        self.queue(self.host.calibration, session, channel, done=done)

    def link_statistics(self, session: Session, *, done: Done | None = None) -> None:
        self.queue(self.host.link_statistics, session, done=done)

    def loopback(self, session: Session, count: int = 100, *, done: Done | None = None):
        self.queue(self.host.loopback, session, count, done=done)

    def console_line(self, session: Session, line: str, *, done: Done | None = None) -> None:
        self.queue(self.host.console_line, session, line, done=done)

    def selftest(
        self, session: Session, progress: Callable[[str], None], *, done: Done | None = None
    ) -> None:
        self.queue(self.host.selftest, session, progress, done=done)

    # ------------------------------------------------------------------ procedures
    def apply_calibration(
        self,
        session: Session,
        password: str,
        result: CalibrationResult,
        serial: str,
        username: str | None = None,
        progress: Callable[[Any], None] | None = None,
        *,
        done: Done | None = None,
    ) -> None:
        """``ServiceHost.apply_calibration`` on the procedure thread (the check and the
        record wait on disk), its write and read-back on the hardware thread."""

        def job() -> Any:
            return self.host.apply_calibration(
                session,
                password,
                result,
                serial,
                username=username,
                on_hardware=self.wait_on_hardware,
                progress=progress,
            )

        self._procedure(job, done)

    def export_diagnostics(
        self, session: Session, data_dir: Path, path: Path, *, done: Done | None = None
    ) -> None:
        """``ServiceHost.export_diagnostics`` on the procedure thread (it reads logs and
        the database), the link's statistics from the hardware thread."""
        self._procedure(
            lambda: self.host.export_diagnostics(
                session, data_dir, path, on_hardware=self.wait_on_hardware
            ),
            done,
        )

    def _procedure(self, work: Callable[[], Any], done: Done | None) -> None:
        def job() -> None:
            try:
                result: tuple[bool, Any] = (True, work())
            except Exception as exc:  # shown to the person who asked
                result = (False, exc)
            self._finished.emit((done, *result))

        self._procedures.submit(job)

    def wait_on_hardware(self, work: Callable[[], T]) -> T:
        """``work()`` on the hardware thread, waited for here (a procedure thread: never
        the GUI thread, never the hardware thread itself)."""
        answered = threading.Event()
        outcome: list[Any] = []

        def job() -> None:
            try:
                outcome.append((True, work()))
            except Exception as exc:
                outcome.append((False, exc))
            finally:
                answered.set()

        self.instrument.run_on_hardware_thread(job)
        while not answered.wait(POLL_S):  # as long as it takes, while the thread runs
            if not self.instrument.thread.isRunning() and not answered.is_set():
                raise RuntimeError("the hardware thread has stopped")
        ok, value = outcome[0]
        if not ok:
            raise value
        return value
