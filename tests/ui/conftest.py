"""Fixtures for the pages that work on real records (Recipes, Administration): a demo
data folder, the page's Background, the audit rows, and a page shown as on the console
and waited for until its background work is done."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from PySide6.QtWidgets import QWidget

from app.records import Records
from app.ui import theme
from app.ui.background import Background

WAIT_MS = 15000


@pytest.fixture
def demo_records(tmp_path):
    """Records in a fresh demo data folder (one account per role), closed afterwards."""
    records = Records.open(tmp_path, demo=True)
    yield records
    records.close()


@pytest.fixture
def ui_background(demo_records):
    """The pages' Background; closed before the records it writes to."""
    background = Background()
    yield background
    background.close()


@pytest.fixture
def audit_rows(demo_records) -> Callable[[str], list[tuple]]:
    """audit_rows(action): (user_name, object_id, old_value, new_value, reason) of each
    audit entry with that action, oldest first."""

    def rows(action: str) -> list[tuple]:
        conn = sqlite3.connect(demo_records.path)
        try:
            return conn.execute(
                "SELECT user_name, object_id, old_value, new_value, reason FROM audit"
                " WHERE action = ? ORDER BY id",
                (action,),
            ).fetchall()
        finally:
            conn.close()

    return rows


@pytest.fixture
def wait_idle(qtbot, ui_background) -> Callable[[QWidget], None]:
    """wait_idle(page): until the page is not busy and no background work is left."""

    def wait(page: QWidget) -> None:
        qtbot.waitUntil(
            lambda: not page.busy and ui_background.pending == 0,
            timeout=WAIT_MS,
        )

    return wait


@pytest.fixture
def show_page(qtbot, wait_idle) -> Callable[[QWidget], QWidget]:
    """show_page(page): the page styled and sized as on the console, shown, reloaded
    and idle."""

    def show(page: QWidget) -> QWidget:
        qtbot.addWidget(page)
        page.setStyleSheet(theme.stylesheet())  # the console's look, on this page only
        page.resize(1280, 800)
        page.show()
        qtbot.waitExposed(page)
        page.reload()
        wait_idle(page)
        return page

    return show
