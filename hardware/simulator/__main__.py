"""``python -m hardware.simulator``: the simulated CellDeck instrument as its own process.

The first line printed on stdout is the port to open (a pty path, or socket://...).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from hardware.simulator.faults import FaultError, parse_fault
from hardware.simulator.firmware import Firmware
from hardware.simulator.physics import Plant, default_kit
from hardware.simulator.server import PtyTransport, SimulatorServer, TcpTransport, Transport

MAX_SPEED = 20_000.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hardware.simulator",
        description="Simulated CellDeck instrument speaking the real protocol.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--pty", action="store_true", help="serve on a new pseudo-terminal (default)"
    )
    where.add_argument(
        "--tcp", type=int, metavar="PORT", help="serve on socket://127.0.0.1:PORT (0: any)"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="physics runs N times real time")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="inject a fault from start",
    )
    growth = parser.add_mutually_exclusive_group()
    growth.add_argument(
        "--doubling",
        type=float,
        default=30.0,
        help="maximum (gross) cell doubling time at 37 °C, hours",
    )
    growth.add_argument(
        "--doubling-h",
        type=float,
        default=None,
        metavar="H",
        help="net doubling time at 37 °C in the exponential phase (fresh medium, past the"
        " lag, far from confluence), hours",
    )
    parser.add_argument("--serial", default="SIM-0001", help="instrument serial number")
    parser.add_argument("--kit", default="KIT-CART-0001", help="ID of the loaded kit")
    parser.add_argument(
        "--fill",
        action="append",
        default=[],
        metavar="BAG=ML",
        help="initial volume of the source, media or buffer bag (the recipe's [kit] fills)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed for sensor noise")
    parser.add_argument(
        "--tx-log", metavar="FILE", help="write every frame sent (before corruption)"
    )
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the process that started us ends"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0 < args.speed <= MAX_SPEED:
        print(f"error: --speed must be in (0, {MAX_SPEED:g}]", file=sys.stderr)
        return 2
    if not 1.0 <= args.doubling <= 1000.0:
        print("error: --doubling must be 1..1000 hours", file=sys.stderr)
        return 2
    if args.doubling_h is not None and not 1.0 <= args.doubling_h <= 1000.0:
        print("error: --doubling-h must be 1..1000 hours", file=sys.stderr)
        return 2
    try:
        faults = [parse_fault(text) for text in args.fault]
    except FaultError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        fills = {bag: float(ml) for bag, _, ml in (text.partition("=") for text in args.fill)}
        if any(not 0.0 <= ml <= 5000.0 for ml in fills.values()):
            raise ValueError("a fill must be 0..5000 mL")
        kit = default_kit(fills)
    except ValueError as exc:
        print(f"error: --fill: {exc}", file=sys.stderr)
        return 2
    plant = Plant(vessels=kit, doubling_h=args.doubling, net_doubling_h=args.doubling_h)
    firmware = Firmware(plant, args.serial, args.kit, args.seed)
    reset_after = None
    for fault in faults:
        if fault.name == "reset":
            reset_after = fault.value or 0.0
        else:
            firmware.apply_fault(fault)
    transport: Transport = TcpTransport(args.tcp) if args.tcp is not None else PtyTransport()
    tx_log = open(args.tx_log, "w", buffering=1) if args.tx_log else None  # noqa: SIM115
    server = SimulatorServer(
        firmware,
        transport,
        speed=args.speed,
        tx_log=tx_log,
        reset_after_s=reset_after,
        parent_pid=os.getppid() if args.exit_with_parent else None,
        seed=args.seed,
    )

    def stop(*_: object) -> None:
        server.stop = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(transport.url, flush=True)
    try:
        server.run()
    finally:
        transport.close()
        if tx_log:
            tx_log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
