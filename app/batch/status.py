"""What the screens show of a run: the immutable ``RunStatus`` snapshot and its projection
from the run host's engine, recipe and analytics.

The run host builds one with ``project_status`` (or ``idle_status`` when no run is on)
and hands it to ``on_status``; the screens only ever read it. No Qt, no store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.analytics.golden import GoldenBatch
from app.batch.alarms import AlarmDefinition
from app.batch.engine import BatchEngine
from app.batch.executors import Prompt, nominal_seconds
from app.batch.recipe import Kit, Recipe
from app.batch.run_analytics import RunAnalytics
from app.store.golden import GoldenRecord
from hardware.connection import LinkState
from hardware.driver import Identity


@dataclass(frozen=True)
class AlarmView:
    """One active alarm as the alarm banner and page show it."""

    tag: str
    state: str
    priority: str
    message: str


@dataclass(frozen=True)
class RunStatus:
    """What the screens show of the run, as one immutable snapshot."""

    run_id: int | None = None
    batch: str = ""
    recipe: str = ""
    recipe_version: str = ""
    state: str = ""  # ISA-88 state; "" when no run
    step: int = 0
    steps: int = 0
    step_name: str = ""
    phase: str = ""
    step_left_s: float = 0.0
    time_left_s: float = 0.0
    process_s: float = 0.0
    prompt: Prompt | None = None
    held_reason: str = ""
    held_by: str = ""
    recovering: bool = False
    alarms: tuple[AlarmView, ...] = ()
    lines: tuple[str, ...] = ()  # the newest lines of the run's record
    outcome_problems: tuple[str, ...] = ()
    link: str = ""
    identity: Identity | None = None
    values: dict[str, float] = field(default_factory=dict)
    alarm_definitions: tuple[AlarmDefinition, ...] = ()  # for limit lines on the trends
    kit: Kit | None = None  # the recipe's kit: bag capacities for the schematic
    # live growth kinetics (app.analytics; None until the window holds enough points;
    # inf when the culture is not growing) and the harvest prediction, in process time
    doubling_h: float | None = None
    doubling_low_h: float | None = None
    doubling_high_h: float | None = None
    fold_expansion: float | None = None
    total_cells: float | None = None
    harvest_target_cells: float | None = None  # the dose predicted for (None: no prediction)
    harvest_eta_s: float | None = None  # when total cells reach the dose (process s)
    harvest_early_s: float | None = None
    harvest_late_s: float | None = None
    harvest_latest_s: float | None = None  # the recipe's latest allowed harvest (process s)
    # the golden band in force for the recipe version (app.analytics.GoldenBatch, shared,
    # never changed; None: no band) and when this run's steps started, to lay the band
    # onto the run's time axis (golden.band_on_run_time)
    golden: GoldenBatch | None = field(default=None, compare=False, repr=False)
    golden_summary: str = ""
    step_starts_s: tuple[float, ...] = ()


def idle_status(link: LinkState, identity: Identity | None, values: dict[str, float]) -> RunStatus:
    """No run on: the link, the instrument and its newest values only."""
    return RunStatus(link=link.value, identity=identity, values=values)


def project_status(
    engine: BatchEngine,
    recipe: Recipe,
    analytics: RunAnalytics | None,
    golden: GoldenRecord | None,
    *,
    run_id: int | None,
    batch: str,
    lines: list[str],
    recovering: bool,
    link: LinkState,
    identity: Identity | None,
    values: dict[str, float],
) -> RunStatus:
    """The run's snapshot: where the engine is, what is left (a culture step lasts until
    the analytics' culture end), its alarms, the newest 12 lines and the growth fields."""
    index = min(engine.step_index, len(recipe.steps) - 1)
    step = recipe.steps[index]
    step_left = engine.wait_left_s()
    culture_end = analytics.culture_end_s() if analytics else None
    if culture_end is not None and not engine.finished:  # a culture runs for days
        step_left = max(step_left, culture_end - engine.process_s)
    later = sum(
        nominal_seconds(s.phase, a)
        for s, a in zip(recipe.steps[index + 1 :], engine.arguments[index + 1 :], strict=True)
    )
    alarms = engine.alarms
    return RunStatus(
        run_id=run_id,
        batch=batch,
        recipe=recipe.name,
        recipe_version=recipe.version,
        state=engine.state.value,
        step=min(engine.current_step, len(recipe.steps)),
        steps=len(recipe.steps),
        step_name=step.name,
        phase=step.phase,
        step_left_s=step_left,
        time_left_s=0.0 if engine.finished else step_left + later,
        process_s=engine.process_s,
        prompt=engine.pending_prompt,
        held_reason=engine.held_reason,
        held_by=engine.held_by.value if engine.held_by else "",
        recovering=recovering,
        alarms=tuple(
            AlarmView(tag, state.value, priority.value, alarms.alarms[tag].definition.response)
            for tag, state, priority in alarms.active()
        ),
        lines=tuple(lines[-12:]),
        outcome_problems=tuple(engine.outcome_problems),
        link=link.value,
        identity=identity,
        values=values,
        alarm_definitions=tuple(alarms.definitions),
        kit=recipe.kit,
        **growth_fields(analytics, golden),
    )


def growth_fields(analytics: RunAnalytics | None, golden: GoldenRecord | None) -> dict[str, Any]:
    """The RunStatus fields of the live kinetics, the harvest prediction and the golden
    band (none without analytics)."""
    if analytics is None:
        return {}
    band: dict[str, Any] = {
        "golden": analytics.golden,
        "golden_summary": golden.summary if golden else "",
        "step_starts_s": tuple(analytics.step_starts_s),
        "harvest_latest_s": analytics.latest_harvest_s,
    }
    estimate, harvest = analytics.estimate, analytics.harvest
    if estimate is None:  # the dose, so the screen knows the recipe grows cells
        return {**band, "harvest_target_cells": analytics.target_cells}
    growth: dict[str, Any] = {
        **band,
        "doubling_h": estimate.doubling_h,
        "doubling_low_h": estimate.doubling_low_h,
        "doubling_high_h": estimate.doubling_high_h,
        "fold_expansion": estimate.fold_expansion,
        "total_cells": estimate.total_cells,
    }
    if harvest is not None:
        growth.update(
            harvest_target_cells=harvest.target_cells,
            harvest_eta_s=harvest.eta_s,
            harvest_early_s=harvest.early_s,
            harvest_late_s=harvest.late_s,
        )
    return growth
