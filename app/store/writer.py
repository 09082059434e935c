"""The one thread that writes the records database.

Everything that changes the database is a job sent through a queue; the writer runs
the jobs it finds waiting in one transaction (each in its own savepoint, so one bad
job fails alone) and resolves each job's Future only after COMMIT, which with
synchronous=FULL means on disk. It reports its backlog and health, and a failure
reaches ``on_failure`` at once: it never dies silently.

Once the chain is sealed, every commit that added audit entries also seals the new
head, in the same transaction (app/store/seal.py); after the commit the seal goes to
the witness log (app/store/witness.py). Both run on this thread: the threads that
submit jobs (the hardware thread's recorder among them) never wait for either.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.store.audit import AuditEntry, AuditLog
from app.store.db import connect
from app.store.seal import Seal, Sealer, SealKeyError, db_keys, key_path, open_sealer
from app.store.witness import WitnessLog, witness_path

log = logging.getLogger(__name__)

Job = Callable[["WriterContext"], Any]
MAX_JOBS_PER_COMMIT = 500
AUTO = "auto"  # sealer: the installation key if this chain is sealed already
CALL_TIMEOUT_S = 30.0
WAIT_SLICE_S = 0.25  # a waiting hardware thread beats the link's heartbeat this often

_waiting = threading.local()


def keep_alive_while_waiting(hook: Callable[[], None] | None) -> None:
    """On the calling thread, every wait for a commit calls ``hook`` every quarter
    second until the commit is done (None: plain waits). The thread that owns the
    instrument's link registers its heartbeat here, so a slow disk never starves the
    instrument's 5 s watchdog (invariant 7) while the caller is still told "done" only
    once its record is durable (invariant 1). ``hook`` must not raise."""
    _waiting.hook = hook


def await_commit(future: Future, timeout: float = CALL_TIMEOUT_S) -> Any:
    """The job's result once committed (or its exception); TimeoutError after ``timeout``."""
    hook = getattr(_waiting, "hook", None)
    if hook is None:
        return future.result(timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return future.result(max(0.0, min(WAIT_SLICE_S, deadline - time.monotonic())))
        except TimeoutError:
            if future.done():
                return future.result()  # done meanwhile, or the job's own TimeoutError
            if time.monotonic() >= deadline:
                raise
        hook()


def _is_storage_failure(exc: BaseException) -> bool:
    """A write the disk or file refused (full, I/O error, read-only, damaged), as opposed
    to a job's own mistake such as a constraint it broke."""
    return isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError
    )


class StoreError(RuntimeError):
    """The records database could not take a write (disk full, writer stopped, ...)."""


@dataclass
class WriterContext:
    """What a job gets: the write connection and the audit log on it."""

    conn: sqlite3.Connection
    audit: AuditLog


@dataclass(frozen=True)
class WriterHealth:
    alive: bool
    backlog: int
    committed_jobs: int
    failed_commits: int
    last_error: str
    last_commit_age_s: float | None


class StoreWriter:
    """Owns the write connection. Thread-safe ``submit``/``call`` from any thread."""

    def __init__(
        self,
        path: str | Path,
        workstation: str,
        on_failure: Callable[[str], None] | None = None,
        sealer: Sealer | str | None = AUTO,
        witness: WitnessLog | None = None,
    ) -> None:
        self.path = Path(path)
        self.workstation = workstation
        self.on_failure = on_failure
        self._sealer = sealer  # AUTO is resolved on the writer thread
        self.witness = witness or WitnessLog(witness_path(self.path.parent))
        self.seal_problem = ""  # why entries are not being sealed or witnessed, if so
        self._seal_pending = False
        self._queue: queue.Queue[tuple[Job, Future] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._alive = False
        self._committed = 0
        self._failed_commits = 0
        self._last_error = ""
        self._last_commit: float | None = None

    # ------------------------------------------------------------------ control
    def start(self) -> StoreWriter:
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            raise StoreError(f"cannot open {self.path}: {self._start_error}")
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Finish the jobs already queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def submit(self, job: Job) -> Future:
        future: Future = Future()
        if not self._alive:
            future.set_exception(StoreError(self._last_error or "records writer is not running"))
            return future
        self._queue.put((job, future))
        return future

    def call(self, job: Job, timeout: float = CALL_TIMEOUT_S) -> Any:
        """Run a job and wait until it is committed; its result, or its exception. On a
        thread that keeps a link alive (``keep_alive_while_waiting``) the wait goes on
        in slices, with the link's heartbeat between them."""
        return await_commit(self.submit(job), timeout)

    def record(self, entry: AuditEntry, timeout: float = CALL_TIMEOUT_S) -> int:
        """Append an audit entry; returns its id once it is durable on disk."""
        return self.call(lambda ctx: ctx.audit.append(entry), timeout)

    def begin_sealing(self, sealer: Sealer, first: Job | None = None) -> Any:
        """Seal this chain from now on: ``first`` (e.g. binding the rows as found) and
        the first seal in one transaction. For a chain verified but never sealed."""

        def job(ctx: WriterContext) -> Any:
            value = first(ctx) if first else None
            self._sealer, self._seal_pending = sealer, True
            return value

        return self.call(job)

    @property
    def sealer(self) -> Sealer | None:
        return self._sealer if isinstance(self._sealer, Sealer) else None

    def health(self) -> WriterHealth:
        age = None if self._last_commit is None else time.monotonic() - self._last_commit
        return WriterHealth(
            self._alive,
            self._queue.qsize(),
            self._committed,
            self._failed_commits,
            self._last_error,
            age,
        )

    # ------------------------------------------------------------------ thread
    def _run(self) -> None:
        try:
            conn = connect(self.path)
            context = WriterContext(conn, AuditLog(conn, self.workstation))
            if self._sealer == AUTO:
                self._sealer = self._installation_sealer(conn)
        except BaseException as exc:  # reported to start()
            self._start_error = exc
            self._ready.set()
            return
        self._alive = True
        self._ready.set()
        try:
            self._loop(context)
        except BaseException as exc:  # a dying writer must be heard
            self._fail(f"records writer stopped: {exc!r}")
            log.exception("records writer died")
        finally:
            self._alive = False
            self._drain_with_error()
            conn.close()

    def _loop(self, context: WriterContext) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < MAX_JOBS_PER_COMMIT:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self._commit_batch(context, batch)

    def _installation_sealer(self, conn: sqlite3.Connection) -> Sealer | None:
        """The key of a chain sealed already (None for a chain never sealed: Records
        starts sealing it once it has verified it)."""
        keys = set(db_keys(conn))
        if not keys:
            return None
        try:
            return open_sealer(key_path(self.path.parent), keys)
        except SealKeyError as exc:
            self.seal_problem = f"audit entries are not being sealed: {exc}"
            log.error(self.seal_problem)
            return None

    def _seal(self, context: WriterContext, appended_before: int) -> Seal | None:
        """Seal the head in the open transaction if this batch added entries. A seal
        that cannot be made never costs the records: logged, and the batch commits."""
        sealer = self.sealer
        if sealer is None or (context.audit.appended == appended_before and not self._seal_pending):
            return None
        conn = context.conn
        conn.execute("SAVEPOINT seal")
        try:
            seal = sealer.seal(conn)
        except Exception as exc:
            conn.execute("ROLLBACK TO seal")
            self.seal_problem = f"the audit chain could not be sealed: {exc}"
            log.error(self.seal_problem)
            seal = None
        conn.execute("RELEASE seal")
        return seal

    def _witness(self, seal: Seal) -> None:
        """The seal to the witness log, after the commit. A failure is logged and
        recorded once in the trail (and again once it works again): never fatal."""
        try:
            self.witness.append(seal)
        except OSError as exc:
            if not self.seal_problem.startswith("witness log"):
                self.seal_problem = f"witness log {self.witness.path} cannot be written: {exc}"
                log.error(self.seal_problem)
                self._note("witness.failed", self.seal_problem)
            return
        if self.seal_problem.startswith("witness log"):
            log.info("witness log %s written again", self.witness.path)
            self.seal_problem = ""
            self._note("witness.restored", str(self.witness.path))

    def _note(self, action: str, text: str) -> None:
        self.submit(
            lambda ctx: ctx.audit.append(
                AuditEntry(
                    "system",
                    "CellDeck",
                    action,
                    "witness-log",
                    str(self.witness.path),
                    new_value=text,
                )
            )
        )

    def _commit_batch(self, context: WriterContext, batch: list[tuple[Job, Future]]) -> None:
        conn = context.conn
        results: list[tuple[Future, bool, Any]] = []
        appended_before = context.audit.appended
        seal = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job, future in batch:
                if not future.set_running_or_notify_cancel():
                    continue  # cancelled by its caller before it ran: nothing to do
                conn.execute("SAVEPOINT job")
                try:
                    value = job(context)
                except Exception as exc:  # this job fails alone
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    if _is_storage_failure(exc):  # disk full, I/O: the console must know
                        self._fail(f"records database write failed: {exc}")
                        exc = StoreError(f"not recorded: {exc}")
                    results.append((future, False, exc))
                else:
                    conn.execute("RELEASE job")
                    results.append((future, True, value))
            seal = self._seal(context, appended_before)
            conn.execute("COMMIT")
        except BaseException as exc:  # the commit (or the thread) failed: nothing is kept
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._failed_commits += 1
            self._fail(f"records database write failed: {exc}")
            error = StoreError(f"not recorded: {exc}")
            for _, future in batch:
                if future.running():
                    future.set_exception(error)
            if not isinstance(exc, Exception):
                raise
            return
        self._committed += sum(1 for _, ok, _ in results if ok)
        self._last_commit = time.monotonic()
        if all(ok for _, ok, _ in results):
            self._last_error = ""
        for future, ok, value in results:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        if seal is not None:
            self._seal_pending = False
            self._witness(seal)

    def _fail(self, message: str) -> None:
        self._last_error = message
        log.error(message)
        if self.on_failure is not None:
            try:
                self.on_failure(message)
            except Exception:  # the alarm path must not kill the writer
                log.exception("on_failure callback raised")

    def _drain_with_error(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[1].set_exception(StoreError(self._last_error or "records writer stopped"))
