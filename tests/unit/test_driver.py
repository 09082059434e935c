"""The Instrument driver, byte for byte, without hardware."""

import pytest

from hardware.driver import InstrumentError, ReplyTimeout
from hardware.link import LinkError
from hardware.protocol import CHANNEL_NAMES, encode_frame, telemetry_payload
from tests.unit.fake_port import expected_protocol


def f(payload: str) -> bytes:
    return encode_frame(payload)


def test_identify():
    script = [(f("1 IDN?"), f("1 OK model=CD-1000 serial=S1 fw=1.0.0 kit=K1 boot=3 t=1500"))]
    with expected_protocol(script) as inst:
        identity = inst.identify()
    assert (identity.serial, identity.kit, identity.boot, identity.t_ms) == ("S1", "K1", 3, 1500)


def test_set_point_and_pump_frames():
    script = [
        (f("1 SET temp_sp 36.5"), f("1 OK temp_sp=36.5")),
        (f("2 PUMP 1 -20 15"), f("2 OK pump=1 rate=-20")),
        (f("3 VALVE feed OPEN"), f("3 OK valve=feed state=OPEN")),
        (f("4 TLM 200"), f("4 OK hz=200")),
    ]
    with expected_protocol(script) as inst:
        inst.set("temp_sp", 36.5)
        inst.pump(1, -20, 15)
        inst.valve("feed", True)
        inst.telemetry_rate(200)


def test_error_reply_raises_with_code():
    script = [(f("1 SET temp_sp 99"), f("1 ERR RANGE temp_sp 99 outside 4..39"))]
    with expected_protocol(script) as inst, pytest.raises(InstrumentError) as info:
        inst.set("temp_sp", 99)
    assert info.value.code == "RANGE"


def test_telemetry_and_events_around_a_reply_are_kept():
    values = [1.0] * len(CHANNEL_NAMES)
    script = [
        (None, f(telemetry_payload(100, values))),
        (f("1 PING"), f(telemetry_payload(200, values)) + f("1 OK t=250") + f("E 260 BOOT boot=2")),
    ]
    with expected_protocol(script) as inst:
        assert inst.ping() == 250
        telemetry, events = inst.drain()
    assert [t.t_ms for t in telemetry] == [100, 200]
    assert [e.code for e in events] == ["BOOT"]


def test_bad_crc_frames_are_counted_never_delivered():
    values = [2.0] * len(CHANNEL_NAMES)
    good = f(telemetry_payload(100, values))
    bad = bytearray(f(telemetry_payload(200, values)))
    bad[10] ^= 0x01
    script = [(None, good + bytes(bad) + b"garbage\n"), (f("1 PING"), f("1 OK t=300"))]
    with expected_protocol(script) as inst:
        inst.ping()
        telemetry, _ = inst.drain()
    assert [t.t_ms for t in telemetry] == [100]
    assert inst.link.stats.crc_errors == 2


def test_lost_reply_is_retried_with_the_same_sequence_number():
    script = [(f("1 PING"), b""), (f("1 PING"), f("1 OK t=5"))]
    with expected_protocol(script, reply_timeout=0.05) as inst:
        assert inst.ping() == 5
    assert inst.link.stats.retries == 1


def test_no_reply_at_all_raises_timeout():
    script = [(f("1 PING"), b"")] * 3
    with expected_protocol(script, reply_timeout=0.02) as inst, pytest.raises(ReplyTimeout):
        inst.ping()


def test_history_is_collected_and_lost_frames_are_refetched():
    values = [3.0] * len(CHANNEL_NAMES)

    def h(seq, t):
        return f(telemetry_payload(t, values, history_seq=seq))

    script = [
        # 3000 is lost on the wire; 4000 arrives
        (f("1 HIST? 1000 4000"), h(1, 1000) + h(1, 2000) + h(1, 4000) + f("1 OK count=4")),
        (f("2 HIST? 2001 3999"), h(2, 3000) + f("2 OK count=1")),
    ]
    with expected_protocol(script) as inst:
        result = inst.history(1000, 4000)
    assert [fr.t_ms for fr in result.frames] == [1000, 2000, 3000, 4000]
    assert result.gaps == []


def test_history_that_stays_lost_is_reported_as_a_gap():
    values = [3.0] * len(CHANNEL_NAMES)
    frame = f(telemetry_payload(1000, values, history_seq=1))
    script = [
        (f("1 HIST? 1000 3000"), frame + f("1 OK count=3")),
        (f("2 HIST? 1001 3000"), f("2 OK count=2")),  # lost again
    ]
    with expected_protocol(script) as inst:
        result = inst.history(1000, 3000)
    assert [fr.t_ms for fr in result.frames] == [1000]
    assert result.gaps == [(1001, 3000)]


def test_missing_ranges():
    from hardware.driver import missing_ranges

    assert missing_ranges([1000, 2000, 3000], 1000, 3000) == []
    assert missing_ranges([1000, 3000], 1000, 3000) == [(1001, 2999)]
    assert missing_ranges([], 1000, 3000) == [(1000, 3000)]
    assert missing_ranges([2000], 1000, 3500) == [(1000, 1999), (2001, 3500)]


def test_malformed_reply_is_an_instrument_error_not_a_crash():
    script = [(f("1 PING"), f("1 OK t=soon"))]
    with expected_protocol(script) as inst, pytest.raises(InstrumentError):
        inst.ping()


def test_cancel_stops_a_request_in_progress():
    import threading

    cancel = threading.Event()
    cancel.set()
    script = [(f("1 PING"), b"")]
    with expected_protocol(script, cancel=cancel) as inst, pytest.raises(LinkError):
        inst.ping()


def test_sequence_numbers_wrap_after_65535():
    script = [(f("65535 PING"), f("65535 OK t=1")), (f("1 PING"), f("1 OK t=2"))]
    with expected_protocol(script) as inst:
        inst._seq = 65534
        inst.ping()
        inst.ping()


# --------------------------------------------------------------------------- golden frames
# Literal bytes on both sides, CRCs written out (docs/protocol.md §3, real firmware
# output; each CRC = binascii.crc_hqx(payload, 0xFFFF), checked in test_protocol.py):
# nothing here is built with the code under test.
def test_golden_identify_and_ping():
    script = [
        (
            b"1 IDN?*D971\n",
            b"1 OK model=CD-1000 serial=SIM-0001 fw=1.0.0 kit=KIT-CART-0001 boot=1 t=2000"
            b" ev=1*B61F\n",
        ),
    ]
    with expected_protocol(script) as inst:
        identity = inst.identify()
    with expected_protocol([(b"3 PING*072F\n", b"3 OK t=2000*BAF0\n")], first_seq=3) as inst:
        assert inst.ping() == 2000
    assert (identity.serial, identity.kit, identity.boot, identity.t_ms, identity.events) == (
        "SIM-0001",
        "KIT-CART-0001",
        1,
        2000,
        1,
    )


def test_golden_commands_byte_for_byte():
    with expected_protocol(
        [(b"9 SET temp_sp 37.5*2B3A\n", b"9 OK temp_sp=37.5*35AD\n")], first_seq=9
    ) as inst:
        inst.set("temp_sp", 37.5)
    script = [(b"10 SET co2_sp 25*FFE7\n", b"10 ERR RANGE co2_sp 25 outside 0..20*B739\n")]
    with expected_protocol(script, first_seq=10) as inst, pytest.raises(InstrumentError) as info:
        inst.set("co2_sp", 25)
    assert (info.value.code, info.value.message) == ("RANGE", "co2_sp 25 outside 0..20")
    script = [(b"13 VALVE source OPEN*7025\n", b"13 OK valve=source state=OPEN*1C7A\n")]
    with expected_protocol(script, first_seq=13) as inst:
        inst.valve("source", True)
    with expected_protocol(
        [(b"15 PUMP 1 60 5*C1B0\n", b"15 OK pump=1 rate=60*B4E6\n")], first_seq=15
    ) as inst:
        inst.pump(1, 60, 5)
    with expected_protocol([(b"20 TLM 10*3F60\n", b"20 OK hz=10*BB69\n")], first_seq=20) as inst:
        inst.telemetry_rate(10)


def test_golden_history_read_back():
    h1000 = (
        b"H 22 1000 temp=22.0314 temp_sp=37 heater=100 ph=7.4005 do=99.7679 co2=4.9782"
        b" co2_sp=5 pressure=10.0157 rpm=0 rpm_sp=0 vcd=0 w_source=99.9489 w_media=999.9282"
        b" w_buffer=500.01 w_waste=0.0067 w_product=0.0273 w_chamber=-0.0457 p1_rate=0"
        b" p1_vol=0 p2_rate=0 p2_vol=0 valves=0 bubble=0 door=0 ilk=0 state=0*E6BA\n"
    )
    h2000 = (
        b"H 22 2000 temp=21.9771 temp_sp=37 heater=100 ph=7.4026 do=100.0907 co2=5.0478"
        b" co2_sp=5 pressure=10.1015 rpm=0 rpm_sp=0 vcd=0 w_source=99.9928 w_media=1000.0616"
        b" w_buffer=500.0099 w_waste=0.0455 w_product=-0.0183 w_chamber=0.0109 p1_rate=0"
        b" p1_vol=0 p2_rate=0 p2_vol=0 valves=0 bubble=0 door=0 ilk=0 state=0*3A84\n"
    )
    script = [(b"22 HIST? 1000 2000*7834\n", h1000 + h2000 + b"22 OK count=2 oldest=1000*AAA9\n")]
    with expected_protocol(script, first_seq=22) as inst:
        result = inst.history(1000, 2000)
    assert [(fr.t_ms, fr.values[0]) for fr in result.frames] == [(1000, 22.0314), (2000, 21.9771)]
    assert result.gaps == []


def test_golden_event_read_back_and_unsolicited_events():
    script = [
        (None, b"E 0 BOOT n=1 boot=1 reason=power-on*CDE2\n"),
        (
            b"52 EVT? 2 3*0008\n",
            b"E 6000 PUMP_DONE n=2 pump=1 volume=5 total=5*495D\n"
            b"E 7000 STATE n=3 state=SAFE*3B3D\n"
            b"52 OK count=2*F715\n",
        ),
    ]
    with expected_protocol(script, first_seq=52) as inst:
        assert inst.replay_events(2, 3) == 2
        _, events = inst.drain()
    assert [(e.t_ms, e.code, e.data.get("n")) for e in events] == [
        (0, "BOOT", "1"),
        (6000, "PUMP_DONE", "2"),
        (7000, "STATE", "3"),
    ]


def test_golden_reply_with_one_byte_changed_is_dropped_and_the_command_retried():
    script = [
        (b"3 PING*072F\n", b"3 OK t=2001*BAF0\n"),  # one byte changed: CRC no longer fits
        (b"3 PING*072F\n", b"3 OK t=2000*BAF0\n"),
    ]
    with expected_protocol(script, first_seq=3, reply_timeout=0.02) as inst:
        assert inst.ping() == 2000
    assert (inst.link.stats.crc_errors, inst.link.stats.retries) == (1, 1)
