"""Assembles the running console: data folder, technical log, simulator (in demo
mode), hardware thread and main window; and takes them down in order."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.paths import prepare_data_dir
from app.technical_log import setup_technical_log
from hardware.simulator.launcher import SimulatorProcess
from hardware.worker import InstrumentController

log = logging.getLogger(__name__)


@dataclass
class ConsoleOptions:
    data_dir: str | None = None
    port: str | None = None
    demo: bool = False
    kiosk: bool = False
    telemetry_hz: float = 10.0
    sim_speed: float = 1.0
    sim_faults: tuple[str, ...] = ()
    quit_after_s: float | None = None
    screenshot: str | None = None


class Console:
    """Everything below the window, with an explicit start and an ordered stop."""

    def __init__(self, options: ConsoleOptions) -> None:
        self.options = options
        self.data_dir: Path = prepare_data_dir(options.data_dir)
        setup_technical_log(self.data_dir)
        self.simulator: SimulatorProcess | None = None
        self.controller: InstrumentController | None = None

    def create_controller(self) -> InstrumentController:
        """Start the simulator (demo) and build the hardware thread, not yet running:
        connect to its signals, then call ``start``."""
        url = self.options.port
        if self.options.demo or not url:
            args = ["--speed", str(self.options.sim_speed)]
            for fault in self.options.sim_faults:
                args += ["--fault", fault]
            self.simulator = SimulatorProcess(args)
            url = self.simulator.start()
            log.info("demo mode: simulated instrument on %s", url)
        self.controller = InstrumentController(url, self.options.telemetry_hz)
        return self.controller

    def start(self) -> None:
        if self.controller is None:
            self.create_controller()
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.shutdown()
        if self.simulator is not None:
            self.simulator.stop()
