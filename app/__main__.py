"""``celldeck`` / ``python -m app``: the console (GUI by default) and its subcommands.

celldeck [--data-dir D] [--port URL | --demo] [--kiosk]   open the console
celldeck simulator [simulator options]                    run the simulated instrument
celldeck --self-test                                      check an installation, exit 0/1
celldeck --version                                        version, commit, build date
"""

from __future__ import annotations

import argparse
import sys

from app.console import ConsoleOptions


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="celldeck", description="CellDeck operator console for the cell-processing instrument."
    )
    parser.add_argument("--data-dir", metavar="D", help="data folder (default: Qt AppDataLocation)")
    parser.add_argument(
        "--port", metavar="URL", help="instrument port: a tty/pty path, COM3, socket://host:port"
    )
    parser.add_argument(
        "--demo", action="store_true", help="start the built-in simulated instrument (the default)"
    )
    parser.add_argument("--kiosk", action="store_true", help="full screen, no window frame")
    parser.add_argument(
        "--high-contrast", action="store_true", help="the high-contrast cleanroom theme"
    )
    parser.add_argument(
        "--telemetry-hz", type=float, default=10.0, help="telemetry rate to request"
    )
    parser.add_argument("--sim-speed", type=float, default=1.0, help="demo simulator speed factor")
    parser.add_argument(
        "--sim-fault", action="append", default=[], metavar="NAME[=VALUE]", help="demo fault"
    )
    parser.add_argument(
        "--quit-after", type=float, metavar="S", help="close the console after S seconds"
    )
    parser.add_argument(
        "--screenshot", metavar="FILE", help="with --quit-after: save the window as PNG first"
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation (temporary records, the bundled simulator over a pty,"
        " telemetry, audit chain, the window drawn offscreen); one line, exit 0 or 1",
    )
    parser.add_argument(
        "--version", action="store_true", help="print version, git commit and build date"
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("gui", help="open the console (the default)")
    data_dir_after = argparse.ArgumentParser(add_help=False)  # --data-dir after the subcommand
    data_dir_after.add_argument("--data-dir", metavar="D", default=argparse.SUPPRESS)
    from app.records_cli import add_parser as add_verify_parser

    add_verify_parser(sub, [data_dir_after])
    from app.users_cli import add_parser as add_users_parser

    add_users_parser(sub, [data_dir_after])
    from app.run_cli import add_parser as add_run_parser

    add_run_parser(sub, [data_dir_after])
    from app.export_cli import add_parser as add_export_parser

    add_export_parser(sub, [data_dir_after])
    from app.service_cli import add_parser as add_service_parser

    add_service_parser(sub, [data_dir_after])
    sim = sub.add_parser("simulator", help="run the simulated instrument", add_help=False)
    sim.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["simulator"]:
        from hardware.simulator.__main__ import main as simulator_main

        return simulator_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.version:
        from app.version import version_text

        print(version_text())
        return 0
    if args.self_test:
        from app.install_check import run_self_test

        return run_self_test()
    if args.command == "verify-audit":
        from app.paths import resolve_data_dir
        from app.records_cli import verify_audit

        return verify_audit(resolve_data_dir(args.data_dir), args.witness, args.seal_key)
    if args.command == "run":
        from app.run_cli import run as run_headless

        return run_headless(args)
    if args.command == "export":
        from app.export_cli import run as run_export

        return run_export(args)
    if args.command == "service":
        from app.service_cli import run as run_service

        return run_service(args)
    if args.command == "users":
        from app.paths import resolve_data_dir
        from app.users_cli import run as run_users

        return run_users(args, resolve_data_dir(args.data_dir))
    options = ConsoleOptions(
        data_dir=args.data_dir,
        port=args.port,
        demo=args.demo,  # no --port: the stored site port, else the simulator (Console)
        kiosk=args.kiosk,
        high_contrast=args.high_contrast,
        telemetry_hz=args.telemetry_hz,
        sim_speed=args.sim_speed,
        sim_faults=tuple(args.sim_fault),
        quit_after_s=args.quit_after,
        screenshot=args.screenshot,
    )
    from app.gui import run_gui

    return run_gui(options)


if __name__ == "__main__":
    sys.exit(main())
