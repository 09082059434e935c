"""The serial transport: opens any pyserial URL, writes frames, reads CRC-checked payloads.

Works the same with a pty path, ``/dev/ttyUSB0``, ``COM3`` and ``socket://host:port``
because everything goes through ``serial.serial_for_url``. Reads block for at most the
port's timeout (no busy loop) and take whatever bytes are waiting in one call, which is
what makes the link faster than a byte-at-a-time ``readline``.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import serial

from hardware.protocol import MAX_FRAME_BYTES, FrameError, decode_frame, encode_frame

BAUDRATE = 115200
READ_TIMEOUT_S = 0.02


class LinkError(IOError):
    """The port could not be opened, or failed while in use."""


class Port(Protocol):
    """The part of pyserial's Serial API the link uses (a fake one tests the driver)."""

    timeout: float | None

    @property
    def in_waiting(self) -> int: ...
    def read(self, size: int = 1) -> bytes: ...
    def write(self, data: bytes) -> int | None: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


def open_serial(url: str) -> Port:
    """Open a pyserial port for a URL: pty or tty path, COMn, socket://host:port."""
    try:
        return serial.serial_for_url(
            url, baudrate=BAUDRATE, timeout=READ_TIMEOUT_S, write_timeout=1.0
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise LinkError(f"cannot open {url}: {exc}") from exc


@dataclass
class LinkStats:
    """Counters a service engineer reads on the diagnostics screen."""

    frames_in: int = 0
    frames_out: int = 0
    bytes_in: int = 0
    crc_errors: int = 0
    retries: int = 0
    timeouts: int = 0
    reconnects: int = 0
    stale_replies: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))

    def snapshot(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        return {
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "bytes_in": self.bytes_in,
            "crc_errors": self.crc_errors,
            "retries": self.retries,
            "timeouts": self.timeouts,
            "reconnects": self.reconnects,
            "stale_replies": self.stale_replies,
            "latency_ms_median": lat[len(lat) // 2] if lat else None,
            "latency_ms_p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None,
        }


class SerialLink:
    """Frames in and out over one port. Not thread-safe: one owner (the driver)."""

    def __init__(
        self,
        url: str,
        opener: Callable[[str], Port] = open_serial,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` (seconds, monotonic) times ``last_rx``; tests pass a fake one."""
        self.url = url
        self._opener = opener
        self._clock = clock
        self._port: Port | None = None
        self._buffer = bytearray()
        self.stats = LinkStats()
        self.last_rx = 0.0  # clock() of the last good frame

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        self.close()
        self._port = self._opener(self.url)
        try:
            self._port.reset_input_buffer()  # stale bytes from before we (re)opened
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise LinkError(f"cannot use {self.url}: {exc}") from exc
        self._buffer.clear()
        self.last_rx = self._clock()

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def send(self, payload: str) -> None:
        port = self._require_port()
        try:
            port.write(encode_frame(payload))
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"write failed: {exc}") from exc
        self.stats.frames_out += 1

    def receive(self) -> list[str]:
        """Payloads of the good frames that arrive within one read timeout (maybe none).

        Frames with a bad CRC, no CRC, or that are too long are counted and dropped.
        """
        port = self._require_port()
        try:
            waiting = port.in_waiting
            data = port.read(waiting if waiting > 0 else 1)
            if data and waiting == 0:
                more = port.in_waiting
                if more:
                    data += port.read(more)
        except (serial.SerialException, OSError, TypeError) as exc:
            raise LinkError(f"read failed: {exc}") from exc
        if not data:
            return []
        self.stats.bytes_in += len(data)
        self._buffer += data
        payloads: list[str] = []
        start = 0
        buffer = self._buffer
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            line = bytes(buffer[start : end + 1])
            start = end + 1
            try:
                payloads.append(decode_frame(line))
            except FrameError:
                self.stats.crc_errors += 1
        del buffer[:start]
        if len(buffer) > MAX_FRAME_BYTES:  # garbage with no newline in sight
            self.stats.crc_errors += 1
            buffer.clear()
        if payloads:
            self.stats.frames_in += len(payloads)
            self.last_rx = self._clock()
        return payloads

    def _require_port(self) -> Port:
        if self._port is None:
            raise LinkError("port is not open")
        return self._port


def serial_ports() -> list[tuple[str, str]]:
    """(device, description) of every serial port on this workstation, by device name,
    from pyserial's list (it reads the operating system's device list: not on the GUI
    thread)."""
    from serial.tools.list_ports import comports

    ports = ((port.device, port.description or "") for port in comports())
    return sorted((device, "" if text == "n/a" else text) for device, text in ports)
