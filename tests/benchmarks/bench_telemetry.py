"""Telemetry throughput: link+driver against a bare pyserial readline loop.

Both read the same simulator over the same pty at its highest telemetry rate, in the
same run. Target: the driver delivers >= 90 % of the baseline's frames per second, at
>= 200 frames/s of all channels.  Run: make bench  (or python -m tests.benchmarks.bench_telemetry)
"""

from __future__ import annotations

import sys

import serial

from hardware.driver import Instrument
from hardware.link import SerialLink
from hardware.protocol import CHANNEL_NAMES, MAX_TLM_HZ, encode_frame
from hardware.simulator.launcher import SimulatorProcess
from tests.benchmarks.common import measure

SECONDS = 5.0


def bare_readline(url: str) -> tuple[float, float]:
    port = serial.serial_for_url(url, baudrate=115200, timeout=0.1)
    port.write(encode_frame(f"1 TLM {MAX_TLM_HZ:g}"))
    port.reset_input_buffer()

    def work() -> int:
        line = port.readline()
        return 1 if line.startswith(b"T ") else 0

    measure(work, 0.5)  # settle
    result = measure(work, SECONDS)
    port.write(encode_frame("2 TLM 0"))
    port.close()
    return result


def driver_path(url: str) -> tuple[float, float]:
    link = SerialLink(url)
    link.open()
    instrument = Instrument(link)
    instrument.telemetry_rate(MAX_TLM_HZ)

    def work() -> int:
        instrument.poll()
        telemetry, _ = instrument.drain()
        return len(telemetry)

    measure(work, 0.5)  # settle (the first line after opening may be a partial frame)
    crc_before, parse_before = link.stats.crc_errors, instrument.parse_errors
    result = measure(work, SECONDS)
    assert link.stats.crc_errors == crc_before, link.stats.crc_errors
    assert instrument.parse_errors == parse_before, instrument.last_parse_error
    instrument.telemetry_rate(0)
    link.close()
    return result


def main() -> int:
    with SimulatorProcess() as sim:
        base_fps, base_cpu = bare_readline(sim.url)
        drv_fps, drv_cpu = driver_path(sim.url)
        base2_fps, _ = bare_readline(sim.url)  # again, to see drift in the simulator
    baseline = max(base_fps, base2_fps)
    ratio = drv_fps / baseline
    print(f"telemetry frames of all {len(CHANNEL_NAMES)} channels, simulator at {MAX_TLM_HZ:g} Hz")
    print(
        f"  bare pyserial readline : {base_fps:7.1f} frames/s (again: {base2_fps:.1f}), "
        f"CPU {base_cpu:5.1f} %"
    )
    print(f"  link + driver          : {drv_fps:7.1f} frames/s, CPU {drv_cpu:5.1f} %")
    print(f"  ratio driver/baseline  : {ratio:.3f}  (target >= 0.90)")
    print(
        f"  CPU per frame          : baseline {base_cpu / base_fps * 10:.3f} ms, "
        f"driver {drv_cpu / drv_fps * 10:.3f} ms"
    )
    ok = ratio >= 0.90 and drv_fps >= 200
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
