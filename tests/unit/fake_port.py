"""A scripted stand-in for a pyserial port, in the spirit of PyMeasure's
``expected_protocol``: each written frame must equal the next expected one, and the
scripted answer bytes become readable right after it."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

from hardware.driver import Instrument
from hardware.link import SerialLink


class FakePort:
    def __init__(self, script: Sequence[tuple[bytes | None, bytes]]) -> None:
        self.script = list(script)
        self.incoming = bytearray()
        self.timeout = 0.0
        self.written: list[bytes] = []
        while self.script and self.script[0][0] is None:  # unsolicited bytes up front
            self.incoming += self.script.pop(0)[1]

    @property
    def in_waiting(self) -> int:
        return len(self.incoming)

    def read(self, size: int = 1) -> bytes:
        data = bytes(self.incoming[:size])
        del self.incoming[:size]
        return data

    def write(self, data: bytes) -> int:
        self.written.append(data)
        assert self.script, f"unexpected write {data!r}"
        expected, answer = self.script.pop(0)
        assert data == expected, f"wrote {data!r}, expected {expected!r}"
        self.incoming += answer
        while self.script and self.script[0][0] is None:
            self.incoming += self.script.pop(0)[1]
        return len(data)

    def reset_input_buffer(self) -> None:
        pass

    def close(self) -> None:
        pass


@contextmanager
def expected_protocol(script: Sequence[tuple[bytes | None, bytes]], **kwargs):
    """Yield an Instrument on a FakePort; on exit, every scripted exchange happened."""
    port = FakePort(script)
    link = SerialLink("fake://", opener=lambda url: port)
    link.open()
    kwargs.setdefault("first_seq", 1)
    yield Instrument(link, **kwargs)
    assert not port.script, f"not sent: {port.script[0][0]!r}"
