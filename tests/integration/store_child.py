"""Child process for the crash-safety test: appends audit entries as fast as it can
and prints each entry's id once its call has returned (i.e. once it is on disk)."""

import sys
from pathlib import Path

from app.store.audit import AuditEntry
from app.store.db import open_database
from app.store.writer import StoreWriter


def main() -> None:
    path = open_database(Path(sys.argv[1]))
    writer = StoreWriter(path, "WS-CRASH").start()
    i = 0
    while True:
        i += 1
        entry_id = writer.record(
            AuditEntry("u1", "Ada", "test.append", "counter", str(i), new_value=str(i), reason="r")
        )
        sys.stdout.write(f"{entry_id}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
