"""``celldeck verify-audit``: walk the audit chain of a data folder and say what is
wrong, naming the first bad entry; exit status 0 only when the chain is intact."""

from __future__ import annotations

import sys
from pathlib import Path

from app.store.checks import verify_database
from app.store.db import DB_NAME
from app.store.schema import SchemaError


def verify_audit(data_dir: Path) -> int:
    path = data_dir / DB_NAME
    if not path.exists():
        print(f"no records database in {data_dir}", file=sys.stderr)
        return 2
    try:
        result, _ = verify_database(path, full=True)
    except (SchemaError, OSError) as exc:
        print(f"cannot verify {path}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a damaged file: say so, never a traceback
        print(f"FAILED: {path} cannot be read: {exc}", file=sys.stderr)
        return 1
    if result.ok:
        print(result.message)
        return 0
    print(f"FAILED: {result.message} ({result.count} entries verified before it)")
    return 1
