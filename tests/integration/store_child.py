"""Child process for the crash-safety test: appends audit entries and telemetry
samples as fast as it can, printing "A <id>" / "S <t_ms>" once each call has returned
(i.e. once it is on disk)."""

import sys
from pathlib import Path

import numpy as np

from app.store.audit import AuditEntry
from app.store.db import open_database
from app.store.historian import Historian
from app.store.writer import StoreWriter
from hardware.protocol import CHANNEL_NAMES


def main() -> None:
    path = open_database(Path(sys.argv[1]))
    writer = StoreWriter(path, "WS-CRASH").start()
    run_id = writer.call(
        lambda ctx: (
            ctx.conn.execute(
                "INSERT INTO runs (batch_id, started_utc, state) VALUES ('CRASH', 'now', 'RUNNING')"
            ).lastrowid
        )
    )
    historian = Historian()
    i = 0
    while True:
        i += 1
        entry_id = writer.record(
            AuditEntry("u1", "Ada", "test.append", "counter", str(i), new_value=str(i), reason="r")
        )
        sys.stdout.write(f"A {entry_id}\n")
        t = np.arange(i * 10, i * 10 + 10, dtype=np.int64) * 100
        values = np.full((10, len(CHANNEL_NAMES)), float(i))
        batch = (np.ones(10, dtype=np.int32), t, t / 1000.0, values)
        writer.call(lambda ctx, b=batch: historian.ingest(ctx.conn, run_id, *b))
        sys.stdout.write(f"S {int(t[-1])} {run_id}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
