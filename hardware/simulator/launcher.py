"""Start the simulator as a child process and learn the port it serves on.

Used by ``celldeck --demo`` and by the integration tests, so both exercise the same
pyserial path as a cleanroom workstation talking to a real instrument.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence

START_TIMEOUT_S = 15.0


class SimulatorError(RuntimeError):
    """The simulator process did not start or did not report its port."""


class SimulatorProcess:
    """``python -m hardware.simulator`` with the given options, as a managed child."""

    def __init__(self, args: Sequence[str] = (), exit_with_parent: bool = True) -> None:
        self.args = [*args]
        if exit_with_parent:
            self.args.append("--exit-with-parent")
        if not any(a == "--tcp" for a in self.args):
            self.args.insert(0, "--pty")
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        """Start the process and return the URL to open (a pty path or socket://...)."""
        command = [sys.executable, "-m", "hardware.simulator", *self.args]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()))
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not line or not line[0].strip():
            error = ""
            if self.process.poll() is not None:
                error = self.process.stderr.read().strip()
            self.stop()
            raise SimulatorError(f"simulator did not start: {error or 'no port reported'}")
        self.url = line[0].strip()
        return self.url

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
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
        self.process = None

    def __enter__(self) -> SimulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
