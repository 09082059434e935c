"""Alarm management after ISA-18.2 / IEC 62682.

Each alarm has a priority and a defined operator response; an on-delay and a deadband
keep a noisy signal from chattering; states are normal, unacknowledged, acknowledged,
returned-to-normal-unacknowledged, shelved (for a limited time, with a reason),
suppressed by design (in named phases) and out of service. More than 10 alarms in 10
minutes is a flood. The manager is driven by samples and a clock, with no I/O: every
state change goes to ``on_event`` to be recorded and shown.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from app.store.actor import AUTOMATION, SYSTEM, SYSTEM_IDS, Actor

FLOOD_COUNT = 10
FLOOD_WINDOW_S = 600.0


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class AlarmState(StrEnum):
    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RETURNED_UNACKNOWLEDGED = "returned-unacknowledged"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out-of-service"


class Kind(StrEnum):
    HIGH = "high"  # value above limit
    LOW = "low"  # value below limit
    DEVIATION = "deviation"  # |value - set-point| above limit
    RATE = "rate"  # |change per minute| above limit


@dataclass(frozen=True)
class AlarmDefinition:
    tag: str  # unique, e.g. "TEMP_HI"
    channel: str
    kind: Kind
    limit: float
    priority: Priority
    response: str  # what the operator must do: no alarm without one
    on_delay_s: float = 0.0
    deadband: float = 0.0
    setpoint_channel: str = ""  # for DEVIATION
    suppressed_in: tuple[str, ...] = ()  # phases in which the alarm is suppressed by design
    holds_batch: bool = False  # when it comes in, the batch engine holds the run

    def __post_init__(self) -> None:
        if not self.response.strip():
            raise ValueError(f"alarm {self.tag} has no operator response")
        if self.kind is Kind.DEVIATION and not self.setpoint_channel:
            raise ValueError(f"deviation alarm {self.tag} needs a set-point channel")


@dataclass(frozen=True)
class AlarmEvent:
    t_s: float  # process time
    tag: str
    old: AlarmState
    new: AlarmState
    priority: Priority
    message: str
    actor: Actor = SYSTEM  # the system raises and clears; a person acknowledges, shelves
    reason: str = ""
    until_s: float | None = None  # shelved until this process time


@dataclass
class _Alarm:
    definition: AlarmDefinition
    state: AlarmState = AlarmState.NORMAL
    condition: bool = False  # the (debounced) abnormal condition
    pending_since: float | None = None  # raw condition seen, on-delay running
    shelved_until: float | None = None
    previous: tuple[float, float] | None = None  # (t, value) for RATE
    activations: int = 0
    active_since: float | None = None
    active_total_s: float = 0.0


@dataclass
class AlarmManager:
    definitions: list[AlarmDefinition]
    on_event: Callable[[AlarmEvent], None]
    alarms: dict[str, _Alarm] = field(init=False)
    flood: bool = field(init=False, default=False)
    _recent: deque[float] = field(init=False, default_factory=deque)

    def __post_init__(self) -> None:
        tags = [d.tag for d in self.definitions]
        if len(tags) != len(set(tags)):
            raise ValueError("alarm tags must be unique")
        self.alarms = {d.tag: _Alarm(d) for d in self.definitions}

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, t_s: float, values: dict[str, float], phase: str = "") -> None:
        """Feed one sample (process time, channel values) and the phase now running."""
        for alarm in self.alarms.values():
            self._evaluate(alarm, t_s, values, phase)

    def _evaluate(self, alarm: _Alarm, t: float, values: dict[str, float], phase: str) -> None:
        d = alarm.definition
        if alarm.state is AlarmState.OUT_OF_SERVICE or d.channel not in values:
            return
        if not math.isfinite(values[d.channel]):
            return  # a bad reading neither raises nor clears an alarm
        if alarm.state is AlarmState.SHELVED:
            if alarm.shelved_until is not None and t < alarm.shelved_until:
                return
            self._set(alarm, t, AlarmState.NORMAL, "shelving ended")
            alarm.condition = False
        waiting_for_operator = alarm.state in (
            AlarmState.UNACKNOWLEDGED,
            AlarmState.ACKNOWLEDGED,
            AlarmState.RETURNED_UNACKNOWLEDGED,
        )
        if phase and phase in d.suppressed_in and not waiting_for_operator:
            if alarm.state is not AlarmState.SUPPRESSED:
                self._set(alarm, t, AlarmState.SUPPRESSED, f"suppressed during {phase}")
                alarm.condition, alarm.pending_since = False, None
            return
        if alarm.state is AlarmState.SUPPRESSED:
            self._set(alarm, t, AlarmState.NORMAL, "suppression ended")
        raw = self._abnormal(alarm, t, values)
        if raw and not alarm.condition:
            alarm.pending_since = alarm.pending_since if alarm.pending_since is not None else t
            if t - alarm.pending_since >= d.on_delay_s:
                alarm.condition = True
                self._activate(alarm, t, values)
        elif not raw:
            alarm.pending_since = None
            if alarm.condition:
                alarm.condition = False
                self._clear(alarm, t)

    def _abnormal(self, alarm: _Alarm, t: float, values: dict[str, float]) -> bool:
        """The limit check, with the deadband applied on the way back (hysteresis)."""
        d = alarm.definition
        value = values[d.channel]
        band = d.deadband if alarm.condition else 0.0
        if d.kind is Kind.HIGH:
            return value > d.limit - band
        if d.kind is Kind.LOW:
            return value < d.limit + band
        if d.kind is Kind.DEVIATION:
            return abs(value - values.get(d.setpoint_channel, value)) > d.limit - band
        previous, alarm.previous = alarm.previous, (t, value)
        if previous is None or t <= previous[0]:
            return alarm.condition
        per_minute = abs(value - previous[1]) / (t - previous[0]) * 60.0
        return per_minute > d.limit - band

    def _activate(self, alarm: _Alarm, t: float, values: dict[str, float]) -> None:
        alarm.activations += 1
        alarm.active_since = t
        self._recent.append(t)
        while self._recent and t - self._recent[0] > FLOOD_WINDOW_S:
            self._recent.popleft()
        flooding = len(self._recent) > FLOOD_COUNT
        d = alarm.definition
        message = (
            f"{d.channel} {values[d.channel]:g} ({d.kind.value} limit {d.limit:g}): {d.response}"
        )
        self._set(alarm, t, AlarmState.UNACKNOWLEDGED, message)
        if flooding and not self.flood:
            self.flood = True
            self.on_event(
                AlarmEvent(
                    t,
                    "FLOOD",
                    AlarmState.NORMAL,
                    AlarmState.UNACKNOWLEDGED,
                    Priority.HIGH,
                    f"alarm flood: {len(self._recent)} alarms in {FLOOD_WINDOW_S / 60:g} minutes",
                )
            )
        elif not flooding:
            self.flood = False

    def _clear(self, alarm: _Alarm, t: float) -> None:
        if alarm.active_since is not None:
            alarm.active_total_s += t - alarm.active_since
            alarm.active_since = None
        if alarm.state is AlarmState.UNACKNOWLEDGED:
            self._set(alarm, t, AlarmState.RETURNED_UNACKNOWLEDGED, "returned to normal")
        elif alarm.state is AlarmState.ACKNOWLEDGED:
            self._set(alarm, t, AlarmState.NORMAL, "returned to normal")

    def _set(
        self,
        alarm: _Alarm,
        t: float,
        new: AlarmState,
        message: str,
        actor: Actor = SYSTEM,
        reason: str = "",
    ) -> None:
        old, alarm.state = alarm.state, new
        until = alarm.shelved_until if new is AlarmState.SHELVED else None
        definition = alarm.definition
        self.on_event(
            AlarmEvent(
                t, definition.tag, old, new, definition.priority, message, actor, reason, until
            )
        )

    def restore(self, history: Iterable[tuple[str, str, float, float | None]]) -> None:
        """Bring the alarms back as a restarted console finds them in the run's record:
        each state change (tag, state, process s, shelved until) in the order it
        happened. Nothing is announced again: the record already holds every change.
        An alarm still active keeps its activation time and waits for the same
        acknowledgement; the next sample clears it if its condition has gone."""
        for tag, state, t, until in history:
            alarm = self.alarms.get(tag)
            if alarm is None:
                continue  # FLOOD, or an alarm this recipe version no longer has
            old, new = alarm.state, AlarmState(state)
            if new is AlarmState.UNACKNOWLEDGED and old is not AlarmState.UNACKNOWLEDGED:
                alarm.activations += 1
                alarm.active_since, alarm.condition = t, True
            cleared = (old, new) in (
                (AlarmState.UNACKNOWLEDGED, AlarmState.RETURNED_UNACKNOWLEDGED),
                (AlarmState.ACKNOWLEDGED, AlarmState.NORMAL),
            )
            leaves = new in (AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE)
            if (cleared or leaves) and alarm.active_since is not None:
                alarm.active_total_s += t - alarm.active_since
                alarm.active_since = None
            if cleared or leaves:
                alarm.condition = False
            alarm.state = new
            alarm.shelved_until = until if new is AlarmState.SHELVED else None

    # ------------------------------------------------------------------ operator actions
    def acknowledge(self, tag: str, actor: Actor, t: float) -> None:
        if actor.id in SYSTEM_IDS and actor.id != AUTOMATION.id:
            raise PermissionError("acknowledging an alarm needs a signed-in user")
        alarm = self.alarms[tag]
        if alarm.state is AlarmState.UNACKNOWLEDGED:
            self._set(alarm, t, AlarmState.ACKNOWLEDGED, "acknowledged", actor)
        elif alarm.state is AlarmState.RETURNED_UNACKNOWLEDGED:
            self._set(alarm, t, AlarmState.NORMAL, "acknowledged", actor)
        else:
            raise ValueError(f"alarm {tag} is {alarm.state.value}: nothing to acknowledge")

    def shelve(self, tag: str, actor: Actor, reason: str, duration_s: float, t: float) -> None:
        """Time-limited shelving (the service layer checks that the user may shelve)."""
        if not reason.strip():
            raise ValueError("shelving needs a reason")
        if not 0 < duration_s <= 24 * 3600:
            raise ValueError("shelving lasts more than 0 s and at most 24 h")
        alarm = self.alarms[tag]
        if alarm.state in (AlarmState.OUT_OF_SERVICE, AlarmState.SUPPRESSED):
            raise ValueError(f"alarm {tag} is {alarm.state.value}: it cannot be shelved")
        alarm.shelved_until = t + duration_s
        alarm.condition, alarm.pending_since = False, None
        self._set(
            alarm, t, AlarmState.SHELVED, f"shelved for {duration_s / 60:g} min", actor, reason
        )

    def remove_from_service(self, tag: str, actor: Actor, reason: str, t: float) -> None:
        if not reason.strip():
            raise ValueError("taking an alarm out of service needs a reason")
        alarm = self.alarms[tag]
        alarm.condition, alarm.pending_since = False, None
        self._set(alarm, t, AlarmState.OUT_OF_SERVICE, "out of service", actor, reason)

    def return_to_service(self, tag: str, actor: Actor, reason: str, t: float) -> None:
        alarm = self.alarms[tag]
        if alarm.state is AlarmState.OUT_OF_SERVICE:
            self._set(alarm, t, AlarmState.NORMAL, "back in service", actor, reason)

    # ------------------------------------------------------------------ views
    def active(self) -> list[tuple[str, AlarmState, Priority]]:
        """Alarms needing attention, highest priority first."""
        showing = (
            AlarmState.UNACKNOWLEDGED,
            AlarmState.ACKNOWLEDGED,
            AlarmState.RETURNED_UNACKNOWLEDGED,
        )
        order = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}
        found = [
            (tag, a.state, a.definition.priority)
            for tag, a in self.alarms.items()
            if a.state in showing
        ]
        return sorted(found, key=lambda item: order[item[2]])

    def statistics(self, now: float) -> dict[str, dict[str, float]]:
        """Per alarm: how often it came and how long it stayed, for review."""
        return {
            tag: {
                "activations": a.activations,
                "active_s": a.active_total_s
                + (now - a.active_since if a.active_since is not None else 0.0),
            }
            for tag, a in self.alarms.items()
        }


INSTRUMENT_ALARMS: tuple[AlarmDefinition, ...] = (
    AlarmDefinition(
        "CHAMBER_OVERTEMP",
        "temp",
        Kind.HIGH,
        38.5,
        Priority.HIGH,
        "Chamber above 38.5 °C: check the heater set-point and the door seal; "
        "call service if it keeps rising (the firmware cuts the heater at its limit).",
        on_delay_s=60.0,
        deadband=0.3,
    ),
)
"""Alarms every run has, whatever its recipe (the recipe's own come on top)."""

ANALYTICS_TAGS = frozenset({"HARVEST_MAY_BE_LATE", "HARVEST_LATE"})
BAND_TAG_PREFIX = "BAND_"
"""Tags of the alarms a run's analytics raise (app/batch/run_analytics.py): the harvest
alarm, and BAND_<CHANNEL> early warnings; a recipe may not define its own with these."""
