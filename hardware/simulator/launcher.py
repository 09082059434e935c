"""Start the simulator as a child process and learn the port it serves on.

Used by ``celldeck --demo`` and by the integration tests, so both exercise the same
pyserial path as a cleanroom workstation talking to a real instrument.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import IO

START_TIMEOUT_S = 15.0


class SimulatorError(RuntimeError):
    """The simulator process did not start or did not report its port."""


def simulator_command() -> list[str]:
    """How to start the simulator: ``python -m hardware.simulator`` from source; in an
    installed bundle (PyInstaller: no Python interpreter beside it) the bundled
    executable itself with its ``simulator`` subcommand."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "simulator"]
    return [sys.executable, "-m", "hardware.simulator"]


class SimulatorProcess:
    """The simulator (``simulator_command()``) with the given options, as a managed child."""

    def __init__(self, args: Sequence[str] = (), exit_with_parent: bool = True) -> None:
        self.args = [*args]
        if exit_with_parent:
            self.args.append("--exit-with-parent")
        if not any(a == "--tcp" for a in self.args):
            self.args.insert(0, "--pty")
        self.process: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self.url = ""

    def start(self) -> str:
        """Start the process and return the URL to open (a pty path or socket://...)."""
        command = [*simulator_command(), *self.args]
        # stderr to a file, not a pipe nobody drains (a full pipe would stall the simulator)
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._stderr, text=True
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()))
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not line or not line[0].strip():
            error = self.stderr_text() if self.process.poll() is not None else ""
            self.stop()
            raise SimulatorError(f"simulator did not start: {error or 'no port reported'}")
        self.url = line[0].strip()
        return self.url

    def stderr_text(self) -> str:
        """What the simulator has written to stderr so far (for error messages)."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().strip()

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout:
            self.process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        self.process = None

    def __enter__(self) -> SimulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
