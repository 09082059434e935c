"""Run-to-run comparison for review (issue #9): any number of runs overlaid on one plot,
by elapsed time or aligned by step, one colour a run, and below it the table of their
outcomes (duration, fold expansion, doubling time, final dose, alarms, exceptions or
band deviations), sorted by tapping a column's header and exported as CSV.

When the runs share one recipe version, its golden band in force (app/store/golden.py)
is read first: the table then counts each run's stretches outside it, its summary line
says which band that is, and the band is drawn behind the curves of the channels it
covers. A supervisor (``golden.select``) makes the compared runs, or all approved runs
of that version, the new band.

This module is the page: the controls, the reading (everything goes through app/review
on the background thread; a reply for a selection or a chip no longer shown is dropped),
the messages and the CSV export. It composes three parts, each a file of its own:

* app/ui/compare_plot.py: ``ComparisonPlot``, the curves, the band behind them and the
  legend;
* app/ui/compare_outcomes.py: ``OutcomeTable``, one row a run (its Batch cell carries the
  run's line sample, so it doubles as the legend when many runs crowd the plot's);
* app/ui/compare_golden.py: ``GoldenChooser``, the band in force and choosing a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.analytics import GoldenBatch
from app.analytics.channels import channel_label
from app.records import Records
from app.review.golden_select import BandState, band_state
from app.review.outcomes import (
    Comparison,
    RunOutcome,
    comparison_series,
    run_outcomes,
    write_outcomes_csv,
)
from app.store.golden import GoldenRecord
from app.store.users import Session
from app.ui.background import Background
from app.ui.compare_golden import GoldenChooser
from app.ui.compare_outcomes import OutcomeTable
from app.ui.compare_plot import LOG_Y, ComparisonPlot, band_channel
from app.ui.dialogs import DialogHost
from app.ui.page_kit import plain_sentence, set_message

# Short chip labels: every control fits one row at 1280 px, leaving the height to the
# plot and the table; the plot's axis title names the channel in full.
CHANNELS = (
    ("temp", "Temp."),
    ("ph", "pH"),
    ("do", "DO"),
    ("vcd", "Density"),
    ("total_cells", "Cells"),
    ("fold_expansion", "Fold"),
)
ALIGNMENTS = (("elapsed", "Elapsed"), ("step", "By step"))
POINTS = 600  # per run from the historian (300 bucket means: curves, not sensor noise)


class ComparePage(DialogHost, QWidget):
    """``load(run_ids)``: the first run is the reference of the step alignment.

    ``records`` and ``session`` (the signed-in user) are needed only to choose a golden
    band; without them the page compares and shows the band in force, nothing more."""

    back = Signal()
    drawn = Signal()  # the plot shows a comparison (after a load or a chip)
    outcomes_shown = Signal()
    exported = Signal(object)  # the CSV file's path
    band_known = Signal()  # the band in force for the runs compared was read (or none)
    golden_chosen = Signal(object)  # the GoldenRecord just stored

    def __init__(
        self,
        db_path: Path,
        background: Background,
        export_folder: Path | None = None,
        records: Records | None = None,
        session: Callable[[], Session | None] | None = None,
    ) -> None:
        super().__init__()
        self.db_path, self.background = db_path, background
        self.records, self.session = records, session or (lambda: None)
        self.export_folder = export_folder or db_path.parent / "exports"
        self.run_ids: list[int] = []
        self.outcomes: list[RunOutcome] = []
        self.comparison: Comparison | None = None
        self.channel, self.align = CHANNELS[0][0], ALIGNMENTS[0][0]
        self.last_export: Path | None = None
        self._generation = 0  # bumped per load: older outcomes are dropped
        self._asked = 0  # bumped per plot query: older series are dropped
        self._pending = 0
        self._failed = 0  # runs whose outcomes could not be read (this load)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        column.addLayout(self._controls())
        self.plot_widget = ComparisonPlot()
        self.plot, self.legend = self.plot_widget.plot, self.plot_widget.legend
        column.addWidget(self.plot_widget, 3)
        self.table = OutcomeTable()
        self.table.itemSelectionChanged.connect(self._highlight)
        column.addWidget(self.table, 2)
        self.message = QLabel("")
        self.message.setObjectName("Hint")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("message")
        # the band in force for the runs' recipe version (read with every load):
        # deviations are counted against it, and it is drawn behind the curves
        self.chooser = GoldenChooser(self, records, self.session, self._submit, self._batches)
        self.chooser.chosen.connect(self._golden_stored)
        self.band_label, self.golden_message = self.chooser.band_label, self.chooser.golden_message
        self.golden_button = self.chooser.golden_button
        self.all_golden_button = self.chooser.all_golden_button
        column.addWidget(self.chooser)
        column.addWidget(self.message)

    # ------------------------------------------------------------------ the parts' state
    @property
    def band(self) -> BandState | None:
        """The band in force for the runs compared (None while reading, or unreadable)."""
        return self.chooser.band

    @property
    def golden(self) -> GoldenBatch | None:
        return self.chooser.golden

    @property
    def curves(self) -> dict[int, pg.PlotDataItem]:
        """Run id -> its curve on the plot."""
        return self.plot_widget.curves

    @property
    def _band_items(self) -> list[Any]:
        return self.plot_widget.band_items

    def band_channel(self) -> str | None:
        """The band drawn behind the plot now (its channel), or None."""
        return band_channel(self.comparison, self.golden)

    def choose_golden(self) -> None:
        self.chooser.choose_golden()

    def shown_order(self) -> list[int]:
        """Run ids in the table's order as shown (sorted or not)."""
        return self.table.shown_order()

    # ------------------------------------------------------------------ building
    def _controls(self) -> QHBoxLayout:
        """Back, the channel chips, the alignment chips and export: one row."""
        row = QHBoxLayout()
        row.setSpacing(6)
        back = QPushButton("◀ History")
        back.setAccessibleName("back to history")
        back.clicked.connect(self.back)
        row.addWidget(back)
        row.addSpacing(10)
        self.channel_buttons = self._chips(CHANNELS, self.channel, "channel", self._set_channel)
        for button in self.channel_buttons.values():
            row.addWidget(button)
        row.addStretch(1)
        self.align_buttons = self._chips(ALIGNMENTS, self.align, "align", self._set_align)
        for button in self.align_buttons.values():
            row.addWidget(button)
        row.addSpacing(10)
        self.export_button = QPushButton("Export CSV")
        self.export_button.setAccessibleName("export csv")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_csv)
        row.addWidget(self.export_button)
        return row

    def _chips(
        self,
        choices: Sequence[tuple[str, str]],
        current: str,
        name: str,
        slot: Callable[[str], None],
    ) -> dict[str, QPushButton]:
        group = QButtonGroup(self)
        buttons = {}
        for key, label in choices:
            button = QPushButton(label)
            button.setCheckable(True)
            button.setChecked(key == current)
            button.setAccessibleName(f"{name} {key}")
            button.clicked.connect(lambda _=False, k=key: slot(k))
            group.addButton(button)
            buttons[key] = button
        return buttons

    # ------------------------------------------------------------------ loading
    @property
    def busy(self) -> bool:
        return self._pending > 0

    def _submit(self, job: Callable[[], Any], done: Callable[[bool, Any], None]) -> None:
        self._pending += 1

        def answered(ok: bool, value: Any) -> None:
            self._pending -= 1
            done(ok, value)

        self.background.submit(job, answered)

    def reload(self) -> None:
        if self.run_ids:
            self.load(self.run_ids)

    def load(self, run_ids: Sequence[int], keep_golden_message: bool = False) -> None:
        """Compare ``run_ids``: the plot first (milliseconds), then the outcomes one run
        at a time, each asked for when the one before is in (a 10-day run's growth
        kinetics take about a second): rows appear as they come, and a chip tapped
        meanwhile waits for one run on the background thread, not for all."""
        self.run_ids = list(run_ids)
        self._generation += 1
        generation = self._generation
        self.outcomes, self._failed, self.comparison = [], 0, None
        self.table.clear_rows()
        self.export_button.setEnabled(False)
        self._hint("Reading the runs and working out their growth…")
        self.chooser.compare(self.run_ids, keep_message=keep_golden_message)
        self._query_series()
        # the band first (milliseconds): the outcomes count deviations from it
        db, records, ids = self.db_path, self.records, list(self.run_ids)
        self._submit(
            lambda: band_state(db, records, ids),
            lambda ok, value: self._band_read(generation, ok, value),
        )

    def _band_read(self, generation: int, ok: bool, value: Any) -> None:
        if generation != self._generation:
            return  # another selection is shown now
        self.chooser.band_read(ok, value)
        self.table.count_deviations(from_band=self.golden is not None)
        self._describe_band()
        self.plot_widget.draw_band(self.comparison, self.golden)
        if self.comparison is not None:  # drawn before the band was known: range again
            self.plot_widget.fit(self.comparison, self.golden)
        self.band_known.emit()
        self._next_outcome(generation)

    def _next_outcome(self, generation: int) -> None:
        done = len(self.outcomes) + self._failed
        if generation != self._generation or done >= len(self.run_ids):
            return
        db, golden, run_id = self.db_path, self.golden, self.run_ids[done]
        self._submit(
            lambda: run_outcomes(db, [run_id], golden)[0],
            lambda ok, value: self._add_outcome(generation, run_id, ok, value),
        )

    def _set_channel(self, channel: str) -> None:
        self.channel = channel
        self._query_series()

    def _set_align(self, align: str) -> None:
        self.align = align
        self._query_series()

    def _query_series(self) -> None:
        if not self.run_ids:
            return
        self._asked += 1
        asked = self._asked
        db, ids, channel, align = self.db_path, list(self.run_ids), self.channel, self.align
        self._submit(
            lambda: comparison_series(db, ids, channel, align, POINTS),
            lambda ok, value: self._draw(asked, ok, value),
        )

    # ------------------------------------------------------------------ the plot
    def _draw(self, asked: int, ok: bool, comparison: Any) -> None:
        if asked != self._asked:
            return  # a chip was tapped since: its own reply comes
        if not ok:
            self._error(f"The runs cannot be read: {plain_sentence(comparison)}")
            return
        self.comparison = comparison
        self.plot_widget.draw(comparison, self.golden)
        self._describe_band()
        self._highlight()
        label = channel_label(comparison.channel)[0]
        empty = [c.batch_id for c in comparison.curves if not len(c.t_s)]
        notes = [comparison.note] if comparison.note else []
        if empty and comparison.channel in LOG_Y:
            notes.append(
                f"No {label.lower()} for {', '.join(empty)}: growth needs at least 4 h of"
                " cell density readings."
            )
        elif empty:
            notes.append(f"No {label.lower()} data for {', '.join(empty)}.")
        if notes:
            self._hint(" ".join(notes))
        elif self.outcomes:
            self._hint(self._tap_hint())
        self.drawn.emit()

    def _describe_band(self) -> None:
        """The band line under the table (a channel shown that the band does not cover)."""
        comparison = self.comparison
        uncovered = None
        if comparison is not None and self.band_channel() is None:
            uncovered = comparison.channel
        self.chooser.describe(uncovered)

    def _highlight(self) -> None:
        """Runs tapped in the table stand out on the plot (thicker, in front)."""
        self.plot_widget.highlight(self.run_ids, self.table.selected_runs())

    # ------------------------------------------------------------------ the table
    def _add_outcome(self, generation: int, run_id: int, ok: bool, outcome: Any) -> None:
        if generation != self._generation:
            return  # another selection is shown now
        if not ok:
            self._failed += 1
            self._error(f"The outcomes of run {run_id} cannot be read: {plain_sentence(outcome)}")
        else:
            self.outcomes.append(outcome)
            twice = sum(r == outcome.batch_id for r in self._batches()) > 1  # run twice
            self.table.add_row(outcome, self.run_ids.index(outcome.run_id), twice)
        if len(self.outcomes) + self._failed < len(self.run_ids):
            self._next_outcome(generation)
            return
        self.export_button.setEnabled(bool(self.outcomes))
        if not self._failed and not (self.comparison and self.comparison.note):
            self._hint(self._tap_hint())
        self.outcomes_shown.emit()

    def _batches(self) -> list[str]:
        """The batch IDs of the runs compared (known once the plot has them)."""
        if self.comparison is not None:
            return [c.batch_id for c in self.comparison.curves]
        return [o.batch_id for o in self.outcomes]

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.table.fit_columns()

    def _tap_hint(self) -> str:
        return (
            f"{len(self.run_ids)} runs compared. Tap a run to pick it out on the plot; "
            "tap a column's title to sort by it."
        )

    # ------------------------------------------------------------------ golden band
    def _golden_stored(self, record: GoldenRecord) -> None:
        self.golden_chosen.emit(record)
        if self.run_ids:
            self.load(self.run_ids, keep_golden_message=True)  # the new band counts

    # ------------------------------------------------------------------ export
    def export_csv(self) -> None:
        """The outcomes, in the order shown, to <data folder>/exports/comparison-<UTC>.csv
        (a new file each time)."""
        if not self.outcomes:
            return
        by_id = {o.run_id: o for o in self.outcomes}
        outcomes = [by_id[run_id] for run_id in self.shown_order() if run_id in by_id]
        folder = self.export_folder
        self.export_button.setEnabled(False)
        self._hint("Writing the CSV file…")

        def write() -> Path:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            path, n = folder / f"comparison-{stamp}.csv", 2
            while path.exists():  # two exports in one second: never overwrite a copy
                path, n = folder / f"comparison-{stamp}-{n}.csv", n + 1
            write_outcomes_csv(outcomes, path)
            return path

        self._submit(write, self._exported)

    def _exported(self, ok: bool, value: Any) -> None:
        self.export_button.setEnabled(bool(self.outcomes))
        if not ok:
            self._error(f"The CSV file was not written: {plain_sentence(value)}")
            return
        self.last_export = value
        self._hint(f"Wrote the outcomes of {len(self.outcomes)} runs to {value}.")
        self.exported.emit(value)

    # ------------------------------------------------------------------ messages
    def _hint(self, text: str) -> None:
        set_message(self.message, text, error=False)

    def _error(self, text: str) -> None:
        set_message(self.message, text, error=True)
