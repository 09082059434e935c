"""Service mode on the console: only the service role enters it, never during a run;
entering and leaving are audited and the firmware knows (no run can start meanwhile)."""

import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.console import Console, ConsoleOptions
from app.records import DEMO_PASSWORD
from app.service.host import ServiceRefused
from app.store.users import PermissionDenied
from app.ui import theme
from app.ui.hardware_calls import ServiceCalls
from hardware.commands import ResetFirmware


@pytest.fixture
def console_shell(qtbot, tmp_path):
    theme.apply(QApplication.instance())
    from app.gui import build_shell

    console = Console(ConsoleOptions(data_dir=str(tmp_path), demo=True, sim_speed=20))
    window = build_shell(console, console.create_controller())
    qtbot.addWidget(window)
    console.start()
    window.resize(1280, 800)
    window.show()
    qtbot.waitUntil(lambda: console.host.identity is not None, timeout=15000)
    yield window, console
    window.close()
    console.stop()


def ask(qtbot, window, request, *args):
    """A service-host call through the page's typed proxy (``ServiceCalls.enter``, ...);
    (ok, value) once done."""
    answer = []
    request(window.service_page.calls, *args, done=lambda ok, value: answer.append((ok, value)))
    qtbot.waitUntil(lambda: bool(answer), timeout=15000)
    return answer[0]


def audit(console, action):
    with sqlite3.connect(console.records.path) as conn:
        return conn.execute(
            "SELECT user_name, new_value FROM audit WHERE action = ? ORDER BY id", (action,)
        ).fetchall()


def test_an_operator_neither_sees_nor_enters_service_mode(qtbot, console_shell):
    window, console = console_shell
    operator = console.records.users.login("operator", DEMO_PASSWORD)
    window._signed_in(operator)
    assert not window.nav_buttons["service"].isVisible()
    window.show_page("service")
    assert window.stack.currentWidget() is not window.service_page
    ok, error = ask(qtbot, window, ServiceCalls.enter, operator)  # the service layer refuses too
    assert not ok and isinstance(error, PermissionDenied)
    assert not console.service.active
    assert ("Demo Operator", "service.mode") in audit(console, "permission.denied")


def test_entering_and_leaving_is_audited_and_the_firmware_holds_runs_off(qtbot, console_shell):
    window, console = console_shell
    engineer = console.records.users.login("service", DEMO_PASSWORD)
    window._signed_in(engineer)
    window.show_page("service")
    page = window.service_page
    assert window.stack.currentWidget() is page
    qtbot.mouseClick(page.mode_button, qtbot_left())
    qtbot.waitUntil(lambda: page.active, timeout=15000)
    qtbot.waitUntil(lambda: console.host.values.get("state") == 2.0, timeout=15000)  # SERVICE
    assert "In service mode" in page.mode.text()
    assert audit(console, "service.enter") == [(engineer.full_name, "service")]

    supervisor = console.records.users.login("supervisor", DEMO_PASSWORD)
    demo = next(v for v in console.host.library.approved() if v.name == "Demo")
    ok, checks = ask_runs(qtbot, window, "checklist", supervisor, demo.id, "B-1", "B-1", {})
    assert ok, checks
    ready = next(c for c in checks if c.name == "instrument ready")
    assert not ready.ok and "SERVICE" in ready.detail  # no run starts on a serviced instrument
    held = next(c for c in checks if c.name == "not in service mode")
    assert not held.ok and engineer.full_name in held.detail

    ok, refused = ask(qtbot, window, ServiceCalls.console_line, engineer, "CAL ph 1.2 0")
    assert not ok and "Calibration tab" in str(refused)  # no unsigned coefficients
    ok, refused = ask(qtbot, window, ServiceCalls.console_line, engineer, "SERVICE OFF")
    assert not ok and isinstance(refused, ServiceRefused)
    ok, exchange = ask(
        qtbot, window, ServiceCalls.console_line, engineer, "CAL ph"
    )  # reading is fine
    assert ok and exchange.ok and "gain" in exchange.fields, exchange

    window.sign_out()  # the engineer leaving does not leave the instrument in service
    qtbot.waitUntil(lambda: not console.service.active, timeout=15000)
    qtbot.waitUntil(lambda: console.host.values.get("state") == 0.0, timeout=15000)
    assert audit(console, "service.leave") == [(engineer.full_name, None)]


def test_a_firmware_reset_ends_service_mode(qtbot, console_shell):
    window, console = console_shell
    engineer = console.records.users.login("service", DEMO_PASSWORD)
    ok, _ = ask(qtbot, window, ServiceCalls.enter, engineer)
    assert ok
    boots = console.host.identity.boot
    worker = console.controller.worker
    console.controller.run_on_hardware_thread(lambda: worker.connection.execute(ResetFirmware()))
    qtbot.waitUntil(lambda: console.service.firmware_left, timeout=15000)
    ok, refused = ask(qtbot, window, ServiceCalls.valve, engineer, "media", True)
    assert not ok and "left service mode" in str(refused)
    assert not console.service.active
    assert audit(console, "service.leave") == [(engineer.full_name, "instrument left it")]
    assert console.host.identity.boot >= boots


def test_closing_the_console_leaves_service_mode(qtbot, console_shell):
    window, console = console_shell
    engineer = console.records.users.login("service", DEMO_PASSWORD)
    ok, _ = ask(qtbot, window, ServiceCalls.enter, engineer)
    assert ok and console.service.active
    records_path = console.records.path
    service = console.service
    console.stop()
    assert not service.active
    with sqlite3.connect(records_path) as conn:
        left = conn.execute(
            "SELECT user_name, new_value FROM audit WHERE action = 'service.leave'"
        ).fetchall()
    assert left == [(engineer.full_name, "console closed")]


def test_service_mode_is_refused_during_a_running_batch(qtbot, console_shell):
    window, console = console_shell
    supervisor = console.records.users.login("supervisor", DEMO_PASSWORD)
    demo = next(v for v in console.host.library.approved() if v.name == "Demo")
    ok, run_id = ask_runs(qtbot, window, "start", supervisor, demo.id, "B-2", "B-2", {})
    assert ok, run_id
    engineer = console.records.users.login("service", DEMO_PASSWORD)
    window._signed_in(engineer)
    window.show_page("service")
    page = window.service_page
    qtbot.mouseClick(page.mode_button, qtbot_left())
    qtbot.waitUntil(lambda: "in progress" in page.message.text(), timeout=15000)
    assert "B-2" in page.message.text() and not page.active
    ok, error = ask(qtbot, window, ServiceCalls.enter, engineer)
    assert not ok and isinstance(error, ServiceRefused)
    assert audit(console, "service.enter") == []
    ask_runs(qtbot, window, "abort", supervisor, "test over")


def ask_runs(qtbot, window, method, *args):
    answer = []
    getattr(window.parts.runs, method)(*args, done=lambda ok, value: answer.append((ok, value)))
    qtbot.waitUntil(lambda: bool(answer), timeout=15000)
    return answer[0]


def qtbot_left() -> Qt.MouseButton:
    return Qt.MouseButton.LeftButton


def test_the_link_state_reaches_the_service_page_on_the_gui_thread(qtbot, console_shell):
    """The worker emits on the hardware thread; the service page's values go grey on
    the GUI thread (a slot ran on the emitting thread once and hung the console)."""
    import threading

    from PySide6.QtCore import QThread

    window, _ = console_shell
    seen: list[bool] = []
    channels = window.service_page.channels
    original = channels.set_stale

    def recording(stale: bool) -> None:
        seen.append(QThread.currentThread() is QApplication.instance().thread())
        original(stale)

    channels.set_stale = recording
    worker = window.parts.instrument.worker
    emitter = threading.Thread(target=lambda: worker.link_state.emit("LOST", "test"))
    emitter.start()
    emitter.join()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == [True] and channels.stale
