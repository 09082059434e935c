"""``celldeck export --data-dir D (--run ID | --batch B) [--pdf FILE] [--csv DIR]``: the
batch record of a run as PDF and CSV without a screen, the same record review shows."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing
from pathlib import Path

from app.paths import resolve_data_dir
from app.store.db import DB_NAME, connect


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    export = sub.add_parser("export", parents=parents, help="export a run's batch record")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", type=int, help="run number")
    which.add_argument("--batch", help="batch ID (its newest run)")
    export.add_argument("--pdf", metavar="FILE", help="write the batch record PDF here")
    export.add_argument("--csv", metavar="DIR", help="write samples.csv and audit.csv here")


def _run_id(db: Path, args: argparse.Namespace) -> int:
    if args.run is not None:
        return args.run
    with closing(connect(db, readonly=True)) as conn:
        row = conn.execute(
            "SELECT id FROM runs WHERE batch_id = ? ORDER BY id DESC LIMIT 1", (args.batch,)
        ).fetchone()
    if row is None:
        raise ValueError(f"no run of batch {args.batch!r}")
    return row[0]


def run(args: argparse.Namespace) -> int:
    if not args.pdf and not args.csv:
        print("say what to write: --pdf FILE and/or --csv DIR", file=sys.stderr)
        return 2
    db = resolve_data_dir(args.data_dir) / DB_NAME
    if not db.exists():
        print(f"no CellDeck database in {db.parent}", file=sys.stderr)
        return 2
    from app.reports.csv_export import export_audit, export_samples
    from app.review.exceptions import find_exceptions
    from app.review.record import load_run_record

    try:
        run_id = _run_id(db, args)
        record = load_run_record(db, run_id)
    except ValueError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    exceptions = find_exceptions(record)
    if args.csv:
        folder = Path(args.csv)
        folder.mkdir(parents=True, exist_ok=True)
        samples = export_samples(db, run_id, folder / "samples.csv")
        entries = export_audit(record, folder / "audit.csv")
        print(f"wrote {samples} samples and {entries} audit entries to {folder}")
    if args.pdf:
        from app.reports.headless_qt import ensure_gui_application
        from app.reports.pdf import write_pdf
        from app.reports.trend_image import draw_trends
        from app.review.golden_select import band_judgement

        app = ensure_gui_application()
        recipe = f"{record.recipe_name} v{record.recipe_version_no}"
        band = band_judgement(db, run_id, recipe)
        pages = write_pdf(record, exceptions, Path(args.pdf), draw_trends(db, run_id), band)
        print(f"wrote {args.pdf}: {pages} pages")
        del app
    print(
        f"run {run_id} batch {record.batch_id}: {record.state}, {len(exceptions)} exception(s); "
        f"audit trail {'verified' if record.chain.ok else 'VERIFICATION FAILED'}"
    )
    return 0 if record.chain.ok else 4
