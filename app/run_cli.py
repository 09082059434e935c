"""``celldeck run RECIPE --batch B --simulator [--speed N] [--auto-confirm]``: a recipe
end to end on the simulator without a GUI, for tests and operational qualification.

The recipe file is imported as a new version (or found, if this exact text is known).
With ``--auto-confirm`` an "automation" identity approves that version, answers the
prompts and signs where asked, every such act audited under its name. That is for demo
and training records only (a folder first used by a ``--simulator`` run is one): on GMP
records automation never signs for people, so it refuses to approve a recipe or to run
one with signature steps. Prints a summary and exits 0 only when the run reaches
Complete.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.batch.alarms import AlarmState
from app.batch.executors import Prompt
from app.batch.host import RunHost
from app.batch.library import RecipeLibrary
from app.batch.recipe import Recipe, RecipeError, load_recipe_file
from app.batch.run_record import UnfinishedRun, load_unfinished
from app.batch.states import State
from app.paths import prepare_data_dir, resolve_data_dir
from app.records import Records
from app.store import actor
from app.store.db import connect
from app.store.purpose import Purpose, declare_purpose
from app.store.run_log import unfinished_runs
from app.store.users import Session
from hardware.commands import InstrumentCommand
from hardware.connection import Connection, LinkState
from hardware.simulator.launcher import SimulatorProcess


class AutomationRefused(ValueError):
    """--auto-confirm asked to act for a person on GMP records."""


AUTOMATION = ("automation", "Automation (headless runner)")
VERIFIER = ("automation-verifier", "Automation verifier (headless runner)")


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
    run.add_argument(
        "--training-records",
        action="store_true",
        help="a new data folder holds demo/training records (as with --simulator), "
        "so that --auto-confirm may sign in it; refused on a folder that holds records",
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
    """One run without a screen: records, simulator, connection and a RunHost, and the
    loop between them; with --auto-confirm the automation identity does what an
    operator and a supervisor would (every act audited as automated)."""

    def __init__(self, args: argparse.Namespace, records: Records, purpose: Purpose) -> None:
        self.args = args
        self.records = records
        self.purpose = purpose
        self.host: RunHost | None = None

    def plan(self, session: Session, password: str) -> RunPlan:
        args, records = self.args, self.records
        library = RecipeLibrary(records.users, records.signatures, records.path)
        if args.resume:
            return self._plan_resume(library)
        if not args.recipe:
            raise ValueError("name the recipe file to run (or use --resume)")
        recipe = load_recipe_file(args.recipe)
        if args.auto_confirm and self.purpose is Purpose.GMP:
            self._refuse_on_gmp_records(recipe, library)
        # the file is loaded by the console for this run (the system), not by the identity
        # that approves it: a recipe's author does not approve it (app/store/signing.py)
        version = library.import_recipe(recipe, actor.SYSTEM)
        if version.status == "draft" and args.auto_confirm:
            library.approve(session, password, version.id, username=session.username)
        runnable = library.runnable(version.id)  # refuses an unapproved version
        return RunPlan(runnable, version.id, _overrides(runnable, args.parameter), args.batch)

    def _refuse_on_gmp_records(self, recipe: Recipe, library: RecipeLibrary) -> None:
        """Automation never signs for people on GMP records: no approval, no signed step."""
        approved = {(v.name, v.content_hash) for v in library.approved()}
        if (recipe.name, recipe.content_hash) not in approved:
            raise AutomationRefused(
                f"recipe {recipe.name} {recipe.version} is not approved in these GMP records, "
                "and --auto-confirm never approves on GMP records: a supervisor approves it "
                "in the console (Recipes), then run it again"
            )
        signed = [
            f'{step.number} "{step.name}"'
            for step in recipe.steps
            if step.phase == "prompt" and step.args.get("response") == "signature"
        ]
        if signed:
            raise AutomationRefused(
                f"recipe {recipe.name} has steps a person signs ({', '.join(signed)}), and "
                "--auto-confirm never signs on GMP records: run it in the console"
            )

    def _plan_resume(self, library: RecipeLibrary) -> RunPlan:
        with closing(connect(self.records.path, readonly=True)) as conn:
            waiting = unfinished_runs(conn)
            if self.args.batch:
                waiting = [w for w in waiting if w[1] == self.args.batch]
            if not waiting:
                raise ValueError("no unfinished run to resume in this data folder")
            if len(waiting) > 1:
                listed = ", ".join(f"{r} (batch {b}, {s})" for r, b, s in waiting)
                raise ValueError(f"more than one unfinished run: {listed}; name one with --batch")
            unfinished = load_unfinished(conn, waiting[0][0])
        runnable = library.runnable(unfinished.recipe_id)
        if self.args.auto_confirm and self.purpose is Purpose.GMP:
            self._refuse_on_gmp_records(runnable, library)
        return RunPlan(
            runnable, unfinished.recipe_id, unfinished.parameters, unfinished.batch_id, unfinished
        )

    def execute(self) -> int:
        args, records = self.args, self.records
        session, password = records.users.automation_session(*AUTOMATION)
        plan = self.plan(session, password)
        with self._instrument(plan.recipe) as (url, simulator):
            connection: Connection | None = None

            def send(command: InstrumentCommand) -> str:
                assert connection is not None
                return connection.execute(command)

            host = RunHost(
                records,
                send,
                on_line=lambda line: print(f"  {line}", flush=True),
                keep_alive=lambda: connection.keepalive() if connection else None,
            )
            self.host = host
            resume_from = None
            if plan.resume:
                host.resume(plan.resume)
                if plan.resume.last_sample:
                    resume_from = plan.resume.last_sample[:2]
            connection = Connection(url, host, telemetry_hz=20.0, resume_from=resume_from)
            connection.start()
            deadline = time.monotonic() + args.timeout
            self._until(connection, lambda: host.link is LinkState.CONNECTED, deadline)
            self._until(connection, lambda: host.samples_seen > 0, deadline)
            if plan.resume:
                if host.engine is None:
                    return 1  # not this run's instrument or kit: the host said why
            else:
                checks = host.checklist(
                    session, plan.version_id, plan.batch, plan.batch, plan.overrides
                )
                for check in checks:
                    mark = "ok  " if check.ok else "FAIL"
                    print(f"  pre-start {mark} {check.name}: {check.detail}")
                failed = [c for c in checks if not c.ok]
                for check in failed:
                    print(f"pre-start check failed: {check.name}: {check.detail}", file=sys.stderr)
                if failed:
                    return 1
                run_id = host.start(
                    session, plan.version_id, plan.batch, plan.batch, plan.overrides
                )
                print(
                    f"run {run_id}  batch {plan.batch}  recipe {plan.recipe.name} "
                    f"v{plan.recipe.version}  sha256 {plan.recipe.content_hash[:16]}",
                    flush=True,
                )
            try:
                self._drive(connection, session, password, deadline)
            except Exception:
                if simulator is not None:
                    print(f"simulator said: {simulator.stderr_text()[-2000:]}", file=sys.stderr)
                raise
            host.close()
            self._summary(plan, connection)
            connection.close()
        engine = host.engine
        if engine.state is not State.COMPLETE:
            return 1
        if engine.outcome_problems:
            print("run complete, but outside the recipe's expected outcome:", file=sys.stderr)
            for problem in engine.outcome_problems:
                print(f"  {problem}", file=sys.stderr)
            return 3
        return 0

    @contextmanager
    def _instrument(self, recipe: Recipe) -> Iterator[tuple[str, SimulatorProcess | None]]:
        if self.args.instrument_port:
            yield self.args.instrument_port, None
            return
        sim_args = ["--speed", str(self.args.speed), "--kit", f"{recipe.kit.name}-SIM-0001"]
        for bag in ("source", "media", "buffer"):  # the kit as the recipe says it is loaded
            if bag in recipe.kit.bags:
                sim_args += ["--fill", f"{bag}={recipe.fills.get(bag, 0.0):g}"]
        for fault in self.args.sim_fault:
            sim_args += ["--fault", fault]
        with SimulatorProcess(sim_args) as simulator:
            yield simulator.url, simulator

    @staticmethod
    def _until(connection: Connection, done, deadline: float) -> None:
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError("timed out waiting for the instrument")
            pause = connection.step()
            if pause:
                time.sleep(pause)  # a plain loop standing in for the hardware thread

    def _drive(
        self, connection: Connection, session: Session, password: str, deadline: float
    ) -> None:
        host = self.host
        engine = host.engine
        while not engine.finished:
            if time.monotonic() > deadline:
                host.abort(session, f"headless run exceeded {self.args.timeout:g} s")
                break
            pause = connection.step()
            if self.args.auto_confirm:
                self._automate(session, password)
            if pause:
                time.sleep(pause)

    def _automate(self, session: Session, password: str) -> None:
        """What the operator and supervisor would do, as the automation identity."""
        host = self.host
        engine = host.engine
        for tag, state, _ in engine.alarms.active():
            if state in (AlarmState.UNACKNOWLEDGED, AlarmState.RETURNED_UNACKNOWLEDGED):
                host.acknowledge(session, tag)
        prompt = engine.pending_prompt
        if prompt is not None:
            if prompt.response == "signature":
                second = None
                if prompt.second_person:
                    verifier, verifier_pw = self.records.users.automation_session(*VERIFIER)
                    second = (verifier.username, verifier_pw)
                host.answer(session, "signed", password, second)
            elif prompt.response == "data":
                host.answer(session, _automatic_data(prompt, engine.values))
            else:
                host.answer(session, "confirmed")
        if (
            engine.state is State.HELD
            and engine.values.get("ilk", 1) == 0
            and host.link is LinkState.CONNECTED
        ):
            host.restart(session, f"cleared: {engine.held_reason}")

    def _summary(self, plan: RunPlan, connection: Connection) -> None:
        host = self.host
        engine = host.engine
        run_id = host.record.run_id
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
        listed = ", ".join(
            f"{tag} x{s['activations']:g} ({s['active_s'] / 60:.0f} min)" for tag, s in came.items()
        )
        print(f"alarms: {listed or 'none'}")
        print(
            f"samples recorded {host.recorder.stored}   link CRC errors "
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
        # a folder first used by a --simulator run holds training records
        training = args.simulator or args.training_records
        purpose = declare_purpose(records.writer, Purpose.TRAINING if training else Purpose.GMP)
        if args.training_records and purpose is Purpose.GMP:
            raise AutomationRefused(f"the records in {data_dir} are GMP records, not training")
        return HeadlessRun(args, records, purpose).execute()
    except AutomationRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    except (ValueError, PermissionError, TimeoutError, RecipeError) as exc:
        print(f"run not completed: {exc}", file=sys.stderr)
        return 1
    finally:
        records.close()
