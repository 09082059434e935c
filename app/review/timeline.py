"""Where on a run's process-time axis each step and each recorded event lies, so the
review screen can draw the step timeline under the trends and move the trends to any
event a reviewer taps.

The audit trail is stamped in UTC; the trends' axis is process time (ms since the run
started, the engine's and the historian's clock alike). The step journal records the
process time of every step's start and end, and the audit trail their UTC: those pairs,
and the newest sample, are the knots of a clock map that places any UTC stamp by linear
interpolation (the instrument's clock runs at a steady rate between two knots). Sample
UTC stamps are not used as knots: back-filled ones are estimated, and a simulator run
faster than real time makes those estimates poor.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from app.review.exceptions import RunException
from app.review.record import AuditRow, RunRecordData, step_number
from app.store.db import connect
from app.store.run_reads import newest_sample


@dataclass(frozen=True)
class ClockMap:
    """(UTC epoch seconds, process ms) pairs of one run, both non-decreasing."""

    utc: np.ndarray
    t_ms: np.ndarray

    def run_ms(self, stamps: list[str]) -> list[int | None]:
        """Process ms of ISO UTC stamps; None where the run has no samples."""
        if not len(self.utc):
            return [None] * len(stamps)
        seconds = np.array([_epoch(s) for s in stamps], dtype=np.float64)
        at = np.interp(seconds, self.utc, self.t_ms.astype(np.float64))
        return [int(v) for v in at]


@dataclass(frozen=True)
class StepSpan:
    number: int
    name: str
    start_ms: int
    end_ms: int | None  # None: still running when the record was read


@dataclass(frozen=True)
class TimelineEvent:
    kind: str  # step, alarm, state, setpoint, entry, signature, other; or an exception's
    when_utc: str
    run_ms: int | None
    text: str
    audit_id: int | None = None
    exception: bool = False


@dataclass(frozen=True)
class RunTimeline:
    steps: list[StepSpan]
    events: list[TimelineEvent]  # every audit entry of the run, oldest first
    exceptions: list[TimelineEvent]  # the review's exceptions, placed on the axis
    last_ms: int


def clock_map(record: RunRecordData, newest: tuple[float, int] | None) -> ClockMap:
    """Knots from the steps' (UTC, process time) pairs and the newest sample's."""
    pairs = []
    for step in record.steps:
        if step.started_utc and step.started_s is not None:
            pairs.append((_epoch(step.started_utc), step.started_s * 1000.0))
        if step.ended_utc and step.ended_s is not None:
            pairs.append((_epoch(step.ended_utc), step.ended_s * 1000.0))
    if newest is not None:
        pairs.append(newest)
    if not pairs:
        return ClockMap(np.empty(0), np.empty(0, dtype=np.int64))
    pairs.sort()
    utc = np.array([p[0] for p in pairs], dtype=np.float64)
    t_ms = np.maximum.accumulate(np.array([p[1] for p in pairs], dtype=np.float64))
    return ClockMap(utc, t_ms.astype(np.int64))


def _newest_sample(db_path: str | Path, run_id: int) -> tuple[float, int] | None:
    with closing(connect(db_path, readonly=True)) as conn:
        return newest_sample(conn, run_id)


def build_timeline(
    db_path: str | Path, record: RunRecordData, exceptions: list[RunException]
) -> RunTimeline:
    """The run's steps, events and exceptions on its process-time axis."""
    newest = _newest_sample(db_path, record.run_id)
    clock = clock_map(record, newest)
    last_ms = max(int(clock.t_ms[-1]) if len(clock.t_ms) else 0, newest[1] if newest else 0)
    audit_ms = dict(
        zip(
            (a.id for a in record.audit),
            clock.run_ms([a.ts_utc for a in record.audit]),
            strict=True,
        )
    )
    steps = [
        StepSpan(
            step.number,
            step.name,
            int(step.started_s * 1000),
            int(step.ended_s * 1000) if step.ended_s is not None else None,
        )
        for step in record.steps
        if step.started_s is not None
    ]
    events = [
        TimelineEvent(_kind(a), a.ts_utc, audit_ms[a.id], describe(a), a.id) for a in record.audit
    ]
    placed = []
    for item in exceptions:
        if item.audit_id is not None and item.audit_id in audit_ms:
            at = audit_ms[item.audit_id]
        else:
            at = clock.run_ms([item.when_utc])[0] if item.when_utc else None
        placed.append(
            TimelineEvent(item.kind, item.when_utc, at, item.text, item.audit_id, exception=True)
        )
    return RunTimeline(steps, events, placed, last_ms)


def describe(entry: AuditRow) -> str:
    """An audit entry as one line a reviewer reads without the manual."""
    action = entry.action
    step = step_number(entry.object_id)
    where = f"step {step}" if step is not None else f"{entry.object_type} {entry.object_id}"
    change = ""
    if entry.old_value:
        change = f": {entry.old_value} → {entry.new_value or '—'}"
    elif entry.new_value:
        change = f": {entry.new_value}"
    if action == "step.start":
        text = f"{where} started{': ' + entry.new_value if entry.new_value else ''}"
    elif action == "step.end":
        text = f"{where} ended"
    else:
        text = f"{action} {where}{change}"
    reason = f" (reason: {entry.reason})" if entry.reason else ""
    return f"{text}{reason} — {entry.user_name}"


def _kind(entry: AuditRow) -> str:
    head = entry.action.split(".", 1)[0]
    return {"run": "state", "step": "step", "alarm": "alarm"}.get(
        head, "setpoint" if "setpoint" in entry.action else head
    )


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
