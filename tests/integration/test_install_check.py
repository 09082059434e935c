"""``celldeck --self-test`` (app/install_check.py) from source: one line, exit 0 when the
installation is whole, the failing step named otherwise, a time limit, and no process
left behind either way. CI runs the same check on the installed .deb's bundle."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from hardware.simulator import launcher

ROOT = Path(__file__).resolve().parents[2]


def run_marked(args: list[str], extra_env: dict[str, str] | None = None, timeout: float = 120):
    """Run with a unique marker in the environment, which every child inherits; returns
    the result and the marker."""
    marker = f"celldeck-selftest-{uuid.uuid4().hex}"
    env = dict(os.environ, CELLDECK_TEST_MARKER=marker, **(extra_env or {}))
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )
    return result, marker


def processes_with(marker: str, grace_s: float = 3.0) -> list[int]:
    """Processes still running with ``marker`` in their environment (after a short grace
    for the kernel to finish reaping)."""
    deadline = time.monotonic() + grace_s
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if marker.encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_self_test_passes_in_one_line_and_leaves_no_process(tmp_path):
    result, marker = run_marked([sys.executable, "-m", "app", "--self-test"])
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    verdict = lines[0]
    assert verdict.startswith("SELF-TEST PASS: CellDeck ")
    for fact in ("records schema", "simulator on /dev/", "telemetry samples", "painted"):
        assert fact in verdict, verdict
    assert "audit chain verified" in verdict
    assert processes_with(marker) == []


def test_a_missing_part_fails_and_names_the_step(tmp_path):
    empty = tmp_path / "resources"
    empty.mkdir()
    result, marker = run_marked(
        [sys.executable, "-m", "app", "--self-test"], {"CELLDECK_RESOURCES": str(empty)}
    )
    assert result.returncode == 1
    assert result.stdout.startswith("SELF-TEST FAIL at resources: "), result.stdout
    assert "console.qss" in result.stdout  # what is missing, in the one line
    assert processes_with(marker) == []


def test_the_time_limit_ends_a_stuck_check_and_kills_the_simulator():
    stuck = (
        "import sys, time\n"
        "from app import install_check\n"
        "install_check._telemetry_and_window = lambda *args: time.sleep(120)\n"
        "sys.exit(install_check.run_self_test(time_limit_s=8))\n"
    )
    started = time.monotonic()
    result, marker = run_marked([sys.executable, "-c", stuck], timeout=60)
    assert result.returncode == 1
    assert time.monotonic() - started < 40
    assert "SELF-TEST FAIL at telemetry" not in result.stdout  # the watchdog, not a step
    assert "time limit of 8 s reached" in result.stdout, result.stdout
    assert processes_with(marker) == []  # the simulator it had started is gone too


def test_a_bundle_starts_the_simulator_through_its_own_executable(monkeypatch):
    assert launcher.simulator_command() == [sys.executable, "-m", "hardware.simulator"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert launcher.simulator_command() == [sys.executable, "simulator"]
