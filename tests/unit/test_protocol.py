"""Framing, CRC and message parsing: round trips and hypothesis fuzzing."""

import binascii
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.protocol import (
    CHANNEL_NAMES,
    Command,
    Event,
    FrameError,
    ParseError,
    Reply,
    Telemetry,
    crc16,
    decode_frame,
    encode_frame,
    parse_command,
    parse_message,
    telemetry_payload,
)


def test_crc_is_ccitt_false():
    # The standard check value of CRC-16/CCITT-FALSE over "123456789".
    assert crc16(b"123456789") == 0x29B1
    assert crc16(b"123456789") == binascii.crc_hqx(b"123456789", 0xFFFF)


def test_frame_layout():
    assert encode_frame("1 PING") == b"1 PING*%04X\n" % crc16(b"1 PING")


def test_command_round_trip():
    command = Command(42, "SET", ("temp_sp", "37.5"))
    assert parse_command(decode_frame(encode_frame(command.payload()))) == command


def test_reply_round_trip():
    for reply in (
        Reply(7, True, ("a=1", "b=two")),
        Reply(8, False, code="RANGE", message="temp_sp 99 outside 4..39"),
    ):
        assert parse_message(decode_frame(encode_frame(reply.payload()))) == reply


def test_telemetry_and_history_round_trip():
    values = tuple(float(i) + 0.5 for i in range(len(CHANNEL_NAMES)))
    live = parse_message(telemetry_payload(1234, values))
    assert live == Telemetry(1234, values)
    history = parse_message(telemetry_payload(5000, values, history_seq=9))
    assert history == Telemetry(5000, values, history_seq=9)


def test_event_round_trip():
    event = Event(99, "INTERLOCK", {"name": "DOOR", "state": "ON"})
    assert parse_message(decode_frame(encode_frame(event.payload()))) == event


@pytest.mark.parametrize(
    "line",
    [b"1 PING\n", b"1 PING*ZZZZ\n", b"1 PING*0000\n", b"*\n", b"", b"1 PING*abcd\n"],
)
def test_bad_frames_are_refused(line):
    with pytest.raises(FrameError):
        decode_frame(line)


def test_lower_case_crc_is_refused():
    frame = encode_frame("1 PING").decode()
    payload, crc = frame.rstrip("\n").split("*")
    if crc.upper() != crc.lower():
        with pytest.raises(FrameError):
            decode_frame(f"{payload}*{crc.lower()}\n".encode())


def test_crc_field_must_be_four_upper_case_hex_digits():
    frame = encode_frame("1 PING").decode()
    crc = frame[-5:-1]
    for bad in (f"+{crc[1:]}", f" {crc[1:]}", crc[:2] + "_" + crc[3:]):
        with pytest.raises(FrameError):
            decode_frame(f"1 PING*{bad}\n".encode())


@pytest.mark.parametrize("payload", ["0 PING", "65536 PING", "x PING", "1", "-1 PING", "1 "])
def test_bad_commands_are_refused(payload):
    with pytest.raises(ParseError):
        parse_command(payload)


def test_telemetry_must_name_every_channel_in_order():
    values = [1.0] * len(CHANNEL_NAMES)
    good = telemetry_payload(1, values)
    with pytest.raises(ParseError):
        parse_message(good.rsplit(" ", 1)[0])  # one channel missing
    swapped = good.replace("temp=", "tmp=", 1)
    with pytest.raises(ParseError):
        parse_message(swapped)
    with pytest.raises(ParseError):
        parse_message(good.replace("ph=1", "ph=nan"))


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_decode_frame_never_escapes(data):
    try:
        payload = decode_frame(data)
    except FrameError:
        return
    with contextlib.suppress(ParseError):
        parse_message(payload)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200))
def test_fuzz_parse_message_only_raises_parse_error(text):
    text = text.replace("*", "")
    try:
        message = parse_message(text)
    except ParseError:
        return
    assert isinstance(message, Reply | Telemetry | Event)


@settings(max_examples=2000, deadline=None)
@given(st.data())
def test_fuzz_single_byte_corruption_is_always_detected(data):
    frame = bytearray(encode_frame(telemetry_payload(123456, [36.987] * len(CHANNEL_NAMES))))
    index = data.draw(st.integers(0, len(frame) - 2))
    flip = data.draw(st.integers(1, 255))
    frame[index] ^= flip
    with pytest.raises(FrameError):
        decode_frame(bytes(frame))


# --------------------------------------------------------------------------- golden frames
# Literal frames with their CRC written out, never built by the code under test: the
# example exchanges of docs/protocol.md §3 (real firmware output). The comment beside
# each says where its CRC comes from; test_golden_crcs_are_ccitt_false recomputes them
# independently with binascii.crc_hqx(payload, 0xFFFF), but every other assertion is
# against the literal bytes.
GOLDEN_T = (
    b"T 1000 temp=22.1217 temp_sp=37.5 heater=100 ph=7.4628 do=100.3398 co2=4.9863 co2_sp=5"
    b" pressure=11.7585 rpm=0 rpm_sp=0 vcd=1.0167 w_source=94.9274 w_media=999.9432"
    b" w_buffer=500.0094 w_waste=0.0012 w_product=0.0482 w_chamber=5.0634 p1_rate=0"
    b" p1_vol=5 p2_rate=0 p2_vol=0 valves=0 bubble=0 door=0 ilk=0 state=0*93A3\n"
)
GOLDEN_T_VALUES = (
    22.1217, 37.5, 100, 7.4628, 100.3398, 4.9863, 5, 11.7585, 0, 0, 1.0167, 94.9274,
    999.9432, 500.0094, 0.0012, 0.0482, 5.0634, 0, 5, 0, 0, 0, 0, 0, 0, 0,
)  # fmt: skip
GOLDEN_H = (
    b"H 22 1000 temp=22.0314 temp_sp=37 heater=100 ph=7.4005 do=99.7679 co2=4.9782 co2_sp=5"
    b" pressure=10.0157 rpm=0 rpm_sp=0 vcd=0 w_source=99.9489 w_media=999.9282 w_buffer=500.01"
    b" w_waste=0.0067 w_product=0.0273 w_chamber=-0.0457 p1_rate=0 p1_vol=0 p2_rate=0 p2_vol=0"
    b" valves=0 bubble=0 door=0 ilk=0 state=0*E6BA\n"
)
GOLDEN_COMMANDS = [  # host -> instrument: (typed command, literal frame)
    (Command(1, "PING"), b"1 PING*8C6F\n"),  # crc_hqx(b"1 PING", 0xFFFF) == 0x8C6F
    (Command(3, "PING"), b"3 PING*072F\n"),  # crc_hqx(b"3 PING", 0xFFFF) == 0x072F
    (Command(1, "IDN?"), b"1 IDN?*D971\n"),  # 0xD971
    (Command(9, "SET", ("temp_sp", "37.5")), b"9 SET temp_sp 37.5*2B3A\n"),  # 0x2B3A
    (Command(13, "VALVE", ("source", "OPEN")), b"13 VALVE source OPEN*7025\n"),  # 0x7025
    (Command(15, "PUMP", ("1", "60", "5")), b"15 PUMP 1 60 5*C1B0\n"),  # 0xC1B0
    (Command(20, "TLM", ("10",)), b"20 TLM 10*3F60\n"),  # 0x3F60
    (Command(22, "HIST?", ("1000", "2000")), b"22 HIST? 1000 2000*7834\n"),  # 0x7834
    (Command(52, "EVT?", ("2", "3")), b"52 EVT? 2 3*0008\n"),  # 0x0008: leading zeros kept
    (Command(56, "RESET"), b"56 RESET*9E42\n"),  # 0x9E42
]
GOLDEN_MESSAGES = [  # instrument -> host: (typed message, literal frame)
    (Reply(3, True, ("t=2000",)), b"3 OK t=2000*BAF0\n"),  # 0xBAF0
    (Reply(22, True, ("count=2", "oldest=1000")), b"22 OK count=2 oldest=1000*AAA9\n"),  # 0xAAA9
    (
        Reply(10, False, code="RANGE", message="co2_sp 25 outside 0..20"),
        b"10 ERR RANGE co2_sp 25 outside 0..20*B739\n",  # 0xB739
    ),
    (
        Event(0, "BOOT", {"n": "1", "boot": "1", "reason": "power-on"}),
        b"E 0 BOOT n=1 boot=1 reason=power-on*CDE2\n",  # 0xCDE2
    ),
    (Event(7000, "STATE", {"n": "3", "state": "SAFE"}), b"E 7000 STATE n=3 state=SAFE*3B3D\n"),
    (
        Event(7000, "INTERLOCK", {"n": "7", "name": "DOOR", "state": "ON"}),
        b"E 7000 INTERLOCK n=7 name=DOOR state=ON*6494\n",  # 0x6494
    ),
    (Telemetry(1000, GOLDEN_T_VALUES), GOLDEN_T),  # 0x93A3
]
GOLDEN_FRAMES = [frame for _, frame in GOLDEN_COMMANDS + GOLDEN_MESSAGES] + [GOLDEN_H]


@pytest.mark.parametrize("frame", GOLDEN_FRAMES)
def test_golden_crcs_are_ccitt_false(frame):
    """Documents the literal CRCs: an independent computation agrees with each one."""
    payload, crc = frame[:-6], frame[-5:-1]
    assert b"%04X" % binascii.crc_hqx(payload, 0xFFFF) == crc


@pytest.mark.parametrize(("command", "frame"), GOLDEN_COMMANDS)
def test_commands_encode_to_their_golden_frames(command, frame):
    assert encode_frame(command.payload()) == frame
    assert parse_command(decode_frame(frame)) == command


@pytest.mark.parametrize(("message", "frame"), GOLDEN_MESSAGES)
def test_instrument_messages_decode_from_their_golden_frames(message, frame):
    assert parse_message(decode_frame(frame)) == message
    if isinstance(message, Telemetry):
        assert encode_frame(telemetry_payload(message.t_ms, message.values)) == frame
    else:
        assert encode_frame(message.payload()) == frame


def test_golden_telemetry_and_history_lines():
    live = parse_message(decode_frame(GOLDEN_T))
    assert live.t_ms == 1000 and live.history_seq == 0
    assert dict(zip(CHANNEL_NAMES, live.values, strict=True))["p1_vol"] == 5
    history = parse_message(decode_frame(GOLDEN_H))
    assert (history.history_seq, history.t_ms) == (22, 1000)
    assert history.values[CHANNEL_NAMES.index("w_chamber")] == -0.0457
    assert encode_frame(telemetry_payload(1000, history.values, history_seq=22)) == GOLDEN_H


@pytest.mark.parametrize("frame", GOLDEN_FRAMES)
def test_golden_frames_with_any_one_byte_changed_are_refused(frame):
    """Every position of payload, '*' and CRC: a different printable byte, or one bit
    flipped, makes the frame a FrameError (never another valid payload)."""
    for index in range(len(frame) - 1):  # not the newline
        for changed in (frame[index] ^ 0x01, ord("#") if frame[index] != ord("#") else 0x21):
            bad = frame[:index] + bytes([changed]) + frame[index + 1 :]
            with pytest.raises(FrameError):
                decode_frame(bad)
