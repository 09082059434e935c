"""The console shell on the simulator: link state, readings, a clear reason when the
port cannot be opened, and a clean exit of the demo."""

import subprocess
import sys

from PySide6.QtWidgets import QApplication

from app.console import Console, ConsoleOptions
from app.records import DEMO_PASSWORD
from app.ui import theme


def console_shell(qtbot, options):
    from app.gui import build_shell

    console = Console(options)
    window = build_shell(console, console.create_controller())
    qtbot.addWidget(window)
    console.start()
    window.show()
    return console, window


def test_shell_shows_link_state_and_every_reading_to_service(qtbot, tmp_path):
    console, window = console_shell(qtbot, ConsoleOptions(data_dir=str(tmp_path), demo=True))
    qtbot.waitUntil(lambda: window.top.link_text.text() == "Connected", timeout=10000)
    assert "SIM-0001" in window.top.instrument.text()
    window._signed_in(console.records.users.login("service", DEMO_PASSWORD))
    assert window.nav_buttons["service"].isVisible() and not window.nav_buttons["run"].isVisible()
    window.show_page("service")
    channels = window.service_page.channels
    qtbot.waitUntil(lambda: channels.value_text("state") == "READY", timeout=10000)
    assert channels.value_text("temp_sp") == "37.0"
    assert channels.value_text("door") == "closed"
    assert not channels.stale
    window.parts.instrument.worker.link_state.emit("RECONNECTING", "test")
    qtbot.waitUntil(lambda: channels.stale, timeout=5000)  # grey: last known, not current
    assert window.top.link_text.text().startswith("Link lost")
    window.close()
    console.stop()
    assert console.controller is None


def test_channel_values_are_formatted_for_operators():
    from app.ui.channel_panel import format_channel

    assert format_channel("valves", 0) == ("closed", False)
    assert format_channel("valves", 0b100100)[0] == "buffer feed"
    assert format_channel("ilk", 0b10) == ("PRESSURE", True)
    assert format_channel("door", 1) == ("OPEN", True)
    assert format_channel("w_waste", -0.03) == ("0.0", False)


def test_celldeck_demo_runs_and_exits_cleanly(tmp_path):
    shot = tmp_path / "console.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "--demo",
            "--data-dir",
            str(tmp_path / "data"),
            "--quit-after",
            "4",
            "--screenshot",
            str(shot),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "QThread" not in result.stderr
    assert shot.stat().st_size > 10_000
    demo_folder = tmp_path / "data" / "demo"  # demo records kept apart from real ones
    assert (demo_folder / "celldeck.log").exists()
    verify = subprocess.run(
        [sys.executable, "-m", "app", "verify-audit", "--data-dir", str(demo_folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout  # console.start / console.stop recorded


def test_unreachable_port_says_why(qtbot, tmp_path):
    options = ConsoleOptions(data_dir=str(tmp_path), port=str(tmp_path / "no-such-port"))
    console, window = console_shell(qtbot, options)
    qtbot.waitUntil(lambda: "cannot open" in window.top.link_text.text(), timeout=10000)
    assert "Connected" not in window.top.link_text.text()
    window.close()
    console.stop()


def test_top_bar_says_plainly_when_the_instrument_is_in_its_safe_state(qtbot):
    from app.ui.top_bar import TopBar

    bar = TopBar()
    qtbot.addWidget(bar)
    bar.set_link("CONNECTED", "CD-1000 SIM-0001")
    bar.set_safe(True)
    assert "SAFE state" in bar.link_text.text() and "temperature" in bar.link_text.text()
    bar.set_link("CONNECTED", "CD-1000 SIM-0001")  # a repeat of the link state: still SAFE
    assert "SAFE state" in bar.link_text.text()
    bar.set_link("LOST", "no frame for 3 s")  # losing the link is news even in SAFE
    assert bar.link_text.text() == "Link lost: no frame for 3 s"
    bar.set_safe(False)
    bar.set_link("CONNECTED", "CD-1000 SIM-0001")
    assert bar.link_text.text() == "Connected"


def test_the_run_screen_shows_growth_and_still_fits_1280_by_800(qtbot, tmp_path):
    import math

    from app.batch.status import RunStatus
    from app.ui.run_screen import growth_text

    theme.apply(QApplication.instance())  # sizes as on the console (styled)
    console, window = console_shell(qtbot, ConsoleOptions(data_dir=str(tmp_path), demo=True))
    screen = window.run_page.screen
    day = 86400.0
    status = RunStatus(
        recipe="CAR-T expansion, 10 days",
        recipe_version="1",
        batch="B-2026-0001",
        state="Running",
        step=5,
        steps=9,
        step_name="Expand the culture for several days with feeds",
        time_left_s=5 * day,
        process_s=3 * day,
        doubling_h=29.83,
        doubling_low_h=27.9,
        doubling_high_h=31.9,
        fold_expansion=12.34,
        total_cells=1.2e9,
        harvest_target_cells=1.5e9,
        harvest_eta_s=7.3 * day,
        harvest_early_s=7.0 * day,
        harvest_late_s=7.6 * day,
        harvest_latest_s=10.0 * day,
    )
    screen.show_status(status)
    assert screen.growth.text() == (
        "Growth: doubling 29.8 h (27.9–31.9) · 12.3× expansion · dose reached ≈ day 7.3 "
        "(7.0–7.6) · harvest by day 10.0"
    )
    assert screen.growth.font().pixelSize() >= 20 or "20px" in screen.growth.styleSheet()
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800, hint
    assert growth_text(RunStatus(state="Running")) == "Growth: not enough data yet"
    stalled = RunStatus(
        doubling_h=math.inf,
        doubling_low_h=200.0,
        doubling_high_h=math.inf,
        fold_expansion=1.0,
        harvest_eta_s=math.inf,
        harvest_early_s=40 * day,
        harvest_late_s=math.inf,
    )
    assert growth_text(stalled) == (
        "Growth: doubling — h (200.0–—) · 1.0× expansion · dose not reached at this growth"
    )
    window.close()
    console.stop()


def test_a_disabled_account_is_signed_out_with_the_reason(qtbot, tmp_path):
    console, window = console_shell(qtbot, ConsoleOptions(data_dir=str(tmp_path), demo=True))
    users = console.records.users
    window._signed_in(users.login("operator", DEMO_PASSWORD))
    assert window.stack.currentWidget() is not window.login
    users.disable(users.login("admin", DEMO_PASSWORD), "operator", "left the company")
    window._check_inactivity()  # the shell's 5-second tick, not waited for
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.login, timeout=5000)
    assert window.session is None
    assert window.login.names_message.text() == (
        "Your account was disabled by an administrator: sign in again is not possible."
    )
    window.close()
    console.stop()
