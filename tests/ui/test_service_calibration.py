"""A service engineer at the simulated instrument, by touch: enters service mode,
calibrates pH against simulated buffers (a wrong password changes nothing; a wrong
buffer is refused with the math's sentence and cannot be applied), uses the serial
console (a reply frame and its fields; an ERR reply as the instrument's refusal), runs
the self-test to a PASS verdict, and exports its PDF and the diagnostics bundle."""

from __future__ import annotations

import sqlite3
import zipfile

import pytest
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPushButton

from app.console import Console, ConsoleOptions
from app.records import DEMO_PASSWORD
from app.ui import theme
from app.ui.service.calibration_tab import CalibrationTab
from app.ui.service.console_tab import ConsoleTab
from app.ui.service.selftest_tab import SelfTestTab
from hardware.commands import InjectFault
from tests.ui.test_operator_journey import button, dialog_of, sign_in, tap, type_on

# The self-test's heater item waits up to 15 instrument minutes: at 50x that is seconds.
# Telemetry at 50 Hz keeps about one sample per instrument second, as the CLI runs it.
SPEED = 50.0
TELEMETRY_HZ = 50.0
WAIT_MS = 20000


@pytest.fixture
def service(qtbot, tmp_path):
    """The demo console on the simulator, signed in as the demo service engineer, in
    service mode; yields (window, console, tabs by title)."""
    theme.apply(QApplication.instance())
    from app.gui import build_shell

    options = ConsoleOptions(
        data_dir=str(tmp_path), demo=True, sim_speed=SPEED, telemetry_hz=TELEMETRY_HZ
    )
    console = Console(options)
    window = build_shell(console, console.create_controller())
    page = window.service_page
    tabs = {tab.title: tab for tab in page.tabs}
    assert {CalibrationTab.title, ConsoleTab.title, SelfTestTab.title} <= set(tabs)
    qtbot.addWidget(window)
    console.start()
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    sign_in(qtbot, window, "service")
    window.show_page("service")
    tap(qtbot, page.mode_button)
    qtbot.waitUntil(lambda: page.active, timeout=WAIT_MS)
    yield window, console, tabs
    window.close()
    console.stop()


def inject(qtbot, console, spec: str, clear: bool = False) -> None:
    """A simulator fault (a calibration standard) through the hardware thread."""
    outcome: list[object] = []
    controller = console.controller

    def job() -> None:
        try:
            outcome.append(controller.worker.connection.execute(InjectFault(spec, clear)))
        except Exception as exc:
            outcome.append(exc)

    controller.run_on_hardware_thread(job)
    qtbot.waitUntil(lambda: bool(outcome), timeout=WAIT_MS)
    assert not isinstance(outcome[0], Exception), outcome[0]


def instrument_calibration(qtbot, window, channel: str) -> tuple[float, float]:
    """``CAL <channel>`` as the instrument answers it now."""
    page = window.service_page
    answer: list[object] = []
    page.calls.calibration(window.session, channel, done=lambda ok, value: answer.append(value))
    qtbot.waitUntil(lambda: bool(answer), timeout=WAIT_MS)
    value = answer[0]
    assert isinstance(value, tuple), value
    return value


def count(console, sql: str, *args) -> int:
    with sqlite3.connect(console.records.path) as conn:
        return conn.execute(sql, args).fetchone()[0]


def open_tab(qtbot, window, tab) -> None:
    page = window.service_page
    tap(qtbot, button(page, f"service tab {tab.title}"))
    assert page.stack.currentWidget() is tab


def read_point(qtbot, tab: CalibrationTab) -> None:
    index = tab.step_index
    tap(qtbot, button(tab, "read"))
    qtbot.waitUntil(lambda: tab.readings[index] is not None, timeout=WAIT_MS)
    assert "Steady" in tab.stability.text(), tab.stability.text()


def calibrate_ph(qtbot, tab: CalibrationTab, console, second: float, probe: float) -> None:
    """Buffer 7.00 read, then the second buffer named ``second`` while the probe sits
    in ``probe``; ends on the result screen."""
    tab.read_samples, tab.read_interval_ms = 6, 100  # the test's patience, not the SOP's
    inject(qtbot, console, "probe-ph=7.00")
    tap(qtbot, button(tab, "calibrate ph"))
    assert "buffer 7.00" in tab.instruction.text()
    assert not tab.next_button.isVisible()  # nothing to go on with before a reading
    read_point(qtbot, tab)
    tap(qtbot, button(tab, "next"))
    assert "second buffer" in tab.instruction.text()
    assert not tab.read_button.isEnabled()  # the buffer is named first
    inject(qtbot, console, f"probe-ph={probe:.2f}")
    tap(qtbot, button(tab, f"choose pH {second:.2f}"))
    read_point(qtbot, tab)
    tap(qtbot, button(tab, "next"))  # "Show result"
    qtbot.waitUntil(lambda: tab.views.currentWidget() is tab.result_view, timeout=WAIT_MS)


def sign(qtbot, page, username: str | None, password: str) -> None:
    """The signing dialog, by touch: it says what is signed; the user name (first
    signature), Enter to the password, the password, Sign."""
    dialog = dialog_of(qtbot, page)
    assert dialog.values["record"].text().startswith("calibration of ")
    assert dialog.values["meaning"].text().startswith("Performed")
    if username is not None:
        type_on(qtbot, dialog.keyboard, username)
        tap(qtbot, button(dialog.keyboard, "Enter"))
    assert dialog.keyboard.target() is dialog.password_edit
    assert dialog.password_edit.echoMode() == QLineEdit.EchoMode.Password
    type_on(qtbot, dialog.keyboard, password)
    tap(qtbot, button(dialog, "Sign"))
    qtbot.waitUntil(lambda: page.dialog is not dialog, timeout=5000)


def test_ph_two_point_calibration_is_written_recorded_audited_and_signed(qtbot, service):
    window, console, tabs = service
    page, tab = window.service_page, tabs["Calibration"]
    open_tab(qtbot, window, tab)
    inject(qtbot, console, "ph-slope=0.97")
    calibrate_ph(qtbot, tab, console, second=4.01, probe=4.01)

    result = tab.result
    assert result is not None and result.plausible
    assert result.figure == pytest.approx(97.0, abs=1.5)  # slope % of Nernstian
    assert "Plausible" in tab.verdict.text() and "Slope 9" in tab.figure.text()
    assert tab.apply_button.isEnabled()
    shown = {label.accessibleName(): label.text() for label in tab.result_view.findChildren(QLabel)}
    assert shown["old gain"] == "1.000000" and shown["new gain"] == f"{result.gain:.6f}"
    assert shown["old offset"] == "0.0000" and shown["new offset"] == f"{result.offset:.4f}"
    assert shown["new buffer 4.01 reads"] == "4.010 pH"  # what the standard will read

    # A wrong password: nothing written, nothing recorded, and the screen says so.
    tap(qtbot, tab.apply_button)
    sign(qtbot, page, "service", "not-the-password")
    qtbot.waitUntil(lambda: not tab.applying, timeout=WAIT_MS)
    assert "Nothing was written" in page.message.text()
    assert instrument_calibration(qtbot, window, "ph") == (1.0, 0.0)
    assert count(console, "SELECT COUNT(*) FROM calibrations") == 0

    # The right one: on the instrument, in the records, audited and signed.
    tap(qtbot, tab.apply_button)
    sign(qtbot, page, "service", DEMO_PASSWORD)
    qtbot.waitUntil(lambda: tab.views.currentWidget() is tab.chooser, timeout=WAIT_MS)
    assert "pH calibrated on SIM-0001" in page.message.text(), page.message.text()
    gain, offset = instrument_calibration(qtbot, window, "ph")
    assert gain == pytest.approx(result.gain, rel=1e-8)
    assert offset == pytest.approx(result.offset, rel=1e-8, abs=1e-9)
    assert count(console, "SELECT COUNT(*) FROM calibrations WHERE channel = 'ph'") == 1
    assert count(console, "SELECT gain FROM calibrations") == pytest.approx(gain, rel=1e-12)
    assert count(console, "SELECT COUNT(*) FROM audit WHERE action = 'calibration.write'") == 1
    assert (
        count(
            console,
            "SELECT COUNT(*) FROM signatures WHERE record_type = 'calibration'"
            " AND meaning = 'performed' AND user_name = 'Demo Service'",
        )
        == 1
    )
    # the chooser lists it with its due date
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1 and bool(tab.current), timeout=WAIT_MS)
    assert tab.table.item(0, 0).text() == "pH"
    assert tab.table.item(0, 4).text() == tab.current[0].due_utc[:10]


def test_a_wrong_buffer_is_refused_and_cannot_be_applied(qtbot, service):
    window, console, tabs = service
    tab = tabs["Calibration"]
    open_tab(qtbot, window, tab)

    # The probe left in 7.00 for the second point.
    calibrate_ph(qtbot, tab, console, second=4.01, probe=7.00)
    assert tab.result is not None and not tab.result.plausible
    assert "Refused" in tab.verdict.text()
    assert "check that the probe was in the buffer you named" in tab.verdict.text()
    assert not tab.apply_button.isEnabled()

    # 10.01 named while the probe sits in 4.01.
    tap(qtbot, button(tab, "cancel calibration"))
    calibrate_ph(qtbot, tab, console, second=10.01, probe=4.01)
    assert tab.result is not None and tab.result.figure < 0
    assert "outside 90–105 %" in tab.verdict.text()
    assert not tab.apply_button.isEnabled()
    assert instrument_calibration(qtbot, window, "ph") == (1.0, 0.0)
    assert count(console, "SELECT COUNT(*) FROM calibrations") == 0


def test_serial_console_self_test_and_exports(qtbot, service):
    window, console, tabs = service
    page = window.service_page

    # ---- serial console
    tab = tabs["Serial console"]
    open_tab(qtbot, window, tab)
    qtbot.waitUntil(lambda: "frames in" in tab.counters.text(), timeout=WAIT_MS)
    tap(qtbot, button(tab, "send GET temp"))
    qtbot.waitUntil(lambda: tab.history.count() == 1, timeout=WAIT_MS)
    shown = tab.history.item(0).text()
    exchange = tab.exchanges[0]
    assert exchange.ok and "temp" in exchange.fields
    assert f"< {exchange.reply}" in shown  # the raw reply frame: seq OK temp=...*CRC
    assert " OK temp=" in exchange.reply and "*" in exchange.reply
    assert f"temp = {exchange.fields['temp']}" in shown  # and its parsed field

    qtbot.keyClicks(tab.line, "PUMP 3 10")  # a keyboard is fine here
    tap(qtbot, button(tab, "send"))
    qtbot.waitUntil(lambda: tab.history.count() == 2, timeout=WAIT_MS)
    refused = tab.exchanges[1]
    assert not refused.ok and refused.reply.startswith("ERR ")
    assert "refused by the instrument" in tab.history.item(1).text()
    assert "The instrument refused PUMP 3 10" in page.message.text()
    assert page.message.objectName() == "Error"

    # the on-screen keyboard, and a history entry recalled and sent again
    tap(qtbot, button(tab, "console keyboard"))
    dialog = dialog_of(qtbot, page)
    type_on(qtbot, dialog.keyboard, "PING")
    tap(qtbot, button(dialog, "OK"))
    qtbot.waitUntil(lambda: tab.history.count() == 3, timeout=WAIT_MS)
    assert tab.exchanges[2].sent == "PING" and tab.exchanges[2].ok
    tab._recall(tab.history.item(0))
    assert tab.line.text() == "GET temp"
    tap(qtbot, button(tab, "send"))
    qtbot.waitUntil(lambda: tab.history.count() == 4, timeout=WAIT_MS)
    assert tab.exchanges[3].sent == "GET temp"

    # ---- self-test, to a PASS verdict on screen, and its PDF
    tab = tabs["Self-test"]
    open_tab(qtbot, window, tab)
    assert "water in the buffer and media bags" in tab.kit.text()
    tap(qtbot, button(tab, "run self-test"))
    assert tab.cancel_button.isVisible()
    qtbot.waitUntil(lambda: tab.progress.count() > 0, timeout=120000)
    qtbot.waitUntil(lambda: not tab.running, timeout=240000)
    report = tab.report
    assert report is not None, tab.verdict.text()
    assert report.passed, report.lines()
    assert tab.verdict.text().startswith("PASS")
    assert theme.GOOD in tab.verdict.styleSheet()
    assert tab.table.rowCount() == len(report.items)
    assert {tab.table.item(r, 0).text() for r in range(tab.table.rowCount())} == {"pass"}
    assert tab.progress.count() == len(report.items)

    tap(qtbot, button(tab, "export self-test pdf"))
    qtbot.waitUntil(lambda: not tab.exporting, timeout=WAIT_MS)
    pdf = tab.last_export
    assert pdf is not None and pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    assert pdf.parent == console.data_dir / "exports" and pdf.name.startswith("selftest-")

    tap(qtbot, button(tab, "export diagnostics"))
    qtbot.waitUntil(lambda: not tab.exporting, timeout=WAIT_MS)
    bundle = tab.last_export
    assert bundle is not None and bundle.name.startswith("diagnostics-")
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        assert "manifest.txt" in names and "technical-log/celldeck.log" in names
        assert "SIM-0001" in archive.read("instrument.txt").decode()
    assert count(console, "SELECT COUNT(*) FROM audit WHERE action = 'diagnostics.export'") == 1


def test_every_service_tool_control_is_at_least_60_px(qtbot, service):
    window, _, tabs = service
    assert window.minimumSizeHint().height() <= 800
    assert window.minimumSizeHint().width() <= 1280
    for tab in tabs.values():
        if not isinstance(tab, CalibrationTab | ConsoleTab | SelfTestTab):
            continue
        open_tab(qtbot, window, tab)
        for control in tab.findChildren(QPushButton) + tab.findChildren(QLineEdit):
            if control.isVisibleTo(tab):
                size = control.sizeHint().expandedTo(control.minimumSize())
                assert size.width() >= 60 and size.height() >= 60, (
                    f"{tab.title}: {control.accessibleName() or control.text()!r} is "
                    f"{size.width()}x{size.height()}"
                )


def test_do_zero_and_span_and_a_load_cell_with_a_weight_on_the_keypad(qtbot, service):
    window, console, tabs = service
    page, tab = window.service_page, tabs["Calibration"]
    open_tab(qtbot, window, tab)
    tab.read_samples, tab.read_interval_ms = 6, 100

    inject(qtbot, console, "probe-do=0")
    tap(qtbot, button(tab, "calibrate do"))
    assert "zero solution" in tab.instruction.text()
    read_point(qtbot, tab)
    tap(qtbot, button(tab, "next"))
    inject(qtbot, console, "probe-do=100")
    read_point(qtbot, tab)
    tap(qtbot, button(tab, "next"))
    qtbot.waitUntil(lambda: tab.views.currentWidget() is tab.result_view, timeout=WAIT_MS)
    assert tab.result is not None and tab.result.plausible, tab.verdict.text()
    assert tab.result.gain == pytest.approx(1.0, abs=0.05)
    tap(qtbot, button(tab, "cancel calibration"))
    assert tab.views.currentWidget() is tab.chooser
    assert "nothing was written" in page.message.text()

    tap(qtbot, button(tab, "calibrate load"))
    assert not tab.read_button.isEnabled()  # the load cell is chosen first
    tap(qtbot, button(tab, "choose waste"))
    assert tab.channel == "w_waste"
    read_point(qtbot, tab)  # the empty waste hanger
    tap(qtbot, button(tab, "next"))
    assert "waste hanger" in tab.instruction.text()
    assert not tab.read_button.isEnabled()  # the weight is entered first
    tap(qtbot, button(tab, "reference value"))
    keypad = dialog_of(qtbot, page).keypad
    type_on(qtbot, keypad, "500")
    tap(qtbot, button(keypad, "OK"))
    qtbot.waitUntil(lambda: tab.values[1] == 500.0, timeout=5000)
    inject(qtbot, console, "ref-w_waste=500")
    read_point(qtbot, tab)
    tap(qtbot, button(tab, "next"))
    qtbot.waitUntil(lambda: tab.views.currentWidget() is tab.result_view, timeout=WAIT_MS)
    result = tab.result
    assert result is not None and result.plausible, tab.verdict.text()
    assert (result.channel, result.method) == ("w_waste", "load cell tare and span")
    assert result.gain == pytest.approx(1.0, abs=0.01)
    assert "waste load cell" in tab.result_title.text()
    assert tab.apply_button.isEnabled()
