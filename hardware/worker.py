"""The hardware-abstraction thread: a QObject on its own QThread that owns the
connection (and so the driver and the serial port) and speaks to the rest of the
console only through queued signals.

``InstrumentController`` is the GUI-thread handle: it builds the thread, forwards typed
commands, and shuts everything down in order (stop acquisition, close the port inside
its thread, quit, wait) so that no QThread is ever destroyed while running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import (
    QCoreApplication,
    QMetaObject,
    QObject,
    Qt,
    QThread,
    QTimer,
    Signal,
    Slot,
)

from hardware.commands import InstrumentCommand
from hardware.connection import Connection, ConnectionListener, LinkState, Sample
from hardware.driver import Identity, InstrumentError
from hardware.link import LinkError
from hardware.protocol import CHANNEL_INDEX, CHANNEL_NAMES, Event

log = logging.getLogger(__name__)

BATCH_INTERVAL_S = 0.05  # telemetry crosses threads at most 20 times a second
STATS_INTERVAL_S = 1.0
SHUTDOWN_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class TelemetryBatch:
    """Samples in arrival order; a fresh set of arrays for every batch."""

    t_ms: np.ndarray  # int64, instrument time
    utc: np.ndarray  # float64, seconds since the epoch
    values: np.ndarray  # float64, shape (n, len(channels))
    boot: np.ndarray  # int32, firmware boot counter
    backfilled: np.ndarray  # bool, True for samples read back from instrument history
    channels: tuple[str, ...] = CHANNEL_NAMES

    def __len__(self) -> int:
        return len(self.t_ms)

    def column(self, name: str) -> np.ndarray:
        return self.values[:, CHANNEL_INDEX[name]]

    @classmethod
    def from_samples(cls, samples: list[Sample]) -> TelemetryBatch:
        return cls(
            t_ms=np.fromiter((s.t_ms for s in samples), np.int64, len(samples)),
            utc=np.fromiter((s.utc for s in samples), np.float64, len(samples)),
            values=np.array([s.values for s in samples], dtype=np.float64),
            boot=np.fromiter((s.boot for s in samples), np.int32, len(samples)),
            backfilled=np.fromiter((s.backfilled for s in samples), bool, len(samples)),
        )


@dataclass(frozen=True)
class CommandResult:
    """What became of a submitted command. ``code`` is the instrument's ERR code,
    "LINK" when the instrument could not be reached, "" on success."""

    command: InstrumentCommand
    ok: bool
    message: str
    code: str = ""


@dataclass
class _Pending:
    samples: list[Sample] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


class InstrumentWorker(QObject):
    """Lives on the hardware thread. Signals are emitted from that thread; receivers in
    the GUI thread get them queued."""

    telemetry = Signal(object)  # TelemetryBatch
    events = Signal(object)  # list[Event]
    link_state = Signal(str, str)  # LinkState value, detail
    identity = Signal(object)  # Identity
    stats = Signal(dict)  # LinkStats.snapshot() plus "state"
    command_done = Signal(object)  # CommandResult
    finished = Signal()

    def __init__(self, url: str, telemetry_hz: float = 10.0) -> None:
        super().__init__()
        self.url = url
        self.telemetry_hz = telemetry_hz
        self.connection: Connection | None = None
        self._timer: QTimer | None = None
        self._pending = _Pending()
        self._next_flush = 0.0
        self._next_stats = 0.0
        self._running = False
        self.cancel = threading.Event()  # set from the GUI thread to cut a request short
        # Set before the thread starts: more listeners served on this thread (the batch
        # engine's host), and a hook run here before connecting that may name the newest
        # sample already on record (boot, t_ms) for the first attach to back-fill from.
        self.listeners: list[ConnectionListener] = []
        self.before_connect: Callable[[], tuple[int, int] | None] | None = None

    # ------------------------------------------------------------------ lifecycle
    @Slot()
    def start(self) -> None:
        resume_from = None
        if self.before_connect is not None:
            try:
                resume_from = self.before_connect()
            except Exception:  # the console still shows the instrument; the log says why
                log.exception("start-up hook failed")
        self.connection = Connection(
            self.url,
            self,
            telemetry_hz=self.telemetry_hz,
            cancel=self.cancel,
            resume_from=resume_from,
        )
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)
        self._running = True
        self.connection.start()
        self._timer.start(0)

    @Slot()
    def stop(self) -> None:
        """Stop acquisition and close the port, inside this thread; then hand the object
        back to the main thread so that it is destroyed there after the thread ends."""
        self._running = False
        if self._timer is not None:
            self._timer.stop()
        if self.connection is not None:
            self._flush()
            self.connection.close()
        app = QCoreApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())
        self.finished.emit()

    @Slot(object)
    def submit(self, command: InstrumentCommand) -> None:
        if self.connection is None or not self._running:
            self.command_done.emit(CommandResult(command, False, "hardware thread stopped", "LINK"))
            return
        try:
            message = self.connection.execute(command)
        except InstrumentError as exc:
            result = CommandResult(command, False, exc.message, exc.code)
        except LinkError as exc:
            result = CommandResult(command, False, str(exc), "LINK")
        except Exception as exc:  # never leave a caller waiting for an answer
            log.exception("command %s failed", command)
            result = CommandResult(command, False, f"internal error: {exc}", "ERROR")
        else:
            result = CommandResult(command, True, message)
        self._flush()
        self.command_done.emit(result)

    @Slot(object)
    def invoke(self, job: Callable[[], None]) -> None:
        """Run a job on this thread (the job reports its own result)."""
        try:
            job()
        except Exception:
            log.exception("job on the hardware thread failed")
        self._flush()

    # ------------------------------------------------------------------ loop
    def _tick(self) -> None:
        if not self._running or self.connection is None:
            return
        wait = 0.05
        try:
            wait = self._work()
        except Exception:  # a bug must not end acquisition silently: log it, keep going
            log.exception("hardware loop error")
        finally:
            if self._running and self._timer is not None:
                self._timer.start(int(wait * 1000))

    def _work(self) -> float:
        wait = self.connection.step()
        now = time.monotonic()
        if now >= self._next_flush:
            self._flush()
            self._next_flush = now + BATCH_INTERVAL_S
        if now >= self._next_stats:
            snapshot = self.connection.link.stats.snapshot()
            snapshot["state"] = self.connection.state.value
            snapshot["parse_errors"] = self.connection.instrument.parse_errors
            self.stats.emit(snapshot)
            self._next_stats = now + STATS_INTERVAL_S
        return wait

    def _flush(self) -> None:
        pending, self._pending = self._pending, _Pending()
        if pending.samples:
            self.telemetry.emit(TelemetryBatch.from_samples(pending.samples))
        if pending.events:
            self.events.emit(pending.events)

    # ------------------------------------------------------------------ ConnectionListener
    def on_state(self, state: LinkState, detail: str) -> None:
        self.link_state.emit(state.value, detail)
        self._tell("on_state", state, detail)

    def on_identity(self, identity: Identity) -> None:
        self.identity.emit(identity)
        self._tell("on_identity", identity)

    def on_samples(self, samples: list[Sample]) -> None:
        self._pending.samples.extend(samples)
        self._tell("on_samples", samples)
        # also while a long job on this thread (a self-test) steps the connection itself
        # and _work does not run: the screens keep getting telemetry
        now = time.monotonic()
        if now >= self._next_flush:
            self._flush()
            self._next_flush = now + BATCH_INTERVAL_S

    def on_events(self, events: list[Event]) -> None:
        self._pending.events.extend(events)
        self._tell("on_events", events)

    def _tell(self, name: str, *args) -> None:
        for listener in self.listeners:
            try:
                getattr(listener, name)(*args)
            except Exception:  # one listener's bug must not stop acquisition
                log.exception("listener %s.%s failed", type(listener).__name__, name)


class InstrumentController(QObject):
    """GUI-thread handle on the hardware thread."""

    _submit = Signal(object)
    _invoke = Signal(object)

    def __init__(self, url: str, telemetry_hz: float = 10.0, parent: QObject | None = None):
        super().__init__(parent)
        self.url = url
        self.thread = QThread()
        self.thread.setObjectName("instrument-io")
        self.worker = InstrumentWorker(url, telemetry_hz)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)
        self._submit.connect(self.worker.submit, Qt.ConnectionType.QueuedConnection)
        self._invoke.connect(self.worker.invoke, Qt.ConnectionType.QueuedConnection)
        self.worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def send(self, command: InstrumentCommand) -> None:
        """Queue a command for the hardware thread; the answer comes as command_done."""
        self._submit.emit(command)

    def run_on_hardware_thread(self, job: Callable[[], None]) -> None:
        """Queue a job for the hardware thread (it reports its own result)."""
        self._invoke.emit(job)

    def shutdown(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> bool:
        """Ordered stop: cut any request short, stop acquisition and close the port in the
        hardware thread, quit its loop, wait. True when it ended within the timeout; the
        GUI thread is never blocked longer than that."""
        if not self.thread.isRunning():
            return True
        self.worker.cancel.set()
        # stop() runs in the hardware thread and ends its loop (finished -> quit)
        QMetaObject.invokeMethod(self.worker, "stop", Qt.ConnectionType.QueuedConnection)
        finished = self.thread.wait(timeout_ms)
        if not finished:
            self.thread.quit()
            finished = self.thread.wait(1000)
        if not finished:  # a port stuck in the kernel: never leave a running QThread behind
            self.thread.terminate()
            self.thread.wait()
        return finished
