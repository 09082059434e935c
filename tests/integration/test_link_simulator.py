"""The console's link and driver against the simulator process over a real pty,
with faults injected: corrupt bytes, a dropped link, a silent host, a firmware reset."""

import contextlib
import itertools
import math
import time

import pytest

from hardware.commands import InjectFault, RunPump, SetSetpoint, SetValve
from hardware.connection import LinkState
from hardware.link import LinkError, SerialLink
from hardware.protocol import CHANNEL_INDEX, CHANNEL_NAMES, decode_frame, parse_message
from hardware.simulator.launcher import SimulatorProcess
from tests.integration.harness import connect, run_for, run_until


def test_identify_over_pty(simulator):
    assert simulator.url.startswith("/dev/")
    connection, rec = connect(simulator.url)
    identity = rec.identities[-1]
    assert (identity.model, identity.serial, identity.kit) == (
        "CD-1000",
        "SIM-0001",
        "KIT-CART-0001",
    )
    connection.close()


def test_identify_over_tcp():
    with SimulatorProcess(["--tcp", "0"]) as sim:
        assert sim.url.startswith("socket://127.0.0.1:")
        connection, rec = connect(sim.url)
        run_until(connection, lambda: len(rec.samples) >= 3, 5.0)
        connection.close()


def test_set_point_change_shows_in_telemetry(simulator):
    connection, rec = connect(simulator.url, telemetry_hz=20)
    connection.execute(SetSetpoint("temp_sp", 31.5))
    run_until(connection, lambda: rec.samples and rec.latest("temp_sp") == 31.5, 5.0)
    connection.close()


def test_out_of_range_set_point_never_reaches_the_instrument():
    with pytest.raises(ValueError, match="outside"):
        SetSetpoint("temp_sp", 45.0)


def test_corrupted_bytes_are_counted_and_never_delivered(tmp_path):
    log_path = tmp_path / "tx.log"
    with SimulatorProcess(["--fault", "corrupt=0.01", "--tx-log", str(log_path)]) as sim:
        connection, rec = connect(sim.url, telemetry_hz=20)
        run_for(connection, 8.0)
        stats = connection.link.stats
        connection.close()
    truth: dict[int, set[tuple[float, ...]]] = {}
    for line in log_path.read_text().splitlines():
        message = parse_message(decode_frame(line.encode()))
        if hasattr(message, "values"):
            truth.setdefault(message.t_ms, set()).add(message.values)
    assert stats.crc_errors > 50
    assert rec.samples, "some frames get through intact"
    for sample in rec.samples:
        assert sample.values in truth.get(sample.t_ms, set()), f"wrong value at {sample.t_ms}"


def test_dropped_link_reconnects_and_backfills_without_gaps(simulator):
    connection, rec = connect(simulator.url, telemetry_hz=10)
    run_for(connection, 2.5)
    connection.execute(InjectFault("drop=10"))
    run_until(connection, lambda: connection.state is not LinkState.CONNECTED, 8.0)
    run_until(connection, lambda: connection.state is LinkState.CONNECTED, 20.0)
    run_for(connection, 2.0)
    connection.close()
    states = [s for s, _ in rec.states]
    assert LinkState.LOST in states and LinkState.RECONNECTING in states
    assert states[-2:] == [LinkState.CONNECTED, LinkState.DISCONNECTED]
    assert connection.link.stats.reconnects >= 1
    assert any(s.backfilled for s in rec.samples)
    times = [s.t_ms for s in rec.samples]
    assert times == sorted(times) and len(times) == len(set(times))
    covered = {t // 1000 for t in times}
    first, last = math.ceil(times[0] / 1000), times[-1] // 1000
    missing = [k for k in range(first, last) if k not in covered]
    assert missing == [], f"seconds without a sample: {missing}"
    assert last - first >= 13  # the drop really spanned the record
    # The instrument was left alone for 10 s: its watchdog put it in the safe state, and
    # the event it raised meanwhile was read back after reconnecting.
    assert rec.latest("state") == 1
    assert "WATCHDOG" in rec.event_codes()


def test_speed_factor_compresses_process_time():
    with SimulatorProcess(["--speed", "5000"]) as sim:
        connection, _rec = connect(sim.url)
        t0, w0 = connection.instrument.ping(), time.monotonic()
        run_for(connection, 2.0)
        t1, w1 = connection.instrument.ping(), time.monotonic()
        connection.close()
    factor = (t1 - t0) / 1000.0 / (w1 - w0)
    assert factor > 4000, factor  # a 10-day process runs in under 4 minutes


def test_silent_host_puts_instrument_in_safe_state_with_heating_on():
    with SimulatorProcess(["--speed", "100"]) as sim:
        connection, rec = connect(sim.url, telemetry_hz=10)
        connection.execute(SetValve("buffer", True))
        connection.execute(RunPump(1, 20.0))
        run_until(connection, lambda: rec.samples and rec.latest("p1_rate") == 20.0, 5.0)
        temp_before = rec.latest("temp")
        link = connection.link  # go silent: keep reading, send nothing
        seen: list[tuple[float, ...]] = []
        events: list[str] = []
        deadline = time.monotonic() + 6.5
        while time.monotonic() < deadline:
            for payload in link.receive():
                message = parse_message(payload)
                if hasattr(message, "values"):
                    seen.append(message.values)
                elif hasattr(message, "code") and not hasattr(message, "ok"):
                    events.append(message.code)
        connection.close()
    last = seen[-1]
    assert "WATCHDOG" in events
    assert last[CHANNEL_INDEX["state"]] == 1  # SAFE
    assert last[CHANNEL_INDEX["p1_rate"]] == 0 and last[CHANNEL_INDEX["valves"]] == 0
    assert last[CHANNEL_INDEX["heater"]] > 0  # temperature control carries on
    assert last[CHANNEL_INDEX["temp"]] > temp_before + 1.0


def test_firmware_reset_is_recovered(simulator):
    connection, rec = connect(simulator.url, telemetry_hz=20)
    run_for(connection, 1.5)
    connection.execute(InjectFault("reset"))
    first_boot = rec.identities[0].boot
    run_until(connection, lambda: rec.identities[-1].boot != first_boot, 5.0)
    assert rec.identities[-1].boot == first_boot + 1
    assert "BOOT" in rec.event_codes()
    start = len(rec.samples)
    run_for(connection, 2.0)
    after = rec.samples[start:]
    assert connection.state is LinkState.CONNECTED
    assert len(after) >= 20  # the 20 Hz telemetry rate was re-applied (reset makes it 1 Hz)
    assert all(s.boot == rec.identities[-1].boot for s in after)
    connection.close()


def test_raw_link_survives_garbage_from_the_host(simulator):
    link = SerialLink(simulator.url)
    link.open()
    port = link._port
    port.write(b"\x00\xff garbage without crc\n" + b"x" * 5000 + b"\n")
    link.send("1 PING")
    deadline = time.monotonic() + 3
    replies = []
    while time.monotonic() < deadline and not replies:
        replies = [p for p in link.receive() if p.startswith("1 OK")]
    assert replies
    link.close()
    assert len(CHANNEL_NAMES) > 20


def test_backfill_through_a_noisy_line_still_reconnects(simulator):
    connection, rec = connect(simulator.url, telemetry_hz=10)
    run_for(connection, 2.0)
    connection.execute(InjectFault("corrupt=0.002"))
    # the command always arrives; its reply may be corrupted on the way back
    with contextlib.suppress(LinkError):
        connection.execute(InjectFault("drop=8"))
    run_until(connection, lambda: connection.state is not LinkState.CONNECTED, 8.0)
    run_until(connection, lambda: connection.state is LinkState.CONNECTED, 25.0)
    connection.close()
    assert any(s.backfilled for s in rec.samples)
    # whatever could not be read back intact is reported, never silently skipped
    times = sorted(s.t_ms for s in rec.samples)
    gaps = [(int(e.data["from"]), int(e.data["to"])) for e in rec.events if e.code == "HISTORY_GAP"]
    covered = {t // 1000 for t in times}
    for k in range(math.ceil(times[0] / 1000), times[-1] // 1000):
        assert k in covered or any(a <= k * 1000 + 999 and k * 1000 <= b for a, b in gaps), k


def test_power_cycled_instrument_is_recognised_as_a_new_boot():
    with SimulatorProcess(["--tcp", "0"]) as first:
        port = first.url.rsplit(":", 1)[1]
        connection, rec = connect(first.url, telemetry_hz=10)
        run_for(connection, 6.0)
    # the same instrument comes back on the same port, its clock and boot count restarted
    with SimulatorProcess(["--tcp", port]):
        run_until(
            connection,
            lambda: len(rec.identities) >= 2 and connection.state is LinkState.CONNECTED,
            20.0,
        )
        before = len(rec.samples)
        run_for(connection, 2.0)
        connection.close()
    assert rec.identities[-1].t_ms < 6000
    assert len(rec.samples) - before >= 10  # live samples flow at once, none thrown away
    assert len(rec.identities) <= 3  # no re-identification loop


def test_live_frames_lost_to_corruption_are_filled_from_history():
    with SimulatorProcess(["--fault", "corrupt=0.004"]) as sim:
        connection, rec = connect(sim.url, telemetry_hz=2)
        run_for(connection, 12.0)
        connection.close()
    times = sorted(s.t_ms for s in rec.samples)
    assert connection.link.stats.crc_errors > 5
    gaps = [(int(e.data["from"]), int(e.data["to"])) for e in rec.events if e.code == "HISTORY_GAP"]
    holes = [(a, b) for a, b in itertools.pairwise(times) if b - a > 1500]
    unexplained = [
        h for h in holes if not any(g0 <= h[0] + 1 and h[1] - 1 <= g1 for g0, g1 in gaps)
    ]
    assert unexplained == []  # every hole was read back from history or reported
