"""The screen a gloved operator lives with: what runs (recipe, batch, step N of M, time
left), the prompt or alarm that needs them, a live schematic of the kit, the trends,
and large Hold / Restart / Abort buttons that confirm before they act. Everything goes
to the run host through the RunController; nothing here blocks the GUI thread."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.batch.host import RUN_SETPOINT_LIMITS
from app.batch.states import FINAL
from app.batch.status import RunStatus
from app.store.signatures import Meaning
from app.store.signing import Duties, Rule, SigningRequest, same_person, step_request
from app.store.users import Session
from app.ui import theme
from app.ui.background import Background
from app.ui.dialogs import (
    STANDARD_REASONS,
    ConfirmDialog,
    DialogHost,
    KeypadDialog,
    ReasonDialog,
)
from app.ui.prompt_card import AlarmBanner, HeldCard, PromptCard
from app.ui.run_controller import RunController
from app.ui.run_trends import RunTrends
from app.ui.schematic import KitSchematic
from app.ui.signing_dialog import SigningDialog, ask_signature

STATE_COLOURS = {
    "Running": theme.GOOD,
    "Held": theme.WARN,
    "Holding": theme.WARN,
    "Restarting": theme.INFO,
    "Paused": theme.INFO,
    "Pausing": theme.INFO,
    "Complete": theme.GOOD,
    "Stopped": theme.MUTED,
    "Aborted": theme.BAD,
}
SETPOINT_NAMES = {"temp_sp": ("Temperature set-point", "°C"), "co2_sp": ("CO2 set-point", "%")}


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    return f"{days} d {hours} h" if days else f"{hours} h {minutes:02d} min"


def _hours(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "—"  # inf: not growing


def _day(process_s: float) -> str:
    return f"{process_s / 86400.0:.1f}" if math.isfinite(process_s) else "—"


def growth_text(status: RunStatus) -> str:
    """The run screen's growth line from the live kinetics in the run status, e.g.
    ``Growth: doubling 29.8 h (27.9–31.9) · 12.3× expansion · dose reached ≈ day 7.3
    (7.0–7.6) · harvest by day 10.0`` (day of process time; the last part once the
    culture step has fixed the latest allowed harvest); the label wraps it where the
    header is narrow."""
    if status.doubling_h is None:
        return "Growth: not enough data yet"
    text = (
        f"Growth: doubling {_hours(status.doubling_h)} h "
        f"({_hours(status.doubling_low_h)}–{_hours(status.doubling_high_h)})"
        f" · {status.fold_expansion:.1f}× expansion"
    )
    if status.harvest_eta_s is None:
        return text
    dose = f"dose reached ≈ day {_day(status.harvest_eta_s)}"
    if math.isinf(status.harvest_eta_s):
        dose = "dose not reached at this growth"
    elif status.harvest_early_s != status.harvest_late_s:
        dose += f" ({_day(status.harvest_early_s)}–{_day(status.harvest_late_s)})"
    if status.harvest_latest_s is not None:
        dose += f" · harvest by day {_day(status.harvest_latest_s)}"
    return f"{text} · {dose}"


MIN_HEADER_TEXT_PX = 240  # long step names and the growth line wrap rather than widen


class RunScreen(DialogHost, QWidget):
    new_run = Signal()  # the finished run was dismissed: show the start panel

    def __init__(self, runs: RunController, session: Callable[[], Session | None]) -> None:
        super().__init__()
        self.runs, self.session = runs, session
        self.status = RunStatus()
        self._background: Background | None = None  # reads for a second person's signature
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(6)
        root.addWidget(self._header())
        self.held = HeldCard()
        self.prompt = PromptCard()
        self.prompt.act.connect(self._answer)
        self.alarm = AlarmBanner()
        self.alarm.acknowledge.connect(self._acknowledge)
        for card in (self.held, self.prompt, self.alarm):
            root.addWidget(card)
        body = QHBoxLayout()
        self.schematic = KitSchematic()
        self.schematic.setMinimumHeight(200)  # room for prompt and alarm cards at 800 px
        self.trends = RunTrends()
        body.addWidget(self.schematic, 2)
        body.addWidget(self.trends, 3)
        root.addLayout(body, 1)
        self.message = QLabel("")
        self.message.setObjectName("Error")
        self.message.setWordWrap(True)
        root.addWidget(self.message)
        root.addLayout(self._buttons())

    # ------------------------------------------------------------------ layout
    def _header(self) -> QFrame:
        frame = QFrame()
        frame.setObjectName("Panel")
        row = QHBoxLayout(frame)
        row.setContentsMargins(16, 4, 16, 4)
        left = QVBoxLayout()
        left.setSpacing(0)
        self.recipe = QLabel("")
        self.recipe.setObjectName("Hint")
        self.step = QLabel("")
        self.step.setStyleSheet("font-size: 28px; font-weight: bold; background: transparent;")
        self.step.setWordWrap(True)
        self.growth = QLabel("")  # live kinetics and harvest prediction (docs/analytics.md)
        self.growth.setAccessibleName("growth")
        self.growth.setStyleSheet("font-size: 20px; background: transparent;")
        self.growth.setWordWrap(True)  # the header's width is the run screen's budget
        for label in (self.step, self.growth):  # a wrapped label's own minimum is too wide
            label.setMinimumWidth(MIN_HEADER_TEXT_PX)
        left.addWidget(self.recipe)
        left.addWidget(self.step)
        left.addWidget(self.growth)
        row.addLayout(left, 1)
        self.time_left = QLabel("")
        self.time_left.setStyleSheet("font-size: 24px; background: transparent;")
        row.addWidget(self.time_left)
        self.state = QLabel("")
        self.state.setMinimumWidth(200)
        row.addWidget(self.state)
        return frame

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(16)
        self.hold_button = self._button("Hold", "Warn", self._hold)
        self.restart_button = self._button("Restart", "Primary", self._restart)
        self.pause_button = self._button("Pause after step", "", self._pause)
        self.resume_button = self._button("Resume", "Primary", self._resume)
        self.setpoint_button = self._button("Change set-point", "", self._setpoint)
        self.stop_button = self._button("Stop", "Warn", self._stop)
        self.abort_button = self._button("Abort", "Danger", self._abort)
        self.new_button = self._button("Start another run", "Primary", self.new_run.emit)
        for button in (self.hold_button, self.restart_button, self.pause_button):
            row.addWidget(button)
        row.addWidget(self.resume_button)
        row.addWidget(self.setpoint_button)
        row.addStretch(1)
        row.addWidget(self.new_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.abort_button)
        return row

    def _button(self, text: str, kind: str, slot) -> QPushButton:
        button = QPushButton(text)
        if kind:
            button.setObjectName(kind)
        button.setAccessibleName(text.lower())
        button.setMinimumSize(150, 72)
        button.clicked.connect(slot)
        return button

    # ------------------------------------------------------------------ status in
    def show_status(self, status: RunStatus) -> None:
        self.status = status
        self.recipe.setText(f"{status.recipe} v{status.recipe_version} · batch {status.batch}")
        self.step.setText(f"Step {status.step} of {status.steps}: {status.step_name}")
        finished = status.state in FINAL
        self.time_left.setText("" if finished else f"time left ≈ {_duration(status.time_left_s)}")
        self.growth.setText(growth_text(status))
        # A recipe that grows no cells (a wash, the Demo) has no growth line at all.
        self.growth.setVisible(
            status.doubling_h is not None or status.harvest_target_cells is not None
        )
        colour = STATE_COLOURS.get(status.state, theme.MUTED)
        self.state.setText(status.state.upper())
        self.state.setStyleSheet(
            f"background: {colour}; color: white; font-size: 26px; font-weight: bold;"
            " border-radius: 8px; padding: 10px 18px;"
        )
        self.held.show_hold(status.state, status.held_reason, status.held_by, status.link)
        self.prompt.show_prompt(status.prompt, status.step, status.step_name)
        self.alarm.show_alarms(status.alarms)
        self.hold_button.setVisible(status.state in ("Running", "Pausing", "Paused"))
        self.restart_button.setVisible(status.state == "Held")
        self.restart_button.setEnabled(not status.recovering)
        self.setpoint_button.setVisible(status.state == "Running")
        self.pause_button.setVisible(status.state == "Running")
        self.resume_button.setVisible(status.state == "Paused")
        self.stop_button.setVisible(status.state in ("Running", "Paused", "Held"))
        self.abort_button.setVisible(not finished)
        self.new_button.setVisible(finished)
        if finished:
            problems = "; ".join(status.outcome_problems)
            self.message.setText(
                f"Run {status.state.lower()}."
                + (f" Outside expected outcome: {problems}" if problems else "")
            )
        self.schematic.set_values(status.values)
        self.schematic.set_stale(status.link != "CONNECTED")
        # the golden band behind the trends, with its summary in a line under them;
        # rebuilt only when the band or the step starts change (RunTrends.set_band)
        self.trends.set_band(status.golden, status.step_starts_s, status.golden_summary)

    # ------------------------------------------------------------------ actions
    def _call(self, method: Callable[..., None], *args, after: str = "") -> None:
        """``method``: one of the run controller's typed calls, e.g. ``self.runs.hold``."""
        session = self.session()
        if session is None:
            self.message.setText("Sign in first.")
            return
        self.message.setText("…")
        method(session, *args, done=lambda ok, v: self._done(ok, v, after))

    def _done(self, ok: bool, value, after: str) -> None:
        self.message.setText(after if ok else str(value))

    def _answer(self) -> None:
        prompt = self.status.prompt
        if prompt is None:
            return
        if prompt.response == "confirm":
            dialog = ConfirmDialog("Confirm", prompt.message, "Done", parent=self)
            self.open_dialog(dialog, lambda: self._call(self.runs.answer, "confirmed"))
        elif prompt.response == "data":
            low = prompt.data_low if prompt.data_low is not None else -1e12
            high = prompt.data_high if prompt.data_high is not None else 1e12
            dialog = KeypadDialog(
                prompt.data_label or "Value", prompt.data_unit, low, high, parent=self
            )
            self.open_dialog(dialog, lambda: self._call(self.runs.answer, dialog.value()))
        else:
            self._ask_signature(prompt.second_person)

    def _step_request(self, meaning: Meaning) -> SigningRequest:
        """The step's signature in words, built as the run host builds what it stores."""
        s = self.status
        second = s.prompt is not None and s.prompt.second_person
        return step_request(meaning, s.run_id, s.batch, s.step, s.step_name, s.steps, second)

    def _ask_signature(self, second_person: bool) -> None:
        """The performer signs (user name too at the session's first signature); a
        second-person step then asks the second person."""
        session = self.session()
        if session is None:
            return

        def signed(password: str, username: str | None) -> None:
            if second_person:
                self._ask_second(session, password, username)
            else:
                self._call(self.runs.answer, "signed", password, None, username)

        ask_signature(self, self._step_request(Meaning.PERFORMED), session, signed)

    def _ask_second(self, performer: Session, password: str, username: str | None) -> None:
        """The second person's signature (verified). Whether the site keeps performer and
        verifier apart, and the accounts' printed names, are read off the GUI thread;
        the performer's own user name is then refused in the dialog, before a password."""
        records = getattr(self.runs.host, "records", None)

        def read() -> tuple[bool, dict[str, str]]:
            if records is None:
                return True, {}
            rule_on = Duties(records.users, records.path).on(Rule.STEP)
            return rule_on, {user: name for user, name, _ in records.users.login_tiles()}

        def ready(ok: bool, value) -> None:
            rule_on, names = value if ok else (True, {})
            request = self._step_request(Meaning.VERIFIED)
            mine, why = performer.username.casefold(), same_person(request)
            dialog = SigningDialog(
                request,
                "",
                True,
                self,
                names=names,
                refusal=(lambda name: why if name.casefold() == mine else None)
                if rule_on
                else None,
            )
            second = lambda: (dialog.username() or "", dialog.password())  # noqa: E731
            self.open_dialog(
                dialog, lambda: self._call(self.runs.answer, "signed", password, second(), username)
            )

        if self._background is None:
            self._background = Background(self)
        self._background.submit(read, ready)

    def _acknowledge(self, tag: str) -> None:
        self._call(self.runs.acknowledge, tag, after=f"Alarm {tag} acknowledged.")

    def _hold(self) -> None:
        dialog = ReasonDialog("Hold the run: why?", STANDARD_REASONS["hold"], parent=self)
        self.open_dialog(
            dialog, lambda: self._call(self.runs.hold, dialog.reason(), after="Run held.")
        )

    def _restart(self) -> None:
        dialog = ReasonDialog("Restart the run", STANDARD_REASONS["restart"], parent=self)
        self.open_dialog(dialog, lambda: self._call(self.runs.restart, dialog.reason()))

    def _pause(self) -> None:
        dialog = ConfirmDialog(
            "Pause after this step?",
            f"Step {self.status.step} ({self.status.step_name}) finishes; the next one waits "
            "until you resume. Temperature and gas go on.",
            "Pause after step",
            parent=self,
        )
        self.open_dialog(
            dialog, lambda: self._call(self.runs.pause, "", after="Pausing after step.")
        )

    def _resume(self) -> None:
        self._call(self.runs.resume_paused, "", after="Resumed.")

    def _stop(self) -> None:
        dialog = ReasonDialog(
            "Stop the run: why?", STANDARD_REASONS["abort"], require_text=False, parent=self
        )

        def reason_given() -> None:
            reason = dialog.reason()
            sure = ConfirmDialog(
                "Stop the run?",
                f"A transfer under way finishes, then pumps and rotor stop; batch "
                f"{self.status.batch} ends Stopped.\nReason: {reason}",
                "Stop run",
                parent=self,
            )
            self.open_dialog(
                sure, lambda: self._call(self.runs.stop, reason, after="Run stopping.")
            )

        self.open_dialog(dialog, reason_given)

    def _abort(self) -> None:
        dialog = ReasonDialog(
            "Abort the run: this cannot be undone", STANDARD_REASONS["abort"], parent=self
        )

        def reason_given() -> None:
            reason = dialog.reason()
            sure = ConfirmDialog(
                "Abort the run?",
                f"Batch {self.status.batch} will end Aborted.\nReason: {reason}",
                "Abort run",
                danger=True,
                parent=self,
            )
            self.open_dialog(
                sure, lambda: self._call(self.runs.abort, reason, after="Run aborted.")
            )

        self.open_dialog(dialog, reason_given)

    def _setpoint(self) -> None:
        choice = ReasonDialog(
            "Which set-point?", [label for label, _ in SETPOINT_NAMES.values()], parent=self
        )

        def chosen() -> None:
            picked = choice.reason().split(":")[0]
            name = next(n for n, (label, _) in SETPOINT_NAMES.items() if label == picked)
            label, unit = SETPOINT_NAMES[name]
            low, high = RUN_SETPOINT_LIMITS[name]
            current = self.status.values.get(name)
            keypad = KeypadDialog(label, unit, low, high, initial=current, parent=self)

            def valued() -> None:
                value = keypad.value()
                why = ReasonDialog(
                    f"{label} to {value:g} {unit}: why?", STANDARD_REASONS["setpoint"], parent=self
                )
                self.open_dialog(
                    why,
                    lambda: self._call(
                        self.runs.change_setpoint,
                        name,
                        value,
                        why.reason(),
                        after=f"{label} {value:g} {unit}",
                    ),
                )

            self.open_dialog(keypad, valued)

        self.open_dialog(choice, chosen)
