"""Launch time of the installed bundle against ``python -m app``, in the same run.

    python packaging/measure_launch.py --bundle /opt/celldeck/celldeck [--runs 5]

Each launch starts the console in demo mode (the simulator as its own process, the
records in a throw-away data folder) with ``CELLDECK_REPORT_FIRST_PAINT=1``; the
console prints the monotonic clock at its main window's first paint
(app/first_paint.py) and closes itself a moment later (``--quit-after``). The figure is
that clock minus the one read here just before starting the process: start to first
painted window. One launch of each is made first and not counted (it creates the demo
data folder: accounts, recipes), then the two are launched in turn, so drift in the
machine's load falls on both. Prints the median of each and their ratio; exit 1 when a
launch failed, 0 otherwise (the target is reported, not enforced: timing on a shared
machine varies).

Offscreen by default (CI has no screen); ``--platform xcb`` for a real display.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MARK = "CELLDECK_FIRST_PAINT"
TARGET_S = 2.5
LAUNCH_TIMEOUT_S = 60.0


def launch(command: list[str], data_dir: Path, platform: str) -> float:
    """Seconds from starting ``command`` to its window's first paint."""
    env = dict(os.environ, CELLDECK_REPORT_FIRST_PAINT="1", QT_QPA_PLATFORM=platform)
    args = [*command, "--demo", "--data-dir", str(data_dir), "--quit-after", "1"]
    started = time.monotonic()
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        stdout, stderr = process.communicate(timeout=LAUNCH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise RuntimeError(f"{args[0]} did not finish within {LAUNCH_TIMEOUT_S:g} s") from None
    painted = [line.split()[1] for line in stdout.splitlines() if line.startswith(MARK)]
    if process.returncode != 0 or not painted:
        raise RuntimeError(
            f"{' '.join(args)} exited {process.returncode} without painting: {stderr[-800:]}"
        )
    return float(painted[0]) - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, help="the bundle's celldeck executable")
    parser.add_argument(
        "--python", default=sys.executable, help="the Python with CellDeck installed"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--platform", default="offscreen", help="QT_QPA_PLATFORM")
    args = parser.parse_args(argv)
    variants = {
        "bundle": [str(Path(args.bundle).resolve())],
        "python -m app": [args.python, "-m", "app"],
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="celldeck-launch-") as folder:
        try:
            for index, command in enumerate(variants.values()):
                launch(command, Path(folder) / str(index), args.platform)  # warm-up
            for _ in range(args.runs):
                for index, (name, command) in enumerate(variants.items()):
                    times[name].append(launch(command, Path(folder) / str(index), args.platform))
        except RuntimeError as exc:
            print(f"launch measurement FAILED: {exc}")
            return 1
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"launch to first paint, {name}: median {median[name]:.2f} s ({runs})")
    bundle, python = median["bundle"], median["python -m app"]
    verdict = "met" if bundle < TARGET_S else "NOT met"
    print(
        f"launch to first paint, median of {args.runs}: bundle {bundle:.2f} s, "
        f"python -m app {python:.2f} s, ratio {bundle / python:.2f} "
        f"(target < {TARGET_S:g} s: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
