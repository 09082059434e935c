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
from pathlib import Path

import numpy as np

from app.batch.engine import BatchEngine
from app.batch.executors import Prompt
from app.batch.recipe import Recipe, RecipeError, load_recipe_file
from app.batch.run_record import StoreRunRecord
from app.batch.states import State
from app.paths import prepare_data_dir, resolve_data_dir
from app.records import Records
from app.store.recipes import RecipeLibrary
from app.store.recorder import TelemetryRecorder
from app.store.signatures import Meaning
from app.store.users import Session
from hardware.connection import Connection, LinkState, Sample
from hardware.driver import Identity
from hardware.protocol import Event
from hardware.simulator.launcher import SimulatorProcess

AUTOMATION = ("automation", "Automation (headless runner)")
VERIFIER = ("automation-verifier", "Automation verifier (headless runner)")


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", parents=parents, help="run a recipe headless on the simulator")
    run.add_argument("recipe", help="recipe file (TOML)")
    run.add_argument("--batch", required=True, help="batch ID")
    run.add_argument(
        "--simulator",
        action="store_true",
        required=True,
        help="on the built-in simulated instrument (the only target for now)",
    )
    run.add_argument("--speed", type=float, default=1.0, help="simulator speed factor")
    run.add_argument(
        "--auto-confirm",
        action="store_true",
        help="approve, answer and sign as the automation identity (audited)",
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


class HeadlessRun:
    """One run: records, simulator, connection, engine, and the loop between them."""

    def __init__(self, args: argparse.Namespace, recipe: Recipe, records: Records) -> None:
        self.args = args
        self.recipe = recipe
        self.records = records
        self.engine: BatchEngine | None = None
        self.identity: Identity | None = None
        self.link = LinkState.DISCONNECTED
        self.recorder = TelemetryRecorder(records.writer)
        self.samples_seen = 0

    # ConnectionListener -------------------------------------------------------------
    def on_state(self, state: LinkState, detail: str) -> None:
        self.link = state
        if state is LinkState.LOST and self.engine is not None:
            self.engine.link_lost(detail)

    def on_identity(self, identity: Identity) -> None:
        self.identity = identity

    def on_samples(self, samples: list[Sample]) -> None:
        self.samples_seen += len(samples)
        if self.engine is not None:
            for sample in samples:
                self.engine.on_sample(sample.t_ms, sample.values)
        self.recorder.add(
            np.fromiter((s.boot for s in samples), np.int32, len(samples)),
            np.fromiter((s.t_ms for s in samples), np.int64, len(samples)),
            np.fromiter((s.utc for s in samples), np.float64, len(samples)),
            np.array([s.values for s in samples], dtype=np.float64),
        )

    def on_events(self, events: list[Event]) -> None:
        if self.engine is not None:
            for event in events:
                self.engine.on_event(event)

    # the run ---------------------------------------------------------------------------
    def execute(self) -> int:
        args, recipe, records = self.args, self.recipe, self.records
        session, password = records.users.automation_session(*AUTOMATION)
        library = RecipeLibrary(records.users, records.signatures, records.path)
        version = library.import_recipe(recipe, str(session.user_id), session.full_name)
        if version.status == "draft" and args.auto_confirm:
            library.approve(session, password, version.id, username=session.username)
        runnable = library.runnable(version.id)  # refuses an unapproved version
        overrides = _overrides(runnable, args.parameter)
        arguments = runnable.resolve(overrides)
        sim_args = ["--speed", str(args.speed), "--kit", f"{recipe.kit.name}-SIM-0001"]
        for fault in args.sim_fault:
            sim_args += ["--fault", fault]
        with SimulatorProcess(sim_args) as simulator:
            connection = Connection(simulator.url, self, telemetry_hz=20.0)
            connection.start()
            deadline = time.monotonic() + args.timeout
            self._until(connection, lambda: self.link is LinkState.CONNECTED, deadline)
            self._until(connection, lambda: self.samples_seen > 0, deadline)
            problems = self._prestart_checks(connection)
            if problems:
                for problem in problems:
                    print(f"pre-start check failed: {problem}", file=sys.stderr)
                return 1
            record = StoreRunRecord(records.writer, str(session.user_id), session.full_name)
            identity = self.identity
            run_id = record.create(
                args.batch,
                version.id,
                runnable.content_hash,
                identity.serial,
                identity.firmware,
                identity.kit,
            )
            self.recorder.start_run(run_id)
            self.engine = BatchEngine(runnable, arguments, connection.execute, record)
            self.engine.start(session.full_name)
            try:
                self._drive(connection, session, password, run_id, deadline)
            except Exception:
                print(f"simulator said: {simulator.stderr_text()[-2000:]}", file=sys.stderr)
                raise
            self.recorder.stop_run()
            self._summary(run_id, record, connection)
            connection.close()
        self.recorder.close()
        return 0 if self.engine.state is State.COMPLETE else 1

    @staticmethod
    def _until(connection: Connection, done, deadline: float) -> None:
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError("timed out waiting for the instrument")
            pause = connection.step()
            if pause:
                time.sleep(pause)  # a plain loop standing in for the hardware thread

    def _prestart_checks(self, connection: Connection) -> list[str]:
        problems = []
        identity = self.identity
        if identity is None:
            problems.append("instrument not identified")
        elif not identity.kit.startswith(self.recipe.kit.name):
            problems.append(f"kit {identity.kit} is not of type {self.recipe.kit.name}")
        if not self.args.batch.strip():
            problems.append("no batch ID")
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
            content = f"{prompt.message}\nrun {run_id} batch {self.args.batch}"
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

    def _auto_restart(self, session: Session) -> None:
        engine = self.engine
        if (
            engine
            and engine.state is State.HELD
            and engine.values.get("ilk", 1) == 0
            and self.link is LinkState.CONNECTED
        ):
            engine.restart(f"{session.full_name} (automated)", f"cleared: {engine.held_reason}")

    def _summary(self, run_id: int, record: StoreRunRecord, connection: Connection) -> None:
        engine = self.engine
        values = engine.values
        cells = values.get("vcd", 0.0) * 1e6 * values.get("w_chamber", 0.0)
        print(
            f"run {run_id}  batch {self.args.batch}  recipe {self.recipe.name} "
            f"v{self.recipe.version}  sha256 {self.recipe.content_hash[:16]}"
        )
        for line in record.lines:
            print(f"  {line}")
        print(f"final state: {engine.state.value}   process time {engine.process_s / 86400:.2f} d")
        print(
            f"product bag {values.get('w_product', 0):.1f} g   chamber "
            f"{values.get('w_chamber', 0):.1f} g at {values.get('vcd', 0):.2f} 1e6/mL "
            f"({cells:.3g} cells)"
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
    try:
        recipe = load_recipe_file(args.recipe)
    except RecipeError as exc:
        print(f"recipe refused:\n{exc}", file=sys.stderr)
        return 2
    data_dir = prepare_data_dir(resolve_data_dir(args.data_dir))
    records = Records.open(Path(data_dir))
    try:
        return HeadlessRun(args, recipe, records).execute()
    except (ValueError, PermissionError, TimeoutError) as exc:
        print(f"run not completed: {exc}", file=sys.stderr)
        return 1
    finally:
        records.close()
