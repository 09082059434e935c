"""Start the Qt application with the console's shell."""

from __future__ import annotations

import sqlite3
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.console import Console, ConsoleOptions
from app.paths import APP_NAME, ORG_NAME, resources_dir
from app.records import DEMO_PASSWORD


def run_gui(options: ConsoleOptions) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    from app.ui import theme

    theme.apply(app, "high-contrast" if options.high_contrast else "standard")
    try:
        console = Console(options)
        controller = console.create_controller()
    except (OSError, RuntimeError, sqlite3.Error) as exc:
        QMessageBox.critical(None, APP_NAME, f"CellDeck cannot start:\n\n{exc}")
        print(f"celldeck: {exc}", file=sys.stderr)
        return 1
    window = build_shell(console, controller)
    from app.first_paint import report_first_paint

    report_first_paint(window)  # CELLDECK_REPORT_FIRST_PAINT=1: launch timing
    console.start()
    if options.kiosk:
        window.showFullScreen()
    else:
        window.resize(1280, 800)
        window.show()
    app.aboutToQuit.connect(console.stop)
    if options.quit_after_s is not None:
        QTimer.singleShot(int(options.quit_after_s * 1000), lambda: _finish(window, options))
    return app.exec()


def build_shell(console: Console, controller):
    """The shell on the console's parts (also used by the UI tests)."""
    from app.batch.library import RecipeLibrary
    from app.ui.hardware_calls import ServiceCalls
    from app.ui.run_controller import RunController
    from app.ui.shell import Shell, ShellParts

    records = console.records
    runs = RunController(controller, console.host)
    library = RecipeLibrary(records.users, records.signatures, records.path)
    hint = f"DEMO: every account's password is {DEMO_PASSWORD}" if console.demo else ""
    service = ServiceCalls(controller, console.service)
    shell = Shell(
        ShellParts(
            controller, runs, records, library, resources_dir() / "recipes", hint, service
        )
    )
    shell.records_bar.show_check(
        records.startup_check, console.demo, DEMO_PASSWORD, records.users.has_users()
    )
    console.failure_listeners.append(shell.records_bar.failure.emit)
    return shell


def _finish(window: QWidget, options: ConsoleOptions) -> None:
    """End of a timed session (tests, screenshots): save the window, then close."""
    if options.screenshot:
        window.grab().save(options.screenshot)
    window.close()
