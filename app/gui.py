"""Start the Qt application with the console's main window."""

from __future__ import annotations

import sqlite3
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.console import Console, ConsoleOptions
from app.paths import APP_NAME, ORG_NAME
from app.records import DEMO_PASSWORD


def run_gui(options: ConsoleOptions) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    try:
        console = Console(options)
        controller = console.create_controller()
    except (OSError, RuntimeError, sqlite3.Error) as exc:
        QMessageBox.critical(None, APP_NAME, f"CellDeck cannot start:\n\n{exc}")
        print(f"celldeck: {exc}", file=sys.stderr)
        return 1
    from app.ui.main_window import MainWindow

    window = MainWindow(controller)
    records = console.records
    window.records_bar.show_check(
        records.startup_check, console.demo, DEMO_PASSWORD, records.users.has_users()
    )
    console.failure_listeners.append(window.records_bar.failure.emit)
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


def _finish(window: QWidget, options: ConsoleOptions) -> None:
    """End of a timed session (tests, screenshots): save the window, then close."""
    if options.screenshot:
        window.grab().save(options.screenshot)
    window.close()
