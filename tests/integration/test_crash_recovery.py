"""The console killed with SIGKILL mid-run, at five different steps: each time a new
process takes the run up from the database and the instrument, and the run ends Complete
with every step run exactly once, nothing moved twice, and no hole in the telemetry."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from app.store.checks import verify_database
from hardware.simulator.launcher import SimulatorProcess

RECIPES = Path(__file__).parents[2] / "resources" / "recipes"
SPEED = 30.0
# (step, checkpoints of that step on record before the kill): 2 on a step means killed
# after its first wait ended, so the restart has to replay past it.
KILLS = [(2, 1), (3, 1), (5, 1), (6, 3), (7, 1)]
WATCHDOG_AFTER_KILL = 5  # left dead long enough for the instrument's watchdog to trip


def _console(data_dir: Path, port: str, log: Path, resume: bool) -> subprocess.Popen:
    target = ["--resume"] if resume else [str(RECIPES / "demo.toml"), "--batch", "B-KILL"]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "run",
            *target,
            "--port",
            port,
            "--auto-confirm",
            "--training-records",
            "--timeout",
            "120",
            "--data-dir",
            str(data_dir),
        ],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def _checkpoints(db: Path, step: int) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM run_journal WHERE step = ? AND kind = 'progress'", (step,)
            ).fetchone()
            return row[0]
    except sqlite3.OperationalError:  # the file or the table is not there yet
        return 0


def _wait_for(condition, what: str, process: subprocess.Popen | None, log: Path, limit=60.0):
    deadline = time.monotonic() + limit
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"console ended before {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)  # polling another process's file: there is no signal to wait on


def test_console_killed_at_five_steps_resumes_the_run_each_time(tmp_path):
    db, log, tx_log = tmp_path / "celldeck.db", tmp_path / "console.log", tmp_path / "tx.log"
    simulator_args = ["--speed", str(SPEED), "--kit", "CART-STD-SIM-0001", "--tx-log", str(tx_log)]
    with SimulatorProcess(simulator_args) as simulator:
        for number, (step, checkpoints) in enumerate(KILLS):
            console = _console(tmp_path, simulator.url, log, resume=number > 0)
            reached = lambda s=step, n=checkpoints: _checkpoints(db, s) >= n  # noqa: E731
            _wait_for(reached, f"step {step}", console, log)
            os.kill(console.pid, signal.SIGKILL)
            console.wait(10)
            with log.open("a") as out:
                out.write(f"\n=== killed at step {step} ===\n")
            if number == WATCHDOG_AFTER_KILL - 1:  # the instrument alone: it goes safe
                _wait_for(lambda: "WATCHDOG" in tx_log.read_text(), "the watchdog", None, log)
        final = _console(tmp_path, simulator.url, log, resume=True)
        assert final.wait(120) == 0, log.read_text()[-4000:]

    text = log.read_text()
    assert text.count("resuming run 1") == len(KILLS)
    assert "final state: Complete" in text
    assert "instrument at" in text and "WATCHDOG" in text  # what happened meanwhile
    product = float(text.split("product bag ")[-1].split(" g")[0])
    assert 44.0 <= product <= 46.0, text  # the 45 mL harvest, moved once
    with sqlite3.connect(db) as conn:
        starts = [
            r[0]
            for r in conn.execute(
                "SELECT object_id FROM audit WHERE action = 'step.start' ORDER BY id"
            )
        ]
        ends = [
            r[0]
            for r in conn.execute(
                "SELECT object_id FROM audit WHERE action = 'step.end' ORDER BY id"
            )
        ]
        holds = conn.execute(
            "SELECT COUNT(*) FROM audit WHERE action = 'run.state' AND new_value = 'Holding'"
            " AND reason LIKE '%console restarted%'"
        ).fetchone()[0]
        sends = conn.execute(
            "SELECT COUNT(*) FROM run_journal WHERE kind = 'send' AND data LIKE '%RunPump%'"
        ).fetchone()[0]
        t = np.array(
            [r[0] for r in conn.execute("SELECT t_ms FROM samples WHERE run_id = 1 ORDER BY t_ms")]
        )
    every_step = [f"1/{n}" for n in range(1, 9)]
    assert starts == every_step and ends == every_step  # none repeated, none skipped
    assert holds == len(KILLS)
    assert sends == 6  # prime 2 (through the chamber), load 1, wash 2, harvest 1: once each
    gaps = np.diff(t)
    spacing = 1000.0 / 20.0 * SPEED  # 20 Hz telemetry at this speed, in instrument ms
    assert gaps.max() <= 2 * spacing, f"largest hole {gaps.max()} ms at {t[gaps.argmax()]}"
    assert verify_database(db)[0].ok


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # the file or the table is not there yet
        return 0


def test_an_unacknowledged_alarm_is_still_unacknowledged_after_a_kill_and_resume(tmp_path):
    """The console killed while the chamber reads hot and CHAMBER_OVERTEMP waits for an
    acknowledgement: the resumed console has it back as it was (not raised a second
    time), and it is the resumed console's acknowledgement that clears the wait."""
    from app.demo import seed_demo_recipes
    from app.records import Records

    records = Records.open(tmp_path, demo=True)  # training records, Demo approved
    seed_demo_recipes(records)
    records.close()
    db, log = tmp_path / "celldeck.db", tmp_path / "console.log"
    alarm = "SELECT COUNT(*) FROM audit WHERE object_id = 'CHAMBER_OVERTEMP' AND action = "
    args = ["--speed", "150", "--kit", "CART-STD-SIM-0001", "--fault", "stuck-temp=39"]
    with SimulatorProcess(args) as simulator:
        first = subprocess.Popen(  # no --auto-confirm: nobody acknowledges
            [sys.executable, "-m", "app", "run", str(RECIPES / "demo.toml"), "--batch", "B-ALARM",
             "--port", simulator.url, "--training-records", "--timeout", "120",
             "--data-dir", str(tmp_path)],
            stdout=log.open("a"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        came = lambda: _count(db, alarm + "'alarm.unacknowledged'") > 0  # noqa: E731
        _wait_for(came, "CHAMBER_OVERTEMP", first, log)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert _count(db, alarm + "'alarm.acknowledged'") == 0
        resumed = _console(tmp_path, simulator.url, log, resume=True)  # --auto-confirm
        assert resumed.wait(120) == 0, log.read_text()[-4000:]
    assert _count(db, alarm + "'alarm.unacknowledged'") == 1  # restored, not raised again
    assert _count(db, alarm + "'alarm.acknowledged'") == 1  # the wait it was left in
    with sqlite3.connect(db) as conn:
        (who,) = conn.execute(
            "SELECT user_id FROM audit WHERE action = 'alarm.acknowledged'"
        ).fetchone()
    assert who == "automation"
    assert "CHAMBER_OVERTEMP x1" in log.read_text()  # its statistics came back too
