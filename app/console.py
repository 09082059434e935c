"""Assembles the running console: data folder, technical log, records, simulator (in
demo mode) and hardware thread; and takes them down in order."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.batch.host import RunHost
from app.demo import seed_demo_recipes
from app.paths import prepare_data_dir, resolve_data_dir
from app.records import Records
from app.service.host import ServiceHost
from app.store.purpose import Purpose, declare_purpose
from app.store.settings import stored_serial_port
from app.technical_log import setup_technical_log
from hardware.simulator.launcher import SimulatorProcess
from hardware.worker import InstrumentController

log = logging.getLogger(__name__)

DEMO_KIT = "CART-STD-SIM-0001"  # the demo instrument has the kit the shipped recipes need


@dataclass
class ConsoleOptions:
    data_dir: str | None = None
    port: str | None = None
    demo: bool = False
    kiosk: bool = False
    high_contrast: bool = False
    telemetry_hz: float = 10.0
    sim_speed: float = 1.0
    sim_faults: tuple[str, ...] = ()
    quit_after_s: float | None = None
    screenshot: str | None = None


class Console:
    """Everything below the window, with an explicit start and an ordered stop."""

    def __init__(self, options: ConsoleOptions) -> None:
        self.options = options
        folder = resolve_data_dir(options.data_dir)
        self.port = options.port
        if not options.demo and not self.port:
            self.port = stored_serial_port(folder)  # the site's port from Admin > Settings
        self.demo = options.demo or not self.port
        # Demo runs keep their records apart from real ones, in a "demo" sub-folder.
        self.data_dir: Path = prepare_data_dir(folder / "demo" if self.demo else folder)
        setup_technical_log(self.data_dir)
        self.failure_listeners: list[Callable[[str], None]] = []
        self.records = Records.open(self.data_dir, demo=self.demo, on_failure=self._records_failed)
        wanted = Purpose.TRAINING if self.demo else Purpose.GMP
        self.purpose = declare_purpose(self.records.writer, wanted, demo=self.demo)
        if self.demo:
            seed_demo_recipes(self.records)  # a trainee can start the Demo recipe at once
        self.simulator: SimulatorProcess | None = None
        self.controller: InstrumentController | None = None
        self.host: RunHost | None = None
        self.service: ServiceHost | None = None  # service mode, on the hardware thread too

    def _records_failed(self, message: str) -> None:
        """Writer thread: a write did not reach the disk. Everyone listening hears it."""
        for listener in list(self.failure_listeners):
            listener(message)

    def create_controller(self) -> InstrumentController:
        """Start the simulator (demo) and build the hardware thread, not yet running:
        connect to its signals, then call ``start``."""
        url = self.port
        if self.demo:
            args = ["--speed", str(self.options.sim_speed), "--kit", DEMO_KIT]
            for fault in self.options.sim_faults:
                args += ["--fault", fault]
            self.simulator = SimulatorProcess(args)
            url = self.simulator.start()
            log.info("demo mode: simulated instrument on %s", url)
        self.controller = InstrumentController(url, self.options.telemetry_hz)
        worker = self.controller.worker
        self.host = RunHost(
            self.records,
            lambda command: worker.connection.execute(command),
            keep_alive=lambda: worker.connection and worker.connection.keepalive(),
        )
        worker.listeners.append(self.host)  # batch runs are served on the hardware thread
        worker.before_connect = self.host.find_unfinished  # a run the last console left
        self.service = ServiceHost(self.records, self.host, lambda: worker.connection)
        worker.listeners.append(self.service)  # hears the firmware leave its service state
        return self.controller

    def start(self) -> None:
        if self.controller is None:
            self.create_controller()
        self.controller.start()

    def stop(self) -> None:
        """Service mode left, then the instrument (no more data coming), then the records,
        then the simulator."""
        if self.controller is not None:
            if self.service is not None:
                self.service.leave_before_shutdown(self.controller)
            self.controller.shutdown()
            self.controller = None
        if self.host is not None:
            self.host.close()  # the last telemetry of a run on disk
            self.host = None
        if self.records is not None:
            self.records.close()
            self.records = None
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None
