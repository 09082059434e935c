"""The screens' handle on the run host, which lives on the hardware thread: calls go
there queued, results and status come back as signals on the GUI thread. The GUI
never touches the engine, the serial port or the database directly.

One typed method per run-host call (``RunHost``'s own signature, with ``done(ok,
value)`` on the GUI thread)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal

from app.batch.host import RunHost
from app.batch.status import RunStatus
from app.store.users import Session
from app.ui.hardware_calls import Done, HardwareCalls
from hardware.worker import InstrumentController

__all__ = ["Done", "RunController"]


class RunController(HardwareCalls):
    status_changed = Signal(object)  # RunStatus
    host: RunHost

    def __init__(self, instrument: InstrumentController, host: RunHost) -> None:
        super().__init__(instrument, host)
        self.status = RunStatus()
        host.on_status = self.status_changed.emit  # from the hardware thread: queued
        self.status_changed.connect(self._keep)

    def _keep(self, status: RunStatus) -> None:
        self.status = status

    # ------------------------------------------------------------------ start
    def checklist(
        self,
        session: Session,
        version_id: int,
        batch: str,
        batch_again: str,
        overrides: dict,
        *,
        done: Done | None = None,
    ) -> None:
        self.queue(
            self.host.checklist, session, version_id, batch, batch_again, overrides, done=done
        )

    def start(
        self,
        session: Session,
        version_id: int,
        batch: str,
        batch_again: str,
        overrides: dict[str, float] | None = None,
        *,
        done: Done | None = None,
    ) -> None:
        self.queue(self.host.start, session, version_id, batch, batch_again, overrides, done=done)

    # ------------------------------------------------------------------ during a run
    def answer(
        self,
        session: Session,
        value: Any,
        password: str = "",
        second: tuple[str, str] | None = None,
        username: str | None = None,
        *,
        done: Done | None = None,
    ) -> None:
        self.queue(self.host.answer, session, value, password, second, username, done=done)

    def hold(self, session: Session, reason: str, *, done: Done | None = None) -> None:
        self.queue(self.host.hold, session, reason, done=done)

    def restart(self, session: Session, reason: str, *, done: Done | None = None) -> None:
        self.queue(self.host.restart, session, reason, done=done)

    def abort(self, session: Session, reason: str, *, done: Done | None = None) -> None:
        self.queue(self.host.abort, session, reason, done=done)

    def pause(self, session: Session, reason: str = "", *, done: Done | None = None) -> None:
        self.queue(self.host.pause, session, reason, done=done)

    def resume_paused(
        self, session: Session, reason: str = "", *, done: Done | None = None
    ) -> None:
        self.queue(self.host.resume_paused, session, reason, done=done)

    def stop(self, session: Session, reason: str, *, done: Done | None = None) -> None:
        self.queue(self.host.stop, session, reason, done=done)

    def acknowledge(self, session: Session, tag: str, *, done: Done | None = None) -> None:
        self.queue(self.host.acknowledge, session, tag, done=done)

    def shelve(
        self, session: Session, tag: str, reason: str, minutes: float, *, done: Done | None = None
    ) -> None:
        self.queue(self.host.shelve, session, tag, reason, minutes, done=done)

    def change_setpoint(
        self, session: Session, name: str, value: float, reason: str, *, done: Done | None = None
    ) -> None:
        self.queue(self.host.change_setpoint, session, name, value, reason, done=done)
