"""Service mode's service layer, served on the hardware thread beside the run host: who
may enter (the service role), when (no run in progress), and every manual act while in
it (audited, refused by the firmware's interlocks with their reason).

The firmware knows the mode too (its SERVICE state), so a run cannot start while an
engineer has the instrument (the pre-start check wants READY), and leaving service
leaves the instrument quiet: pumps stopped, valves closed, rotor stopped.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from app.batch.host import RunHost
from app.records import Records
from app.service.calibration import CalibrationResult
from app.service.calibration_apply import (
    ApplyOutcome,
    ApplyStage,
    CalibrationApplied,
    ReadBackMismatch,
    same_on_the_wire,
)
from app.service.diagnostics import write_bundle
from app.service.selftest import SelfTest, SelfTestReport
from app.store.audit import AuditEntry
from app.store.calibrations import CalibrationService
from app.store.security import Permission, allowed
from app.store.signing import SigningRequest, calibration_request
from app.store.users import Session
from hardware.commands import (
    EnterServiceState,
    InstrumentCommand,
    LeaveServiceState,
    RunPump,
    SetRotor,
    SetSetpoint,
    SetValve,
    WriteCalibration,
)
from hardware.connection import Connection, LinkState, Sample
from hardware.driver import Identity, InstrumentError, RawReading, ReplyTimeout
from hardware.link import BAUDRATE, READ_TIMEOUT_S
from hardware.protocol import CHANNEL_LABELS, Event, FirmwareState, Reply, encode_frame

T = TypeVar("T")

# Verbs the serial console does not send: each would change the instrument behind the
# console's back (coefficients without a signed record, the mode or the link's rate
# out of step with what the console believes).
CONSOLE_REFUSED = {
    "CAL": "calibration is written by the Calibration tab (signed and recorded)",
    "SERVICE": "service mode is entered and left with the button at the top",
    "RESET": "a firmware reset ends service mode: use the instrument's own procedure",
    "TLM": "the console sets the telemetry rate it needs",
}


log = logging.getLogger(__name__)


class ServiceRefused(RuntimeError):
    """Service mode cannot be entered, or an act needs it first."""


@dataclass(frozen=True)
class ConsoleExchange:
    """One line typed in the serial console and what came back."""

    sent: str
    reply: str  # the reply frame as on the wire (``<seq> OK ...*CRC``), or ``ERR <code> ...``
    fields: dict[str, str]
    ok: bool


class ServiceHost:
    """``connection`` is read when called (the worker creates it when its thread starts)."""

    def __init__(
        self,
        records: Records,
        runs: RunHost,
        connection: Callable[[], Connection | None],
    ) -> None:
        self.records, self.runs, self.connection = records, runs, connection
        self.engineer: Session | None = None  # who has the instrument in service mode
        self.firmware_left = False  # a STATE or BOOT event said the firmware left SERVICE
        self.cancel_selftest = threading.Event()  # set from the GUI thread

    # ------------------------------------------------------------------ mode
    @property
    def active(self) -> bool:
        return self.engineer is not None

    def enter(self, session: Session) -> str:
        self._require(session, "enter")
        self._no_run("service mode waits until it ends")
        if self.active:
            engineer = self.engineer
            if engineer is not None and engineer.user_id != session.user_id:
                raise ServiceRefused(f"{engineer.full_name} has the instrument in service mode")
            return "already in service mode"
        result = self._send(EnterServiceState())
        self.engineer, self.firmware_left = session, False
        self.runs.service_by = session.full_name  # no run starts meanwhile
        self._audit(session, "service.enter", old="", new="service")
        return result

    def leave(self, session: Session) -> str:
        """Leaving needs the role only, not an unlocked session: an engineer whose
        session locked, or who signs out, must not leave the instrument in service."""
        if not allowed(session.role, Permission.SERVICE_MODE):
            self._require(session, "leave")  # refuses and audits the attempt
        if not self.active:
            return "not in service mode"
        try:
            result = self._send(LeaveServiceState())
        finally:  # the mode ends on the console even if the link is down
            self._ended()
            self._audit(session, "service.leave", old="service", new="")
        return result

    def leave_at_shutdown(self) -> None:
        """The console is closing (on the hardware thread): leave service mode."""
        if not self.active:
            return
        engineer = self.engineer
        try:
            self._send(LeaveServiceState())
        except Exception as exc:  # the link may be gone; the record says so
            log.warning("leaving service mode at shutdown: %s", exc)
        finally:
            self._ended()
            if engineer is not None:
                self._audit(engineer, "service.leave", old="service", new="console closed")

    def leave_before_shutdown(self, controller, timeout_s: float = 10.0) -> None:
        """From the GUI thread, before the hardware thread stops: a running self-test is
        cancelled (it quietens the instrument), then service mode is left there (bounded
        wait). With the thread already gone, the instrument's watchdog takes it to its
        safe state; the record says the console closed."""
        if not self.active:
            return
        self.cancel_selftest.set()
        if not controller.thread.isRunning():
            engineer = self.engineer
            self._ended()
            if engineer is not None:
                self._audit(engineer, "service.leave", old="service", new="console closed")
            return
        done = threading.Event()

        def leave() -> None:
            try:
                self.leave_at_shutdown()
            finally:
                done.set()

        controller.run_on_hardware_thread(leave)
        if not done.wait(timeout_s):
            log.warning("service mode not left within %s s at shutdown", timeout_s)

    def _ended(self) -> None:
        self.engineer = None
        self.firmware_left = False
        self.runs.service_by = None

    # ------------------------------------------------------------------ listener
    # Served on the hardware thread (worker.listeners): the firmware's own word on its
    # state. Telemetry lags a mode change; the numbered events do not get lost.
    def on_events(self, events: list[Event]) -> None:
        for event in events:
            left = event.code == "BOOT" or (
                event.code == "STATE" and event.data.get("state") != FirmwareState.SERVICE.value
            )
            if left and self.active:
                self.firmware_left = True

    def on_state(self, state: LinkState, detail: str) -> None:
        """Link changes need nothing here (a reboot during an outage arrives as BOOT)."""

    def on_identity(self, identity: Identity) -> None:
        """The run host keeps the identity."""

    def on_samples(self, samples: list[Sample]) -> None:
        """Telemetry needs nothing here."""

    def _no_run(self, why: str) -> None:
        engine = self.runs.engine
        if engine is not None and not engine.finished:
            raise ServiceRefused(f"batch {self.runs.batch} is in progress: {why}")

    # ------------------------------------------------------------------ manual control
    def pump(self, session: Session, pump: int, rate_ml_min: float, volume_ml=None) -> str:
        return self._manual(session, RunPump(pump, rate_ml_min, volume_ml))

    def valve(self, session: Session, name: str, open_: bool) -> str:
        return self._manual(session, SetValve(name, open_))

    def rotor(self, session: Session, rpm: float) -> str:
        return self._manual(session, SetRotor(rpm))

    def setpoint(self, session: Session, name: str, value: float) -> str:
        return self._manual(session, SetSetpoint(name, value))

    def _manual(self, session: Session, command: InstrumentCommand) -> str:
        """Carry out a manual act in service mode; the firmware's refusal (an interlock,
        a range) reaches the engineer as InstrumentError with its reason."""
        self._in_service(session)
        action = f"service.{command.label.replace(' ', '-')}"
        self._audit(session, action, new=repr(command))  # recorded before the act
        try:
            return self._send(command)
        except InstrumentError as exc:
            self._audit(session, "service.refused", new=f"{command.label}: {exc.message}")
            raise

    # ------------------------------------------------------------------ readings
    def raw(self, session: Session, channel: str) -> RawReading:
        """A sensor's reading before and after calibration (any firmware state)."""
        self._require(session, "read")
        return self._instrument().raw(channel)

    def raw_all(self, session: Session, channels: tuple[str, ...]) -> list[RawReading]:
        """Several sensors in one trip to the hardware thread (the readings screen)."""
        self._require(session, "read")
        instrument = self._instrument()
        return [instrument.raw(channel) for channel in channels]

    def calibration(self, session: Session, channel: str) -> tuple[float, float]:
        """The coefficients the instrument holds now (gain, offset)."""
        self._require(session, "read")
        return self._instrument().calibration(channel)

    # ------------------------------------------------------------------ link
    def link_statistics(self, session: Session) -> dict:
        """The link's counters, its port settings and the recent round-trip times."""
        self._require(session, "read")
        link = self._connection().link
        stats = link.stats
        return {
            **stats.snapshot(),
            "latencies_ms": list(stats.latencies_ms),
            "port": link.url,
            "settings": f"{BAUDRATE} baud, 8 data bits, no parity, 1 stop bit, "
            f"read timeout {READ_TIMEOUT_S * 1000:g} ms",
        }

    def loopback(self, session: Session, count: int = 100) -> list[float]:
        """``count`` PING round trips over the instrument's link, in ms: every frame out
        and its echo back through the whole path (port, cable, firmware parser)."""
        self._in_service(session)  # 100 round trips hold the hardware thread: not during a run
        instrument = self._instrument()
        times = []
        for _ in range(count):
            start = time.perf_counter()
            try:
                instrument.ping()
            except ReplyTimeout:
                times.append(math.nan)  # lost: counted as a failure, the test goes on
                continue
            times.append((time.perf_counter() - start) * 1000.0)
        lost = sum(math.isnan(t) for t in times)
        self._audit(session, "service.loopback", new=f"{count} round trips, {lost} lost")
        return times

    def write_calibration(self, session: Session, channel: str, gain: float, offset: float):
        """The new coefficients onto the instrument (``apply_calibration`` records them,
        signed, or writes the old ones back)."""
        self._in_service(session, Permission.CALIBRATE)
        old_gain, old_offset = self._instrument().calibration(channel)
        self._audit(  # recorded before the instrument changes
            session,
            "service.calibration-write",
            old=f"{channel} gain={old_gain:g} offset={old_offset:g}",
            new=f"{channel} gain={gain:g} offset={offset:g}",
        )
        return self._send(WriteCalibration(channel, gain, offset))

    # ------------------------------------------------------------------ calibration
    @staticmethod
    def calibration_request(result: CalibrationResult, serial: str) -> SigningRequest:
        """The calibration's signature in words: shown by the signing dialog, then
        stored with the signature (app/store/signing.py builds the words)."""
        return calibration_request(CHANNEL_LABELS.get(result.channel, result.channel), serial)

    def apply_calibration(
        self,
        session: Session,
        password: str,
        result: CalibrationResult,
        serial: str,
        username: str | None = None,
        on_hardware: Callable[[Callable[[], Any]], Any] | None = None,
        progress: Callable[[ApplyStage], None] | None = None,
    ) -> CalibrationApplied:
        """Apply a computed calibration in the order that keeps the instrument and the
        record in agreement:

        1. the permission (``instrument.calibrate``) and the password (the user name
           too at the session's first signature) before anything changes; a wrong one
           counts toward the lockout and nothing is written or recorded (REFUSED);
        2. the new coefficients written to the instrument (``write_calibration``,
           audited) and read back (NOT_WRITTEN when the instrument refuses);
        3. the calibration recorded, signed and audited (``CalibrationService.record``)
           with the coefficients as the instrument read them back (RECORDED);
        4. if the read-back differs or recording fails, the old coefficients are
           written back (RESTORED, or UNRECORDED when that fails too).

        Called off the hardware thread (steps 1 and 3 wait on disk); the instrument's
        steps go to the hardware thread through ``on_hardware(fn) -> fn()`` (None: run
        here, for a caller that is on the hardware thread or owns the link itself)."""
        hardware = on_hardware or (lambda work: work())
        tell = progress or (lambda _stage: None)
        channel = result.channel
        users = self.records.users
        tell(ApplyStage.CHECK)
        try:
            users.require(session, Permission.CALIBRATE, "calibration", f"{serial}/{channel}")
            users.reauthenticate(session, password, username)
        except Exception as exc:
            return CalibrationApplied(ApplyOutcome.REFUSED, result, error=exc)
        tell(ApplyStage.WRITE)
        try:
            hardware(lambda: self.write_calibration(session, channel, result.gain, result.offset))
        except Exception as exc:
            return CalibrationApplied(ApplyOutcome.NOT_WRITTEN, result, error=exc)
        try:
            held = hardware(lambda: self.calibration(session, channel))
            if not (
                same_on_the_wire(held[0], result.gain) and same_on_the_wire(held[1], result.offset)
            ):
                raise ReadBackMismatch(
                    f"the instrument holds gain {held[0]:.10g}, offset {held[1]:.10g}, not "
                    "what was written"
                )
            written = replace(result, gain=held[0], offset=held[1])  # as the instrument has it
            tell(ApplyStage.RECORD)
            service = CalibrationService(
                self.records.writer, self.records.path, users, self.records.signatures
            )
            record = service.record(
                session,
                password,
                written,
                serial,
                username=username,
                statement=self.calibration_request(written, serial).statement,
            )
        except Exception as exc:  # not recorded: the old coefficients go back
            tell(ApplyStage.RESTORE)
            try:
                hardware(
                    lambda: self.write_calibration(
                        session, channel, result.old_gain, result.old_offset
                    )
                )
            except Exception as lost:
                return CalibrationApplied(
                    ApplyOutcome.UNRECORDED, result, error=exc, restore_error=lost
                )
            return CalibrationApplied(ApplyOutcome.RESTORED, result, error=exc)
        return CalibrationApplied(ApplyOutcome.RECORDED, written, record=record)

    # ------------------------------------------------------------------ diagnostics
    def export_diagnostics(
        self,
        session: Session,
        data_dir: str | Path,
        path: str | Path,
        on_hardware: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> list[str]:
        """Write the diagnostics bundle (app/service/diagnostics.py) to ``path`` and audit
        it (records leave the system: who, what, when); the names in it. Called off the
        GUI and the hardware threads (it reads the log files and the database); the
        link's statistics come from the hardware thread through ``on_hardware``."""
        hardware = on_hardware or (lambda work: work())
        stats = hardware(lambda: self.link_statistics(session))
        identity = self.runs.identity
        text = (
            f"model {identity.model}\nserial {identity.serial}\nfirmware {identity.firmware}\n"
            f"boot {identity.boot}"
            if identity is not None
            else "the instrument had not identified itself"
        )
        names = write_bundle(data_dir, self.records.path, path, stats, text)
        self._audit(session, "diagnostics.export", new=Path(path).name)
        return names

    # ------------------------------------------------------------------ serial console
    def console_line(self, session: Session, line: str) -> ConsoleExchange:
        """Any protocol line (``VERB args``): the driver adds sequence and CRC, and the
        instrument's answer, refusal included, comes back as received."""
        self._in_service(session)
        words = line.split()
        if not words:
            raise ValueError("type a command, such as IDN? or GET temp")
        verb = words[0].upper()
        writes_calibration = verb == "CAL" and len(words) > 2  # reading one is fine
        if writes_calibration or (verb in CONSOLE_REFUSED and verb != "CAL"):
            raise ServiceRefused(CONSOLE_REFUSED[verb])
        self._audit(session, "service.console", new=line.strip())
        try:
            reply: Reply = self._instrument().request(words[0], *words[1:])
        except InstrumentError as exc:  # the refusal is the answer the engineer wants
            return ConsoleExchange(line.strip(), f"ERR {exc.code} {exc.message}", {}, False)
        frame = encode_frame(reply.payload()).decode("ascii").rstrip("\n")
        return ConsoleExchange(line.strip(), frame, reply.named(), True)

    # ------------------------------------------------------------------ self-test
    def selftest(self, session: Session, progress=None) -> SelfTestReport:
        """Run the self-test here on the hardware thread (it steps the link itself, so
        telemetry keeps flowing to the screens); ``cancel_selftest`` stops it."""
        self._in_service(session)
        connection = self._connection()
        self.cancel_selftest.clear()
        test = SelfTest(
            connection.step, connection.execute, progress=progress, cancel=self.cancel_selftest
        )
        test.identity = self.runs.identity  # identified before the test began listening
        listeners = connection.listener.listeners
        listeners.append(test)
        try:
            report = test.run(enter_service=False)
        except Exception as exc:
            self._audit(session, "service.selftest", new=f"aborted: {exc}")
            raise
        finally:
            listeners.remove(test)
        identity = self.runs.identity
        if report.instrument == "?" and identity is not None:
            # the test joined the link after the instrument had identified itself
            report.instrument = f"{identity.serial} firmware {identity.firmware}"
        verdict = "PASS" if report.passed else "FAIL: " + ", ".join(report.failed)
        self._audit(session, "service.selftest", new=verdict)
        return report

    # ------------------------------------------------------------------ helpers
    def _require(self, session: Session, what: str, permission=Permission.SERVICE_MODE) -> None:
        self.records.users.require(session, permission, "service", what)

    def _in_service(self, session: Session, permission=Permission.SERVICE_MODE) -> None:
        """Acts need the service mode this engineer entered, with the firmware still in
        its service state (a reset or the watchdog ends it) and no run in progress."""
        self._require(session, "act", permission)
        engineer = self.engineer
        if engineer is None:
            raise ServiceRefused("enter service mode first")
        if engineer.user_id != session.user_id:
            raise ServiceRefused(f"{engineer.full_name} has the instrument in service mode")
        if self.firmware_left:
            self._ended()
            self._audit(session, "service.leave", old="service", new="instrument left it")
            raise ServiceRefused(
                "the instrument left service mode (a reset or the watchdog): enter it again"
            )
        self._no_run("manual control waits until it ends")

    def _connection(self) -> Connection:
        connection = self.connection()
        if connection is None:
            raise ServiceRefused("the hardware thread has not started")
        return connection

    def _instrument(self):
        return self._connection().instrument

    def _send(self, command: InstrumentCommand) -> str:
        return self._connection().execute(command)

    def _audit(self, session: Session, action: str, old: str = "", new: str = "") -> None:
        identity = self.runs.identity
        self.records.writer.record(
            AuditEntry(
                str(session.user_id),
                session.full_name,
                action,
                "instrument",
                identity.serial if identity else "?",
                old_value=old or None,
                new_value=new or None,
            )
        )
