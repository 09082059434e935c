"""The golden-band row of the compare page (app/ui/compare_page.py): the band in force
for the runs compared (or why there is none), and for a supervisor (``golden.select``)
the two ways to choose a new one: the runs compared, or all approved runs of their
recipe version. A reason and a signature ("approved") are asked, then
app/review/golden_select.py checks, builds and stores the band on the background thread.

The page tells the row which runs it compares (``compare``) and the band it read for
them (``band_read``); a reply for runs no longer compared is dropped. ``chosen`` carries
the ``GoldenRecord`` stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.analytics import MIN_GOLDEN_RUNS, WARN_AFTER_S, GoldenBatch
from app.analytics.channels import channel_label
from app.records import Records
from app.review.golden_select import BandState, candidates, check_selection, select_golden
from app.store.golden import GoldenRecord
from app.store.security import Permission, allowed
from app.store.signing import golden_request
from app.store.users import Session
from app.ui import theme
from app.ui.compare_outcomes import BAND_COLUMN_TITLE
from app.ui.dialogs import DialogHost
from app.ui.golden_dialog import ask_reason_and_signature
from app.ui.page_kit import plain_sentence, set_message

WARN_AFTER_H = WARN_AFTER_S / 3600.0  # a deviation: this long outside the band

Submit = Callable[[Callable[[], Any], Callable[[bool, Any], None]], None]
"""Runs a job on the page's background thread: ``submit(job, done(ok, value))``."""


class GoldenChooser(QWidget):
    """The band line and what choosing one said, beside the supervisor's two buttons.

    ``host`` opens the dialogs (the page); ``submit`` runs the checks and the storing
    in the background; ``batches()`` names the runs compared, in their order."""

    chosen = Signal(object)  # the GoldenRecord just stored

    def __init__(
        self,
        host: DialogHost,
        records: Records | None,
        session: Callable[[], Session | None],
        submit: Submit,
        batches: Callable[[], list[str]],
    ) -> None:
        super().__init__()
        self.host, self.records, self.session = host, records, session
        self._submit, self._batches = submit, batches
        self.band: BandState | None = None  # the band in force for the runs compared
        self.run_ids: list[int] = []
        self._generation = 0  # bumped per comparison: older replies are dropped
        self._choosing = False  # a golden band is being checked, built or stored
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        text = QVBoxLayout()
        text.setSpacing(2)
        self.band_label = QLabel("")
        self.band_label.setObjectName("Hint")
        self.band_label.setWordWrap(True)
        self.band_label.setAccessibleName("golden band")
        self.golden_message = QLabel("")
        self.golden_message.setObjectName("Hint")
        self.golden_message.setWordWrap(True)
        self.golden_message.setAccessibleName("golden band message")
        self.golden_message.hide()
        text.addWidget(self.band_label)
        text.addWidget(self.golden_message)
        row.addLayout(text, 1)
        self.golden_button = QPushButton("Use as golden band…")
        self.golden_button.setAccessibleName("use as golden band")
        self.golden_button.clicked.connect(self.choose_golden)
        self.all_golden_button = QPushButton("Use all approved runs…")
        self.all_golden_button.setAccessibleName("use all approved runs")
        self.all_golden_button.clicked.connect(self.choose_all_golden)
        for button in (self.golden_button, self.all_golden_button):
            button.setMinimumHeight(theme.MIN_TOUCH_PX)  # hidden ones too (never laid out)
            button.hide()
            row.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)

    @property
    def golden(self) -> GoldenBatch | None:
        """The band in force, or None (none chosen yet, or not read yet)."""
        return self.band.golden if self.band is not None else None

    # ------------------------------------------------------------------ the band in force
    def compare(self, run_ids: Sequence[int], keep_message: bool = False) -> None:
        """Other runs are compared: their band is being read (``band_read``)."""
        self.run_ids = list(run_ids)
        self._generation += 1
        self.band = None
        self.band_label.setText("Looking for the golden band of these runs…")
        if not keep_message:
            self.note("")
        self.refresh()

    def band_read(self, ok: bool, value: Any) -> None:
        """The band in force (a ``BandState``), or why it cannot be read."""
        if ok:
            self.band = value
        else:
            self.band_label.setText(f"The golden band cannot be read: {plain_sentence(value)}")
        self.refresh()

    def describe(self, uncovered: str | None) -> None:
        """The band line: which band counts (or why none does), what a deviation is, and
        ``uncovered``, a channel shown that the band does not cover."""
        state = self.band
        if state is None:
            return  # still reading (the loading line stays), or it failed (the error)
        line = state.line()
        if state.golden is not None:
            line += f" {BAND_COLUMN_TITLE}: {WARN_AFTER_H:g} h or more outside it."
            if uncovered is not None:
                line += f" No band for {channel_label(uncovered)[0].lower()}."
        if self.may_choose() and len(self.run_ids) < MIN_GOLDEN_RUNS:
            line += f" Compare at least {MIN_GOLDEN_RUNS} runs to make them a golden band."
        self.band_label.setText(line)

    # ------------------------------------------------------------------ choosing
    def may_choose(self) -> bool:
        """The signed-in user may choose golden bands (the service checks again)."""
        session = self.session()
        return (
            self.records is not None
            and session is not None
            and not session.locked
            and allowed(session.role, Permission.GOLDEN_SELECT)
        )

    def refresh(self) -> None:
        """The buttons: shown to those who may choose a band; enabled once the band in
        force is known (from three runs compared, or for all approved runs of their
        version)."""
        may = self.may_choose()
        for button in (self.golden_button, self.all_golden_button):
            button.setVisible(may)
        ready = may and not self._choosing and self.band is not None
        self.golden_button.setEnabled(ready and len(self.run_ids) >= MIN_GOLDEN_RUNS)
        self.all_golden_button.setEnabled(
            ready and self.band is not None and self.band.recipe_id is not None
        )

    def choose_golden(self) -> None:
        """The runs compared as the band of their recipe version: checked first (each
        complete, approved, of one version), then a reason and the signature."""
        if not self.golden_button.isEnabled():
            return
        records, ids = self.records, list(self.run_ids)
        batches = dict(zip(self.run_ids, self._batches(), strict=False))
        names = [batches.get(run_id, f"run {run_id}") for run_id in ids]

        def check() -> tuple[list[int], str]:
            assert records is not None
            check_selection(records, ids)
            return ids, f"Make {_and(names)} the golden band of {{recipe}}: why?"

        self._prepare(check, f"Checking that the {len(ids)} runs may make a golden band…")

    def choose_all_golden(self) -> None:
        """Every complete, approved run of the compared runs' recipe version."""
        state = self.band
        if not self.all_golden_button.isEnabled() or state is None:
            return
        records, recipe_id = self.records, state.recipe_id

        def find() -> tuple[list[int], str]:
            assert records is not None and recipe_id is not None
            found = candidates(records, recipe_id)
            if len(found) < MIN_GOLDEN_RUNS:
                raise ValueError(
                    f"{state.recipe} has {len(found)} complete, approved "
                    f"run{'' if len(found) == 1 else 's'}: a golden band needs at least "
                    f"{MIN_GOLDEN_RUNS}"
                )
            ids = [c.run_id for c in found]
            return ids, f"Make all {len(ids)} approved runs of {{recipe}} the golden band: why?"

        self._prepare(find, f"Finding the approved runs of {state.recipe}…")

    def _prepare(self, job: Callable[[], tuple[list[int], str]], doing: str) -> None:
        self._choosing = True
        self.refresh()
        self.note(doing)
        generation = self._generation
        self._submit(job, lambda ok, value: self._ask_why(generation, ok, value))

    def _ask_why(self, generation: int, ok: bool, value: Any) -> None:
        self._choosing = False
        self.refresh()
        if generation != self._generation:
            self.note("")
            return  # other runs are compared now: they were not what was checked
        session = self.session()
        if not ok:
            self.note(plain_sentence(value), error=True)
            return
        if session is None or self.band is None:
            self.note("")
            return
        ids, question = value
        recipe = self.band.recipe
        self.note("")  # the dialogs say what is signed (cancelled: nothing to say)
        request = golden_request(recipe, ids)  # what the dialog shows is what is stored
        ask_reason_and_signature(
            self.host,
            question.format(recipe=recipe),
            request,
            session,
            lambda reason, password, user: self._select(
                ids, reason, password, user, request.statement
            ),
        )

    def _select(
        self, ids: list[int], reason: str, password: str, username: str | None, statement: str = ""
    ) -> None:
        records, session = self.records, self.session()
        if records is None or session is None:
            return
        self._choosing = True
        self.refresh()
        self.note(f"Building the band of runs {_runs(ids)} and signing…")
        self._submit(
            lambda: select_golden(records, session, password, ids, reason, username, statement),
            self._selected,
        )

    def _selected(self, ok: bool, value: Any) -> None:
        self._choosing = False
        if not ok:
            self.refresh()
            self.note(f"No band stored: {plain_sentence(value)}", error=True)
            return
        record: GoldenRecord = value
        self.note(f"Golden band stored, signed (approved) by {record.user_name}.")
        self.chosen.emit(record)

    def note(self, text: str, error: bool = False) -> None:
        """What choosing said (hidden when nothing)."""
        set_message(self.golden_message, text, error=error)
        self.golden_message.setVisible(bool(text))


def _runs(run_ids: Sequence[int]) -> str:
    return ", ".join(str(r) for r in run_ids)


def _and(names: Sequence[str]) -> str:
    """'B-1, B-2 and B-3'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
