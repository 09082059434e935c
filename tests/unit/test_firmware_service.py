"""Service mode in the simulated firmware: the SERVICE state, calibration writes only in
service, RAW? readings, and the calibration-standard faults (issue #7)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.protocol import (
    ADC_FULL_SCALE,
    ADC_RANGES,
    CALIBRATABLE,
    CHANNEL_INDEX,
    STATES,
    ErrorCode,
    FirmwareState,
    Reply,
    adc_counts,
    decode_frame,
    encode_frame,
    parse_message,
)
from hardware.simulator.faults import FaultError, parse_fault
from hardware.simulator.firmware import Firmware


def send(fw: Firmware, payload: str, now: float = 0.0) -> Reply:
    frames = fw.handle_line(encode_frame(payload), now=now)
    return parse_message(decode_frame(frames[-1]))


def events(fw: Firmware) -> list:
    return [parse_message(decode_frame(f)) for f in fw.take_output() if f.startswith(b"E ")]


def state_events(fw: Firmware) -> list[str]:
    return [e.data["state"] for e in events(fw) if e.code == "STATE"]


def raw(fw: Firmware, channel: str, seq: int = 90) -> dict[str, str]:
    reply = send(fw, f"{seq} RAW? {channel}")
    assert reply.ok, reply
    return reply.named()


def mean_raw(fw: Firmware, channel: str, n: int = 50) -> float:
    return sum(float(raw(fw, channel, seq=100 + i)["raw"]) for i in range(n)) / n


def telemetry_state(fw: Firmware) -> float:
    return fw.readings()[CHANNEL_INDEX["state"]]


# ------------------------------------------------------------------ state transitions


def test_service_state_is_index_2_and_the_others_keep_theirs():
    assert STATES.index(FirmwareState.READY) == 0
    assert STATES.index(FirmwareState.SAFE) == 1
    assert STATES.index(FirmwareState.SERVICE) == 2


def test_service_on_and_off_from_ready():
    fw = Firmware(seed=1)
    fw.take_output()
    reply = send(fw, "1 SERVICE")
    assert reply.ok and reply.named() == {"state": "SERVICE"}
    assert fw.state is FirmwareState.SERVICE and telemetry_state(fw) == 2
    assert state_events(fw) == ["SERVICE"]
    reply = send(fw, "2 SERVICE OFF")
    assert reply.named() == {"state": "READY"} and fw.state is FirmwareState.READY
    assert telemetry_state(fw) == 0
    assert state_events(fw) == ["READY"]


def test_service_on_from_safe_and_off_leaves_instrument_quiet_keeping_setpoints():
    fw = Firmware(seed=1)
    send(fw, "1 SAFE")
    send(fw, "2 SET temp_sp 30")
    send(fw, "3 SET co2_sp 8")
    fw.take_output()
    assert send(fw, "4 SERVICE ON").named()["state"] == "SERVICE"
    assert state_events(fw) == ["SERVICE"]
    assert send(fw, "5 VALVE buffer OPEN").ok
    assert send(fw, "6 PUMP 1 20").ok
    assert send(fw, "7 ROTOR 800").ok
    fw.advance(1.0)
    assert fw.plant.pumps[0].rate == 20 and fw.plant.valves == {"buffer"}
    assert send(fw, "8 SERVICE OFF").named()["state"] == "READY"
    assert fw.plant.pumps[0].rate == 0 and fw.plant.pumps[1].rate == 0
    assert not fw.plant.valves and fw.plant.rotor_setpoint == 0
    assert fw.setpoints["temp_sp"] == 30 and fw.setpoints["co2_sp"] == 8


def test_service_on_starts_quiet():
    fw = Firmware(seed=1)
    send(fw, "1 VALVE buffer OPEN")
    send(fw, "2 PUMP 1 20")
    send(fw, "3 ROTOR 500")
    send(fw, "4 SERVICE")
    assert fw.plant.pumps[0].rate == 0 and not fw.plant.valves and fw.plant.rotor_setpoint == 0


def test_service_on_and_off_are_idempotent():
    fw = Firmware(seed=1)
    fw.take_output()
    assert send(fw, "1 SERVICE OFF").named() == {"state": "READY"}  # not in service
    assert state_events(fw) == []
    send(fw, "2 SERVICE")
    fw.take_output()
    send(fw, "3 VALVE media OPEN")
    assert send(fw, "4 SERVICE ON").named() == {"state": "SERVICE"}
    assert state_events(fw) == [] and fw.plant.valves == {"media"}  # nothing changed
    send(fw, "5 SAFE")
    fw.take_output()
    assert send(fw, "6 SERVICE OFF").named() == {"state": "SAFE"}  # still SAFE
    assert state_events(fw) == [] and fw.state is FirmwareState.SAFE


def test_service_refuses_other_keywords_and_extra_arguments():
    fw = Firmware(seed=1)
    reply = send(fw, "1 SERVICE CLEAR")
    assert reply.code == ErrorCode.BADARG and reply.message == "SERVICE takes ON or OFF"
    assert send(fw, "2 SERVICE ON now").code == ErrorCode.BADARG
    assert fw.state is FirmwareState.READY


def test_safe_on_leaves_service_and_safe_clear_does_not_touch_it():
    fw = Firmware(seed=1)
    send(fw, "1 SERVICE")
    assert send(fw, "2 SAFE CLEAR").named() == {"state": "SERVICE"}
    assert send(fw, "3 SAFE").named() == {"state": "SAFE"}
    assert send(fw, "4 PUMP 1 10").code == ErrorCode.SAFE


def test_watchdog_in_service_enters_safe():
    fw = Firmware(seed=1)
    send(fw, "1 SERVICE", now=100.0)
    send(fw, "2 VALVE buffer OPEN", now=100.0)
    send(fw, "3 PUMP 1 30", now=100.0)
    fw.take_output()
    fw.check_watchdog(104.0)
    assert fw.state is FirmwareState.SERVICE
    fw.check_watchdog(105.5)
    assert fw.state is FirmwareState.SAFE
    assert fw.plant.pumps[0].rate == 0 and not fw.plant.valves
    codes = [(e.code, e.data.get("state")) for e in events(fw)]
    assert codes == [("STATE", "SAFE"), ("WATCHDOG", None)]


def test_reboot_leaves_service():
    fw = Firmware(seed=1)
    send(fw, "1 SERVICE")
    fw.power_on("reset")
    assert fw.state is FirmwareState.READY


@pytest.mark.parametrize(
    ("fault", "command", "reason"),
    [
        ("door=1", "PUMP 1 10", "pump refused: DOOR"),
        ("door=1", "ROTOR 100", "rotor refused: DOOR"),
        ("occlusion=1", "PUMP 1 10", "pump refused: PRESSURE"),
    ],
)
def test_interlocks_still_refuse_motion_in_service(fault, command, reason):
    fw = Firmware(seed=1)
    send(fw, "1 SERVICE")
    send(fw, "2 VALVE buffer OPEN")
    send(fw, f"3 FAULT {fault}")
    if fault.startswith("occlusion"):
        send(fw, "4 PUMP 1 200")  # against the blocked line: pressure trips in under 1 s
    for _ in range(20):
        fw.advance(0.1)
        if fw.interlocks:
            break
    reply = send(fw, f"5 {command}")
    assert reply.code == ErrorCode.INTERLOCK and reply.message == reason
    assert fw.state is FirmwareState.SERVICE


def test_bubble_interlock_refuses_pump_in_service():
    fw = Firmware(seed=1)
    send(fw, "1 SERVICE")
    send(fw, "2 VALVE waste OPEN")  # the waste bag is empty: drawing from it makes bubbles
    send(fw, "3 PUMP 1 50")
    fw.advance(0.5)
    assert "BUBBLE" in fw.interlocks
    reply = send(fw, "4 PUMP 1 50")
    assert reply.code == ErrorCode.INTERLOCK and reply.message == "pump refused: BUBBLE"


def test_overtemp_cuts_the_heater_in_service():
    fw = Firmware(seed=1)
    send(fw, "1 SERVICE")
    fw.plant.temp = 41.0
    fw.advance(1.0)
    assert "OVERTEMP" in fw.interlocks and fw.plant.heater_power == 0.0
    assert send(fw, "2 ROTOR 100").ok  # OVERTEMP does not block motion


# ------------------------------------------------------------------ calibration writes


def test_calibration_write_needs_service_state():
    fw = Firmware(seed=1)
    reply = send(fw, "1 CAL ph 1.01 -0.02")
    assert reply.code == ErrorCode.STATE
    assert reply.message == "calibration needs service state"
    assert send(fw, "2 CAL ph").named() == {"name": "ph", "gain": "1", "offset": "0"}
    send(fw, "3 SAFE")
    assert send(fw, "4 CAL ph 1.01 -0.02").code == ErrorCode.STATE
    send(fw, "5 SERVICE")
    reply = send(fw, "6 CAL ph 1.01 -0.02")
    assert reply.ok and reply.named() == {"name": "ph", "gain": "1.01", "offset": "-0.02"}
    send(fw, "7 SERVICE OFF")
    assert send(fw, "8 CAL ph").named()["gain"] == "1.01"  # reading stays allowed


def test_calibration_arguments_are_checked_before_the_state():
    fw = Firmware(seed=1)
    assert send(fw, "1 CAL ph 3 0").code == ErrorCode.RANGE
    assert send(fw, "2 CAL rpm 1 0").code == ErrorCode.BADARG
    assert send(fw, "3 CAL ph 1").code == ErrorCode.BADARG


# ------------------------------------------------------------------ RAW?


def test_adc_counts_cover_the_documented_ranges():
    assert ADC_RANGES["temp"] == (-10.0, 60.0)
    assert ADC_RANGES["ph"] == (0.0, 14.0)
    assert ADC_RANGES["do"] == (0.0, 200.0)
    assert ADC_RANGES["co2"] == (0.0, 20.0)
    assert ADC_RANGES["pressure"] == (-100.0, 1000.0)
    assert all(ADC_RANGES[n] == (-100.0, 5000.0) for n in CALIBRATABLE if n.startswith("w_"))
    assert adc_counts("ph", 0.0) == 0
    assert adc_counts("ph", 14.0) == ADC_FULL_SCALE
    assert adc_counts("ph", 7.0) == 32768  # round(32767.5), half to even
    assert adc_counts("temp", 25.0) == round(35 / 70 * 65535)
    assert adc_counts("ph", -3.0) == 0 and adc_counts("ph", 99.0) == ADC_FULL_SCALE


@pytest.mark.parametrize("channel", CALIBRATABLE)
def test_raw_reading_fields(channel):
    fw = Firmware(seed=1)
    fields = raw(fw, channel)
    assert list(fields) == ["name", "counts", "raw", "value"]
    assert fields["name"] == channel
    value = float(fields["raw"])
    assert int(fields["counts"]) == adc_counts(channel, value)
    assert float(fields["value"]) == value  # default calibration 1 / 0


def test_raw_reading_applies_the_calibration_to_the_same_sample():
    fw = Firmware(seed=1)
    send(fw, "1 SERVICE")
    send(fw, "2 CAL temp 1.5 -10")
    for seq in range(3, 13):
        fields = raw(fw, "temp", seq)
        value = float(fields["raw"])
        assert float(fields["value"]) == round(1.5 * value - 10, 4)
        assert abs(value - fw.plant.temp) < 0.2
        assert int(fields["counts"]) == adc_counts("temp", value)


def test_raw_reading_in_any_state_and_unknown_channels():
    fw = Firmware(seed=1)
    assert send(fw, "1 RAW? ph").ok
    send(fw, "2 SAFE")
    assert send(fw, "3 RAW? ph").ok
    send(fw, "4 SERVICE")
    assert send(fw, "5 RAW? ph").ok
    for seq, channel in enumerate(("rpm", "nope", "state"), start=6):
        reply = send(fw, f"{seq} RAW? {channel}")
        assert reply.code == ErrorCode.BADARG and reply.message == f"{channel} has no raw reading"
    assert send(fw, "10 RAW?").code == ErrorCode.BADARG
    assert send(fw, "11 RAW? ph do").code == ErrorCode.BADARG


def test_raw_reading_of_a_stuck_sensor_is_stuck_too():
    fw = Firmware(seed=1)
    send(fw, "1 SERVICE")
    send(fw, "2 CAL pressure 2 5")
    send(fw, "3 FAULT stuck-pressure=45")
    fields = raw(fw, "pressure")
    assert fields["value"] == "45" and float(fields["raw"]) == 20.0


# ------------------------------------------------------------------ calibration faults


def test_probe_ph_follows_the_buffer_and_clears_back_to_the_culture():
    fw = Firmware(seed=1)
    culture = fw.plant.ph
    assert send(fw, "1 FAULT probe-ph=4.01").named() == {"fault": "probe-ph"}
    assert abs(mean_raw(fw, "ph") - 4.01) < 0.005
    values = [parse_message(decode_frame(fw.telemetry_frame())).values for _ in range(20)]
    assert abs(sum(v[CHANNEL_INDEX["ph"]] for v in values) / 20 - 4.01) < 0.005
    assert fw.plant.ph == culture  # the plant is untouched
    send(fw, "2 FAULT CLEAR probe-ph")
    assert abs(mean_raw(fw, "ph") - culture) < 0.005


def test_ph_slope_is_measured_by_a_two_point_calibration():
    fw = Firmware(seed=1)
    send(fw, "1 FAULT noise=0")
    send(fw, "2 FAULT ph-slope=0.95")
    send(fw, "3 FAULT probe-ph=7")
    raw7 = float(raw(fw, "ph")["raw"])
    send(fw, "4 FAULT probe-ph=4.01")
    raw4 = float(raw(fw, "ph")["raw"])
    assert raw7 == pytest.approx(7.0, abs=1e-4)
    assert (raw7 - raw4) / 2.99 == pytest.approx(0.95, abs=1e-4)
    send(fw, "5 FAULT probe-ph=10.01")
    assert float(raw(fw, "ph")["raw"]) == pytest.approx(7 + 0.95 * 3.01, abs=1e-4)
    # the calibration the wizard would write brings the reading back to the buffer
    gain = 2.99 / (raw7 - raw4)
    offset = 7.0 - gain * raw7
    send(fw, "6 SERVICE")
    assert send(fw, f"7 CAL ph {gain:.6f} {offset:.6f}").ok
    assert float(raw(fw, "ph")["value"]) == pytest.approx(10.01, abs=1e-3)
    send(fw, "8 FAULT CLEAR ph-slope")
    assert fw.sensors.ph_slope == 1.0


def test_ph_slope_also_applies_in_the_culture():
    fw = Firmware(seed=1)
    send(fw, "1 FAULT noise=0")
    send(fw, "2 FAULT ph-slope=0.8")
    expected = 7 + 0.8 * (fw.plant.ph - 7)
    assert float(raw(fw, "ph")["raw"]) == pytest.approx(expected, abs=1e-4)


def test_probe_do_in_zero_and_air_saturated_standards():
    fw = Firmware(seed=1)
    send(fw, "1 FAULT probe-do=0")
    assert abs(mean_raw(fw, "do")) < 0.2
    send(fw, "2 FAULT probe-do=100")
    assert abs(mean_raw(fw, "do") - 100) < 0.2
    plant_do = fw.plant.do
    send(fw, "3 FAULT CLEAR probe-do")
    assert abs(mean_raw(fw, "do") - plant_do) < 0.2


def test_reference_weight_adds_to_the_load_cell_only():
    fw = Firmware(seed=1)
    send(fw, "1 FAULT noise=0")
    before = float(raw(fw, "w_buffer")["raw"])
    assert send(fw, "2 FAULT ref-w_buffer=1000").named() == {"fault": "ref-w_buffer"}
    assert float(raw(fw, "w_buffer")["raw"]) == pytest.approx(before + 1000, abs=1e-4)
    assert fw.plant.weight("buffer") == pytest.approx(before, abs=1e-4)  # no liquid added
    reading = fw.readings()[CHANNEL_INDEX["w_buffer"]]
    assert reading == pytest.approx(before + 1000, abs=1e-4)
    assert send(fw, "3 FAULT ref-source=250").named() == {"fault": "ref-w_source"}  # alias
    assert send(fw, "4 FAULT?").fields == ("noise=0", "ref-w_buffer=1000", "ref-w_source=250")
    send(fw, "5 FAULT CLEAR ref-w_buffer")
    assert float(raw(fw, "w_buffer")["raw"]) == pytest.approx(before, abs=1e-4)


def test_bias_shifts_the_raw_reading_and_an_offset_calibration_corrects_it():
    fw = Firmware(seed=1)
    send(fw, "1 FAULT noise=0")
    true_temp = fw.plant.temp
    send(fw, "2 FAULT bias-temp=0.4")
    assert float(raw(fw, "temp")["raw"]) == pytest.approx(true_temp + 0.4, abs=1e-4)
    send(fw, "3 SERVICE")
    send(fw, "4 CAL temp 1 -0.4")
    assert float(raw(fw, "temp")["value"]) == pytest.approx(true_temp, abs=1e-4)
    send(fw, "5 FAULT CLEAR bias-temp")
    assert float(raw(fw, "temp")["raw"]) == pytest.approx(true_temp, abs=1e-4)


def test_fault_clear_all_removes_every_calibration_standard():
    fw = Firmware(seed=1)
    for seq, spec in enumerate(
        ("probe-ph=4.01", "ph-slope=0.9", "probe-do=0", "ref-w_waste=500", "bias-co2=-1"), 1
    ):
        assert send(fw, f"{seq} FAULT {spec}").ok
    send(fw, "10 FAULT CLEAR")
    sensors = fw.sensors
    assert not sensors.probe and sensors.ph_slope == 1.0
    assert not sensors.reference_g and not sensors.bias
    assert send(fw, "11 FAULT?").fields == ()


def test_calibration_faults_survive_a_reboot():
    fw = Firmware(seed=1)
    send(fw, "1 FAULT bias-pressure=20")
    fw.power_on("reset")
    assert fw.sensors.bias == {"pressure": 20.0}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("probe-ph", "fault probe-ph needs a buffer pH 0..14"),
        ("probe-ph=15", "fault probe-ph needs a buffer pH 0..14"),
        ("probe-do=-1", "fault probe-do needs a standard in % saturation 0..200"),
        ("probe-temp=20", "fault probe-temp: no standard for channel 'temp' (ph, do)"),
        ("ph-slope", "fault ph-slope needs the electrode slope as a fraction 0.5..1.2"),
        ("ph-slope=1.3", "fault ph-slope needs the electrode slope as a fraction 0.5..1.2"),
        ("ph-slope=0.4", "fault ph-slope needs the electrode slope as a fraction 0.5..1.2"),
        ("ref-w_media=5001", "fault ref-w_media needs a reference weight in g, 0..5000"),
        ("ref-w_media", "fault ref-w_media needs a reference weight in g, 0..5000"),
        ("ref-temp=1", "fault ref-temp: 'temp' is not a load cell"),
        ("ref-bag=1", "fault ref-bag: 'bag' is not a load cell"),
        ("bias-temp=101", "fault bias-temp needs an error in channel units, -100..100"),
        ("bias-temp", "fault bias-temp needs an error in channel units, -100..100"),
        ("bias-rpm=1", "fault bias-rpm: channel 'rpm' has no raw reading"),
        ("ph-foo=1", "unknown fault 'ph-foo'"),
    ],
)
def test_calibration_fault_values_are_checked(spec, message):
    with pytest.raises(FaultError) as info:
        parse_fault(spec)
    assert str(info.value) == message
    fw = Firmware(seed=1)
    reply = send(fw, f"1 FAULT {spec}")
    assert reply.code == ErrorCode.BADARG and reply.message == message


def test_no_fault_readings_are_unchanged_by_the_new_sensor_terms():
    """The same seed gives the same telemetry as plain truth + noise (no extra rng draws,
    no floating-point detour through slope 1.0)."""
    import random

    from hardware.simulator.sensors import NOISE_SD

    fw = Firmware(seed=5)
    rng = random.Random(5)
    truth = fw.plant.ph
    for _ in range(5):
        expected = truth + rng.gauss(0.0, NOISE_SD["ph"])
        assert fw.sensors.raw("ph", truth, 0.0) == expected


# ------------------------------------------------------------------ properties


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(CALIBRATABLE),
    st.floats(-1e12, 1e12, allow_nan=False),
    st.floats(-1e12, 1e12, allow_nan=False),
)
def test_adc_counts_are_16_bit_and_monotonic(channel, a, b):
    low, high = sorted((a, b))
    counts_low, counts_high = adc_counts(channel, low), adc_counts(channel, high)
    assert 0 <= counts_low <= counts_high <= ADC_FULL_SCALE


STATE_COMMANDS = [
    "SERVICE",
    "SERVICE ON",
    "SERVICE OFF",
    "SAFE",
    "SAFE CLEAR",
    "CAL ph 1.01 -0.02",
    "CAL temp 1 0.5",
    "RAW? ph",
    "PUMP 1 10",
    "VALVE buffer OPEN",
    "RESET",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(STATE_COMMANDS), min_size=1, max_size=12))
def test_calibration_writes_succeed_exactly_in_service(commands):
    fw = Firmware(seed=6)
    for seq, command in enumerate(commands, start=1):
        before = fw.state
        reply = send(fw, f"{seq} {command}")
        if command == "RESET":
            fw.power_on("reset")
            assert fw.state is FirmwareState.READY
        elif command.startswith("CAL"):
            assert reply.ok == (before is FirmwareState.SERVICE)
            assert reply.ok or reply.code == ErrorCode.STATE
        elif command.startswith(("SERVICE", "SAFE")):
            assert reply.named()["state"] == fw.state.value
        assert fw.readings()[CHANNEL_INDEX["state"]] == STATES.index(fw.state)
        fw.advance(0.2)
