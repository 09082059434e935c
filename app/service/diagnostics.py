"""The diagnostics bundle a service engineer sends to the vendor: one zip with the
technical log, the link's statistics, the instrument's identity and the calibration
history, and a manifest saying what is in it.

No patient or batch data leaves in it: nothing from the runs, samples, alarms, audit
trail or signatures tables is read into the zip, and every technical-log line that
names a batch or a run (a batch ID or kit ID on record, the word "batch", "run 12",
"run_id=12", "patient", "donor") is replaced by its time stamp and a note that it was
removed. The batch and kit IDs on record are read only to recognise them in the log.

Plain Python, no Qt: the console's screen calls ``write_bundle`` off the GUI thread.
"""

from __future__ import annotations

import csv
import io
import json
import platform
import re
import sqlite3
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from app.store.calibrations import COLUMNS, history
from app.store.run_reads import batch_references
from app.technical_log import LOG_NAME

LOG_FOLDER = "technical-log"
MANIFEST = "manifest.txt"
LINK_STATISTICS = "link-statistics.json"
INSTRUMENT = "instrument.txt"
CALIBRATIONS = "calibration-history.csv"
REMOVED = "[line removed: it named a batch or run]"

# The record's columns as stored, but who by printed name only, with the row id first
# and whether its signature still matches last.
CALIBRATION_COLUMNS = (
    "id",
    *(column for column in COLUMNS if column != "user_id"),
    "signature_valid",
)

# Words that make a log line about a batch rather than the machine. "batch" as a module
# path (app.batch.host, app/batch/host.py) is the code, not a batch: kept.
_BATCH_WORDS = re.compile(
    r"(?<![/\\.])\b(?:batch(?:es)?|batch[_-]?id|patient|donor|lot)\b(?![/\\.]\w)"
    r"|\brun(?:[ _-]?id)?\s*[#=:]?\s*\d+",
    re.IGNORECASE,
)
# "2025-03-01T12:00:00+0000 INFO app.x: message" (app/technical_log.py's format)
_PREFIX = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*\s+[A-Z]+\s+\S+?):\s")


def write_bundle(
    data_dir: str | Path,
    db_path: str | Path,
    path: str | Path,
    link_stats: dict,
    identity_text: str,
) -> list[str]:
    """Write the bundle to ``path`` (a new zip; written beside it first and renamed,
    so a half-written bundle never has the final name) and return the names in it."""
    data_dir, db_path, path = Path(data_dir), Path(db_path), Path(path)
    secrets = _batch_references(db_path)
    entries: dict[str, bytes] = {}
    removed = 0
    logs = _log_files(data_dir)
    for log in logs:
        text, dropped = scrub_log(log.read_text("utf-8", errors="replace"), secrets)
        removed += dropped
        entries[f"{LOG_FOLDER}/{log.name}"] = text.encode("utf-8")
    entries[LINK_STATISTICS] = json.dumps(
        _scrub_stats(link_stats, secrets), indent=2, sort_keys=True, default=str
    ).encode("utf-8")
    entries[INSTRUMENT] = _instrument_text(identity_text, secrets).encode("utf-8")
    calibrations, calibration_note = _calibration_csv(db_path)
    entries[CALIBRATIONS] = calibrations.encode("utf-8")
    names = [MANIFEST, *entries]
    manifest = _manifest(names, len(logs), removed, calibration_note)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(MANIFEST, manifest)
        for name, data in entries.items():
            bundle.writestr(name, data)
    partial.replace(path)
    return names


# ------------------------------------------------------------------ technical log
def _log_files(data_dir: Path) -> list[Path]:
    """celldeck.log and its rotated copies, oldest first (celldeck.log.5 ... .log)."""

    def age(log: Path) -> int:
        suffix = log.name[len(LOG_NAME) :].lstrip(".")
        return int(suffix) if suffix.isdigit() else 0

    found = [
        p
        for p in data_dir.glob(f"{LOG_NAME}*")
        if p.is_file() and (p.name == LOG_NAME or p.name[len(LOG_NAME) + 1 :].isdigit())
    ]
    return sorted(found, key=age, reverse=True)


def names_batch(line: str, secrets: Iterable[str] = ()) -> bool:
    """Does this log line name a batch or a run (or a batch/kit ID on record)?"""
    lowered = line.lower()
    if any(secret.lower() in lowered for secret in secrets):
        return True
    match = _PREFIX.match(line)
    message = line[match.end() :] if match else line  # the logger's name is code, not data
    return bool(_BATCH_WORDS.search(message))


def scrub_log(text: str, secrets: Iterable[str] = ()) -> tuple[str, int]:
    """The log with every line naming a batch or run replaced by its time stamp, level
    and logger and a note; and how many lines were replaced."""
    secrets = [s for s in secrets if s]
    out, removed = [], 0
    for line in text.splitlines():
        if names_batch(line, secrets):
            removed += 1
            match = _PREFIX.match(line)
            prefix = match.group(1) if match else ""
            if any(secret.lower() in prefix.lower() for secret in secrets):
                prefix = ""
            out.append(f"{prefix}: {REMOVED}" if prefix else REMOVED)
        else:
            out.append(line)
    return "\n".join(out) + ("\n" if out else ""), removed


def _batch_references(db_path: Path) -> list[str]:
    """Batch and kit IDs on record: read to recognise them, never written out."""
    if not db_path.exists():
        return []
    try:
        stored = batch_references(db_path)
    except sqlite3.Error as exc:  # fail closed: no bundle rather than one that may leak
        raise RuntimeError(f"the records cannot be read to scrub the log: {exc}") from exc
    found = {str(v).strip() for v in stored if v and str(v).strip()}
    return sorted(found, key=len, reverse=True)


# ------------------------------------------------------------------ other parts
def _scrub_stats(stats: dict, secrets: list[str]) -> dict:
    """Link statistics are counters and port settings; a string that happens to hold a
    batch reference is dropped all the same."""
    clean = {}
    for key, value in stats.items():
        if isinstance(value, str) and secrets and names_batch(value, secrets):
            continue
        clean[key] = value
    return clean


def _instrument_text(identity_text: str, secrets: list[str]) -> str:
    lines = [
        line
        for line in identity_text.splitlines()
        if not (secrets and any(s.lower() in line.lower() for s in secrets))
    ]
    lines += [
        "",
        f"CellDeck {_version()}",
        f"Python {platform.python_version()} on {platform.platform()}",
        f"bundle written {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}",
    ]
    return "\n".join(lines) + "\n"


def _version() -> str:
    from app.version import version_text

    return version_text()  # version, commit and build date, in a bundle too


def _calibration_csv(db_path: Path) -> tuple[str, str]:
    """Every calibration on record (all instruments), oldest first, and a note for the
    manifest (empty when all went well)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CALIBRATION_COLUMNS)
    try:
        records = history(db_path) if db_path.exists() else []
    except sqlite3.Error as exc:
        return buffer.getvalue(), f"the calibration history could not be read: {exc}"
    for record in records:
        row = {
            **{name: getattr(record, name) for name in CALIBRATION_COLUMNS if name != "details"},
            "details": json.dumps(record.details, sort_keys=True),
        }
        writer.writerow([row[name] for name in CALIBRATION_COLUMNS])
    return buffer.getvalue(), ""


def _manifest(names: list[str], logs: int, removed: int, calibration_note: str) -> str:
    what = {
        MANIFEST: "this list",
        LINK_STATISTICS: "the serial link's counters (frames, CRC errors, retries, "
        "timeouts, reconnects), round-trip times and port settings",
        INSTRUMENT: "the instrument's identity (model, serial, firmware) and CellDeck's version",
        CALIBRATIONS: "every calibration on record: coefficients old and new, figure of "
        "merit, points, when performed and due, by whom, signature intact or not",
    }
    lines = [
        "CellDeck diagnostics bundle",
        f"written {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}",
        "",
        "Contents:",
    ]
    for name in names:
        if name.startswith(f"{LOG_FOLDER}/"):
            description = "technical log (link retries, reconnects, errors), not the audit trail"
        else:
            description = what.get(name, "")
        lines.append(f"  {name}: {description}")
    lines += [
        "",
        "No patient or batch data: this bundle holds no runs, process data (samples),",
        "alarms, audit trail entries, electronic signatures of batch records, recipes,",
        "batch IDs or kit IDs. Technical-log lines that named a batch or a run were",
        f"replaced by their time stamp and '{REMOVED}'",
        f"({removed} line{'s' if removed != 1 else ''} in {logs} log file"
        f"{'s' if logs != 1 else ''}).",
    ]
    if not logs:
        lines.append("No technical log file was found in the data folder.")
    if calibration_note:
        lines.append(calibration_note)
    return "\n".join(lines) + "\n"
