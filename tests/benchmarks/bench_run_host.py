"""Run host benchmark (issue #9): what the live analytics cost the hardware thread.

A CAR-T-like run (the demo recipe, whose engine waits while samples flow) is fed 2 days
of 1 Hz telemetry in batches of 10, as the connection delivers it, growing cells with
a 30 h doubling time: once with the analytics off (the baseline: engine, historian
recorder, status) and once with them on (24 h and 6 h kinetics, harvest prediction,
the watch against a golden band of six channels, the alarms), in the same run. Prints
microseconds per sample for each and the ratio; the analytics must stay a small part
of a sample's cost (target: under 10 µs a sample added, so a 10 Hz instrument spends
under 0.01 % of the thread on them).
Run: python -m tests.benchmarks.bench_run_host
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.analytics import DEFAULT_BAND_SPECS, RunSeries, build_golden, golden_to_json
from app.batch.host import RunHost
from app.batch.library import RecipeLibrary
from app.batch.recipe import load_recipe_file
from app.records import DEMO_PASSWORD, Records
from app.store.actor import SYSTEM
from app.store.golden import GoldenStore
from hardware.connection import LinkState, Sample
from hardware.driver import Identity
from hardware.protocol import CHANNEL_INDEX, CHANNEL_NAMES

DEMO = Path(__file__).parents[2] / "resources" / "recipes" / "demo.toml"
HOURS = 48.0
BATCH = 10
READY = {"door": 0.0, "state": 0.0, "ilk": 0.0, "temp_sp": 37.0, "co2_sp": 5.0}


def samples() -> list[list[Sample]]:
    t = np.arange(0.0, HOURS * 3600.0)
    rng = np.random.default_rng(1)
    columns = np.zeros((len(t), len(CHANNEL_NAMES)))
    for name, value in READY.items():
        columns[:, CHANNEL_INDEX[name]] = value
    columns[:, CHANNEL_INDEX["temp"]] = 37.0 + 0.05 * rng.standard_normal(len(t))
    columns[:, CHANNEL_INDEX["ph"]] = 7.2 + 0.01 * rng.standard_normal(len(t))
    columns[:, CHANNEL_INDEX["do"]] = 60.0 + rng.standard_normal(len(t))
    columns[:, CHANNEL_INDEX["w_chamber"]] = 100.0
    grown = 0.5 * 2.0 ** (t / 3600.0 / 30.0)
    columns[:, CHANNEL_INDEX["vcd"]] = grown * (1 + 0.02 * rng.standard_normal(len(t)))
    rows = [
        Sample(int(s * 1000), tuple(row), 1.7e9 + s, 1, False)
        for s, row in zip(t, columns.tolist(), strict=True)
    ]
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def band_json() -> str:
    """A band of the six default channels around the benchmark's own run."""
    t = np.arange(0.0, HOURS * 3600.0, 600.0)
    channels = {
        "temp": (t, np.full(len(t), 37.0)),
        "ph": (t, np.full(len(t), 7.2)),
        "do": (t, np.full(len(t), 60.0)),
        "vcd": (t, 0.5 * 2.0 ** (t / 3600.0 / 30.0)),
        "log10_fold": (t, np.log10(2.0 ** (t / 3600.0 / 30.0))),
        "mu_h": (t, np.full(len(t), np.log(2) / 30.0)),
    }
    runs = [RunSeries(f"r{k}", channels) for k in range(3)]
    return golden_to_json(build_golden(runs, DEFAULT_BAND_SPECS, align_steps=False))


def feed(folder: Path, batches: list[list[Sample]], analytics: bool) -> float:
    """Seconds spent in on_samples over the whole feed."""
    records = Records.open(folder, demo=True)
    try:
        host = RunHost(records, lambda command: "ok")
        host.identity = Identity("CD-1000", "SIM-0001", "1.0.0", "CART-STD-0001", 1, 0)
        host.link, host.values = LinkState.CONNECTED, dict(READY)
        supervisor = records.users.login("supervisor", DEMO_PASSWORD)
        library = RecipeLibrary(records.users, records.signatures, records.path)
        version = library.import_recipe(load_recipe_file(DEMO), SYSTEM)
        library.approve(supervisor, DEMO_PASSWORD, version.id, username="supervisor")
        if analytics:
            GoldenStore(records.writer, records.path, records.users).record(
                supervisor, DEMO_PASSWORD, version.id, (1, 2, 3), band_json(), "bench"
            )
        host.start(records.users.login("operator", DEMO_PASSWORD), version.id, "B-1", "B-1")
        if not analytics:
            host.analytics = None
        start = time.perf_counter()
        for batch in batches:
            host.on_samples(batch)
        elapsed = time.perf_counter() - start
        status = host.status()
        if analytics:
            assert status.doubling_h is not None and status.golden is not None
            assert not any(a.tag.startswith("BAND_") for a in status.alarms), status.alarms
        host.close()
        return elapsed
    finally:
        records.close()


def main() -> int:
    batches = samples()
    n = sum(len(b) for b in batches)
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        base = feed(Path(a), batches, analytics=False)
        full = feed(Path(b), batches, analytics=True)
    per_base, per_full = base / n * 1e6, full / n * 1e6
    added = per_full - per_base
    print(f"run host, {n:,} samples ({HOURS:g} h at 1 Hz) in batches of {BATCH}:")
    print(f"  without analytics: {per_base:.1f} µs a sample (baseline)")
    print(f"  with analytics and a golden band: {per_full:.1f} µs a sample")
    print(f"  analytics add {added:.1f} µs a sample, x{per_full / per_base:.2f} the baseline")
    ok = added < 10.0
    print("PASS" if ok else "FAIL: target under 10 µs a sample added")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
