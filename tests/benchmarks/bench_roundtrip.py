"""Command round trip over the pty: PING through link+driver, median and p99, with
telemetry flowing at 10 Hz as in a run; a bare pyserial write/readline PING measured
in the same run is the baseline. Target: p99 < 20 ms.
Run: make bench  (or python -m tests.benchmarks.bench_roundtrip)
"""

from __future__ import annotations

import statistics
import sys
import time

import serial

from hardware.driver import Instrument
from hardware.link import SerialLink
from hardware.protocol import encode_frame
from hardware.simulator.launcher import SimulatorProcess

COUNT = 2000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def bare(url: str) -> list[float]:
    port = serial.serial_for_url(url, baudrate=115200, timeout=1.0)
    port.write(encode_frame("1 TLM 0"))
    time.sleep(0.2)
    port.reset_input_buffer()
    times = []
    for i in range(COUNT):
        seq = i % 60000 + 2
        start = time.perf_counter()
        port.write(encode_frame(f"{seq} PING"))
        line = port.readline()
        times.append((time.perf_counter() - start) * 1000.0)
        assert line.startswith(f"{seq} OK".encode()), line
    port.close()
    return times


def driver(url: str) -> list[float]:
    link = SerialLink(url)
    link.open()
    instrument = Instrument(link)
    instrument.telemetry_rate(10)
    times = []
    for _ in range(COUNT):
        start = time.perf_counter()
        instrument.ping()
        times.append((time.perf_counter() - start) * 1000.0)
        instrument.drain()
    instrument.telemetry_rate(0)
    link.close()
    return times


def main() -> int:
    with SimulatorProcess() as sim:
        base = bare(sim.url)
        drv = driver(sim.url)
    b50, b99 = statistics.median(base), percentile(base, 0.99)
    d50, d99 = statistics.median(drv), percentile(drv, 0.99)
    print(f"PING round trip over a pty, {COUNT} each")
    print(f"  bare pyserial (no telemetry) : median {b50:6.3f} ms  p99 {b99:6.3f} ms")
    print(
        f"  link + driver (10 Hz tlm)    : median {d50:6.3f} ms  p99 {d99:6.3f} ms  "
        f"max {max(drv):.3f} ms"
    )
    print(f"  ratio driver/bare            : median {d50 / b50:.2f}  p99 {d99 / b99:.2f}")
    ok = d99 < 20.0
    print("PASS (p99 < 20 ms)" if ok else "FAIL (p99 >= 20 ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
