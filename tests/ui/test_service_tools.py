"""The Service page's tools against the simulated instrument over a real pty, driven by
taps: manual control (a pump by hand, a valve, the rotor, the heater's set-point, and
a pump refused by the door interlock with its reason shown beside it), the raw readings
table (every calibratable channel, min <= mean <= max, one poll at a time, polling only
while shown) and link diagnostics (counters, a histogram filled by a loopback test, the
workstation's serial ports shown but never switched to). Every button is at least
60 x 60 px and the page still fits a 1280 x 800 panel."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton, QScrollArea, QWidget

from app.console import Console, ConsoleOptions
from app.records import DEMO_PASSWORD
from app.ui import theme
from app.ui.hardware_calls import ServiceCalls
from app.ui.service import link_tab as link_module
from app.ui.service.link_tab import LinkTab, latency_bins, nice_step, serial_ports
from app.ui.service.manual_tab import ManualTab, refusal_text
from app.ui.service.raw_tab import RawTab, Samples
from hardware.commands import InjectFault
from hardware.driver import InstrumentError
from hardware.protocol import CALIBRATABLE, INTERLOCKS, VALVES

SPEED = 10.0
WAIT_MS = 15000
TOOLS = (ManualTab, RawTab, LinkTab)


# --------------------------------------------------------------------------- helpers


def button(parent: QWidget, name: str) -> QPushButton:
    found = [
        b for b in parent.findChildren(QPushButton) if b.accessibleName() == name and b.isVisible()
    ]
    assert found, f"no visible button {name!r} in {type(parent).__name__}"
    return found[0]


def tap(qtbot, widget: QPushButton) -> None:
    assert widget.isEnabled(), widget.accessibleName()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def keypad(qtbot, page, text: str) -> None:
    """Type ``text`` on the keypad dialog the page has open, and OK."""
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=5000)
    dialog = page.dialog
    for ch in text:
        tap(qtbot, button(dialog, ch))
    tap(qtbot, button(dialog, "OK"))
    qtbot.waitUntil(lambda: page.dialog is not dialog, timeout=5000)


@pytest.fixture
def tools(qtbot, tmp_path):
    """The demo console on the simulator, signed in as the service engineer, on the
    Service page with its tools."""
    theme.apply(QApplication.instance())
    from app.gui import build_shell

    console = Console(ConsoleOptions(data_dir=str(tmp_path), demo=True, sim_speed=SPEED))
    window = build_shell(console, console.create_controller())
    qtbot.addWidget(window)
    page = window.service_page
    registered = {type(tab): tab for tab in page.tabs}
    manual, raw, link = (registered[cls] for cls in TOOLS)
    values: dict[str, float] = {}

    def telemetry(batch) -> None:  # what the tests read; the shell feeds the tabs itself
        values.update(dict(zip(batch.channels, map(float, batch.values[-1]), strict=True)))

    console.controller.worker.telemetry.connect(telemetry)
    console.start()
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window._signed_in(console.records.users.login("service", DEMO_PASSWORD))
    window.show_page("service")
    qtbot.waitUntil(lambda: "state" in values, timeout=WAIT_MS)
    yield SimpleNamespace(
        window=window, console=console, page=page, manual=manual, raw=raw, link=link, values=values
    )
    window.close()
    console.stop()


def enter_service(qtbot, page) -> None:
    tap(qtbot, page.mode_button)
    qtbot.waitUntil(lambda: page.active, timeout=WAIT_MS)


def show(qtbot, page, tab) -> None:
    tap(qtbot, page.tab_buttons[tab.title])
    assert page.stack.currentWidget() is tab


def valve_open(values: dict[str, float], name: str) -> bool:
    return bool(int(values["valves"]) & (1 << VALVES.index(name)))


# --------------------------------------------------------------------------- manual


def test_pump_valve_rotor_and_heater_by_hand(qtbot, tools):
    page, manual, values = tools.page, tools.manual, tools.values
    show(qtbot, page, manual)
    assert not manual.isEnabled()  # manual control only in service mode
    enter_service(qtbot, page)
    assert manual.isEnabled()

    media = button(manual, "valve media")  # the pump's line open to the media bag
    assert not media.isChecked()
    tap(qtbot, media)
    assert not media.isChecked()  # the tap asks; telemetry shows it open
    qtbot.waitUntil(lambda: valve_open(values, "media"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: media.isChecked() and "OPEN" in media.text(), timeout=WAIT_MS)

    pump = manual.pumps[1]
    assert not pump.start_button.isEnabled()  # no rate chosen yet: nothing to start
    tap(qtbot, button(manual, "pump 1 rate"))
    keypad(qtbot, page, "60")
    assert pump.rate_button.text() == "Rate 60.0 mL/min"
    tap(qtbot, button(manual, "pump 1 start"))
    qtbot.waitUntil(lambda: values["p1_rate"] == 60.0, timeout=WAIT_MS)
    start_volume = values["p1_vol"]
    # More in the chamber than running backwards below takes out (a chamber drawn dry
    # trips the bubble interlock).
    qtbot.waitUntil(lambda: values["p1_vol"] > start_volume + 10.0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: pump.live.text().startswith("60.0 mL/min"), timeout=WAIT_MS)
    assert "mL pumped" in pump.live.text()
    tap(qtbot, button(manual, "pump 1 stop"))
    qtbot.waitUntil(lambda: values["p1_rate"] == 0.0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: pump.live.text().startswith("stopped"), timeout=WAIT_MS)
    tap(qtbot, button(manual, "pump 1 volume"))
    keypad(qtbot, page, "5")
    assert pump.volume_button.text() == "Volume 5 mL"
    tap(qtbot, button(manual, "pump 1 reverse"))
    before = values["p1_vol"]
    tap(qtbot, button(manual, "pump 1 start"))  # 5 mL back into the bag, then stops
    qtbot.waitUntil(lambda: values["p1_vol"] >= before + 4.99, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: values["p1_rate"] == 0.0, timeout=WAIT_MS)

    tap(qtbot, button(manual, "pump 1 forward"))
    before = values["p1_vol"]
    tap(qtbot, button(manual, "pump 1 start"))  # stops by itself after 5 mL
    qtbot.waitUntil(lambda: values["p1_vol"] >= before + 4.99, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: values["p1_rate"] == 0.0, timeout=WAIT_MS)
    assert values["p1_vol"] == pytest.approx(before + 5.0, abs=0.01)
    tap(qtbot, button(manual, "pump 1 volume"))
    keypad(qtbot, page, "0")
    assert pump.volume_button.text() == "Volume: no limit"

    tap(qtbot, media)
    qtbot.waitUntil(lambda: not valve_open(values, "media"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not media.isChecked(), timeout=WAIT_MS)

    tap(qtbot, button(manual, "rotor speed"))
    keypad(qtbot, page, "500")
    tap(qtbot, button(manual, "rotor start"))
    qtbot.waitUntil(lambda: values["rpm_sp"] == 500.0, timeout=WAIT_MS)
    tap(qtbot, button(manual, "rotor stop"))
    qtbot.waitUntil(lambda: values["rpm_sp"] == 0.0, timeout=WAIT_MS)

    tap(qtbot, button(manual, "temp_sp set-point"))
    keypad(qtbot, page, "36.5")  # the initial 37.0 is replaced by the first digit
    qtbot.waitUntil(lambda: values["temp_sp"] == 36.5, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: manual.heater.button.text() == "Set-point 36.5 °C", timeout=WAIT_MS)
    assert not any(control.refusal.isVisible() for control in manual.controls)


def test_a_refused_pump_shows_the_interlock_beside_it(qtbot, tools):
    page, manual, values, console = tools.page, tools.manual, tools.values, tools.console
    show(qtbot, page, manual)
    enter_service(qtbot, page)
    connection = console.controller.worker.connection
    console.controller.run_on_hardware_thread(lambda: connection.execute(InjectFault("door=1")))
    door = 1 << INTERLOCKS.index("DOOR")
    qtbot.waitUntil(lambda: int(values["ilk"]) & door, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "interlock DOOR" in manual.status.text(), timeout=WAIT_MS)

    tap(qtbot, button(manual, "pump 2 rate"))
    keypad(qtbot, page, "20")
    tap(qtbot, button(manual, "pump 2 start"))
    refusal = manual.pumps[2].refusal
    qtbot.waitUntil(refusal.isVisible, timeout=WAIT_MS)
    assert "DOOR" in refusal.text() and "close the door" in refusal.text()
    assert "DOOR" in page.message.text() and page.message.objectName() == "Error"
    assert values["p2_rate"] == 0.0
    assert not manual.pumps[1].refusal.isVisible()  # shown beside the refused control only

    console.controller.run_on_hardware_thread(
        lambda: connection.execute(InjectFault("door", clear=True))
    )
    qtbot.waitUntil(lambda: not int(values["ilk"]) & door, timeout=WAIT_MS)
    tap(qtbot, button(manual, "valve feed"))  # pump 2's line open: no pressure build-up
    qtbot.waitUntil(lambda: valve_open(values, "feed"), timeout=WAIT_MS)
    tap(qtbot, button(manual, "pump 2 start"))
    qtbot.waitUntil(lambda: values["p2_rate"] == 20.0, timeout=WAIT_MS)
    assert not refusal.isVisible()  # the next act that succeeds clears it
    tap(qtbot, button(manual, "pump 2 stop"))
    qtbot.waitUntil(lambda: values["p2_rate"] == 0.0, timeout=WAIT_MS)


def test_refusals_read_as_a_reason_and_what_to_do():
    door = InstrumentError("PUMP", "INTERLOCK", "pump refused: DOOR")
    assert refusal_text(door) == "Refused: DOOR interlock (close the door)."
    both = InstrumentError("ROTOR", "INTERLOCK", "rotor refused: BUBBLE,DOOR")
    assert refusal_text(both).startswith("Refused: BUBBLE, DOOR interlock (")
    safe = InstrumentError("VALVE", "SAFE", "valve refused in safe state")
    assert refusal_text(safe) == "Refused: the instrument is in its safe state."
    assert refusal_text(ValueError("enter service mode first")) == "Enter service mode first."


# --------------------------------------------------------------------------- raw


def test_raw_readings_fill_for_every_channel_one_poll_at_a_time(qtbot, tools, monkeypatch):
    page, raw = tools.page, tools.raw
    in_flight, peak = [0], [0]
    original = ServiceCalls.raw_all

    def counting(calls, *args, done=None):
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])

        def answered(ok, value):
            in_flight[0] -= 1
            done(ok, value)

        return original(calls, *args, done=answered)

    monkeypatch.setattr(ServiceCalls, "raw_all", counting)
    assert not raw.timer.isActive()  # not polled while not shown
    show(qtbot, page, raw)  # no service mode needed to read
    assert raw.timer.isActive()
    raw.timer.setInterval(5)  # ticks far faster than answers come
    qtbot.waitUntil(lambda: raw.polls >= 8, timeout=WAIT_MS)
    assert peak[0] == 1  # never a second poll while one is outstanding

    for row, name in enumerate(CALIBRATABLE):
        cells = [raw.table.item(row, col).text() for col in range(1, 7)]
        counts, raw_value, value, low, mean, high = cells
        assert 0 <= int(counts) <= 65535, name
        reading = raw.readings[name]
        assert float(raw_value) == pytest.approx(reading.raw, abs=0.01), name
        assert float(value) == pytest.approx(reading.value, abs=0.01), name
        assert float(low) <= float(mean) <= float(high), name
        low_s, mean_s, high_s, n = raw.stats(name)
        assert low_s <= mean_s <= high_s and n >= 8
    assert "samples in the last 1 min" in raw.note.text()

    tap(qtbot, button(raw, "window 10 s"))
    assert raw.window_s == 10.0 and "last 10 s" in raw.note.text()
    show(qtbot, page, tools.link)
    assert not raw.timer.isActive()  # hidden: polling stops
    show(qtbot, page, raw)
    assert raw.timer.isActive()
    tools.window.show_page("alarms")  # another page: the tab is hidden with it
    assert not raw.timer.isActive()
    tools.window.show_page("service")  # back: the page's reload shows the tab again
    assert raw.timer.isActive()


def test_window_statistics_use_only_the_window():
    samples = Samples()
    for t, value in ((0.0, 50.0), (100.0, 1.0), (105.0, 3.0)):
        samples.add(t, value)
    assert samples.stats(10.0, now=106.0) == (1.0, 2.0, 3.0, 2)
    assert samples.stats(600.0, now=106.0) == (1.0, 18.0, 50.0, 3)
    assert samples.stats(10.0, now=500.0) is None


# --------------------------------------------------------------------------- link


def test_link_counters_histogram_loopback_and_ports(qtbot, tools, monkeypatch):
    page, link, console = tools.page, tools.link, tools.console
    ports = [("/dev/ttyUSB0", "FT232R USB UART"), ("/dev/ttyUSB1", "")]
    monkeypatch.setattr(link_module, "serial_ports", lambda: ports)
    show(qtbot, page, link)
    assert link.timer.isActive()
    qtbot.waitUntil(lambda: link.refreshes >= 1, timeout=WAIT_MS)
    assert link.port.text() == console.controller.url
    assert "115200 baud" in link.settings.text()
    assert int(link.counters["frames_in"].text().replace(" ", "")) > 0
    assert link.counters["crc_rate"].text() == "0.000 %"
    assert link.crc_error_rate() == 0.0
    assert not link.loopback_button.isEnabled()  # the test needs service mode

    qtbot.waitUntil(lambda: link.port_list.count() == 2, timeout=WAIT_MS)
    assert link.port_list.item(0).text().startswith("/dev/ttyUSB0")
    link.port_list.setCurrentRow(0)
    assert link.selected_port() == "/dev/ttyUSB0"
    assert "Admin > Settings" in link.port_note.text()
    assert "/dev/ttyUSB0" in link.port_note.text()

    enter_service(qtbot, page)
    assert link.loopback_button.isEnabled()
    tap(qtbot, link.loopback_button)
    qtbot.waitUntil(lambda: link.loopback_result is not None, timeout=WAIT_MS)
    assert len(link.loopback_result) == 100
    assert "100 came back, 0 failed" in link.loopback_label.text()
    assert link.loopback_button.isEnabled()
    qtbot.waitUntil(lambda: len(link.stats.get("latencies_ms", [])) >= 100, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: sum(link.bars.opts["height"]) >= 100, timeout=WAIT_MS)
    assert "median" in link.latency.text() and "p99" in link.latency.text()
    qtbot.waitUntil(lambda: link.refreshes >= 3, timeout=WAIT_MS)  # refreshed every second
    assert link.port.text() == console.controller.url  # choosing a port changed nothing
    show(qtbot, page, tools.manual)
    assert not link.timer.isActive()


def test_the_workstations_ports_and_latency_bins():
    assert all(isinstance(d, str) and isinstance(t, str) for d, t in serial_ports())
    assert [nice_step(x) for x in (0.13, 0.3, 4.0, 70.0)] == [0.2, 0.5, 5.0, 100.0]
    edges, counts, outliers = latency_bins([1.0] * 98 + [2.0, 500.0])
    assert counts.sum() == 100 and outliers == 1  # a retried request goes in the last bar
    assert edges[0] == 0.0 and edges[-1] == pytest.approx(4.0)  # twice the p99
    edges, counts, outliers = latency_bins([])
    assert counts.sum() == 0 and outliers == 0


# --------------------------------------------------------------------------- size


def test_every_service_tool_control_is_at_least_60_px_and_the_page_fits(qtbot, tools):
    window, page = tools.window, tools.page
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800, hint
    enter_service(qtbot, page)
    for tab in (tools.manual, tools.raw, tools.link):
        show(qtbot, page, tab)
        QApplication.processEvents()  # the layout settles before measuring
        for control in tab.findChildren(QPushButton):
            if control.isVisibleTo(tab):
                size = control.sizeHint().expandedTo(control.minimumSize())
                assert size.width() >= 60 and size.height() >= 60, (
                    f"{tab.title}: {control.accessibleName() or control.text()!r} "
                    f"is {size.width()}x{size.height()}"
                )
        for scroll in tab.findChildren(QScrollArea):  # fits 1280 x 800 without scrolling
            assert not scroll.verticalScrollBar().isVisible(), tab.title
            assert not scroll.horizontalScrollBar().isVisible(), tab.title
