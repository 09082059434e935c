"""Screenshots of the process analytics for a person to look at (not a test):

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tests/ui/screenshots_analytics.py

End to end on the simulator: three CAR-T runs are completed headless (``celldeck run
--speed 5000``, about 2 minutes each), reviewed and approved by the demo supervisor, and
chosen as the recipe version's golden band. Then the console starts a fourth CAR-T run
on the simulator at 5000x, answers its prompts as the operator (with the supervisor as
the second person) and, on day 4, saves the run screen with the band behind the trends
and the growth line (doubling time, expansion, harvest prediction), in the whole-run
and 1-day windows; then the comparison of the four runs aligned by step. PNGs go into
screenshots/ (git-ignored).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import screenshot_kit as kit  # beside this script (run as a file)
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

CART = Path(__file__).parents[2] / "resources" / "recipes" / "cart_10day.toml"
REFERENCE_RUNS = 3
SHOOT_AT_DAY = 4.0


def reference_runs(data_dir: Path) -> bool:
    for k in range(1, REFERENCE_RUNS + 1):
        done = subprocess.run(
            [sys.executable, "-m", "app", "run", str(CART), "--batch", f"CART-REF-{k}",
             "--simulator", "--speed", "5000", "--auto-confirm", "--data-dir", str(data_dir)],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
            return False
        print(f"reference run {k} complete", flush=True)
    return True


def approve_and_choose_band(records) -> None:
    from app.records import DEMO_PASSWORD
    from app.review.golden_select import select_golden
    from app.review.signoff import SignOff

    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    signoff = SignOff(records)
    runs = list(range(1, REFERENCE_RUNS + 1))
    for run_id in runs:
        signoff.review(supervisor, DEMO_PASSWORD, run_id, username="supervisor")
        signoff.approve(supervisor, DEMO_PASSWORD, run_id)
    chosen = select_golden(records, supervisor, DEMO_PASSWORD, runs, "reference lots for CAR-T")
    print(chosen.summary, flush=True)


def main() -> int:
    app = QApplication(sys.argv)
    from app.console import Console, ConsoleOptions
    from app.gui import build_shell
    from app.records import DEMO_PASSWORD
    from app.ui import theme

    theme.apply(app)
    kit.OUT.mkdir(exist_ok=True)
    console = Console(ConsoleOptions(data_dir=tempfile.mkdtemp(), demo=True, sim_speed=5000.0))
    if not reference_runs(console.data_dir):
        return 1
    approve_and_choose_band(console.records)
    shell = build_shell(console, console.create_controller())
    console.start()
    shell.show()
    screen = shell.run_page.screen

    def shoot(name: str) -> None:
        kit.shoot(app, shell, name, screen.trends.redraw)

    def when(condition, then, limit_s: float = 300.0) -> None:
        kit.when(app, condition, then, limit_s)

    def login() -> None:
        shell.login._choose("operator", "Demo Operator")
        shell.login.password.setText(DEMO_PASSWORD)
        shell.login._sign_in()
        start = shell.run_page.start_panel
        when(lambda: shell.session is not None and start.recipe_tiles.count() > 0, choose)

    def choose() -> None:
        start = shell.run_page.start_panel
        tiles = [start.recipe_tiles.itemAt(i).widget() for i in range(start.recipe_tiles.count())]
        next(t for t in tiles if "CAR-T" in t.accessibleName()).click()
        start._batch_entered(0, "CART-LIVE-1")
        start._batch_entered(1, "CART-LIVE-1")
        when(lambda: start.start_button.isEnabled(), started)

    def started() -> None:
        shell.run_page.start_panel.start_button.click()
        when(lambda: screen.status.state == "Running", answering)

    signed = [False]
    answered: list[tuple[int, str]] = []  # (step, prompt) already answered

    def answering() -> None:
        """Answer each prompt as it comes, until day 4."""
        status = screen.status
        if status.process_s >= SHOOT_AT_DAY * 86400.0:
            whole_run()
            return
        prompt = status.prompt
        if prompt is not None and (status.step, prompt.message) not in answered:
            answered.append((status.step, prompt.message))
            if prompt.response == "signature":
                second = ("supervisor", DEMO_PASSWORD) if prompt.second_person else None
                name = None if signed[0] else "operator"
                screen._call(screen.runs.answer, "signed", DEMO_PASSWORD, second, name)
                signed[0] = True
            elif prompt.response == "data":
                screen._call(screen.runs.answer, 1.0)
            else:
                screen._call(screen.runs.answer, "confirmed")
        QTimer.singleShot(200, answering)

    def whole_run() -> None:
        screen.trends.set_window(None)
        QTimer.singleShot(1000, lambda: (shoot("analytics-run-whole"), one_day()))

    def one_day() -> None:
        screen.trends.set_window(1440.0)
        QTimer.singleShot(1000, lambda: (shoot("analytics-run-1day"), compare()))

    def compare() -> None:
        shell._signed_in(console.records.users.login("supervisor", DEMO_PASSWORD))
        shell.open_comparison(list(range(1, REFERENCE_RUNS + 2)))
        page = shell.compare_page
        when(lambda: page.table.rowCount() == REFERENCE_RUNS + 1, compared)

    def compared() -> None:
        page = shell.compare_page
        page.align_buttons["step"].click()
        QTimer.singleShot(3000, lambda: (shoot("analytics-compare"), app.quit()))

    when(lambda: shell.login.tiles.count() > 0, login)
    app.exec()
    shell.close()
    console.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
