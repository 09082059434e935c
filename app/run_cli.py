"""``celldeck run RECIPE --batch B --simulator [--speed N] [--auto-confirm]``: a recipe
end to end on the simulator without a GUI, for tests and operational qualification.

The recipe file is imported as a new version (or found, if this exact text is known).
With ``--auto-confirm`` an "automation" identity approves that version, answers the
prompts and signs where asked, every such act audited under its name. Prints a summary
and exits 0 only when the run reaches Complete.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.batch.alarms import AlarmState
from app.batch.engine import BatchEngine
from app.batch.executors import Prompt
from app.batch.journal import JournalMismatch
from app.batch.prestart import StartRequest, prestart_checks
from app.batch.recipe import Recipe, RecipeError, load_recipe_file
from app.batch.run_record import StoreRunRecord, UnfinishedRun, load_unfinished, unfinished_runs
from app.batch.states import State
from app.paths import prepare_data_dir, resolve_data_dir
from app.records import Records
from app.store.db import connect
from app.store.recipes import RecipeLibrary
from app.store.recorder import TelemetryRecorder
from app.store.signatures import Meaning
from app.store.users import Session
from hardware.connection import Connection, LinkState, Sample
from hardware.driver import Identity
from hardware.protocol import CHANNEL_INDEX, Event
from hardware.simulator.launcher import SimulatorProcess

AUTOMATION = ("automation", "Automation (headless runner)")
VERIFIER = ("automation-verifier", "Automation verifier (headless runner)")
SHOWN_EVENTS = ("WATCHDOG", "BOOT", "INTERLOCK", "SAFE", "HISTORY_GAP", "EVENT_GAP")


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", parents=parents, help="run a recipe headless on the simulator")
    run.add_argument("recipe", nargs="?", help="recipe file (TOML); not with --resume")
    run.add_argument("--batch", default="", help="batch ID (a new run needs one)")
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--simulator",
        action="store_true",
        help="start the built-in simulated instrument for this run",
    )
    target.add_argument(
        "--port",
        dest="instrument_port",
        metavar="URL",
        help="an instrument already running (pty path, COM3, socket://host:port)",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="take up the unfinished run in the data folder (after the console died)",
    )
    run.add_argument("--speed", type=float, default=1.0, help="simulator speed factor")
    run.add_argument(
        "--auto-confirm",
        action="store_true",
        help="approve, answer, sign and restart as the automation identity (audited)",
    )
    run.add_argument("--sim-fault", action="append", default=[], metavar="NAME[=VALUE]")
    run.add_argument("--timeout", type=float, default=1800.0, help="give up after S seconds")
    run.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="run parameter in the parameter's own unit",
    )


@dataclass
class RunPlan:
    """The run to drive: a new one, or an unfinished one taken up again."""

    recipe: Recipe
    version_id: int
    overrides: dict[str, float]
    batch: str
    resume: UnfinishedRun | None = None


class HeadlessRun:
    """One run: records, simulator, connection, engine, and the loop between them."""

    def __init__(self, args: argparse.Namespace, records: Records) -> None:
        self.args = args
        self.records = records
        self.engine: BatchEngine | None = None
        self.identity: Identity | None = None
        self.link = LinkState.DISCONNECTED
        self.recorder = TelemetryRecorder(records.writer)
        self.samples_seen = 0
        self.batch = ""
        self.engine_values_before_start: dict[str, float] = {}  # for the pre-start checks

    # ConnectionListener -------------------------------------------------------------
    def on_state(self, state: LinkState, detail: str) -> None:
        self.link = state
        if state is LinkState.LOST and self.engine is not None:
            self.engine.link_lost(detail)

    def on_identity(self, identity: Identity) -> None:
        self.identity = identity

    def on_samples(self, samples: list[Sample]) -> None:
        self.samples_seen += len(samples)
        newest = samples[-1].values
        self.engine_values_before_start = {n: float(newest[i]) for n, i in CHANNEL_INDEX.items()}
        if self.engine is not None:
            for sample in samples:
                self.engine.on_sample(sample.boot, sample.t_ms, sample.values)
        self.recorder.add(
            np.fromiter((s.boot for s in samples), np.int32, len(samples)),
            np.fromiter((s.t_ms for s in samples), np.int64, len(samples)),
            np.fromiter((s.utc for s in samples), np.float64, len(samples)),
            np.array([s.values for s in samples], dtype=np.float64),
        )

    def on_events(self, events: list[Event]) -> None:
        for event in events:
            if event.code in SHOWN_EVENTS:
                print(
                    f"  instrument event at {event.t_ms / 1000:.0f} s: {event.code} "
                    + " ".join(f"{k}={v}" for k, v in event.data.items()),
                    flush=True,
                )
        if self.engine is not None:
            for event in events:
                self.engine.on_event(event)

    # the run ---------------------------------------------------------------------------
    def plan(self, session: Session, password: str) -> RunPlan:
        args, records = self.args, self.records
        library = RecipeLibrary(records.users, records.signatures, records.path)
        if args.resume:
            return self._plan_resume(library)
        if not args.recipe:
            raise ValueError("name the recipe file to run (or use --resume)")
        recipe = load_recipe_file(args.recipe)
        version = library.import_recipe(recipe, str(session.user_id), session.full_name)
        if version.status == "draft" and args.auto_confirm:
            library.approve(session, password, version.id, username=session.username)
        runnable = library.runnable(version.id)  # refuses an unapproved version
        return RunPlan(runnable, version.id, _overrides(runnable, args.parameter), args.batch)

    def _plan_resume(self, library: RecipeLibrary) -> RunPlan:
        with closing(connect(self.records.path, readonly=True)) as conn:
            waiting = unfinished_runs(conn)
            if self.args.batch:
                waiting = [w for w in waiting if w[1] == self.args.batch]
            if not waiting:
                raise ValueError("no unfinished run to resume in this data folder")
            if len(waiting) > 1:
                listed = ", ".join(
                    f"{run_id} (batch {batch}, {state})" for run_id, batch, state in waiting
                )
                raise ValueError(f"more than one unfinished run: {listed}; name one with --batch")
            unfinished = load_unfinished(conn, waiting[0][0])
        runnable = library.runnable(unfinished.recipe_id)
        if runnable.content_hash != unfinished.recipe_hash:
            raise ValueError(
                f"run {unfinished.run_id}: its recipe version no longer matches its hash"
            )
        return RunPlan(
            runnable, unfinished.recipe_id, unfinished.parameters, unfinished.batch_id, unfinished
        )

    def execute(self) -> int:
        args, records = self.args, self.records
        session, password = records.users.automation_session(*AUTOMATION)
        plan = self.plan(session, password)
        self.batch = plan.batch
        arguments = plan.recipe.resolve(plan.overrides)
        resume = plan.resume
        resume_from = None
        if resume and resume.last_sample:
            resume_from = resume.last_sample[:2]
        with self._instrument(plan.recipe) as (url, simulator):
            connection = Connection(url, self, telemetry_hz=20.0, resume_from=resume_from)
            connection.start()
            deadline = time.monotonic() + args.timeout
            record = StoreRunRecord(
                records.writer,
                str(session.user_id),
                session.full_name,
                run_id=resume.run_id if resume else None,
                on_line=lambda line: print(f"  {line}", flush=True),
            )
            if resume:
                run_id = resume.run_id
                self.engine = self._recovered_engine(plan, arguments, connection, record)
                print(
                    f"resuming run {run_id} (batch {plan.batch}) at step "
                    f"{self.engine.current_step}, state {resume.state}",
                    flush=True,
                )
                self.recorder.start_run(run_id)
            self._until(connection, lambda: self.link is LinkState.CONNECTED, deadline)
            self._until(connection, lambda: self.samples_seen > 0, deadline)
            problems = self._prestart_checks(plan, session)
            if problems:
                for problem in problems:
                    print(f"pre-start check failed: {problem}", file=sys.stderr)
                return 1
            if resume:
                self.engine.recovered(f"{session.full_name} (automated)")
            else:
                run_id = self._start_new(plan, arguments, connection, record, session)
            try:
                self._drive(connection, session, password, run_id, deadline)
            except Exception:
                if simulator is not None:
                    print(f"simulator said: {simulator.stderr_text()[-2000:]}", file=sys.stderr)
                raise
            stored = self.recorder.stop_run()
            if stored is not None:
                stored.exception(30.0)  # the last samples on disk before the summary
            self._summary(plan, run_id, connection)
            connection.close()
        self.recorder.close()
        if self.engine.state is not State.COMPLETE:
            return 1
        if self.engine.outcome_problems:
            print("run complete, but outside the recipe's expected outcome:", file=sys.stderr)
            for problem in self.engine.outcome_problems:
                print(f"  {problem}", file=sys.stderr)
            return 3
        return 0

    @contextmanager
    def _instrument(self, recipe: Recipe) -> Iterator[tuple[str, SimulatorProcess | None]]:
        if self.args.instrument_port:
            yield self.args.instrument_port, None
            return
        sim_args = ["--speed", str(self.args.speed), "--kit", f"{recipe.kit.name}-SIM-0001"]
        for bag, volume in recipe.fills.items():  # the kit as the recipe says it is loaded
            sim_args += ["--fill", f"{bag}={volume:g}"]
        for fault in self.args.sim_fault:
            sim_args += ["--fault", fault]
        with SimulatorProcess(sim_args) as simulator:
            yield simulator.url, simulator

    def _start_new(
        self,
        plan: RunPlan,
        arguments: list[dict],
        connection: Connection,
        record: StoreRunRecord,
        session: Session,
    ) -> int:
        identity = self.identity
        assert identity is not None
        run_id = record.create(
            plan.batch,
            plan.version_id,
            plan.recipe.content_hash,
            identity.serial,
            identity.firmware,
            identity.kit,
            plan.overrides,
        )
        print(
            f"run {run_id}  batch {plan.batch}  recipe {plan.recipe.name} "
            f"v{plan.recipe.version}  sha256 {plan.recipe.content_hash[:16]}",
            flush=True,
        )
        self.recorder.start_run(run_id)
        self.engine = BatchEngine(plan.recipe, arguments, connection.execute, record)
        self.engine.start(session.full_name)
        return run_id

    def _recovered_engine(
        self, plan: RunPlan, arguments: list[dict], connection: Connection, record: StoreRunRecord
    ) -> BatchEngine:
        resume = plan.resume
        assert resume is not None
        values, clock = {}, None
        if resume.last_sample:
            boot, t_ms, values = resume.last_sample
            clock = (boot, t_ms)
        try:
            return BatchEngine.recover(
                plan.recipe,
                arguments,
                connection.execute,
                record,
                resume.journal,
                State(resume.state),
                values,
                clock,
            )
        except JournalMismatch as exc:
            raise ValueError(f"run {resume.run_id} cannot be resumed: {exc}") from exc

    @staticmethod
    def _until(connection: Connection, done, deadline: float) -> None:
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError("timed out waiting for the instrument")
            pause = connection.step()
            if pause:
                time.sleep(pause)  # a plain loop standing in for the hardware thread

    def _prestart_checks(self, plan: RunPlan, session: Session) -> list[str]:
        """The start screen's checklist (app/batch/prestart.py); a resumed run instead
        goes on only on its own instrument and kit."""
        identity = self.identity
        if plan.resume is None:
            with closing(connect(self.records.path, readonly=True)) as conn:
                in_progress = tuple(batch for _, batch, _ in unfinished_runs(conn))
            request = StartRequest(
                plan.recipe, plan.batch, plan.batch, plan.overrides, session.role, in_progress
            )
            values = self.engine_values_before_start
            checks = prestart_checks(request, identity, values)
            for check in checks:
                print(f"  pre-start {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
            return [f"{c.name}: {c.detail}" for c in checks if not c.ok]
        problems = []
        if identity is None:
            problems.append("instrument not identified")
        else:
            if identity.serial != plan.resume.instrument_serial:
                problems.append(
                    f"instrument {identity.serial} is not the run's {plan.resume.instrument_serial}"
                )
            if identity.kit != plan.resume.kit_id:
                problems.append(f"kit {identity.kit} is not the run's {plan.resume.kit_id}")
        return problems

    def _drive(
        self, connection: Connection, session: Session, password: str, run_id: int, deadline: float
    ) -> None:
        engine = self.engine
        assert engine is not None
        while not engine.finished:
            if time.monotonic() > deadline:
                engine.abort(session.full_name, f"headless run exceeded {self.args.timeout:g} s")
                break
            pause = connection.step()
            if self.args.auto_confirm:
                self._auto_acknowledge(session)
                self._auto_answer(session, password, run_id)
                self._auto_restart(session)
            if pause:
                time.sleep(pause)

    def _auto_answer(self, session: Session, password: str, run_id: int) -> None:
        engine = self.engine
        prompt = engine.pending_prompt if engine else None
        if prompt is None:
            return
        who = f"{session.full_name} (automated)"
        if prompt.response == "signature":
            record_id = f"{run_id}/step/{engine.current_step}"
            content = f"{prompt.message}\nrun {run_id} batch {self.batch}"
            self.records.signatures.sign(
                session,
                password,
                Meaning.PERFORMED,
                "run-step",
                record_id,
                content,
                username=session.username,
            )
            if prompt.second_person:
                verifier, verifier_pw = self.records.users.automation_session(*VERIFIER)
                self.records.signatures.sign(
                    verifier,
                    verifier_pw,
                    Meaning.VERIFIED,
                    "run-step",
                    record_id,
                    content,
                    username=verifier.username,
                )
            engine.answer("signed", who)
        elif prompt.response == "data":
            engine.answer(_automatic_data(prompt, engine.values), who)
        else:
            engine.answer("confirmed", who)

    def _auto_acknowledge(self, session: Session) -> None:
        engine = self.engine
        for tag, state, _ in engine.alarms.active() if engine else []:
            if state in (AlarmState.UNACKNOWLEDGED, AlarmState.RETURNED_UNACKNOWLEDGED):
                engine.acknowledge(tag, f"{session.full_name} (automated)")

    def _auto_restart(self, session: Session) -> None:
        engine = self.engine
        if (
            engine
            and engine.state is State.HELD
            and engine.values.get("ilk", 1) == 0
            and self.link is LinkState.CONNECTED
        ):
            engine.restart(f"{session.full_name} (automated)", f"cleared: {engine.held_reason}")

    def _summary(self, plan: RunPlan, run_id: int, connection: Connection) -> None:
        engine = self.engine
        values = engine.values
        cells = values.get("vcd", 0.0) * 1e6 * values.get("w_chamber", 0.0)
        print(f"run {run_id}  batch {plan.batch}  recipe {plan.recipe.name} v{plan.recipe.version}")
        print(f"final state: {engine.state.value}   process time {engine.process_s / 86400:.2f} d")
        print(
            f"product bag {values.get('w_product', 0):.1f} g   chamber "
            f"{values.get('w_chamber', 0):.1f} g at {values.get('vcd', 0):.2f} 1e6/mL "
            f"({cells:.3g} cells)"
        )
        came = {
            tag: stats
            for tag, stats in engine.alarms.statistics(engine.process_s).items()
            if stats["activations"]
        }
        print(
            "alarms: "
            + (
                ", ".join(
                    f"{tag} x{s['activations']:g} ({s['active_s'] / 60:.0f} min)"
                    for tag, s in came.items()
                )
                or "none"
            )
        )
        print(
            f"samples recorded {self.recorder.stored}   link CRC errors "
            f"{connection.link.stats.crc_errors}   reconnects {connection.link.stats.reconnects}"
        )


def _automatic_data(prompt: Prompt, values: dict[str, float]) -> object:
    """An automated answer: the live cell density for a count, a range's middle for
    other numbers, a marked placeholder for text."""
    if prompt.data_low is None:
        return "AUTOMATED-ENTRY"
    if prompt.data_unit == "1e6/mL" and "vcd" in values:
        return min(max(values["vcd"], prompt.data_low), prompt.data_high or values["vcd"])
    return (prompt.data_low + (prompt.data_high or prompt.data_low)) / 2


def _overrides(recipe: Recipe, texts: list[str]) -> dict[str, float]:
    from app.batch.units import DIMENSIONS

    overrides = {}
    for text in texts:
        name, _, value = text.partition("=")
        parameter = recipe.parameters.get(name)
        if parameter is None:
            raise ValueError(f"recipe {recipe.name} has no parameter {name!r}")
        overrides[name] = float(value) * DIMENSIONS[parameter.dimension].units[parameter.unit]
    return overrides


def run(args: argparse.Namespace) -> int:
    if args.resume and args.recipe:
        print(
            "--resume takes up the run's own recipe version: name no recipe file", file=sys.stderr
        )
        return 2
    if args.recipe:
        try:
            load_recipe_file(args.recipe)  # refused before anything is opened
        except RecipeError as exc:
            print(f"recipe refused:\n{exc}", file=sys.stderr)
            return 2
    data_dir = prepare_data_dir(resolve_data_dir(args.data_dir))
    records = Records.open(Path(data_dir))
    try:
        return HeadlessRun(args, records).execute()
    except (ValueError, PermissionError, TimeoutError, RecipeError) as exc:
        print(f"run not completed: {exc}", file=sys.stderr)
        return 1
    finally:
        records.close()
