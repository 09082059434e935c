"""The Calibration tab's result and signature: the instrument's coefficients now beside
the new ones, the figure of merit and the verdict of the math
(app/service/calibration.py); a refused result cannot be applied.

Apply asks for the signature (SigningDialog: what is signed and what it causes, then
the password; the user name too at the session's first signature) and hands the rest to
the service host, ``ServiceHost.apply_calibration``: the permission and password checked
before anything changes, the coefficients written and read back, the signed record, and
the old coefficients written back when the record cannot be made. This screen only
says what happened (``CalibrationApplied``).

``ResultAndSign`` is a part of ``CalibrationTab`` (app/ui/service/calibration_tab.py),
which holds the state it works on.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from app.service.calibration import CalibrationResult, Point, Readings
from app.service.calibration_apply import (
    ApplyOutcome,
    ApplyStage,
    CalibrationApplied,
    ReadBackMismatch,
)
from app.service.host import ServiceHost
from app.store.calibrations import default_due_days
from app.ui import theme
from app.ui.hardware_calls import ServiceCalls
from app.ui.page_kit import plain_sentence, touch_button
from app.ui.service.calibration_wizards import Wizard
from app.ui.service.kit import big_label, coloured, repolish
from app.ui.signing_dialog import ask_signature
from hardware.protocol import CHANNEL_LABELS

STAGE_TEXT = {
    ApplyStage.CHECK: "Checking your signature…",
    ApplyStage.WRITE: "Writing the new coefficients to the instrument…",
    ApplyStage.RECORD: "Recording the calibration under your signature…",
    ApplyStage.RESTORE: "Not recorded: writing the old coefficients back to the instrument…",
}


class ResultAndSign:
    """The result screen, and Apply (a mixin of the tab)."""

    wizard: Wizard | None
    channel: str | None
    readings: list[Readings | None]
    result: CalibrationResult | None
    problem: str  # a CalibrationInputError's sentence: no result at all
    old: tuple[float, float]  # the instrument's coefficients when the result was computed
    applying: bool

    def _build_result(self) -> None:
        self.result_view = QWidget()
        column = QVBoxLayout(self.result_view)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        self.result_title = big_label("", 26, bold=True)
        column.addWidget(self.result_title)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(32)
        self.grid.setVerticalSpacing(4)
        column.addLayout(self.grid)
        self.figure = big_label("", 22, bold=True)
        self.figure.setAccessibleName("figure of merit")
        column.addWidget(self.figure)
        self.verdict = big_label("", 22, bold=True)
        self.verdict.setAccessibleName("verdict")
        column.addWidget(self.verdict)
        column.addStretch(1)
        self.result_cancel = touch_button("Cancel", "cancel calibration")
        self.result_cancel.clicked.connect(self.cancel)
        self.again_button = touch_button("Start again", "start again")
        self.again_button.clicked.connect(lambda: self.wizard and self.start(self.wizard))
        self.apply_button = touch_button("Apply and sign", "apply", "Primary")
        self.apply_button.setMinimumWidth(260)
        self.apply_button.clicked.connect(self.apply)
        row = QHBoxLayout()
        row.setSpacing(12)
        row.addWidget(self.result_cancel)
        row.addStretch(1)
        row.addWidget(self.again_button)
        row.addWidget(self.apply_button)
        column.addLayout(row)
        self.views.addWidget(self.result_view)

    # ------------------------------------------------------------------ result
    def show_result(self) -> None:
        """Read the instrument's coefficients now (the 'old'), then compute."""
        channel = self.channel
        if self.wizard is None or channel is None:
            return
        self.next_button.setEnabled(False)
        self.call(
            ServiceCalls.calibration,
            channel,
            done=self._compute,
            failed=lambda _e: self.next_button.setEnabled(True),
        )

    def _compute(self, old: tuple[float, float]) -> None:
        wizard, channel = self.wizard, self.channel
        if wizard is None or channel is None:
            return
        points = [
            Point.of(self.reference(i), readings)
            for i, readings in enumerate(self.readings)
            if readings is not None
        ]
        try:
            self.result = wizard.compute(channel, points, old[0], old[1])
            self.problem = ""
        except ValueError as exc:  # CalibrationInputError: not a calibration of this kind
            self.result = None
            self.problem = plain_sentence(exc)
        self.old = old
        self._show_result()
        self.views.setCurrentWidget(self.result_view)

    def _show_result(self) -> None:
        wizard, channel, result = self.wizard, self.channel, self.result
        assert wizard is not None and channel is not None
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        what = wizard.title
        if wizard.channel is None:  # the load cell chosen
            what += f" · {CHANNEL_LABELS.get(channel, channel)}"
        self.result_title.setText(f"{what}: result")
        header = ("", "On the instrument now", "New")
        for col, text in enumerate(header):
            cell = big_label(text, 20, bold=True)
            cell.setWordWrap(False)
            cell.setObjectName("Hint")
            self.grid.addWidget(cell, 0, col)
        old_gain, old_offset = self.old
        rows: list[tuple[str, str, str]] = []
        if result is not None:
            rows.append(("Gain", f"{old_gain:.6f}", self._fmt(result.gain, 6)))
            rows.append(("Offset", f"{old_offset:.4f}", self._fmt(result.offset, 4)))
            digits = wizard.digits
            for point in result.points:
                rows.append(
                    (
                        f"{wizard.standard(point).capitalize()} reads",
                        f"{result.old_reading(point.raw):.{digits}f} {wizard.unit}",
                        self._fmt(result.reading(point.raw), digits, wizard.unit),
                    )
                )
        for row, (name, before, after) in enumerate(rows, 1):
            self.grid.addWidget(big_label(name, 22), row, 0)
            old_cell = big_label(before, 24)
            old_cell.setAccessibleName(f"old {name.lower()}")
            self.grid.addWidget(old_cell, row, 1)
            new_cell = big_label(after, 24, bold=True)
            new_cell.setAccessibleName(f"new {name.lower()}")
            self.grid.addWidget(new_cell, row, 2)
        self.grid.setColumnStretch(3, 1)
        if result is None:
            self.figure.setText("")
            self.verdict.setText(f"Refused: {self.problem}")
            coloured(self.verdict, theme.BAD, 22)
        else:
            days = default_due_days(channel)
            due = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")
            self.figure.setText(f"{result.figure_text[0].upper()}{result.figure_text[1:]}")
            if result.plausible:
                self.verdict.setText(
                    f"Plausible. Apply writes it to the instrument and records it under your "
                    f"signature; it falls due in {days} days ({due})."
                )
                coloured(self.verdict, theme.GOOD, 22)
            else:
                self.verdict.setText(f"Refused: {result.refusal}.")
                coloured(self.verdict, theme.BAD, 22)
        plausible = result is not None and result.plausible
        self.apply_button.setEnabled(plausible and not self.applying)
        repolish(self.again_button, "" if plausible else "Primary")  # the way on: again
        self.again_button.setEnabled(not self.applying)
        self.result_cancel.setEnabled(not self.applying)

    @staticmethod
    def _fmt(value: float, digits: int, unit: str = "") -> str:
        if not math.isfinite(value):
            return "—"
        return f"{value:.{digits}f}" + (f" {unit}" if unit else "")

    # ------------------------------------------------------------------ apply
    def apply(self) -> None:
        result = self.result
        if result is None or not result.plausible or self.applying:
            return
        identity, session = self.identity, self.page.session()
        if identity is None:
            self.page.say("The instrument has not identified itself yet: try again.", True)
            return
        if session is None:
            return
        serial = identity.serial
        request = ServiceHost.calibration_request(result, serial)  # the words signed

        def signed(password: str, username: str | None) -> None:
            self._busy(True, STAGE_TEXT[ApplyStage.CHECK])
            self.call(
                ServiceCalls.apply_calibration,
                password,
                result,
                serial,
                username,
                self.apply_stage.emit,  # from the procedure thread: queued to this one
                done=self._applied,
                failed=lambda _exc: self._busy(False),  # the page said why
            )

        ask_signature(self.page, request, session, signed)

    def _stage(self, stage: ApplyStage) -> None:
        if self.applying and stage is not ApplyStage.CHECK:
            self.page.say(STAGE_TEXT[stage])

    def _busy(self, busy: bool, text: str = "") -> None:
        self.applying = busy
        if text:
            self.page.say(text)
        self._show_result()

    def _applied(self, applied: CalibrationApplied) -> None:
        self._busy(False)
        result, error = applied.result, applied.error
        if applied.outcome is ApplyOutcome.RECORDED and applied.record is not None:
            record = applied.record
            label = CHANNEL_LABELS.get(record.channel, record.channel)
            self.page.say(
                f"{label} calibrated on {record.instrument_serial}: gain {record.gain:.6f}, "
                f"offset {record.offset:.4f}, signed by {record.user_name}; due "
                f"{record.due_utc[:10]}. Put the probe or hanger back as the process needs it."
            )
            self.wizard = None
            self.result = None
            self.views.setCurrentWidget(self.chooser)
            self.load_current()
            return
        why = _sentence(error)
        if applied.outcome is ApplyOutcome.REFUSED:
            text = f"{why} Nothing was written to the instrument or recorded."
        elif applied.outcome is ApplyOutcome.NOT_WRITTEN:
            text = f"{why} The instrument keeps its old coefficients; nothing was recorded."
        elif applied.outcome is ApplyOutcome.RESTORED:
            text = (
                f"Not recorded ({why.rstrip('.')}): the old coefficients (gain "
                f"{result.old_gain:.6f}, offset {result.old_offset:.4f}) were written back to "
                "the instrument."
            )
        else:  # UNRECORDED
            text = (
                f"Not recorded ({why.rstrip('.')}), and writing the old coefficients back "
                f"failed too ({_sentence(applied.restore_error).rstrip('.')}): the instrument "
                "holds unrecorded coefficients. Calibrate this channel again before any run."
            )
        self.page.say(text, error=True)


def _sentence(error: BaseException | None) -> str:
    if error is None:
        return "No reason was given."
    if isinstance(error, ReadBackMismatch):
        return str(error)  # as the instrument holds it, in the wire's digits
    return plain_sentence(error)
