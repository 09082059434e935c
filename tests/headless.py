"""Running ``celldeck`` as its own process in tests, as an operator or CI would."""

import subprocess
import sys
import time
from pathlib import Path

RECIPES = Path(__file__).parents[1] / "resources" / "recipes"


def celldeck(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout
    )


def complete_demo_run(data_dir: Path, batch: str, *extra: str) -> subprocess.CompletedProcess:
    """The Demo recipe run headless to Complete on a simulator, signed by automation."""
    result = celldeck(
        "run",
        str(RECIPES / "demo.toml"),
        "--batch",
        batch,
        "--simulator",
        "--speed",
        "400",
        "--auto-confirm",
        "--data-dir",
        str(data_dir),
        *extra,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def drive(connection, until, limit_s: float = 60.0) -> None:
    """Step a ``hardware.connection.Connection`` until ``until()``, as the hardware
    thread would (a plain loop standing in for it)."""
    deadline = time.monotonic() + limit_s
    while not until():
        assert time.monotonic() < deadline, "timed out driving the run"
        pause = connection.step()
        if pause:
            time.sleep(pause)
