"""A run's live analytics: growth kinetics, the harvest prediction and its alarm, and
the watch against the recipe version's golden band with its early warning.

The run host (on the hardware thread) hands it the run's samples in chunks of a few
minutes of process time and tells it when each step starts; it answers with the values
of the pseudo-channels that its alarms watch, which the host gives to the engine's
alarm manager, so these alarms are acknowledged, shelved, recorded and reviewed like
every other (ISA-18.2). Pure Python and numpy, no Qt, no I/O: each new estimate goes to
``store`` (the host writes it with the run). See docs/analytics.md §6.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from app.analytics.channels import (
    CULTURE_PHASE,
    GROWTH_CHANNELS,
    SEED_PHASES,
    channel_label,
    growth_series,
)
from app.analytics.golden import WARN_AFTER_S, DeviationWatch, GoldenBatch
from app.analytics.harvest import HarvestPrediction, predict_harvest, slip_channels
from app.analytics.kinetics import FAST_KINETICS, KineticsEstimate, KineticsSeries, LiveKinetics
from app.batch.alarms import ANALYTICS_TAGS, BAND_TAG_PREFIX, AlarmDefinition, Kind, Priority
from app.batch.recipe import Recipe
from hardware.protocol import CHANNEL_INDEX

VCD, VOLUME = CHANNEL_INDEX["vcd"], CHANNEL_INDEX["w_chamber"]
NOT_LATE_H = -1000.0  # the harvest pseudo-channels outside the culture step: normal

HARVEST_ALARMS: tuple[AlarmDefinition, ...] = (
    AlarmDefinition(
        "HARVEST_MAY_BE_LATE",
        "harvest_late_end_h",
        Kind.HIGH,
        0.0,
        Priority.LOW,
        "The harvest prediction's late end is past the latest allowed harvest: check the "
        "culture (temperature, gas, last feed) and tell the supervisor.",
        on_delay_s=1800.0,
        deadband=2.0,
    ),
    AlarmDefinition(
        "HARVEST_LATE",
        "harvest_eta_h",
        Kind.HIGH,
        0.0,
        Priority.MEDIUM,
        "The culture is predicted to reach its dose after the latest allowed harvest: tell "
        "the supervisor now, who decides to harvest at the limit or to extend under a "
        "deviation.",
        on_delay_s=1800.0,
        deadband=2.0,
    ),
)
"""The harvest alarm, low then medium (harvest.slip_channels: hours past the latest
allowed harvest of the interval's late end, then of the point estimate); the on-delay
and the 2 h deadband keep a prediction that wobbles around the limit from chattering."""
assert {d.tag for d in HARVEST_ALARMS} == ANALYTICS_TAGS


def band_alarm(channel: str, warn_after_s: float = WARN_AFTER_S) -> AlarmDefinition:
    """The early warning of one band channel: the watch has seen it outside the band
    for ``warn_after_s``; it returns to normal when the channel is back inside."""
    return AlarmDefinition(
        f"{BAND_TAG_PREFIX}{channel.upper()}",
        f"band_{channel}",
        Kind.HIGH,
        0.5,
        Priority.LOW,
        f"{channel_label(channel)[0]} has been outside the golden band for over "
        f"{warn_after_s / 3600:g} h: check set-points, gas supply and the last feed, and "
        "tell the supervisor (an early warning: the run goes on).",
    )


def harvest_target(recipe: Recipe, arguments: Sequence[dict[str, Any]]) -> float | None:
    """The dose the harvest is predicted for: the culture step's ``target_cells``, else
    the lower bound of the recipe's expected ``product_cells`` (the least dose that
    passes); None when the recipe grows no cells to a dose."""
    for step, args in zip(recipe.steps, arguments, strict=True):
        if step.phase == CULTURE_PHASE and args.get("target_cells"):
            return float(args["target_cells"])
    cells = recipe.outcome.get("product_cells")
    return cells[0] if cells and cells[0] > 0.0 else None


class RunAnalytics:
    """Live kinetics (24 h window, for the screen and the prediction; 6 h window for
    the band's growth rate), harvest prediction, and the golden-band watch of one run."""

    def __init__(
        self,
        recipe: Recipe,
        arguments: Sequence[dict[str, Any]],
        golden: GoldenBatch | None = None,
        step_starts_s: Iterable[float] = (),
        store: Callable[[KineticsEstimate, HarvestPrediction | None], None] | None = None,
        resumed: bool = False,
    ) -> None:
        """``resumed``: a run taken up after a console restart. Its estimators start
        from the back-fill, so its fold expansion counts from there: not comparable with
        the band's (from seeding), that channel is not watched."""
        self.recipe = recipe
        self.arguments = list(arguments)
        self.golden = golden
        self.store = store
        # fold expansion counts from the first activate or culture step's start (as
        # review's analyse_run does); until that step starts, from nothing (inf)
        self.seed_step = next((s.number for s in recipe.steps if s.phase in SEED_PHASES), None)
        seed = math.inf if self.seed_step is not None else None
        self.kinetics = LiveKinetics(seed_s=seed)
        self.fast = LiveKinetics(FAST_KINETICS, seed_s=seed)
        self.estimate: KineticsEstimate | None = None
        self.fast_estimate: KineticsEstimate | None = None
        self.previous: KineticsEstimate | None = None  # the estimate the watch saw last
        self.harvest: HarvestPrediction | None = None
        self.target_cells = harvest_target(recipe, self.arguments)
        self.step_starts_s: list[float] = []
        self.step = 0  # number of the step running (1-based; 0 before the first)
        self.latest_harvest_s: float | None = None
        self.watch = DeviationWatch(golden) if golden is not None else None
        watched = [
            c for c in (golden.bands if golden else ()) if not (resumed and c == "log10_fold")
        ]
        self.band_channels = tuple(watched)
        self._telemetry_bands = [c for c in watched if c in CHANNEL_INDEX]
        self._growth_bands = [c for c in watched if c in GROWTH_CHANNELS]
        for number, t_s in enumerate(step_starts_s, start=1):
            self.step_started(number, t_s)

    @property
    def alarm_definitions(self) -> tuple[AlarmDefinition, ...]:
        """The alarms this run's analytics raise: the harvest alarm when the recipe has
        a dose and a culture step, an early warning per band channel."""
        found: list[AlarmDefinition] = []
        if self.target_cells is not None and self._culture_index() is not None:
            found += HARVEST_ALARMS
        found += [band_alarm(c) for c in self.band_channels]
        return tuple(found)

    def _culture_index(self) -> int | None:
        return next((i for i, s in enumerate(self.recipe.steps) if s.phase == CULTURE_PHASE), None)

    def step_started(self, number: int, process_s: float) -> None:
        """Step ``number`` (1-based) began: aligns the band watch, and a culture step
        fixes the latest allowed harvest (its start plus its duration)."""
        del self.step_starts_s[number - 1 :]  # a restarted step: its newest start
        self.step_starts_s += [process_s] * (number - len(self.step_starts_s))
        self.step = number
        if number == self.seed_step:
            self.kinetics.seed_s = self.fast.seed_s = process_s
        if self.watch is not None:
            self.watch.step_starts_s = list(self.step_starts_s)
        index = number - 1
        if 0 <= index < len(self.recipe.steps) and self.recipe.steps[index].phase == CULTURE_PHASE:
            duration = self.arguments[index].get("duration")
            if duration:
                self.latest_harvest_s = process_s + float(duration)

    def add(self, t_s: np.ndarray, values: np.ndarray) -> dict[str, float]:
        """A chunk of samples in time order (process s; rows of every channel in
        protocol order). Returns the alarm pseudo-channels' values now."""
        estimate = self.kinetics.add(t_s, values[:, VCD], values[:, VOLUME])
        fast = self.fast.add(t_s, values[:, VCD], values[:, VOLUME])
        if estimate is not None and estimate is not self.estimate:
            self.estimate = estimate
            target = self.target_cells
            self.harvest = predict_harvest(estimate, target) if target else None
            if self.store is not None:
                self.store(estimate, self.harvest)
        watch = self.watch
        if watch is not None:
            for channel in self._telemetry_bands:
                watch.add(channel, t_s, values[:, CHANNEL_INDEX[channel]])
            # growth: each new estimate once, judged with its own uncertainty (margin)
            new = {
                "log10_fold": estimate is not self.previous,
                "mu_h": fast is not self.fast_estimate,
            }
            for channel in self._growth_bands:
                source = fast if channel == "mu_h" else estimate
                if source is not None and new.get(channel, False):
                    one = KineticsSeries.from_estimates([source])
                    watch.add(channel, *growth_series(one, channel))
        self.previous, self.fast_estimate = estimate, fast
        return self.alarm_values()

    def culture_end_s(self) -> float | None:
        """When the culture step now running will end (process s): when the dose is
        predicted, if that comes before its time is up, else at its time limit. None
        when no culture step runs. For the screen's "time left": the step itself only
        knows its next hourly check."""
        culture = self._culture_index()
        if culture is None or self.step != culture + 1 or self.latest_harvest_s is None:
            return None
        end = self.latest_harvest_s
        harvest = self.harvest
        if harvest is not None and not harvest.reached and math.isfinite(harvest.eta_s):
            end = min(end, harvest.eta_s)
        return end

    def alarm_values(self) -> dict[str, float]:
        """The pseudo-channels: harvest slip (hours past the latest allowed harvest,
        armed only while the culture step runs), and 1/0 per band channel."""
        values: dict[str, float] = {}
        culture = self._culture_index()
        if self.target_cells is not None and culture is not None:
            late = {"harvest_late_end_h": NOT_LATE_H, "harvest_eta_h": NOT_LATE_H}
            running = self.step == culture + 1
            if running and self.harvest is not None and self.latest_harvest_s is not None:
                late = slip_channels(self.harvest, self.latest_harvest_s)
            values.update(late)
        if self.watch is not None:
            for channel in self.band_channels:
                values[f"band_{channel}"] = 1.0 if self.watch.warned(channel) else 0.0
        return values
