"""Crash safety: a writer killed with SIGKILL at random moments loses no acknowledged
audit entry or sample, and leaves a chain that verifies and a file that passes
integrity_check."""

import os
import random
import signal
import subprocess
import sys
import time

from app.store.checks import verify_database
from app.store.db import DB_NAME, connect

TRIALS = 20


def test_sigkill_loses_no_acknowledged_entry(tmp_path):
    rng = random.Random(2026)
    acknowledged_total = 0
    for trial in range(TRIALS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.store_child", str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = child.stdout.readline()  # writing has begun
        assert first.startswith("A "), child.stderr.read()
        time.sleep(rng.uniform(0.0, 0.3))  # a random moment mid-stream
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=10)
        lines = [line.split() for line in [first, *out.splitlines()]]
        acknowledged = [int(p[1]) for p in lines if len(p) == 2 and p[0] == "A"]
        samples = [(int(p[2]), int(p[1])) for p in lines if len(p) == 3 and p[0] == "S"]
        conn = connect(tmp_path / DB_NAME, readonly=True)
        stored = {r[0] for r in conn.execute("SELECT id FROM audit")}
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        for run_id, t_inst in samples:
            assert conn.execute(
                "SELECT 1 FROM samples WHERE run_id = ? AND t_inst = ?", (run_id, t_inst)
            ).fetchone(), f"trial {trial}: acknowledged sample {t_inst} lost"
        conn.close()
        missing = set(acknowledged) - stored
        assert not missing, f"trial {trial}: acknowledged but lost: {sorted(missing)[:5]}"
        assert integrity == "ok"
        result, _ = verify_database(tmp_path / DB_NAME)
        assert result.ok, result.message
        acknowledged_total += len(acknowledged)
    assert acknowledged_total > TRIALS * 5
