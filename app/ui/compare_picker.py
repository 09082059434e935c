"""Choosing the run to overlay in review: the newest finished runs of the same recipe,
one big button each (a reviewer compares like with like), and "No comparison"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from app.store.runs import RunFilter, RunRow, list_runs
from app.ui.background import Background
from app.ui.dialogs import TouchDialog

CHOICES = 6


class ComparePicker(TouchDialog):
    """Accepted with ``chosen`` (a run id, or None to remove the overlay)."""

    def __init__(
        self,
        db_path: Path,
        background: Background,
        recipe: str,
        this_run: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Compare", parent)
        self.chosen: int | None = None
        self.chosen_label = ""
        self.this_run, self.recipe = this_run, recipe
        self.add_title(f"Overlay another run of {recipe}")
        self.status = self.add_message("Reading the history…")
        self.choices: list = []
        none = self.make_button("No comparison", "no comparison")
        none.clicked.connect(lambda: self._choose(None, ""))
        self.body.addWidget(none)
        self.cancel_button = self.make_button("Cancel", "Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.add_button_row(self.cancel_button, None)
        where = RunFilter(recipe=recipe)
        background.submit(lambda: list_runs(db_path, 50, where), self._listed)

    def _listed(self, ok: bool, rows: list[RunRow]) -> None:
        if not ok:
            self.status.setText(f"The history cannot be read: {rows}")
            return
        same = [r for r in rows if r.recipe.rsplit(" v", 1)[0] == self.recipe]  # not "Demo 2"
        rows = [r for r in same if r.run_id != self.this_run and r.ended_utc][:CHOICES]
        self.status.setText(
            "Shown in grey on the same process-time axis."
            if rows
            else "No other finished run of this recipe on this workstation."
        )
        for row in rows:
            label = f"Batch {row.batch_id} · run {row.run_id}"
            button = self.make_button(
                f"{label} · {row.state} · {row.started_utc[:10]}", f"compare {row.run_id}"
            )
            button.clicked.connect(lambda _=False, r=row.run_id, t=label: self._choose(r, t))
            self.body.insertWidget(self.body.indexOf(self.status) + 1 + len(self.choices), button)
            self.choices.append(button)

    def _choose(self, run_id: int | None, label: str) -> None:
        self.chosen, self.chosen_label = run_id, label
        self.accept()
