"""verify-audit over 1,000,000 sealed entries (target < 10 s). Baseline in the same run:
a bare full scan of the same rows (the floor any verification pays). The chain is sealed
as the console leaves it (a seal every SEAL_SPAN entries, the newest covering the head),
so the figure includes every seal's Ed25519 check and the accounts/runs replay; the
start-up check (from a checkpoint at the head: seals only) is timed too.
Run: python -m tests.benchmarks.bench_audit [N]"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.store.audit import FIELDS, GENESIS, entry_hash
from app.store.checks import save_checkpoint, verify_database
from app.store.db import connect, open_database, utc_now
from app.store.seal import ALGORITHM, SEAL_SPAN, Sealer


def build(path: Path, count: int) -> int:
    """Write a valid chain of ``count`` entries straight into the file (fast path), with
    the seals the writer would have left; returns how many seals."""
    sealer = Sealer(Ed25519PrivateKey.generate())
    conn = connect(path)
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO audit_keys VALUES (?, ?, ?, ?)",
        (sealer.fingerprint, ALGORITHM, sealer.public_raw.hex(), utc_now()),
    )
    seals = []
    prev = GENESIS
    rows = []
    insert = f"INSERT INTO audit ({', '.join(FIELDS)}, hash) VALUES ({', '.join('?' * 15)})"
    for i in range(1, count + 1):
        values = (
            i,
            f"2026-11-27T08:00:{i % 60:02d}.000000Z",
            "+0000 UTC",
            "u7",
            "Ada Operator",
            "setpoint.change",
            "setpoint",
            "temp_sp",
            "37.0",
            "37.5",
            "operator adjustment",
            "WS-01",
            1,
            prev,
        )
        prev = entry_hash(values)
        rows.append((*values, prev))
        if i % SEAL_SPAN == 0 or i == count:
            utc = utc_now()
            seals.append((i, prev, utc, sealer.sign(i, prev, utc), sealer.fingerprint))
        if len(rows) == 50_000:
            conn.executemany(insert, rows)
            rows.clear()
    conn.executemany(insert, rows)
    conn.executemany(
        "INSERT INTO audit_seals (head_id, head_hash, utc, signature, fingerprint)"
        " VALUES (?, ?, ?, ?, ?)",
        seals,
    )
    save_checkpoint(conn, count, prev)
    conn.execute("COMMIT")
    conn.close()
    return len(seals)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = open_database(tmp)
        start = time.perf_counter()
        seals = build(path, count)
        print(
            f"built {count:,} chained entries and {seals:,} seals in "
            f"{time.perf_counter() - start:.1f} s ({path.stat().st_size / 1e6:.0f} MB)"
        )
        conn = connect(path, readonly=True)
        start = time.perf_counter()
        scanned = sum(1 for _ in conn.execute("SELECT * FROM audit ORDER BY id"))
        scan_s = time.perf_counter() - start
        conn.close()
        start = time.perf_counter()
        result, _ = verify_database(path)
        verify_s = time.perf_counter() - start
        start = time.perf_counter()
        startup, _ = verify_database(path, full=False)
        startup_s = time.perf_counter() - start
    assert result.ok and result.count == count == scanned, result.message
    assert result.seal is not None and startup.ok, startup.message
    print(f"  bare scan of all rows : {scan_s:6.2f} s")
    print(f"  verify-audit (sealed) : {verify_s:6.2f} s  ({count / verify_s:,.0f} entries/s)")
    print(f"  ratio verify/scan     : {verify_s / scan_s:.2f}")
    print(f"  start-up check        : {startup_s:6.2f} s  (from a checkpoint; {seals:,} seals)")
    ok = verify_s < 10.0 or count < 1_000_000
    print("PASS (< 10 s)" if ok else "FAIL (>= 10 s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
