"""Run detail for a reviewer: the record's header and audit-chain status, its
exceptions (or the words "no exceptions"), whole-run trends from the historian's
rollups that refine to raw samples as you zoom (the view asks for its own range; min
and max per bucket, so extremes never vanish), and sign-off and export. Everything
that reads or signs goes through app/review on the background thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.review.signoff import SignOff, SignOffStatus
from app.store.historian import Series, query_run
from app.store.signatures import Meaning
from app.store.users import Session
from app.ui import theme
from app.ui.background import Background
from app.ui.dialogs import STANDARD_REASONS, DialogHost, ReasonDialog, TextEntryDialog
from hardware.protocol import CHANNEL_BY_NAME

DETAIL_TRENDS = ("temp", "ph", "do", "pressure")
POINTS = 1600  # per channel for the visible range (min and max per bucket)


class RunDetailPage(DialogHost, QWidget):
    back = Signal()
    drawn = Signal()  # the trends were (re)drawn from a query: whole run or a zoom

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
        column = QVBoxLayout(self)
        top = QHBoxLayout()
        back = QPushButton("◀ History")
        back.setAccessibleName("back to history")
        back.clicked.connect(self.back)
        top.addWidget(back)
        self.title = QLabel("")
        self.title.setObjectName("PageTitle")
        top.addWidget(self.title, 1)
        column.addLayout(top)
        self.header = QLabel("")
        self.header.setWordWrap(True)
        self.header.setObjectName("Hint")
        column.addWidget(self.header)
        body = QHBoxLayout()
        self.exceptions = QListWidget()
        self.exceptions.setWordWrap(True)
        self.exceptions.setMinimumWidth(380)
        self.exceptions.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.exceptions.setResizeMode(QListWidget.ResizeMode.Adjust)
        body.addWidget(self.exceptions, 2)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(theme.SURFACE)
        self.curves: dict[str, tuple] = {}
        first = None
        for row, name in enumerate(DETAIL_TRENDS):
            channel = CHANNEL_BY_NAME[name]
            plot = self.plots.addPlot(row=row, col=0, title=f"{channel.label} ({channel.unit})")
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=True, y=False)
            plot.hideButtons()
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            colour = theme.TREND_COLOURS[name]
            self.curves[name] = (
                plot.plot([], [], pen=pg.mkPen(colour, width=1)),
                plot.plot([], [], pen=pg.mkPen(colour, width=1)),
            )
        self.first_plot = first
        first.sigXRangeChanged.connect(lambda *_: self._zoom_later.start(120))
        self._zoom_later = QTimer(self)
        self._zoom_later.setSingleShot(True)
        self._zoom_later.timeout.connect(self._requery)
        self.level = ""
        body.addWidget(self.plots, 3)
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
        buttons.addStretch(1)
        buttons.addWidget(self.pdf_button)
        buttons.addWidget(self.csv_button)
        column.addLayout(buttons)

    def _button(self, text: str, kind: str, slot) -> QPushButton:
        button = QPushButton(text)
        if kind:
            button.setObjectName(kind)
        button.setAccessibleName(text.lower().rstrip("…"))
        button.clicked.connect(slot)
        return button

    # ------------------------------------------------------------------ loading
    def load(self, run_id: int) -> None:
        self.run_id = run_id
        self.message.setText("Reading the record…")
        self.background.submit(lambda: self.signoff.status(run_id), self._loaded)
        self.background.submit(
            lambda: query_run(self.signoff.db_path, run_id, DETAIL_TRENDS, None, POINTS),
            self._plotted,
        )

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
        self.exceptions.clear()
        if not status.exceptions:
            self.exceptions.addItem("No exceptions: nothing in this run needs attention.")
        for item in status.exceptions:
            self.exceptions.addItem(f"{item.kind.upper()}  {item.when_utc[11:19]}  {item.text}")
        problems = status.approvable_problems
        reviewed = status.valid(Meaning.REVIEWED)
        self.review_button.setEnabled(record.chain.ok and not reviewed)
        self.approve_button.setEnabled(not problems and not status.valid(Meaning.APPROVED))
        self.message.setText("Not yet approvable: " + "; ".join(problems) if problems else "")

    def _plotted(self, ok: bool, series) -> None:
        if not ok:
            self.message.setText(f"The trends cannot be read: {series}")
            return
        self._draw(series)

    def _draw(self, series: Series) -> None:
        self.level = series.level
        minutes = series.t_ms / 60000.0
        for name, (high, low) in self.curves.items():
            high.setData(minutes, series.hi[name])
            low.setData(minutes, series.lo[name])
        self.drawn.emit()

    def _requery(self) -> None:
        """The view picks the level: the range shown is read again, finer when narrower."""
        if self.run_id is None:
            return
        x0, x1 = self.first_plot.viewRange()[0]
        span = (int(max(0.0, x0) * 60000), int(max(x1, 0.0) * 60000))
        run_id = self.run_id
        self.background.submit(
            lambda: query_run(self.signoff.db_path, run_id, DETAIL_TRENDS, span, POINTS),
            lambda ok, series: self._draw(series) if ok else None,
        )

    # ------------------------------------------------------------------ sign-off
    def _password(self, then: Callable[[str, str | None], None]) -> None:
        session = self.session()
        if session is None:
            return
        if session.signed_once:
            dialog = TextEntryDialog("Sign", "Your password", True, parent=self)
            self.open_dialog(dialog, lambda: then(dialog.text(), None))
            return
        name = TextEntryDialog("Sign", "Your user name (first signature)", parent=self)

        def named() -> None:
            dialog = TextEntryDialog("Sign", "Your password", True, parent=self)
            self.open_dialog(dialog, lambda: then(dialog.text(), name.text()))

        self.open_dialog(name, named)

    def _sign(self, method: str, *extra) -> None:
        session, run_id = self.session(), self.run_id
        if session is None or run_id is None:
            return

        def signed(password: str, username: str | None) -> None:
            call = getattr(self.signoff, method)
            self.background.submit(
                lambda: call(session, password, run_id, *extra, username=username),
                self._after_sign,
            )

        self._password(signed)

    def _after_sign(self, ok: bool, value) -> None:
        if not ok:
            self.message.setText(str(value))
            return
        self.load(self.run_id)

    def _review(self) -> None:
        self._sign("review")

    def _approve(self) -> None:
        self._sign("approve")

    def _reject(self) -> None:
        dialog = ReasonDialog(
            "Reject the batch record: why?", STANDARD_REASONS["abort"], True, self
        )
        self.open_dialog(dialog, lambda: self._sign("reject", dialog.reason()))

    # ------------------------------------------------------------------ export
    def _export_pdf(self) -> None:
        from app.reports.pdf import write_pdf
        from app.reports.trend_image import draw_trends

        status, run_id = self.status, self.run_id
        if status is None or run_id is None:
            return
        path = self.export_folder / f"batch-{status.record.batch_id}-run-{run_id}.pdf"

        def write() -> int:  # QPdfWriter and QImage painting need no widgets: off the GUI
            self.export_folder.mkdir(parents=True, exist_ok=True)
            image = draw_trends(self.signoff.db_path, run_id)
            return write_pdf(status.record, status.exceptions, path, image)

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

        def write() -> tuple[int, int]:
            folder.mkdir(parents=True, exist_ok=True)
            samples = export_samples(self.signoff.db_path, run_id, folder / "samples.csv")
            return samples, export_audit(status.record, folder / "audit.csv")

        self.background.submit(
            write,
            lambda ok, n: self.message.setText(
                f"Wrote {n[0]} samples and {n[1]} audit entries to {folder}"
                if ok
                else f"CSV not written: {n}"
            ),
        )
        self.last_csv = folder
