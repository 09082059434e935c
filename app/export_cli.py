"""``celldeck export --data-dir D (--run ID | --batch B) [--pdf FILE] [--csv DIR]
[--user NAME [--password-stdin]]``: the batch record of a run as PDF and CSV without a
screen, the same record review shows. It changes no record, but the export itself is
audited (``record.export``): it names the supervisor or administrator who signed in
with ``--user``, or else the operating-system account that ran it."""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sqlite3
import sys
from pathlib import Path

from app.paths import resolve_data_dir
from app.store.actor import Actor, os_account
from app.store.db import DB_NAME, open_database
from app.store.exports import may_export, record_export
from app.store.run_reads import newest_run_of_batch
from app.store.schema import SchemaError
from app.store.users import AuthError, PermissionDenied, UserService
from app.store.writer import StoreError, StoreWriter
from app.users_cli import Passwords


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    export = sub.add_parser("export", parents=parents, help="export a run's batch record")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", type=int, help="run number")
    which.add_argument("--batch", help="batch ID (its newest run)")
    export.add_argument("--pdf", metavar="FILE", help="write the batch record PDF here")
    export.add_argument("--csv", metavar="DIR", help="write samples.csv and audit.csv here")
    export.add_argument(
        "--user",
        metavar="NAME",
        help="supervisor or administrator who exports (signs in); without it, the "
        "operating-system account is recorded as the exporter",
    )
    export.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )


def _run_id(db: Path, args: argparse.Namespace) -> int:
    if args.run is not None:
        return args.run
    run_id = newest_run_of_batch(db, args.batch)
    if run_id is None:
        raise ValueError(f"no run of batch {args.batch!r}")
    return run_id


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container): the number then
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _exporter(args: argparse.Namespace, db: Path, writer: StoreWriter, run_id: int) -> Actor:
    """Who exports: the person signing in with ``--user`` (refused unless a supervisor
    or administrator, audited), else the operating-system account."""
    if not args.user:
        return os_account(_os_user())
    users = UserService(writer, db)
    session = users.login(args.user, Passwords(args.password_stdin).ask(f"password of {args.user}"))
    if session.must_change_password:
        raise AuthError(f"{args.user} must change their password first (sign in on screen)")
    may_export(users, session, run_id)
    return Actor.of(session)


def run(args: argparse.Namespace) -> int:
    if not args.pdf and not args.csv:
        print("say what to write: --pdf FILE and/or --csv DIR", file=sys.stderr)
        return 2
    db = resolve_data_dir(args.data_dir) / DB_NAME
    if not db.exists():
        print(f"no CellDeck database in {db.parent}", file=sys.stderr)
        return 2
    try:
        db = open_database(db.parent)  # the export's own audit entry is written here
    except (SchemaError, OSError, sqlite3.DatabaseError) as exc:
        print(f"cannot open the records in {db.parent}: {exc}", file=sys.stderr)
        return 2
    writer = StoreWriter(db, socket.gethostname()).start()
    try:
        return _export(args, db, writer)
    except (AuthError, PermissionDenied, StoreError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    finally:
        writer.close()


def _export(args: argparse.Namespace, db: Path, writer: StoreWriter) -> int:
    from app.reports.csv_export import export_audit, export_samples
    from app.review.exceptions import find_exceptions
    from app.review.record import load_run_record

    try:
        run_id = _run_id(db, args)
        actor = _exporter(args, db, writer, run_id)
        record = load_run_record(db, run_id)
    except ValueError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    exceptions = find_exceptions(record)
    done: list[str] = []  # said only once the export is in the audit trail
    written: list[str] = []
    if args.csv:
        folder = Path(args.csv)
        folder.mkdir(parents=True, exist_ok=True)
        samples = export_samples(db, run_id, folder / "samples.csv")
        entries = export_audit(record, folder / "audit.csv")
        done.append(f"wrote {samples} samples and {entries} audit entries to {folder}")
        written.append(f"CSV {folder.resolve()}")
    if args.pdf:
        from app.reports.headless_qt import ensure_gui_application
        from app.reports.pdf import write_pdf
        from app.reports.trend_image import draw_trends
        from app.review.golden_select import band_judgement

        app = ensure_gui_application()
        recipe = f"{record.recipe_name} v{record.recipe_version_no}"
        band = band_judgement(db, run_id, recipe)
        pages = write_pdf(record, exceptions, Path(args.pdf), draw_trends(db, run_id), band)
        done.append(f"wrote {args.pdf}: {pages} pages")
        written.append(f"PDF {Path(args.pdf).resolve()}")
        del app
    record_export(writer, actor, run_id, record.batch_id, "; ".join(written))
    print("\n".join(done))
    print(
        f"run {run_id} batch {record.batch_id}: {record.state}, {len(exceptions)} exception(s); "
        f"audit trail {'verified' if record.chain.ok else 'VERIFICATION FAILED'}; "
        f"exported by {actor.name}"
    )
    return 0 if record.chain.ok else 4
