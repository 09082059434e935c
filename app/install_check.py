"""``celldeck --self-test``: is this installation whole? Run on a workstation after
installing or upgrading (and by CI on the unpacked .deb), it goes through what the
console needs at start, in a throw-away data folder, and prints one line:

    SELF-TEST PASS: CellDeck 0.1.0 · commit 1a2b3c4 · built ... | records schema 8 ... | 4.1 s
    SELF-TEST FAIL at <step>: <what went wrong> | CellDeck ... | 2.0 s

Exit 0 on PASS, 1 on FAIL. The steps:

1. resources: the stylesheet, the fonts (loaded) and the icons (drawn: Qt's SVG
   plugins are there);
2. records: a temporary data folder opened with ``Records.open`` (migrated to the
   latest schema, demo accounts, the shipped recipes imported: the bundle's Python,
   SQLite, scrypt and resources all used);
3. simulator: the bundled simulator started as its own process on a pty (from a
   bundle: this executable's ``simulator`` subcommand);
4. telemetry: the hardware thread connected over the pty through pyserial, and
   telemetry samples with a plausible chamber temperature received;
5. window: the console's main window built, shown and painted offscreen (Qt's
   platform plugin, styles, fonts and icons), its picture not blank;
6. shutdown: hardware thread, records and simulator stopped in order, no child
   process left;
7. audit: the temporary audit trail's hash chain verified in full.

A time limit covers the lot: past it the simulator is killed and the verdict is FAIL.
The throw-away folder is removed whatever the verdict. The user's real data folder is
never opened.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

TIME_LIMIT_S = 90.0
MIN_SAMPLES = 5  # telemetry samples to see (10 Hz: about half a second)
WINDOW_SIZE = (1280, 800)


class CheckFailed(Exception):
    """A step failed; the message says what was wrong."""


@dataclass
class Progress:
    """Where the self-test has got to (the watchdog reports it on a time-out)."""

    step: str = "start"
    facts: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    children: list = field(default_factory=list)  # subprocess.Popen of the simulator

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.1f} s"


def _verdict(passed: bool, progress: Progress, detail: str = "") -> str:
    from app.version import build_info

    software = build_info().summary()
    if passed:
        return f"SELF-TEST PASS: {software} | {'; '.join(progress.facts)} | {progress.elapsed()}"
    return f"SELF-TEST FAIL at {progress.step}: {detail} | {software} | {progress.elapsed()}"


def _kill_children(progress: Progress) -> None:
    for process in progress.children:
        try:
            if process.poll() is None:
                process.kill()
                process.wait(5)
        except Exception:
            pass


def _watchdog(progress: Progress, limit_s: float, out) -> threading.Timer:
    """After ``limit_s``: say FAIL, kill the simulator, end the process at once (a stuck
    step may be inside Qt or the kernel, where nothing else would get it out)."""

    def expire() -> None:
        line = _verdict(False, progress, f"time limit of {limit_s:g} s reached")
        _kill_children(progress)
        print(line, file=out, flush=True)
        os._exit(1)

    timer = threading.Timer(limit_s, expire)
    timer.daemon = True
    timer.start()
    return timer


def run_self_test(time_limit_s: float = TIME_LIMIT_S, out=None) -> int:
    """The whole check; prints the verdict line on ``out`` (stdout) and returns the exit
    code. The Qt part runs offscreen whatever the display, so it also works over SSH
    and in CI."""
    out = out or sys.stdout
    progress = Progress()
    timer = _watchdog(progress, time_limit_s, out)
    try:
        with tempfile.TemporaryDirectory(prefix="celldeck-selftest-") as folder:
            _check(Path(folder), progress, time_limit_s)
    except CheckFailed as exc:
        print(_verdict(False, progress, str(exc)), file=out, flush=True)
        return 1
    except Exception as exc:  # anything unexpected is a failed installation too
        detail = f"{type(exc).__name__}: {exc}"
        print(_verdict(False, progress, " ".join(detail.split())), file=out, flush=True)
        return 1
    finally:
        timer.cancel()
        _kill_children(progress)
    print(_verdict(True, progress), file=out, flush=True)
    return 0


def _check(folder: Path, progress: Progress, time_limit_s: float) -> None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # the window is drawn, never shown
    from PySide6.QtWidgets import QApplication

    from app.paths import APP_NAME, ORG_NAME

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    progress.step = "resources"  # the stylesheet (read at import), the fonts
    from app.ui import theme

    theme.apply(app, "standard")
    _check_resources(theme, progress)

    progress.step = "records"
    from app.console import Console, ConsoleOptions
    from app.store.db import connect
    from app.store.recipes import count_versions
    from app.store.schema import LATEST, current_version

    deadline = progress.started + time_limit_s - 5.0
    console = Console(ConsoleOptions(data_dir=str(folder), demo=True))
    records = console.records
    try:
        if not records.startup_check.ok:
            raise CheckFailed(f"start-up audit check: {records.startup_check.message}")
        conn = connect(records.path, readonly=True)
        try:
            schema = current_version(conn)
        finally:
            conn.close()
        recipes = count_versions(records.path)
        if schema != LATEST:
            raise CheckFailed(f"database at schema {schema}, expected {LATEST}")
        if recipes == 0:
            raise CheckFailed("no shipped recipe could be imported (resources/recipes)")
        progress.facts.append(f"records schema {schema}, {recipes} recipes")

        progress.step = "simulator"
        controller = console.create_controller()
        if console.simulator is not None and console.simulator.process is not None:
            progress.children.append(console.simulator.process)
        url = console.simulator.url if console.simulator else ""
        if not url.startswith("/dev/"):
            raise CheckFailed(f"simulator serves on {url!r}, not a pty")
        progress.facts.append(f"simulator on {url}")

        _telemetry_and_window(app, console, controller, progress, deadline)
    except BaseException:
        # the step that failed stays named in the verdict, with its own error
        with contextlib.suppress(Exception):
            console.stop()
        raise
    progress.step = "shutdown"
    simulator = console.simulator.process if console.simulator else None
    console.stop()
    if simulator is not None and simulator.poll() is None:
        raise CheckFailed("the simulator process is still running after stop")

    progress.step = "audit"
    from app.store.checks import verify_database

    result, _ = verify_database(records.path, full=True)
    if not result.ok:
        raise CheckFailed(f"audit chain: {result.message}")
    progress.facts.append(f"audit chain verified ({result.count} entries)")


def _check_resources(theme, progress: Progress) -> None:
    """Fonts that load and icons that draw (the SVG plugins are in the bundle)."""
    from PySide6.QtGui import QIcon

    from app.paths import resources_dir

    families = set(theme.load_fonts())
    if not families:
        raise CheckFailed(f"no font could be loaded from {resources_dir() / 'fonts'}")
    icons = sorted((resources_dir() / "icons").glob("*.svg"))
    if not icons:
        raise CheckFailed(f"no icons in {resources_dir() / 'icons'}")
    for icon in icons:
        if QIcon(str(icon)).pixmap(48, 48).isNull():
            raise CheckFailed(f"icon {icon.name} cannot be drawn (Qt's SVG plugins missing?)")
    progress.facts.append(f"fonts {', '.join(sorted(families))}; {len(icons)} icons")
    from app.store.security import PasswordRejected, is_common

    try:  # the password rule refuses common passwords from a shipped list
        if not is_common("password12"):
            raise CheckFailed("the list of common passwords does not refuse password12")
    except PasswordRejected as exc:
        raise CheckFailed(str(exc)) from exc


def _telemetry_and_window(app, console, controller, progress: Progress, deadline: float) -> None:
    import numpy as np
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer, Slot

    from app.gui import build_shell

    class Watch(QObject):
        """On the GUI thread: telemetry (queued from the hardware thread), link state,
        the window's paint events."""

        def __init__(self) -> None:
            super().__init__()
            self.samples = 0
            self.temps: list[float] = []
            self.link = ("", "")
            self.painted = 0

        @Slot(object)
        def on_telemetry(self, batch) -> None:
            self.samples += len(batch)
            self.temps.extend(float(t) for t in batch.column("temp")[-3:])

        @Slot(str, str)
        def on_link(self, state: str, detail: str) -> None:
            self.link = (state, detail)

        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.painted += 1
            return False

    watch = Watch()
    controller.worker.telemetry.connect(watch.on_telemetry)
    controller.worker.link_state.connect(watch.on_link)

    def wait_for(condition, what: str) -> None:
        loop = QEventLoop()
        while not condition():
            if time.monotonic() > deadline:
                raise CheckFailed(what())
            QTimer.singleShot(20, loop.quit)
            loop.exec()

    progress.step = "window"
    window = build_shell(console, controller)
    window.installEventFilter(watch)
    try:
        console.start()
        window.resize(*WINDOW_SIZE)
        window.show()
        progress.step = "telemetry"
        wait_for(
            lambda: watch.link[0] == "CONNECTED" and watch.samples >= MIN_SAMPLES,
            lambda: (
                f"link {watch.link[0] or 'never reported'} {watch.link[1]}".strip()
                + f", {watch.samples} telemetry samples"
            ),
        )
        temps = np.array(watch.temps)
        if not np.all(np.isfinite(temps)) or not np.all((temps > 0) & (temps < 60)):
            raise CheckFailed(f"implausible chamber temperatures {temps.tolist()}")
        progress.facts.append(f"{watch.samples} telemetry samples")

        progress.step = "window"
        wait_for(lambda: watch.painted > 0, lambda: "the main window was never painted")
        image = window.grab().toImage()
        colours = {
            image.pixel(x, y)
            for x in range(0, image.width(), max(1, image.width() // 40))
            for y in range(0, image.height(), max(1, image.height() // 40))
        }
        if image.width() < WINDOW_SIZE[0] or len(colours) < 3:
            raise CheckFailed(
                f"window picture {image.width()}x{image.height()} with {len(colours)} colours"
            )
        progress.facts.append(f"window {image.width()}x{image.height()} painted")
    finally:
        window.removeEventFilter(watch)
        window.close()  # shuts the hardware thread down (Shell.closeEvent)
        window.deleteLater()
        app.processEvents()
