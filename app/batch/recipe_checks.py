"""The recipe's [[alarms]] and [outcome] sections: validated like the rest of the file,
every problem named by line and field (the checker: app/batch/recipe_validation.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from app.batch.alarms import (
    ANALYTICS_TAGS,
    BAND_TAG_PREFIX,
    INSTRUMENT_ALARMS,
    AlarmDefinition,
    Kind,
    Priority,
)
from app.batch.phases import PHASES
from app.batch.units import UnitError, parse_quantity
from hardware.protocol import CHANNEL_BY_NAME

Report = Callable[[tuple, str, str], None]  # (path in the file, field, message)

ALARM_KEYS = {
    "tag",
    "channel",
    "kind",
    "limit",
    "setpoint",
    "priority",
    "response",
    "on_delay",
    "deadband",
    "suppressed_in",
    "active_in",
    "hold",
}
RESERVED_TAGS = {d.tag for d in INSTRUMENT_ALARMS} | {"FLOOD"} | ANALYTICS_TAGS
OUTCOME_KEYS = {"product_volume": "volume", "product_cells": "cells"}
_TAG = re.compile(r"^[A-Z][A-Z0-9_]{1,31}$")
_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*$")


def check_outcome(section: Any, problem: Report) -> dict[str, tuple[float, float]]:
    """``[outcome]``: expected ranges, such as product_volume = ["140 mL", "160 mL"]."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        problem(("outcome",), "outcome", "must be a table of expected ranges")
        return {}
    ranges = {}
    for key, value in section.items():
        path, field = ("outcome", key), f"outcome.{key}"
        dimension = OUTCOME_KEYS.get(key)
        if dimension is None:
            problem(path, field, f"unknown outcome (known: {', '.join(OUTCOME_KEYS)})")
            continue
        if not isinstance(value, list) or len(value) != 2:
            problem(path, field, 'expected a range ["<low> <unit>", "<high> <unit>"]')
            continue
        try:
            low, high = (parse_quantity(v, dimension) for v in value)
        except UnitError as exc:
            problem(path, field, str(exc))
            continue
        if not 0 <= low <= high:
            problem(path, field, f"the range {low:g}..{high:g} is empty or negative")
            continue
        ranges[key] = (low, high)
    return ranges


def check_alarms(section: Any, problem: Report) -> tuple[AlarmDefinition, ...]:
    """``[[alarms]]``: the recipe's alarm definitions (ISA-18.2: each with a priority
    and the operator's response)."""
    if section is None:
        return ()
    if not isinstance(section, list):
        problem(("alarms",), "alarms", "alarms must be [[alarms]] tables")
        return ()
    definitions, tags = [], set()
    for index, raw in enumerate(section):
        path, label = ("alarms", index), f"alarms[{index + 1}]"
        if not isinstance(raw, dict):
            problem(path, label, "each alarm must be an [[alarms]] table")
            continue
        definition = _alarm(raw, path, label, problem)
        if definition is None:
            continue
        if definition.tag in tags:
            problem((*path, "tag"), f"{label}.tag", f"tag {definition.tag} is used twice")
            continue
        if definition.tag in RESERVED_TAGS or definition.tag.startswith(BAND_TAG_PREFIX):
            problem((*path, "tag"), f"{label}.tag", f"{definition.tag} is the console's own alarm")
            continue
        tags.add(definition.tag)
        definitions.append(definition)
    return tuple(definitions)


def _alarm(raw: dict, path: tuple, label: str, problem: Report) -> AlarmDefinition | None:
    before = _Counter(problem)
    report = before.report
    for key in raw:
        if key not in ALARM_KEYS:
            report((*path, key), f"{label}.{key}", "unknown field")
    tag = raw.get("tag")
    if not isinstance(tag, str) or not _TAG.match(tag):
        report((*path, "tag"), f"{label}.tag", "needs a tag like TEMP_HIGH (capitals, digits, _)")
    channel = raw.get("channel")
    if channel not in CHANNEL_BY_NAME:
        report((*path, "channel"), f"{label}.channel", f"unknown channel {channel!r}")
        return None
    kinds = ", ".join(k.value for k in Kind)
    try:
        kind = Kind(raw.get("kind"))
    except ValueError:
        report((*path, "kind"), f"{label}.kind", f"unknown kind {raw.get('kind')!r} ({kinds})")
        return None
    unit = CHANNEL_BY_NAME[channel].unit
    limit_unit = f"{unit}/min" if kind is Kind.RATE else unit
    limit = _in_unit(raw.get("limit"), limit_unit, (*path, "limit"), f"{label}.limit", report)
    deadband = 0.0
    if "deadband" in raw:
        deadband = _in_unit(raw["deadband"], unit, (*path, "deadband"), f"{label}.deadband", report)
        if deadband is not None and deadband < 0:
            report((*path, "deadband"), f"{label}.deadband", "must not be negative")
    setpoint = raw.get("setpoint", "")
    if kind is Kind.DEVIATION and setpoint not in CHANNEL_BY_NAME:
        report(
            (*path, "setpoint"), f"{label}.setpoint", "a deviation alarm needs a set-point channel"
        )
    try:
        priority = Priority(raw.get("priority"))
    except ValueError:
        priorities = ", ".join(p.value for p in Priority)
        report((*path, "priority"), f"{label}.priority", f"needs a priority ({priorities})")
        priority = Priority.LOW
    response = raw.get("response")
    if not isinstance(response, str) or not response.strip():
        report((*path, "response"), f"{label}.response", "no alarm without an operator response")
    on_delay = 0.0
    if "on_delay" in raw:
        try:
            on_delay = parse_quantity(raw["on_delay"], "duration")
        except UnitError as exc:
            report((*path, "on_delay"), f"{label}.on_delay", str(exc))
    suppressed = raw.get("suppressed_in", [])
    if not isinstance(suppressed, list) or any(p not in PHASES for p in suppressed):
        report(
            (*path, "suppressed_in"),
            f"{label}.suppressed_in",
            f"must list phases (known: {', '.join(PHASES)})",
        )
        suppressed = []
    if "active_in" in raw:  # a limit for some phases only: suppressed in all the others
        active = raw["active_in"]
        if "suppressed_in" in raw:
            report((*path, "active_in"), f"{label}.active_in", "use active_in or suppressed_in")
        elif not isinstance(active, list) or not active or any(p not in PHASES for p in active):
            report(
                (*path, "active_in"),
                f"{label}.active_in",
                f"must list phases (known: {', '.join(PHASES)})",
            )
        else:
            suppressed = [p for p in PHASES if p not in active]
    hold = raw.get("hold", False)
    if not isinstance(hold, bool):
        report((*path, "hold"), f"{label}.hold", "must be true or false")
    if before.count or limit is None:
        return None
    return AlarmDefinition(
        tag,
        channel,
        kind,
        limit,
        priority,
        response,
        on_delay_s=on_delay,
        deadband=deadband or 0.0,
        setpoint_channel=setpoint if kind is Kind.DEVIATION else "",
        suppressed_in=tuple(suppressed),
        holds_batch=bool(hold),
    )


def _in_unit(value: Any, unit: str, path: tuple, field: str, report: Report) -> float | None:
    """A number in the channel's own unit: 38.5, or "38.5 C" with that unit."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, int | float):
        return float(value)
    match = _NUMBER_UNIT.match(value) if isinstance(value, str) else None
    accepted = {unit, unit.replace("°C", "C")}  # "38.5 C" for °C, as elsewhere in recipes
    if match is None or (match.group(2) and match.group(2) not in accepted):
        shown = f'"<number> {unit}"' if unit else "a number"
        report(path, field, f"expected {shown}, got {value!r}")
        return None
    return float(match.group(1))


class _Counter:
    """Counts the problems one alarm had, passing them on."""

    def __init__(self, problem: Report) -> None:
        self.problem, self.count = problem, 0

    def report(self, path: tuple, field: str, message: str) -> None:
        self.count += 1
        self.problem(path, field, message)
