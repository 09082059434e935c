"""Review on screen: open a completed simulated run from the history, see its
exceptions, sign (reviewed by one supervisor, approved by another) in the signing dialog
that says what is signed, and export PDF and CSV; the reviewer sees Approve disabled with
the reason; a tampered trail says so on the screen."""

import sqlite3
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from app.console import Console, ConsoleOptions
from app.records import DEMO_PASSWORD
from app.review.record import RunRecordData
from app.review.signoff import SignOff, SignOffStatus
from app.store.audit import VerifyResult
from app.store.signatures import Meaning, Signature, SignatureCheck
from app.ui import theme
from app.ui.background import Background
from app.ui.run_detail import AT_MS, RunDetailPage
from app.ui.signing_dialog import SigningDialog
from tests.headless import complete_demo_run
from tests.people import QA_PASSWORD, second_supervisor


@pytest.fixture
def shell(qtbot, tmp_path):
    theme.apply(QApplication.instance())
    from app.gui import build_shell

    options = ConsoleOptions(data_dir=str(tmp_path), demo=True)
    console = Console(options)  # demo folder: tmp_path/demo, accounts and recipes seeded
    folder = console.data_dir
    complete_demo_run(folder, "B-REVIEW")
    window = build_shell(console, console.create_controller())
    qtbot.addWidget(window)
    console.start()
    window.show()
    window._signed_in(console.records.users.login("supervisor", DEMO_PASSWORD))
    yield window, console
    window.close()
    console.stop()


def signing(qtbot, page) -> SigningDialog:
    qtbot.waitUntil(lambda: isinstance(page.dialog, SigningDialog), timeout=5000)
    return page.dialog


def sign(qtbot, page, username: str | None, password: str = DEMO_PASSWORD) -> None:
    """Answer the signing dialog: user name (a session's first signature), password."""
    dialog = signing(qtbot, page)
    assert dialog.username_edit.isVisibleTo(dialog) == (username is not None)
    if username is not None:
        dialog.username_edit.setText(username)
    dialog.password_edit.setText(password)
    dialog.sign_button.click()


def test_open_a_run_see_exceptions_sign_and_export(qtbot, shell):
    window, _ = shell
    window.show_page("history")
    history = window.history_page
    qtbot.waitUntil(lambda: history.table.rowCount() >= 1, timeout=10000)
    history.open_run.emit(int(history.table.item(0, 0).text()))
    page = window.detail_page
    qtbot.waitUntil(lambda: page.status is not None, timeout=10000)
    assert window.stack.currentWidget() is page
    texts = [page.exceptions.item(i).text() for i in range(page.exceptions.count())]
    assert any(t.startswith("ENTRY") for t in texts)  # the count typed at step 4
    assert "verified" in page.header.text()
    page.review_button.click()
    dialog = signing(qtbot, page)  # what is signed, before any password
    shown = {key: label.text() for key, label in dialog.values.items()}
    assert shown["signer"] == "Demo Supervisor" and shown["meaning"].startswith("Reviewed")
    assert shown["record"] == "batch record of batch B-REVIEW (run 1)"
    sign(qtbot, page, "supervisor")
    qtbot.waitUntil(lambda: page.status.valid(Meaning.REVIEWED), timeout=10000)
    # the reviewer may not approve: the button is disabled with the reason beside it
    reason = "You reviewed this batch record: a second person must approve it."
    qtbot.waitUntil(lambda: page.duty_note.text() == reason, timeout=10000)
    assert not page.approve_button.isEnabled()
    window._signed_in(second_supervisor(window.parts.records))
    window.open_run(1)
    qtbot.waitUntil(lambda: page.approve_button.isEnabled(), timeout=10000)
    assert page.duty_note.text() == ""
    page.approve_button.click()
    sign(qtbot, page, "qa", QA_PASSWORD)
    qtbot.waitUntil(lambda: page.status.valid(Meaning.APPROVED), timeout=10000)
    signed = [c.signature for c in page.status.signatures]
    assert [(s.user_name, s.meaning.value) for s in signed] == [
        ("Demo Supervisor", "reviewed"),
        ("Quinn Adams", "approved"),
    ]
    assert signed[1].statement.startswith("Approved: batch record of batch B-REVIEW (run 1).")
    page.pdf_button.click()
    qtbot.waitUntil(lambda: page.message.text().startswith("Wrote"), timeout=20000)
    assert page.last_pdf.stat().st_size > 10_000
    page.csv_button.click()
    qtbot.waitUntil(lambda: "audit entries" in page.message.text(), timeout=20000)
    assert (page.last_csv / "samples.csv").exists()
    conn = sqlite3.connect(window.parts.records.path)  # each export names who exported
    exported = conn.execute(
        "SELECT user_id, user_name, new_value FROM audit WHERE action = 'record.export'"
    ).fetchall()
    conn.close()
    supervisor = window.session
    assert [(who, name) for who, name, _ in exported] == [
        (str(supervisor.user_id), supervisor.full_name)
    ] * 2
    assert exported[0][2].endswith(f"PDF {page.last_pdf}")


def test_a_tampered_trail_says_so_on_the_review_screen(qtbot, shell):
    window, console = shell
    conn = sqlite3.connect(console.records.path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET new_value = 'data: 9' WHERE action = 'step.answer'")
    conn.commit()
    conn.close()
    window.open_run(1)
    page = window.detail_page
    qtbot.waitUntil(lambda: page.status is not None, timeout=10000)
    assert "VERIFICATION FAILED" in page.header.text()
    assert not page.review_button.isEnabled() and not page.approve_button.isEnabled()


def test_timeline_events_move_the_trends_and_a_second_run_overlays(qtbot, shell):
    window, console = shell
    complete_demo_run(console.data_dir, "B-REVIEW-2", "--sim-fault", "stuck-temp=39")
    window.open_run(2)
    page = window.detail_page
    qtbot.waitUntil(lambda: page.timeline is not None, timeout=15000)
    trends = page.trends
    numbers = [s.number for s in page.timeline.steps]
    assert numbers == list(range(1, 9))  # every step of Demo on the timeline
    starts = [s.start_ms for s in page.timeline.steps]
    assert starts == sorted(starts) and page.timeline.last_ms > 0

    alarm = next(
        i
        for i in range(page.exceptions.count())
        if page.exceptions.item(i).text().startswith("ALARM")
    )
    item = page.exceptions.item(alarm)
    at = item.data(AT_MS)
    assert at is not None and 0 <= at <= page.timeline.last_ms
    page.exceptions.itemClicked.emit(item)
    x0, x1 = trends.first_plot.viewRange()[0]
    assert x0 <= at / trends.scale_ms <= x1
    assert trends.markers[0].isVisible() and trends.markers[0].value() == at / trends.scale_ms

    wash = next(s for s in page.timeline.steps if s.name == "Wash")
    centre = (wash.start_ms + wash.end_ms) / 2 / trends.scale_ms
    scene = trends.timeline.vb.mapViewToScene(QPointF(centre, 0.5))
    with qtbot.waitSignal(trends.step_tapped) as tapped:
        trends._clicked(SimpleNamespace(scenePos=lambda: scene))
    assert tapped.args == [wash.number]
    x0, x1 = trends.first_plot.viewRange()[0]
    assert x0 * trends.scale_ms < wash.start_ms < wash.end_ms < x1 * trends.scale_ms
    trends.show_span(wash.start_ms, wash.start_ms + 60_000)  # a minute: read again, finer
    narrower = lambda: trends.queried[1] - trends.queried[0] < trends.last_ms  # noqa: E731
    qtbot.waitUntil(narrower, timeout=5000)

    page.compare_button.click()
    picker = page.dialog
    qtbot.waitUntil(lambda: len(picker.choices) == 1, timeout=5000)  # run 1, not itself
    with qtbot.waitSignal(page.drawn, timeout=5000):
        picker.choices[0].click()
    high, _ = trends.compare_curves["temp"]
    assert len(high.getData()[0]) > 0
    assert page.compare_button.text() == "Compared: Batch B-REVIEW · run 1"


def finished_record(run_id: int = 7, batch: str = "B-0042") -> RunRecordData:
    """A finished run's record as the review reads it (nothing in it needs attention)."""
    return RunRecordData(
        run_id, batch, "Complete", "2024-05-01T08:00:00Z", "2024-05-01T09:00:00Z",
        "SIM-0001", "1.0.0", "KIT-1", "Demo", "1.0", 1, "ab" * 32, "Demo Operator", {},
        None, [], [], [], VerifyResult(True, 12),
    )  # fmt: skip


@pytest.fixture
def detail(qtbot, tmp_path, demo_records):
    """The run detail page on its own, shown as on the console, fed a record directly."""
    background = Background()
    supervisor = demo_records.users.login("supervisor", DEMO_PASSWORD)
    page = RunDetailPage(SignOff(demo_records), background, lambda: supervisor, tmp_path)
    qtbot.addWidget(page)
    page.setStyleSheet(theme.stylesheet())
    page.resize(1280, 800)
    page.show()
    qtbot.waitExposed(page)
    yield page, supervisor
    background.close()


def test_the_reviewer_sees_approve_disabled_with_the_reason(qtbot, detail):
    page, supervisor = detail
    record = finished_record()
    review = Signature(1, supervisor.user_id, supervisor.full_name, "2024-05-01T09:10:00Z",
                       Meaning.REVIEWED, "run", "7", record.content_hash(), 40)  # fmt: skip
    reason = "You reviewed this batch record: a second person must approve it."
    status = SignOffStatus(record, [], [SignatureCheck(review, True)], {Meaning.APPROVED: reason})
    page.run_id = record.run_id
    page._loaded(True, status)
    assert not page.review_button.isEnabled()  # reviewed already
    assert not page.approve_button.isEnabled()
    assert page.duty_note.text() == reason and page.duty_note.isVisible()
    assert "approve" not in page.message.text().lower()  # nothing else stands in the way


def test_the_signing_dialog_says_what_is_signed_before_the_password(qtbot, detail):
    page, _ = detail
    record = finished_record()
    page.run_id = record.run_id
    page._loaded(True, SignOffStatus(record, [], []))
    assert page.review_button.isEnabled() and page.duty_note.text() == ""
    page.review_button.click()
    dialog = signing(qtbot, page)
    assert dialog.windowTitle() == "Electronic signature: reviewed"
    assert dialog.values["signer"].text() == "Demo Supervisor"
    assert dialog.values["meaning"].text().startswith("Reviewed – I reviewed this record")
    assert dialog.values["record"].text() == "batch record of batch B-0042 (run 7)"
    assert dialog.values["effect"].text() == (
        "The batch record is reviewed and can then be approved"
    )
    assert dialog.username_edit.isVisibleTo(dialog)  # the session's first signature
    assert not dialog.sign_button.isEnabled()  # nothing typed: one action, not yet
    size = dialog.sizeHint().expandedTo(dialog.minimumSize())
    assert size.width() <= 1280 and size.height() <= 800, size
    dialog.reject()
