"""``celldeck service --selftest (--simulator | --port URL) [--sim-fault NAME] [--pdf FILE]``:
the instrument self-test without the console, for a service engineer's laptop or CI.

Exit status: 0 every item passed; 1 an item failed; 3 no verdict (the link was lost or
the instrument stopped answering); 2 usage.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.service.selftest import TEST_KIT_FILL, SelfTest, SelfTestAborted
from hardware.connection import Connection, LinkError, LinkState
from hardware.driver import InstrumentError
from hardware.simulator.launcher import SimulatorProcess

SELFTEST_SIM_SPEED = 50.0  # instrument seconds per wall second: the heater item in seconds
SELFTEST_TLM_HZ = 50.0  # with the speed: about one sample per instrument second


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    service = sub.add_parser("service", parents=parents, help="service tools (self-test)")
    service.add_argument(
        "--selftest", action="store_true", required=True, help="run the instrument self-test"
    )
    target = service.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--simulator", action="store_true", help="start the built-in simulated instrument"
    )
    target.add_argument(
        "--port", dest="instrument_port", metavar="URL", help="the instrument's port"
    )
    service.add_argument("--sim-fault", action="append", default=[], metavar="NAME[=VALUE]")
    service.add_argument(
        "--speed", type=float, default=SELFTEST_SIM_SPEED, help="simulator speed factor"
    )
    service.add_argument("--pdf", metavar="FILE", help="also write the report as PDF")
    service.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="least wall-clock seconds any one wait may take (a real heater step takes longer)",
    )


@contextmanager
def _instrument(args: argparse.Namespace) -> Iterator[str]:
    if args.instrument_port:
        yield args.instrument_port
        return
    sim_args = ["--speed", f"{args.speed:g}"]
    for bag, volume in TEST_KIT_FILL.items():
        sim_args += ["--fill", f"{bag}={volume:g}"]
    for fault in args.sim_fault:
        sim_args += ["--fault", fault]
    with SimulatorProcess(sim_args) as simulator:
        yield simulator.url


def run(args: argparse.Namespace) -> int:
    with _instrument(args) as url:
        connection: Connection | None = None

        def step() -> float:
            assert connection is not None
            return connection.step()

        test = SelfTest(
            step,
            lambda command: connection.execute(command),
            wall_limit_s=args.timeout,
            progress=lambda line: print(f"  {line}", flush=True),
        )
        connection = Connection(url, test, telemetry_hz=SELFTEST_TLM_HZ)
        connection.start()
        deadline = time.monotonic() + 30.0
        while test.link is not LinkState.CONNECTED:
            if time.monotonic() > deadline:
                print("self-test: the instrument did not answer", file=sys.stderr)
                return 3
            pause = connection.step()
            if pause:
                time.sleep(pause)
        try:
            report = test.run()
        except (SelfTestAborted, LinkError, InstrumentError) as exc:
            print(f"self-test aborted, no verdict: {exc}", file=sys.stderr)
            return 3
        finally:
            connection.close()
    for line in report.lines():
        print(line)
    if args.pdf:
        from app.reports.headless_qt import ensure_gui_application
        from app.reports.selftest_pdf import write_selftest_pdf

        app = ensure_gui_application()  # noqa: F841 (kept alive while the PDF is written)
        pages = write_selftest_pdf(report, Path(args.pdf))
        print(f"wrote {args.pdf} ({pages} page{'s' if pages != 1 else ''})")
    return 0 if report.passed else 1
