"""The simulated firmware's command handler: verbs, refusals, and fuzzing."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.protocol import (
    CHANNEL_INDEX,
    FirmwareState,
    Reply,
    decode_frame,
    encode_frame,
    parse_message,
)
from hardware.simulator.firmware import Firmware

VERBS = [
    "IDN?",
    "PING",
    "GET",
    "SET",
    "PUMP",
    "VALVE",
    "ROTOR",
    "TLM",
    "HIST?",
    "SAFE",
    "SERVICE",
    "RAW?",
    "RESET",
    "CAL",
    "FAULT",
    "FAULT?",
    "BOGUS",
    "",
]
WORDS = [
    "temp_sp",
    "co2_sp",
    "p_limit",
    "1",
    "2",
    "3",
    "-5",
    "1e9",
    "nan",
    "inf",
    "OPEN",
    "CLOSE",
    "buffer",
    "media",
    "feed",
    "ON",
    "CLEAR",
    "noise",
    "stuck-ph",
    "corrupt=0.1",
    "ph",
    "0",
    "37",
    "0.5",
    "100",
    "x",
    "=",
    "temp",
    "door=1",
    "occlusion=2",
    "-1e-9",
    "OFF",
    "w_media",
    "probe-ph=4.01",
    "ph-slope=0.95",
    "probe-do=0",
    "ref-source=500",
    "bias-temp=0.4",
    "1.01",
    "-0.02",
]


def send(fw: Firmware, payload: str) -> Reply:
    frames = fw.handle_line(encode_frame(payload), now=0.0)
    return parse_message(decode_frame(frames[-1]))


def test_identify_and_set_point():
    fw = Firmware(seed=1)
    idn = send(fw, "1 IDN?")
    assert idn.ok and idn.named()["model"] == "CD-1000"
    assert send(fw, "2 SET temp_sp 30.5").ok
    assert send(fw, "3 GET temp_sp").named()["temp_sp"] == "30.5"
    values = parse_message(decode_frame(fw.telemetry_frame())).values
    assert values[CHANNEL_INDEX["temp_sp"]] == 30.5


def test_refusals_carry_codes_and_change_nothing():
    fw = Firmware(seed=1)
    assert send(fw, "1 SET temp_sp 99").code == "RANGE"
    assert fw.setpoints["temp_sp"] == 37.0
    assert send(fw, "2 SET temp 30").code == "READONLY"
    assert send(fw, "3 WARP 9").code == "BADCMD"
    assert send(fw, "4 PUMP 3 10").code == "BADARG"
    assert send(fw, "5 PUMP 1 nan").code == "RANGE"
    assert send(fw, "6 VALVE sideways OPEN").code == "BADARG"


def test_bad_crc_is_ignored_and_counted():
    fw = Firmware(seed=1)
    assert fw.handle_line(b"1 PING*0000\n") == []
    assert fw.frames_bad == 1


def test_retry_with_same_sequence_is_answered_without_running_twice():
    fw = Firmware(seed=1)
    fw.plant.valves.add("buffer")
    first = fw.handle_line(encode_frame("5 PUMP 1 60 10"))
    fw.advance(5.0)
    again = fw.handle_line(encode_frame("5 PUMP 1 60 10"))
    assert first == again
    fw.advance(10.0)
    assert abs(fw.plant.pumps[0].delivered - 10.0) < 1e-6


def test_door_interlock_refuses_pumps_and_safe_state_refuses_valves():
    fw = Firmware(seed=1)
    send(fw, "1 FAULT door=1")
    fw.advance(1.0)
    assert "DOOR" in fw.interlocks
    assert send(fw, "2 PUMP 1 50").code == "INTERLOCK"
    send(fw, "3 FAULT CLEAR door")
    fw.advance(1.0)
    assert send(fw, "4 SAFE").ok and fw.state is FirmwareState.SAFE
    assert send(fw, "5 VALVE buffer OPEN").code == "SAFE"
    assert send(fw, "6 SAFE CLEAR").ok and fw.state is FirmwareState.READY


def test_watchdog_enters_safe_state_and_keeps_heating():
    fw = Firmware(seed=1)
    fw.handle_line(encode_frame("1 PING"), now=100.0)
    fw.plant.valves.add("buffer")
    fw.plant.pumps[0].run(50.0, None)
    fw.check_watchdog(104.0)
    assert fw.state is FirmwareState.READY
    fw.check_watchdog(105.5)
    assert fw.state is FirmwareState.SAFE
    assert fw.plant.pumps[0].rate == 0 and not fw.plant.valves
    fw.advance(600.0)
    assert fw.plant.heater_power > 0  # temperature control goes on
    assert any(b"WATCHDOG" in frame for frame in fw.take_output())


def test_history_read_back():
    fw = Firmware(seed=1)
    fw.advance(10.0)
    frames = fw.handle_line(encode_frame("9 HIST? 3000 6000"))
    messages = [parse_message(decode_frame(f)) for f in frames]
    assert [m.t_ms for m in messages[:-1]] == [3000, 4000, 5000, 6000]
    assert all(m.history_seq == 9 for m in messages[:-1])
    assert messages[-1].named()["count"] == "4"


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 70000),
            st.sampled_from(VERBS),
            st.lists(st.sampled_from(WORDS), max_size=4),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_fuzz_command_handler_answers_every_good_frame(commands):
    fw = Firmware(seed=2)
    for seq, verb, args in commands:
        payload = " ".join([str(seq), verb, *args]).strip()
        if "*" in payload:
            continue
        frames = fw.handle_line(encode_frame(payload), now=0.0)
        assert frames, payload
        reply = parse_message(decode_frame(frames[-1]))
        assert isinstance(reply, Reply)
        fw.advance(0.5)
        fw.take_output()


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_are_dropped_or_answered(data):
    fw = Firmware(seed=3)
    frames = fw.handle_line(data, now=0.0)
    if frames:
        assert isinstance(parse_message(decode_frame(frames[-1])), Reply)
    else:
        assert fw.frames_bad == 1


def test_mutated_valid_lines_never_crash():
    rng = random.Random(7)
    fw = Firmware(seed=4)
    base = [
        encode_frame(p)
        for p in (
            "1 SET temp_sp 37",
            "2 PUMP 1 20 5",
            "3 HIST? 0 5000",
            "4 CAL ph 1.01 -0.02",
            "5 VALVE media OPEN",
            "6 SERVICE ON",
            "7 RAW? ph",
        )
    ]
    answered = dropped = 0
    for _ in range(5000):
        line = bytearray(rng.choice(base))
        for _ in range(rng.randint(1, 3)):
            line[rng.randrange(len(line))] = rng.randrange(256)
        frames = fw.handle_line(bytes(line), now=0.0)
        if frames:
            answered += 1
        else:
            dropped += 1
        fw.advance(0.01)
    assert dropped > 4900  # CRC catches almost every mutation
    assert fw.frames_bad == dropped


def test_event_log_read_back():
    fw = Firmware(seed=1)
    fw.handle_line(encode_frame("1 FAULT door=1"))
    fw.advance(2.0)
    fw.take_output()
    frames = fw.handle_line(encode_frame("2 EVT? 1 2"))
    codes = [parse_message(decode_frame(f)).code for f in frames[:-1]]
    assert codes == ["BOOT", "INTERLOCK"]
    assert parse_message(decode_frame(frames[-1])).named()["count"] == "2"


def test_non_finite_fault_values_are_refused():
    fw = Firmware(seed=1)
    for spec in ("stuck-temp=nan", "drift-ph=inf", "noise=nan", "drift-=1", "drift-ph=1e308"):
        assert send(fw, f"1 FAULT {spec}").code == "BADARG"
    fw.telemetry_frame()  # still fine


def test_retried_reset_reboots_once():
    fw = Firmware(seed=1)
    fw.handle_line(encode_frame("7 RESET"))
    assert fw.reset_requested
    fw.power_on("reset")  # what the transport does after sending the reply
    again = fw.handle_line(encode_frame("7 RESET"))
    assert again and not fw.reset_requested
    assert fw.boot == 2


def test_pump_2_against_closed_feed_valve_trips_pressure_interlock():
    fw = Firmware(seed=1)
    send(fw, "1 PUMP 2 50")
    fw.advance(5.0)
    assert b"name=PRESSURE state=ON" in b"".join(fw.take_output())
    assert fw.plant.pumps[1].rate == 0


def test_drift_continues_across_a_reset():
    fw = Firmware(seed=1)
    send(fw, "1 FAULT drift-ph=1")
    fw.advance(3600.0)
    offset_before = fw.sensors.raw("ph", 7.0, fw.t_s) - 7.0
    fw.power_on("reset")
    offset_after = fw.sensors.raw("ph", 7.0, fw.t_s) - 7.0
    assert abs(offset_after - offset_before) < 0.05
