"""Service mode through the Instrument driver and its typed commands, byte for byte."""

import pytest

from hardware.commands import (
    EnterServiceState,
    LeaveServiceState,
    ReadRaw,
    WriteCalibration,
)
from hardware.driver import InstrumentError, RawReading
from hardware.protocol import encode_frame
from hardware.simulator.firmware import Firmware
from tests.unit.fake_port import expected_protocol


def f(payload: str) -> bytes:
    return encode_frame(payload)


def test_service_raw_and_calibration_frames():
    script = [
        (f("1 SERVICE ON"), f("E 5000 STATE n=2 state=SERVICE") + f("1 OK state=SERVICE")),
        (f("2 RAW? ph"), f("2 OK name=ph counts=34013 raw=7.2661 value=7.2661")),
        (f("3 CAL ph 1.0125 -0.0891"), f("3 OK name=ph gain=1.0125 offset=-0.0891")),
        (f("4 SERVICE OFF"), f("E 5000 STATE n=3 state=READY") + f("4 OK state=READY")),
        (f("5 SERVICE OFF"), f("5 OK state=READY")),
    ]
    with expected_protocol(script) as inst:
        assert inst.service(True) == "SERVICE"
        assert inst.raw("ph") == RawReading("ph", 34013, 7.2661, 7.2661)
        inst.set_calibration("ph", 1.0125, -0.0891)
        assert inst.service(False) == "READY"
        assert inst.service(False) == "READY"
        _, events = inst.drain()
    assert [e.data["state"] for e in events] == ["SERVICE", "READY"]


def test_calibration_outside_service_raises_state_error():
    script = [(f("1 CAL temp 1 -0.4"), f("1 ERR STATE calibration needs service state"))]
    with expected_protocol(script) as inst, pytest.raises(InstrumentError) as info:
        inst.set_calibration("temp", 1, -0.4)
    assert info.value.code == "STATE"


def test_raw_errors_and_malformed_replies():
    script = [
        (f("1 RAW? rpm"), f("1 ERR BADARG rpm has no raw reading")),
        (f("2 RAW? ph"), f("2 OK name=ph counts=many raw=7 value=7")),
        (f("3 SERVICE ON"), f("3 OK")),
    ]
    with expected_protocol(script) as inst:
        with pytest.raises(InstrumentError) as info:
            inst.raw("rpm")
        assert info.value.code == "BADARG"
        with pytest.raises(InstrumentError) as info:
            inst.raw("ph")
        assert info.value.code == "BADREPLY"
        with pytest.raises(InstrumentError) as info:
            inst.service(True)
        assert info.value.code == "BADREPLY"


def test_typed_service_commands():
    script = [
        (f("1 SERVICE ON"), f("1 OK state=SERVICE")),
        (f("2 RAW? w_media"), f("2 OK name=w_media counts=25699 raw=1899.9 value=1899.9")),
        (f("3 CAL w_media 1.25 -50"), f("3 OK name=w_media gain=1.25 offset=-50")),
        (f("4 SERVICE OFF"), f("4 OK state=READY")),
        (f("5 SERVICE OFF"), f("5 OK state=SAFE")),
    ]
    with expected_protocol(script) as inst:
        assert EnterServiceState().run(inst) == "service state entered"
        assert ReadRaw("w_media").run(inst) == "w_media: 25699 counts, raw 1899.9, value 1899.9"
        assert WriteCalibration("w_media", 1.25, -50).run(inst) == "w_media gain 1.25 offset -50"
        assert LeaveServiceState().run(inst) == "service state left"
        assert LeaveServiceState().run(inst) == "not in service state (SAFE)"
    assert EnterServiceState.label == "service state"
    assert LeaveServiceState.label == "leave service state"
    assert ReadRaw.label == "raw reading"


def test_read_raw_checks_its_channel():
    with pytest.raises(ValueError, match="has no raw reading"):
        ReadRaw("rpm")


class FirmwarePort:
    """A port wired straight to an in-process Firmware (answers as the simulator would)."""

    def __init__(self, fw: Firmware) -> None:
        self.fw = fw
        self.incoming = bytearray()
        self.timeout = 0.0

    @property
    def in_waiting(self) -> int:
        return len(self.incoming)

    def read(self, size: int = 1) -> bytes:
        data = bytes(self.incoming[:size])
        del self.incoming[:size]
        return data

    def write(self, data: bytes) -> int:
        for frame in self.fw.handle_line(data):
            self.incoming += frame
        for frame in self.fw.take_output():
            self.incoming += frame
        return len(data)

    def reset_input_buffer(self) -> None:
        self.incoming.clear()

    def close(self) -> None:
        pass


def test_driver_against_the_firmware_two_point_ph_calibration():
    """A pH two-point calibration as the service wizard would run it."""
    from hardware.driver import Instrument
    from hardware.link import SerialLink

    fw = Firmware(seed=1)
    link = SerialLink("fw://", opener=lambda url: FirmwarePort(fw))
    link.open()
    inst = Instrument(link, first_seq=1)
    inst.fault("noise=0")
    inst.fault("ph-slope=0.95")
    with pytest.raises(InstrumentError):
        inst.set_calibration("ph", 1, 0)
    assert inst.service(True) == "SERVICE"
    inst.fault("probe-ph=7")
    raw7 = inst.raw("ph").raw
    inst.fault("probe-ph=4.01")
    raw4 = inst.raw("ph").raw
    gain = (7.0 - 4.01) / (raw7 - raw4)
    inst.set_calibration("ph", gain, 7.0 - gain * raw7)
    inst.fault("probe-ph=10.01")
    assert inst.raw("ph").value == pytest.approx(10.01, abs=1e-3)
    assert inst.calibration("ph")[0] == pytest.approx(1 / 0.95, abs=1e-4)
    inst.clear_fault()
    assert inst.service(False) == "READY"
