"""Serves the simulated firmware on a pseudo-terminal or a TCP socket in real time.

Owns everything with a wall clock: pacing instrument time (times ``speed``), the host
watchdog, telemetry at the requested rate, and the link faults (corrupted bytes,
dropped link, slow replies) that act on the bytes themselves.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pty
import random
import select
import socket
import time
import tty
from collections import deque
from typing import IO

from hardware.protocol import MAX_FRAME_BYTES
from hardware.simulator.firmware import Firmware

MAX_LINE = MAX_FRAME_BYTES
MAX_BACKLOG = 8 * 1024 * 1024  # bytes queued for a host that is not reading
PHYSICS_TICK_S = 0.01
MAX_LAG_S = 0.05
STALE_OUTPUT_S = 1.0  # output a host has not read for this long is thrown away


class Transport:
    """A byte pipe to one host: non-blocking, with a file descriptor to select on."""

    url: str

    def fileno(self) -> int: ...
    def read(self) -> bytes: ...
    def write(self, data: bytes) -> int: ...
    def poll_accept(self) -> bool:
        """Accept a waiting host (sockets only); True when a new host arrived."""
        return False

    def close(self) -> None: ...


class PtyTransport(Transport):
    """The master side of a pty; the host opens the slave path like a serial port.

    The simulator keeps the slave open itself so that a host closing and reopening
    the port (a reconnect) never hangs up the master side.
    """

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.url = os.ttyname(self.slave)

    def fileno(self) -> int:
        return self.master

    def read(self) -> bytes:
        try:
            return os.read(self.master, 65536)
        except BlockingIOError:
            return b""
        except OSError as exc:  # EIO while no host has the port open
            if exc.errno == errno.EIO:
                return b""
            raise

    def write(self, data: bytes) -> int:
        try:
            return os.write(self.master, data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as exc:
            if exc.errno == errno.EIO:
                return len(data)  # nobody listening: the bytes fall on the floor
            raise

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class TcpTransport(Transport):
    """One host at a time on 127.0.0.1:PORT; a new connection replaces the old one."""

    def __init__(self, port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.setblocking(False)
        self.url = f"socket://127.0.0.1:{self.listener.getsockname()[1]}"
        self.client: socket.socket | None = None

    def fileno(self) -> int:
        return self.client.fileno() if self.client else self.listener.fileno()

    def poll_accept(self) -> bool:
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return False
        if self.client:
            self.client.close()
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client = conn
        return True

    def read(self) -> bytes:
        if not self.client:
            return b""
        try:
            data = self.client.recv(65536)
        except BlockingIOError:
            return b""
        except OSError:
            data = b""
        if not data:
            self.client.close()
            self.client = None
        return data

    def write(self, data: bytes) -> int:
        if not self.client:
            return len(data)
        try:
            return self.client.send(data)
        except BlockingIOError:
            return 0
        except OSError:
            self.client.close()
            self.client = None
            return len(data)

    def close(self) -> None:
        if self.client:
            self.client.close()
        self.listener.close()


class SimulatorServer:
    """Runs the firmware against a transport until ``stop`` is set."""

    def __init__(
        self,
        firmware: Firmware,
        transport: Transport,
        speed: float = 1.0,
        tx_log: IO[str] | None = None,
        reset_after_s: float | None = None,
        parent_pid: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.fw = firmware
        self.transport = transport
        self.speed = speed
        self.tx_log = tx_log
        self.rng = random.Random(seed)
        self.parent_pid = parent_pid
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.delayed: deque[tuple[float, list[bytes]]] = deque()
        self.stop = False
        start = time.monotonic()
        self.reset_at = start + reset_after_s if reset_after_s is not None else None
        self.drop_until = 0.0
        self.last_drain = time.monotonic()

    # ------------------------------------------------------------------ loop
    def run(self) -> None:
        last = time.monotonic()
        next_tlm = last
        tlm_hz = self.fw.tlm_hz
        while not self.stop:
            now = time.monotonic()
            # At most MAX_LAG_S of real time per pass: an overloaded simulator falls behind
            # real time instead of spiralling (and still answers the host and SIGTERM).
            self.fw.advance(min(now - last, MAX_LAG_S) * self.speed)
            last = now
            self.fw.check_watchdog(now)
            self._link_fault_timers(now)
            if self.reset_at is not None and now >= self.reset_at:
                self.reset_at = None
                self.fw.reset_requested = True
            if self.fw.reset_requested:
                self.fw.power_on("reset")
            if self.fw.tlm_hz != tlm_hz:  # new rate (or reboot): the next frame is due soon
                tlm_hz = self.fw.tlm_hz
                if tlm_hz > 0:
                    next_tlm = min(next_tlm, now + 1.0 / tlm_hz)
            if self.fw.tlm_hz > 0:
                if now >= next_tlm:
                    self.send([self.fw.telemetry_frame()])
                    period = 1.0 / self.fw.tlm_hz
                    next_tlm = next_tlm + period if now - next_tlm < period else now + period
            else:
                next_tlm = now + 0.05
            self.send(self.fw.take_output())
            while self.delayed and self.delayed[0][0] <= now:
                self.send(self.delayed.popleft()[1])
            self._flush()
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                break
            deadline = min(next_tlm, now + PHYSICS_TICK_S)
            if self.delayed:
                deadline = min(deadline, self.delayed[0][0])
            self._wait_and_read(max(0.0, deadline - time.monotonic()))
        self._flush()

    def _link_fault_timers(self, now: float) -> None:
        delay = self.fw.link_faults.pop("reset", None)
        if delay is not None:
            self.fw.faults.pop("reset", None)
            self.reset_at = now + delay
        drop = self.fw.link_faults.pop("drop", None)
        if drop is not None:
            self.fw.faults.pop("drop", None)
            self._flush()  # the reply to FAULT goes out before the line goes quiet
            self.drop_until = now + drop

    def _wait_and_read(self, timeout: float) -> None:
        if self.transport.poll_accept():  # a new host starts with nothing of the old one's
            self.inbuf.clear()
            self.outbuf.clear()
            self.delayed.clear()
        writable = [self.transport.fileno()] if self.outbuf else []
        try:
            ready, _, _ = select.select([self.transport.fileno()], writable, [], timeout)
        except (OSError, ValueError):
            return
        if not ready:
            return
        data = self.transport.read()
        if not data or time.monotonic() < self.drop_until:
            return
        self.inbuf += data
        while True:
            newline = self.inbuf.find(b"\n")
            if newline < 0:
                if len(self.inbuf) > MAX_LINE:
                    self.fw.frames_bad += 1
                    self.inbuf.clear()
                return
            line = bytes(self.inbuf[: newline + 1])
            del self.inbuf[: newline + 1]
            self._handle(line)

    def _handle(self, line: bytes) -> None:
        now = time.monotonic()
        replies = self.fw.handle_line(line, now)
        if not replies:
            return
        self.send(self.fw.take_output())  # events raised by the command go first
        delay_ms = self.fw.link_faults.get("slow", 0.0)
        if delay_ms > 0:
            self.delayed.append((now + delay_ms / 1000.0, replies))
        else:
            self.send(replies)
        if self.fw.reset_requested:
            self._flush()
            self.fw.power_on("reset")

    # ------------------------------------------------------------------ output
    def send(self, frames: list[bytes]) -> None:
        if not frames:
            return
        if self.tx_log:
            for frame in frames:
                self.tx_log.write(frame.decode("ascii"))
        if time.monotonic() < self.drop_until:
            return
        data = b"".join(frames)
        fraction = self.fw.link_faults.get("corrupt", 0.0)
        if fraction > 0:
            data = self._corrupt(data, fraction)
        self.outbuf += data
        if len(self.outbuf) > MAX_BACKLOG:
            del self.outbuf[: len(self.outbuf) - MAX_BACKLOG]

    def _corrupt(self, data: bytes, fraction: float) -> bytes:
        out = bytearray(data)
        for i in range(len(out)):
            if self.rng.random() < fraction:
                out[i] ^= self.rng.randint(1, 255)
        return bytes(out)

    def _flush(self) -> None:
        now = time.monotonic()
        if not self.outbuf:
            self.last_drain = now
        while self.outbuf:
            written = self.transport.write(bytes(self.outbuf[:65536]))
            if written <= 0:
                if now - self.last_drain > STALE_OUTPUT_S:
                    self.outbuf.clear()  # nobody is reading: a later host must not get it
                return
            self.last_drain = now
            del self.outbuf[:written]
