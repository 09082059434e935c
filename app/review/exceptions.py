"""Review by exception: what in a run's record a reviewer must look at, each as one
line with where it happened, so that a run with none says so and a run with some is
reviewed in minutes, not hours."""

from __future__ import annotations

from dataclasses import dataclass

from app.review.record import RunRecordData, step_number

LONGER_THAN_EXPECTED = 1.2  # a step taking 20 % longer than the recipe says
LONGER_MARGIN_S = 60.0  # and at least a minute longer (short steps jitter)
# Phases whose length depends on the run, not only the recipe: a harvest first removes
# whatever excess the culture grew to, a hold waits for its condition.
OPEN_ENDED = ("harvest", "hold_until")


@dataclass(frozen=True)
class RunException:
    kind: str  # alarm, setpoint, hold, interlock, link, long-step, entry, audit, signature
    when_utc: str
    step: int | None
    text: str
    audit_id: int | None = None  # where it is in the audit trail (to move the view there)


def find_exceptions(record: RunRecordData) -> list[RunException]:
    found = [*_chain(record), *_alarms(record), *_state_changes(record)]
    found += _setpoints(record) + _entries(record) + _long_steps(record)
    found += _signatures(record)
    return sorted(found, key=lambda e: (e.when_utc, e.kind))


def _chain(record: RunRecordData) -> list[RunException]:
    if record.chain.ok:
        return []
    return [
        RunException("audit", "", None, f"audit trail verification FAILED: {record.chain.message}")
    ]


def _alarms(record: RunRecordData) -> list[RunException]:
    """Each alarm that came in, with who acknowledged it, when, and how long it stayed."""
    found: list[RunException] = []
    episodes: list[dict] = []  # one per activation: start, ack, end entries
    open_by_tag: dict[str, dict] = {}
    for entry in record.audit:
        if entry.object_type != "alarm" or not entry.action.startswith("alarm."):
            continue
        new = entry.action.removeprefix("alarm.")
        tag = entry.object_id
        episode = open_by_tag.get(tag)
        if new == "unacknowledged" and entry.old_value != "unacknowledged":
            open_by_tag[tag] = {"tag": tag, "start": entry, "ack": None, "end": None}
            episodes.append(open_by_tag[tag])
        elif episode is not None and new == "acknowledged":
            episode["ack"] = entry
        elif episode is not None and new == "returned-unacknowledged":
            episode["end"] = entry
        elif episode is not None and new == "normal":
            if entry.old_value == "returned-unacknowledged":  # acknowledged after it cleared
                episode["ack"] = entry
            else:
                episode["end"] = episode["end"] or entry
            open_by_tag.pop(tag)
        elif new in ("shelved", "out-of-service"):
            found.append(
                RunException(
                    "alarm",
                    entry.ts_utc,
                    None,
                    f"alarm {tag} {new} by {entry.user_name}: {entry.reason or ''}",
                    entry.id,
                )
            )
    for episode in episodes:
        start, ack, end = episode["start"], episode["ack"], episode["end"]
        text = f"alarm {episode['tag']} {start.new_value}"
        if ack is not None:
            text += f" — acknowledged by {ack.user_name} at {ack.ts_utc[11:19]} UTC"
        else:
            text += " — not acknowledged"
        text += f" — until {end.ts_utc[11:19]} UTC" if end is not None else " — still active"
        found.append(RunException("alarm", start.ts_utc, None, text, start.id))
    return found


def _state_changes(record: RunRecordData) -> list[RunException]:
    found = []
    for entry in record.audit:
        if entry.action != "run.state" or entry.new_value not in (
            "Holding",
            "Aborting",
            "Stopping",
        ):
            continue
        reason = entry.reason or ""
        kind = "hold"
        if "(interlock)" in reason:
            kind = "interlock"
        elif "link lost" in reason:
            kind = "link"
        found.append(
            RunException(kind, entry.ts_utc, None, f"{entry.new_value}: {reason}", entry.id)
        )
    return found


def _setpoints(record: RunRecordData) -> list[RunException]:
    return [
        RunException(
            "setpoint",
            e.ts_utc,
            None,
            f"{e.object_id} {e.old_value} → {e.new_value} by {e.user_name}: {e.reason}",
            e.id,
        )
        for e in record.audit
        if e.action == "setpoint.change"
    ]


def _entries(record: RunRecordData) -> list[RunException]:
    """Manual data entries (a count typed in), and notes of things not done."""
    found = []
    for entry in record.audit:
        step = step_number(entry.object_id)
        if entry.action == "step.answer" and (entry.new_value or "").startswith("data:"):
            found.append(
                RunException(
                    "entry",
                    entry.ts_utc,
                    step,
                    f"step {step}: {entry.new_value} entered by {entry.user_name}",
                    entry.id,
                )
            )
        elif entry.action == "step.note" and "not done" in (entry.new_value or ""):
            found.append(
                RunException(
                    "entry", entry.ts_utc, step, f"step {step}: {entry.new_value}", entry.id
                )
            )
        elif entry.action == "step.note" and "OUTSIDE" in (entry.new_value or ""):
            found.append(RunException("entry", entry.ts_utc, step, entry.new_value or "", entry.id))
    return found


def _long_steps(record: RunRecordData) -> list[RunException]:
    found = []
    for step in record.steps:
        if step.started_s is None or step.ended_s is None or step.nominal_s <= 0:
            continue
        if step.phase in OPEN_ENDED:
            continue
        took = step.ended_s - step.started_s
        if took > step.nominal_s * LONGER_THAN_EXPECTED and took - step.nominal_s > LONGER_MARGIN_S:
            found.append(
                RunException(
                    "long-step",
                    step.ended_utc,
                    step.number,
                    f"step {step.number} {step.name} took {took / 60:.0f} min; "
                    f"the recipe expects {step.nominal_s / 60:.0f} min",
                )
            )
    return found


def _signatures(record: RunRecordData) -> list[RunException]:
    """Signature steps that ended without their signatures (or were never reached)."""
    found = []
    signed = {}
    for signature in record.signatures:
        if signature.record_type == "run-step":
            number = int(signature.record_id.rsplit("/", 1)[-1])
            signed.setdefault(number, []).append(signature.meaning)
    for step in record.steps:
        if not step.needs_signature:
            continue
        meanings = signed.get(step.number, [])
        missing = []
        if "performed" not in meanings:
            missing.append("operator")
        if step.second_person and "verified" not in meanings:
            missing.append("second person")
        if missing:
            found.append(
                RunException(
                    "signature",
                    step.ended_utc or record.ended_utc,
                    step.number,
                    f"step {step.number} {step.name}: no {' or '.join(missing)} signature",
                )
            )
    return found
