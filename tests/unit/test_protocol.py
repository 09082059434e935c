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
