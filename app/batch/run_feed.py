"""Feeding a run's analytics (kinetics, harvest prediction, golden-band watch) from the
run host, on the thread that owns the connection.

Samples the engine took as new are gathered here and handed to ``RunAnalytics.add`` in
chunks of ``KINETICS_FEED_S`` of process time and at every step start, so a step's
samples go to that step. A step start comes from inside the engine (the run record's
``on_step``) and is only noted then; the host applies it once the engine call has
returned (``apply_steps``), so the analytics never run, nor raise alarms, half-way
through the engine starting a step. Analytics never take the hardware thread down: a
failure stops them for the run, said in the run's lines, and the run goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from app.analytics.golden import GoldenBatch
from app.analytics.harvest import HarvestPrediction
from app.analytics.kinetics import KineticsEstimate
from app.batch.engine import BatchEngine
from app.batch.recipe import Recipe
from app.batch.run_analytics import RunAnalytics
from app.batch.states import FINAL
from app.store.golden import GoldenRecord
from app.store.run_log import KINETICS_COLUMNS, insert_kinetics
from app.store.writer import StoreWriter

log = logging.getLogger(__name__)

KINETICS_FEED_S = 300.0
"""Samples for the run's analytics (kinetics, golden-band watch) are gathered on the host
and handed over in chunks of this much process time, and at every step start: one
``RunAnalytics.add`` per 5 min instead of one per batch (buckets are 10 min, so an
estimate comes at most 5 min later)."""

Band = tuple[GoldenRecord, GoldenBatch]
"""A golden band as kept (its record: id, summary) and as watched (the band itself)."""


class RunFeed:
    """The run's analytics and the samples and step starts waiting for them."""

    def __init__(self, writer: StoreWriter, on_line: Callable[[str], None]) -> None:
        """``on_line``: a line for the run's record on screen (the host's ``_line``)."""
        self.writer = writer
        self.on_line = on_line
        self.analytics: RunAnalytics | None = None
        self.golden: GoldenRecord | None = None  # the band the run is watched against
        self.run_id: int | None = None  # whose kinetics are kept
        self._buffer: list[tuple[float, Any]] = []  # (process s, sample values)
        self._steps_begun: list[tuple[int, float]] = []  # (number, process s), not yet applied

    # ------------------------------------------------------------------ a run's analytics
    def band(self, find: Callable[[], Band | None]) -> Band | None:
        """The golden band to watch the run against (``find``: the band in force at a
        start, the run's own at a resume); a band that cannot be read is not used, and
        the run says so, rather than refusing to start or to resume."""
        try:
            return find()
        except Exception as exc:  # any damage: no band, said, and the run goes on
            log.exception("golden band not read")
            self.on_line(f"golden band not used: it could not be read ({exc})")
            return None

    def prepare(
        self,
        recipe: Recipe,
        arguments: Sequence[dict[str, Any]],
        band: Band | None,
        started: Iterable[float] = (),
        resumed: bool = False,
    ) -> RunAnalytics:
        """New analytics for a run being started or resumed (not yet the run's: ``take``)."""
        return RunAnalytics(
            recipe,
            arguments,
            band[1] if band else None,
            started,
            self._store_kinetics,
            resumed=resumed,
        )

    def take(self, analytics: RunAnalytics, band: Band | None, run_id: int | None) -> None:
        """Make them the run's (once its engine exists: a failed start or resume leaves
        the previous run's on show, not half of a new one's)."""
        self.analytics, self.golden = analytics, band[0] if band else None
        self.run_id = run_id
        self._buffer, self._steps_begun = [], []

    def stop(self) -> None:
        """No analytics any more (a run not resumed here)."""
        self.analytics = None

    # ------------------------------------------------------------------ feeding
    def step_started(self, number: int, process_s: float) -> None:
        """From inside the engine (the run record's ``on_step``): noted only."""
        self._steps_begun.append((number, process_s))

    @property
    def steps_pending(self) -> bool:
        return bool(self._steps_begun)

    def apply_steps(self, engine: BatchEngine | None, raise_alarms: bool) -> None:
        """The step starts noted: what came before each belongs to the step before."""
        begun, self._steps_begun = self._steps_begun, []
        for number, process_s in begun:
            self.flush(engine, raise_alarms)
            if self.analytics is not None:
                self._guarded(lambda n=number, t=process_s: self.analytics.step_started(n, t))

    def sample(
        self, engine: BatchEngine, boot: int, t_ms: int, values: Any, raise_alarms: bool
    ) -> None:
        """After the engine took one sample: a step it began is applied first (the sample
        belongs to it), then the sample is kept if the engine took it as new."""
        if self._steps_begun:
            self.apply_steps(engine, raise_alarms)
        if (
            self.analytics is not None
            and engine.state not in FINAL
            and engine.clock == (boot, t_ms)  # taken as new
        ):
            self._buffer.append((engine.process_s, values))

    def flush_if_due(self, engine: BatchEngine, raise_alarms: bool) -> None:
        """Hand the samples over once they span ``KINETICS_FEED_S``."""
        buffer = self._buffer
        if buffer and buffer[-1][0] - buffer[0][0] >= KINETICS_FEED_S:
            self.flush(engine, raise_alarms)

    def flush(self, engine: BatchEngine | None, raise_alarms: bool) -> None:
        """Hand the samples kept to the analytics; what they find out of the band is
        evaluated as alarms (``raise_alarms``: not while a resumed run waits)."""
        buffer = list(self._buffer)
        self._buffer.clear()
        analytics = self.analytics
        if analytics is None or engine is None or not buffer:
            return
        t_s = np.fromiter((t for t, _ in buffer), np.float64, len(buffer))
        values = np.array([v for _, v in buffer], dtype=np.float64)
        alarm_values = self._guarded(lambda: analytics.add(t_s, values))
        if alarm_values and engine.state not in FINAL and raise_alarms:
            engine.alarms.evaluate(engine.process_s, alarm_values)

    def _guarded(self, work: Callable[[], Any]) -> Any:
        """A failure stops the analytics for this run, said in the run's lines and the
        technical log; the run goes on."""
        try:
            return work()
        except Exception as exc:  # the run matters more than its analytics
            log.exception("run analytics failed")
            self.analytics = None
            self.on_line(f"growth analytics stopped: {exc}")
            return None

    def _store_kinetics(
        self, estimate: KineticsEstimate, harvest: HarvestPrediction | None
    ) -> None:
        """Each new estimate, with the prediction made from it, kept with the run."""
        if self.run_id is None:
            return
        row = {
            "run_id": self.run_id,
            **{name: getattr(estimate, name) for name in KINETICS_COLUMNS[1:13]},
            "harvest_target_cells": harvest.target_cells if harvest else None,
            "harvest_eta_s": harvest.eta_s if harvest else None,
            "harvest_early_s": harvest.early_s if harvest else None,
            "harvest_late_s": harvest.late_s if harvest else None,
        }

        def job(ctx) -> None:  # a resumed run's estimate of a time already kept: the first
            insert_kinetics(ctx.conn, row)

        self.writer.submit(job)
