"""Run detail for a reviewer: the record's header and audit-chain status; its
exceptions (or the words "no exceptions") and every recorded event, each tap moving the
trends there; whole-run trends with the step timeline under them and, on request, a
second run overlaid; sign-off and export. Everything that reads or signs goes through
app/review on the background thread.

The exceptions end with the run judged against its recipe version's golden band in
force (app/review/golden_select.py ``band_report``): which band, then each stretch of two
hours or more outside it as a "deviation" row, tappable like the others and ticked on the
step timeline. It is read after the record (the run's growth kinetics take up to a
second), so the record's own exceptions show first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.analytics import Deviation
from app.review.golden_select import BandJudgement, band_judgement, deviation_sentence
from app.review.signoff import SignOff, SignOffStatus
from app.review.timeline import RunTimeline, TimelineEvent, build_timeline
from app.store.actor import Actor
from app.store.exports import may_export, record_export
from app.store.signatures import Meaning
from app.store.users import AuthError, Session
from app.ui import theme
from app.ui.background import Background
from app.ui.compare_picker import ComparePicker
from app.ui.dialogs import STANDARD_REASONS, DialogHost, ReasonDialog
from app.ui.page_kit import WrappedItemDelegate, plain_sentence
from app.ui.review_trends import ReviewTrends
from app.ui.signing_dialog import ask_signature

AT_MS = Qt.ItemDataRole.UserRole  # an event's process time, on its list item
DEVIATION = "deviation"  # the exception kind of a stretch outside the golden band


class RunDetailPage(DialogHost, QWidget):
    back = Signal()
    drawn = Signal()  # the trends were (re)drawn from a query: whole run or a zoom
    judged = Signal()  # the run was judged against its golden band (or there is none)

    def __init__(
        self,
        signoff: SignOff,
        background: Background,
        session: Callable[[], Session | None],
        export_folder: Path,
    ) -> None:
        super().__init__()
        self.signoff, self.background, self.session = signoff, background, session
        self.export_folder = export_folder
        self.run_id: int | None = None
        self.status: SignOffStatus | None = None
        self.timeline: RunTimeline | None = None
        self.band: BandJudgement | None = None  # None: not yet judged
        column = QVBoxLayout(self)
        top = QHBoxLayout()
        back = QPushButton("◀ History")
        back.setAccessibleName("back to history")
        back.clicked.connect(self.back)
        top.addWidget(back)
        self.title = QLabel("")
        self.title.setObjectName("PageTitle")
        top.addWidget(self.title, 1)
        self.compare_button = self._button("Compare…", "", self._pick_comparison)
        top.addWidget(self.compare_button)
        column.addLayout(top)
        self.header = QLabel("")
        self.header.setWordWrap(True)
        self.header.setObjectName("Hint")
        column.addWidget(self.header)
        body = QHBoxLayout()
        body.addLayout(self._lists(), 2)
        self.trends = ReviewTrends(signoff.db_path, background)
        self.trends.drawn.connect(self.drawn)
        self.plots, self.first_plot = self.trends.plots, self.trends.first_plot
        body.addWidget(self.trends, 3)
        column.addLayout(body, 1)
        self.message = QLabel("")
        self.message.setObjectName("Error")
        self.message.setWordWrap(True)
        column.addWidget(self.message)
        buttons = QHBoxLayout()
        self.review_button = self._button("Sign: reviewed", "Primary", self._review)
        self.approve_button = self._button("Sign: approved", "Primary", self._approve)
        self.reject_button = self._button("Reject…", "Danger", self._reject)
        self.pdf_button = self._button("Export PDF", "", self._export_pdf)
        self.csv_button = self._button("Export CSV", "", self._export_csv)
        for button in (self.review_button, self.approve_button, self.reject_button):
            buttons.addWidget(button)
        # why a sign-off button is disabled for the signed-in person (duties kept apart)
        self.duty_note = QLabel("")
        self.duty_note.setObjectName("Hint")
        self.duty_note.setWordWrap(True)
        self.duty_note.setAccessibleName("why not")
        self.duty_note.setStyleSheet("font-size: 20px;")  # read at arm's length and more
        buttons.addWidget(self.duty_note, 1)
        buttons.addWidget(self.pdf_button)
        buttons.addWidget(self.csv_button)
        column.addLayout(buttons)

    def _lists(self) -> QVBoxLayout:
        """Exceptions and all events, one shown at a time behind two big tabs."""
        column = QVBoxLayout()
        tabs = QHBoxLayout()
        group = QButtonGroup(self)
        self.lists = QStackedWidget()
        self.exceptions = self._list()
        self.events = self._list()
        self.tab_buttons: list[QPushButton] = []
        for index, (label, widget) in enumerate(
            (("Exceptions", self.exceptions), ("All events", self.events))
        ):
            button = QPushButton(label)
            button.setCheckable(True)
            button.setChecked(index == 0)
            button.setAccessibleName(label.lower())
            button.clicked.connect(lambda _=False, i=index: self.lists.setCurrentIndex(i))
            group.addButton(button)
            tabs.addWidget(button)
            self.tab_buttons.append(button)
            self.lists.addWidget(widget)
        column.addLayout(tabs)
        column.addWidget(self.lists, 1)
        return column

    def _list(self) -> QListWidget:
        listing = QListWidget()
        listing.setWordWrap(True)
        listing.setItemDelegate(WrappedItemDelegate(listing))  # a reviewer reads all of it
        listing.setMinimumWidth(380)
        listing.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        listing.setResizeMode(QListWidget.ResizeMode.Adjust)
        listing.itemClicked.connect(self._event_tapped)
        return listing

    def _button(self, text: str, kind: str, slot) -> QPushButton:
        button = QPushButton(text)
        if kind:
            button.setObjectName(kind)
        button.setAccessibleName(text.lower().rstrip("…"))
        button.clicked.connect(slot)
        return button

    # ------------------------------------------------------------------ loading
    def load(self, run_id: int) -> None:
        self.run_id, self.timeline, self.band = run_id, None, None
        self.message.setText("Reading the record…")
        self.compare_button.setText("Compare…")
        self.trends.load(run_id)
        session = self.session()  # what the duty rules refuse this person is read too
        self.background.submit(lambda: self.signoff.status(run_id, session), self._loaded)

    def _loaded(self, ok: bool, status) -> None:
        if not ok:
            self.message.setText(f"The record cannot be read: {status}")
            return
        self.status = status
        record = status.record
        self.title.setText(f"Batch {record.batch_id} · run {record.run_id} · {record.state}")
        chain = (
            f"audit trail verified ({record.chain.count} entries)"
            if record.chain.ok
            else f"AUDIT TRAIL VERIFICATION FAILED: {record.chain.message}"
        )
        signed = ", ".join(
            f"{c.signature.meaning.value} by {c.signature.user_name}"
            + ("" if c.valid else " (NO LONGER MATCHES)")
            for c in status.signatures
        )
        self.header.setText(
            f"{record.recipe_name} v{record.recipe_version_no} · "
            f"sha256 {record.recipe_hash[:16]} · "
            f"kit {record.kit_id} · {record.instrument_serial} firmware {record.firmware} · "
            f"started by {record.operator} {record.started_utc[:19]} · ended "
            f"{record.ended_utc[:19]}\n{chain}" + (f"\nSigned: {signed}" if signed else "")
        )
        if not record.chain.ok:
            self.header.setStyleSheet(f"color: {theme.BAD}; font-weight: bold;")
        else:
            self.header.setStyleSheet("")
        self._list_exceptions()
        db, run_id = self.signoff.db_path, record.run_id
        self.background.submit(
            lambda: build_timeline(db, record, status.exceptions),
            lambda ok, timeline: self._placed(run_id, timeline) if ok else None,
        )
        recipe = f"{record.recipe_name} v{record.recipe_version_no}"
        self.background.submit(
            lambda: band_judgement(db, run_id, recipe),
            lambda ok, value: self._judged(run_id, ok, value),
        )
        problems = status.approvable_problems
        reviewed, approved = status.valid(Meaning.REVIEWED), status.valid(Meaning.APPROVED)
        refused = status.refused
        self.review_button.setEnabled(
            record.chain.ok and not reviewed and Meaning.REVIEWED not in refused
        )
        self.approve_button.setEnabled(
            not problems and not approved and Meaning.APPROVED not in refused
        )
        next_act = Meaning.REVIEWED if not reviewed else None if approved else Meaning.APPROVED
        self.duty_note.setText(refused.get(next_act, "") if next_act else "")
        self.message.setText("Not yet approvable: " + "; ".join(problems) if problems else "")

    def deviations(self) -> list[Deviation]:
        """The run's stretches outside its golden band (none until judged)."""
        report = self.band.report if self.band is not None else None
        return list(report.deviations) if report is not None else []

    def _list_exceptions(self) -> None:
        """The record's exceptions (tappable once placed on the axis), then the golden
        band's verdict: which band, and each deviation (tappable: process time)."""
        status = self.status
        if status is None:
            return
        self.exceptions.clear()
        deviations = self.deviations()
        self.tab_buttons[0].setText(f"Exceptions ({len(status.exceptions) + len(deviations)})")
        if not status.exceptions and not deviations:
            self.exceptions.addItem("No exceptions: nothing in this run needs attention.")
        placed = self.timeline.exceptions if self.timeline is not None else []
        for row, item in enumerate(status.exceptions):
            line = QListWidgetItem(f"{item.kind.upper()}  {item.when_utc[11:19]}  {item.text}")
            if row < len(placed):
                line.setData(AT_MS, placed[row].run_ms)
            self.exceptions.addItem(line)
        note = self.band.note if self.band is not None else "Checking the golden band…"
        self.exceptions.addItem(self._note_item(note))
        for deviation in deviations:
            line = QListWidgetItem(f"{DEVIATION.upper()}  {deviation_sentence(deviation)}")
            line.setData(AT_MS, int(deviation.start_s * 1000))
            self.exceptions.addItem(line)

    @staticmethod
    def _note_item(text: str) -> QListWidgetItem:
        """A muted line that is read, not tapped."""
        item = QListWidgetItem(text)
        item.setForeground(QColor(theme.MUTED))
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = item.font()
        font.setItalic(True)
        item.setFont(font)
        return item

    def _judged(self, run_id: int, ok: bool, value) -> None:
        if run_id != self.run_id:
            return  # another run is shown now
        if ok:
            self.band = value
        else:
            note = f"The run could not be judged against its golden band: {plain_sentence(value)}"
            self.band = BandJudgement(None, note)
        self._list_exceptions()
        if self.timeline is not None:
            self.trends.set_timeline(self._ticked(self.timeline))
        self.judged.emit()

    def _ticked(self, timeline: RunTimeline) -> RunTimeline:
        """The timeline with a red tick at each deviation's start, as the exceptions."""
        extra = [
            TimelineEvent(DEVIATION, "", int(d.start_s * 1000), deviation_sentence(d), None, True)
            for d in self.deviations()
        ]
        return RunTimeline(
            timeline.steps, timeline.events, [*timeline.exceptions, *extra], timeline.last_ms
        )

    def _placed(self, run_id: int, timeline: RunTimeline) -> None:
        """Events and exceptions now know where they are on the axis: tappable."""
        if run_id != self.run_id:
            return
        self.timeline = timeline
        self.trends.set_timeline(self._ticked(timeline))
        self._list_exceptions()
        self.events.clear()
        self.tab_buttons[1].setText(f"All events ({len(timeline.events)})")
        for event in timeline.events:
            self.events.addItem(self._event_item(event))

    @staticmethod
    def _event_item(event: TimelineEvent) -> QListWidgetItem:
        item = QListWidgetItem(f"{event.when_utc[11:19]}  {event.text}")
        item.setData(AT_MS, event.run_ms)
        if event.kind == "alarm":
            item.setForeground(QColor(theme.BAD))
        return item

    def _event_tapped(self, item: QListWidgetItem) -> None:
        at = item.data(AT_MS)
        if at is not None:
            self.trends.show_moment(int(at))

    # ------------------------------------------------------------------ comparison
    def _pick_comparison(self) -> None:
        status = self.status
        if status is None:
            return
        picker = ComparePicker(
            self.signoff.db_path,
            self.background,
            status.record.recipe_name,
            status.record.run_id,
            self,
        )
        self.open_dialog(picker, lambda: self._compare(picker.chosen, picker.chosen_label))

    def _compare(self, run_id: int | None, label: str) -> None:
        self.trends.compare_with(run_id)
        self.compare_button.setText(f"Compared: {label}" if run_id else "Compare…")

    # ------------------------------------------------------------------ sign-off
    def _sign(self, method: str, meaning: Meaning, *extra) -> None:
        """The signing dialog says what signing the record means and causes, then
        ``signoff.<method>`` signs in the background."""
        session, run_id, status = self.session(), self.run_id, self.status
        if session is None or run_id is None or status is None:
            return

        def signed(password: str, username: str | None) -> None:
            call = getattr(self.signoff, method)
            self.background.submit(
                lambda: call(session, password, run_id, *extra, username=username),
                self._after_sign,
            )

        ask_signature(self, self.signoff.request(meaning, status.record), session, signed)

    def _after_sign(self, ok: bool, value) -> None:
        if not ok:
            self.message.setText(str(value))
            return
        self.load(self.run_id)

    def _review(self) -> None:
        self._sign("review", Meaning.REVIEWED)

    def _approve(self) -> None:
        self._sign("approve", Meaning.APPROVED)

    def _reject(self) -> None:
        dialog = ReasonDialog(
            "Reject the batch record: why?", STANDARD_REASONS["abort"], True, self
        )
        self.open_dialog(dialog, lambda: self._sign("reject", Meaning.REJECTED, dialog.reason()))

    # ------------------------------------------------------------------ export
    def _exporter(self, session: Session | None, run_id: int) -> Actor:
        """The signed-in person, if their role may export (refusal audited); the
        export is then recorded as theirs (``record.export``)."""
        if session is None:
            raise AuthError("sign in to export")
        may_export(self.signoff.records.users, session, run_id)
        return Actor.of(session)

    def _export_pdf(self) -> None:
        from app.reports.pdf import write_pdf
        from app.reports.trend_image import draw_trends

        status, run_id = self.status, self.run_id
        if status is None or run_id is None:
            return
        path = self.export_folder / f"batch-{status.record.batch_id}-run-{run_id}.pdf"

        judged = self.band
        record = status.record
        session = self.session()

        def write() -> int:  # QPdfWriter and QImage painting need no widgets: off the GUI
            actor = self._exporter(session, run_id)
            self.export_folder.mkdir(parents=True, exist_ok=True)
            db = self.signoff.db_path
            image = draw_trends(db, run_id)
            recipe = f"{record.recipe_name} v{record.recipe_version_no}"
            band = judged or band_judgement(db, run_id, recipe)
            pages = write_pdf(record, status.exceptions, path, image, band)
            writer = self.signoff.records.writer
            record_export(writer, actor, run_id, record.batch_id, f"PDF {path}")
            return pages

        self.background.submit(
            write,
            lambda ok, pages: self.message.setText(
                f"Wrote {path} ({pages} pages)" if ok else f"PDF not written: {pages}"
            ),
        )
        self.last_pdf = path

    def _export_csv(self) -> None:
        from app.reports.csv_export import export_audit, export_samples

        status, run_id = self.status, self.run_id
        if status is None or run_id is None:
            return
        folder = self.export_folder / f"batch-{status.record.batch_id}-run-{run_id}"
        session = self.session()

        def write() -> tuple[int, int]:
            actor = self._exporter(session, run_id)
            folder.mkdir(parents=True, exist_ok=True)
            samples = export_samples(self.signoff.db_path, run_id, folder / "samples.csv")
            entries = export_audit(status.record, folder / "audit.csv")
            writer = self.signoff.records.writer
            record_export(writer, actor, run_id, status.record.batch_id, f"CSV {folder}")
            return samples, entries

        self.background.submit(
            write,
            lambda ok, n: self.message.setText(
                f"Wrote {n[0]} samples and {n[1]} audit entries to {folder}"
                if ok
                else f"CSV not written: {n}"
            ),
        )
        self.last_csv = folder
