"""``celldeck verify-audit``: walk the audit chain of a data folder and say what is
wrong, naming the first bad entry; exit status 0 only when the chain is intact.

It checks the seals with the public key stored in the database, so it works away from
the workstation too; where the installation key file is found (``--seal-key``,
``$CELLDECK_SEAL_KEY`` or ``<data folder>/keys/seal.key``) it must be the key the chain
was sealed with. ``--witness`` files (the witness log, an export's manifest.csv, a
batch record PDF) must each name heads that are still in the chain."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing
from pathlib import Path

from app.store.checks import verify_database
from app.store.db import DB_NAME, connect
from app.store.schema import SchemaError
from app.store.seal import Sealer, SealKeyError, db_keys, key_path, load_key
from app.store.witness import check


def add_parser(sub, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "verify-audit",
        parents=parents,
        help="verify the audit trail's hash chain, its seals and witnesses",
    )
    parser.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="FILE",
        help="a witness log, manifest.csv or batch record PDF whose chain heads must still"
        " be in the chain (repeatable)",
    )
    parser.add_argument(
        "--seal-key",
        metavar="FILE",
        help="the installation key file to compare (default: $CELLDECK_SEAL_KEY or"
        " <data folder>/keys/seal.key, if present)",
    )


def verify_audit(
    data_dir: Path, witnesses: list[str] | None = None, seal_key: str | None = None
) -> int:
    path = data_dir / DB_NAME
    if not path.exists():
        print(f"no records database in {data_dir}", file=sys.stderr)
        return 2
    try:
        result, _ = verify_database(path, full=True)
        with closing(connect(path, readonly=True)) as conn:
            keys = set(db_keys(conn))
            problems = [_key_problem(Path(seal_key) if seal_key else key_path(data_dir), keys)]
            for name in witnesses or []:
                problems.append(check(conn, Path(name).read_bytes(), name)[0])
    except (SchemaError, OSError) as exc:
        print(f"cannot verify {path}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a damaged file: say so, never a traceback
        print(f"FAILED: {path} cannot be read: {exc}", file=sys.stderr)
        return 1
    if not result.ok:
        print(f"FAILED: {result.message} ({result.count} entries verified before it)")
        return 1
    problem = next((p for p in problems if p), "")
    if problem:
        print(f"FAILED: {problem}")
        return 1
    print(result.message)
    if result.seal is None:
        print("not sealed: a rewrite of the whole chain would not be detected")
    for name in witnesses or []:
        print(f"witness {name}: every head still in the chain")
    return 0


def _key_problem(path: Path, keys: set[str]) -> str:
    """The key file, where there is one, must be this chain's key."""
    if not path.exists():
        return ""
    try:
        found = Sealer(load_key(path)).fingerprint
    except SealKeyError as exc:
        return str(exc)
    if not keys:
        return (
            f"this database has no seals, but the installation key {path} ({found}) exists:"
            " were its seals removed? (a chain upgraded from a release without seals is"
            " sealed at the console's next start)"
        )
    if found not in keys:
        return (
            "seal key does not match the key this chain was sealed with (fingerprint "
            f"{', '.join(sorted(keys))}; the key file {path} has {found})"
        )
    return ""
