"""The console window on the simulator: link state, channel values, trends, teardown."""

import subprocess
import sys

from app.ui.main_window import MainWindow
from hardware.worker import InstrumentController


def test_window_shows_link_state_values_and_trends(qtbot, simulator):
    controller = InstrumentController(simulator.url, telemetry_hz=20)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    window.show()
    controller.start()
    qtbot.waitUntil(lambda: window.banner.state == "CONNECTED", timeout=10000)
    qtbot.waitUntil(lambda: window.samples_seen >= 10, timeout=10000)
    assert "SIM-0001" in window.banner.identity_label.text()
    assert window.channels.value_text("temp_sp") == "37.0"
    assert window.channels.value_text("state") == "READY"
    assert window.channels.value_text("door") == "closed"
    assert not window.channels.stale
    window.on_link_state("RECONNECTING", "test")
    assert window.channels.stale  # values shown grey: last known, not current
    window.on_link_state("CONNECTED", "test")
    assert not window.channels.stale
    curve = window.trends.curves["temp"]
    qtbot.waitUntil(
        lambda: curve.getData()[0] is not None and len(curve.getData()[0]) > 5, timeout=5000
    )
    window.close()
    assert not controller.thread.isRunning()


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
    controller = InstrumentController(str(tmp_path / "no-such-port"), telemetry_hz=10)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    controller.start()
    qtbot.waitUntil(lambda: "cannot open" in window.banner.stats_label.text(), timeout=10000)
    assert window.banner.state in ("CONNECTING", "RECONNECTING")
    window.close()
