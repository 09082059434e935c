"""Screenshots of the operator screens for a person to look at (not a test):

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tests/ui/screenshots.py

Runs the console in demo mode on the simulator, signs in as the operator, starts the
Demo recipe and saves, at 1920x1080 and 1280x800, the login, the run screen mid-run, a
prompt, the alarm list and the lock screen into screenshots/ (git-ignored). With
``--review``: a Demo run is first completed headless, then a supervisor's history and
run detail (header, exceptions, trends, timeline, sign-off) and the same run overlaid on
another with the trends moved to an alarm from the events list, the audit trail viewer
and the two runs compared are saved instead.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import screenshot_kit as kit  # beside this script (run as a file)
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

RECIPES = Path(__file__).parents[2] / "resources" / "recipes"


def main() -> int:
    app = QApplication(sys.argv)
    from app.console import Console, ConsoleOptions
    from app.gui import build_shell
    from app.records import DEMO_PASSWORD
    from app.ui import theme

    theme.apply(app)
    kit.OUT.mkdir(exist_ok=True)
    options = ConsoleOptions(
        data_dir=tempfile.mkdtemp(), demo=True, sim_speed=20.0, sim_faults=("stuck-temp=39",)
    )
    console = Console(options)
    review = "--review" in sys.argv
    if review:  # two finished runs to review and compare, written by the headless runner
        for batch, fault in (("B-REVIEW-1", "noise"), ("B-REVIEW-2", "stuck-temp=39")):
            finished = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "app",
                    "run",
                    str(RECIPES / "demo.toml"),
                    "--batch",
                    batch,
                    "--simulator",
                    "--speed",
                    "150",
                    "--auto-confirm",
                    "--sim-fault",
                    fault,
                    "--data-dir",
                    str(console.data_dir),
                ],
                capture_output=True,
                text=True,
            )
            if finished.returncode != 0:
                print(finished.stdout[-2000:], finished.stderr[-2000:], file=sys.stderr)
                return 1
    shell = build_shell(console, console.create_controller())
    console.start()
    shell.show()

    def shoot(name: str) -> None:
        kit.shoot(app, shell, name)

    def when(condition, then, limit_s: float = 60.0) -> None:
        kit.when(app, condition, then, limit_s)

    def signed_in() -> None:
        start = shell.run_page.start_panel
        when(lambda: start.recipe_tiles.count() > 0, choose)

    def choose() -> None:
        start = shell.run_page.start_panel
        tile = next(
            start.recipe_tiles.itemAt(i).widget()
            for i in range(start.recipe_tiles.count())
            if start.recipe_tiles.itemAt(i).widget().accessibleName() == "recipe Demo"
        )
        tile.click()
        start._batch_entered(0, "B-SCREEN-1")
        start._batch_entered(1, "B-SCREEN-1")
        when(lambda: start.start_button.isEnabled(), started)

    def started() -> None:
        shoot("start")
        shell.run_page.start_panel.start_button.click()
        screen = shell.run_page.screen
        when(lambda: screen.prompt.isVisible(), prompt)

    def prompt() -> None:
        shoot("prompt")
        screen = shell.run_page.screen
        screen._call(screen.runs.answer, "confirmed")
        when(lambda: screen.status.step >= 3 and screen.alarm.isVisible(), mid_run)

    def mid_run() -> None:
        shoot("run")
        shell.show_page("alarms")
        QTimer.singleShot(500, alarms)

    def alarms() -> None:
        shoot("alarms")
        shell.lock_now()
        QTimer.singleShot(500, locked)

    def locked() -> None:
        shoot("lock")
        app.quit()

    def login() -> None:
        shoot("login")
        shell.login._choose("operator", "Demo Operator")
        shell.login.password.setText(DEMO_PASSWORD)
        shell.login._sign_in()
        when(lambda: shell.session is not None, signed_in)

    def review_screens() -> None:
        shell._signed_in(console.records.users.login("supervisor", DEMO_PASSWORD))
        shell.show_page("history")
        when(lambda: shell.history_page.table.rowCount() > 0, history)

    def history() -> None:
        shoot("history")
        shell.open_run(2)
        when(lambda: shell.detail_page.timeline is not None, detail)

    def detail() -> None:
        QTimer.singleShot(1500, compared)

    def compared() -> None:
        shoot("run-detail")
        page = shell.detail_page
        page._compare(1, "Batch B-REVIEW-1 · run 1")
        page.tab_buttons[1].click()
        alarm = next(
            (i for i in range(page.events.count()) if "alarm" in page.events.item(i).text()), 0
        )
        page.events.setCurrentRow(alarm)
        page._event_tapped(page.events.item(alarm))
        QTimer.singleShot(2000, audit)

    def audit() -> None:
        shoot("run-detail-events")
        shell.show_page("audit")
        page = shell.pages["audit"]
        when(lambda: page.table.rowCount() > 0 and not page.busy, audit_shown)

    def audit_shown() -> None:
        QTimer.singleShot(500, compare)

    def compare() -> None:
        shoot("audit")
        shell.open_comparison([1, 2])
        page = shell.compare_page
        when(lambda: page.table.rowCount() == 2, lambda: QTimer.singleShot(1500, compared_runs))

    def compared_runs() -> None:
        shoot("compare")
        app.quit()

    if review:
        when(lambda: shell.login.tiles.count() > 0, review_screens)
    else:
        when(lambda: shell.login.tiles.count() > 0, login)
    app.exec()
    shell.close()
    console.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
