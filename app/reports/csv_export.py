"""CSV copies of a run's record: every telemetry sample (process and instrument time,
UTC, every channel) and every audit entry of the run, for a reviewer's own tools. Beside
``audit.csv``, ``manifest.csv`` names the audit chain head the copy was made at (and its
seal): a witness that ``celldeck verify-audit --witness manifest.csv`` checks later.

Each file starts with PREAMBLE_LINES line(s) beginning with "#": what the file holds,
when it was exported and by which CellDeck (version, commit, build date); then the
column header. Tools skip it (pandas: ``skiprows=PREAMBLE_LINES``). The preamble and the
audit columns are app/review/csv_format.py's, shared with the audit trail export."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from app.review.csv_format import AUDIT_HEADER, audit_cells, preamble
from app.review.record import RunRecordData
from app.store.historian import DTYPE
from app.store.run_reads import raw_samples
from app.store.witness import head_line
from hardware.protocol import CHANNEL_NAMES

CHUNK = 50_000  # samples read at a time: a 14-day run never sits in memory whole


def export_samples(db_path: str | Path, run_id: int, path: Path) -> int:
    """Write the run's samples; returns how many."""
    written = 0
    with path.open("w", newline="") as out:
        out.write(preamble(f"CellDeck run {run_id}: telemetry samples"))
        writer = csv.writer(out)
        writer.writerow(["process_ms", "boot", "instrument_ms", "utc", *CHANNEL_NAMES])
        for rows in raw_samples(db_path, run_id, CHUNK):
            for t_ms, boot, t_inst, utc, vals in rows:
                stamp = datetime.fromtimestamp(utc, UTC).isoformat(timespec="milliseconds")
                values = np.frombuffer(vals, dtype=DTYPE)
                writer.writerow([t_ms, boot, t_inst, stamp, *(f"{v:.10g}" for v in values)])
            written += len(rows)
    return written


def export_audit(record: RunRecordData, path: Path) -> int:
    with path.open("w", newline="") as out:
        out.write(preamble(f"CellDeck run {record.run_id} (batch {record.batch_id}): audit trail"))
        writer = csv.writer(out)
        writer.writerow(AUDIT_HEADER)
        for a in record.audit:
            writer.writerow(audit_cells(a))
    export_manifest(record, path)
    return len(record.audit)


def export_manifest(record: RunRecordData, audit_csv: Path) -> Path:
    """``manifest.csv`` beside ``audit_csv``: the chain head (id, hash, seal, key) the
    record was verified at, and the SHA-256 of the audit copy."""
    chain, seal = record.chain, record.chain.seal
    rows = [
        ("head_id", chain.head_id),
        ("head_hash", chain.head_hash),
        ("chain_verified", "yes" if chain.ok else f"NO: {chain.message}"),
        ("seal_id", seal.id if seal else ""),
        ("sealed_utc", seal.utc if seal else ""),
        ("key_fingerprint", seal.fingerprint if seal else "not sealed"),
        ("signature", seal.signature if seal else ""),
        ("audit_csv_sha256", hashlib.sha256(audit_csv.read_bytes()).hexdigest()),
        ("witness", head_line(chain)),
    ]
    path = audit_csv.with_name("manifest.csv")
    with path.open("w", newline="") as out:
        out.write(preamble(f"CellDeck run {record.run_id} (batch {record.batch_id}): manifest"))
        writer = csv.writer(out)
        writer.writerow(["item", "value"])
        writer.writerows(rows)
    return path
