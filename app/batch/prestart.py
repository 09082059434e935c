"""Pre-start checks: every condition a run needs before Start, each with its status and a
sentence for the operator, so the start screen and the headless runner show the same
checklist and refuse the same things."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app.batch.recipe import ROLES, Recipe
from app.store.security import PERMISSIONS, Permission, Role
from hardware.driver import Identity
from hardware.protocol import CHANNEL_LABELS, STATES, FirmwareState

BATCH_ID_MAX = 40


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class StartRequest:
    """What the operator entered on the start screen."""

    recipe: Recipe
    batch_id: str
    batch_id_again: str  # typed twice (or scanned twice): both must match
    overrides: dict[str, float]  # parameter changes, base units
    role: Role
    batch_ids_in_progress: tuple[str, ...] = ()  # unfinished runs on this workstation


def prestart_checks(
    request: StartRequest,
    identity: Identity | None,
    values: dict[str, float],
    calibrations_due: dict[str, str] | None = None,
    now: datetime | None = None,
) -> list[Check]:
    """The checklist, in the order an operator would work through it."""
    recipe = request.recipe
    checks = [_connected(identity), _kit(identity, recipe), _door(values), _instrument(values)]
    checks.append(_calibrations(calibrations_due or {}, now or datetime.now(UTC), identity))
    checks.append(_parameters(request))
    checks.append(_batch(request))
    authorised = request.role in PERMISSIONS[Permission.RUN_OPERATE]
    checks.append(
        Check(
            "operator authorised",
            authorised,
            f"signed in as {request.role.value}"
            if authorised
            else f"a {request.role.value} may not start a run",
        )
    )
    return checks


def _connected(identity: Identity | None) -> Check:
    if identity is None:
        return Check("instrument connected", False, "no instrument has identified itself")
    return Check(
        "instrument connected",
        True,
        f"{identity.model} {identity.serial}, firmware {identity.firmware}",
    )


def _kit(identity: Identity | None, recipe: Recipe) -> Check:
    wanted = recipe.kit.name
    if identity is None or not identity.kit:
        return Check("kit loaded", False, f"no kit detected: load a {wanted} kit")
    if not identity.kit.startswith(wanted):
        return Check("kit loaded", False, f"kit {identity.kit} is not a {wanted} kit")
    return Check("kit loaded", True, f"{identity.kit}")


def _door(values: dict[str, float]) -> Check:
    if "door" not in values:
        return Check("door closed", False, "no reading from the door switch yet")
    closed = values["door"] == 0
    return Check("door closed", closed, "closed" if closed else "the door is open: close it")


def _instrument(values: dict[str, float]) -> Check:
    state = values.get("state")
    ready = state == float(STATES.index(FirmwareState.READY))
    interlocks = int(values.get("ilk", 0))
    if ready and not interlocks:
        return Check("instrument ready", True, "no interlock active")
    if interlocks:
        return Check("instrument ready", False, "an interlock is active: see the instrument")
    name = STATES[int(state)].value if state is not None and 0 <= state < len(STATES) else "?"
    return Check("instrument ready", False, f"the instrument is in its {name} state")


def _as_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # dates are UTC


def _calibrations(due: dict[str, str], now: datetime, identity: Identity | None) -> Check:
    """Every channel's calibration in force must be in date (see docs/service.md). A
    channel never calibrated in CellDeck runs on the factory calibration and does not
    block: an instrument fresh from the factory, or the demo, has no records."""
    name = "calibrations in date"
    expired = sorted(channel for channel, date in due.items() if _as_utc(date) < now)
    if expired:
        which = ", ".join(f"{channel} (due {due[channel][:10]})" for channel in expired)
        labels = ", ".join(CHANNEL_LABELS.get(channel, channel) for channel in expired)
        return Check(name, False, f"expired: {which}: calibrate {labels} before starting")
    if not due:
        serial = f" for {identity.serial}" if identity is not None else ""
        return Check(name, True, f"no calibration on record{serial} (factory calibration)")
    channel = min(due, key=lambda c: _as_utc(due[c]))
    label = CHANNEL_LABELS.get(channel, channel)
    return Check(name, True, f"next due {due[channel][:10]} ({label})")


def _parameters(request: StartRequest) -> Check:
    recipe = request.recipe
    for name in request.overrides:
        parameter = recipe.parameters.get(name)
        if parameter is None:
            return Check("run parameters", False, f"the recipe has no parameter {name!r}")
        if request.role.value not in parameter.changeable_by:
            who = ", ".join(r for r in ROLES if r in parameter.changeable_by) or "nobody"
            return Check(
                "run parameters", False, f"{parameter.label} may be changed only by: {who}"
            )
    try:
        recipe.resolve(request.overrides)
    except ValueError as exc:
        return Check("run parameters", False, str(exc))
    changed = len(request.overrides)
    return Check(
        "run parameters", True, f"{changed} changed from the recipe" if changed else "as recipe"
    )


def _batch(request: StartRequest) -> Check:
    batch = request.batch_id.strip()
    if not batch:
        return Check("batch ID", False, "enter the batch ID")
    if batch != request.batch_id_again.strip():
        return Check("batch ID", False, "the two entries of the batch ID differ")
    if len(batch) > BATCH_ID_MAX or not batch.isprintable():
        return Check("batch ID", False, f"at most {BATCH_ID_MAX} printable characters")
    if batch in request.batch_ids_in_progress:
        return Check("batch ID", False, f"batch {batch} already has an unfinished run")
    return Check("batch ID", True, batch)
