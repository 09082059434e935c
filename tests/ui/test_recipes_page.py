"""The supervisors' Recipes screen, driven offscreen against real records: import from
the recipe folder (a broken file shows every problem), compare two versions, approve
and retire with a signature; errors as sentences; touch-sized buttons."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QPushButton

from app.batch.library import RecipeLibrary
from app.batch.recipe import load_recipe
from app.records import DEMO_PASSWORD
from app.store.actor import SYSTEM
from app.store.recipes import NotApproved, RecipeVersion
from app.ui import theme
from app.ui.recipes_page import RecipesPage
from app.ui.signing_dialog import SigningDialog

RECIPES = Path(__file__).parents[2] / "resources" / "recipes"
DEMO = (RECIPES / "demo.toml").read_text()
BROKEN = DEMO.replace('type = "CART-STD"', 'type = "CART-XL"').replace(
    'rate = "60 mL/min"', 'rate = "900 mL/min"'
)

SIX_MIN = DEMO.replace('duration = "5 min"', 'duration = "6 min"')  # a second version


class Env:
    """The demo records, signed in as a supervisor, and a recipe folder holding a good
    and a broken recipe file (fixtures: tests/ui/conftest.py)."""

    def __init__(self, tmp_path: Path, records, background, audit_rows, wait_idle) -> None:
        self.records = records
        self.library = RecipeLibrary(records.users, records.signatures, records.path)
        self.folder = tmp_path / "recipes"
        self.folder.mkdir()
        (self.folder / "demo.toml").write_text(DEMO)
        (self.folder / "broken.toml").write_text(BROKEN)
        self.background = background
        self.audit = audit_rows
        self.idle = wait_idle
        self.session = records.users.login("supervisor", DEMO_PASSWORD)


@pytest.fixture
def env(tmp_path, demo_records, ui_background, audit_rows, wait_idle):
    return Env(tmp_path, demo_records, ui_background, audit_rows, wait_idle)


@pytest.fixture
def page(env, show_page):
    return show_page(RecipesPage(env.library, lambda: env.session, env.background, env.folder))


def tap(qtbot, button: QPushButton) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def tile(page, name: str) -> QPushButton:
    found = [b for b in page.findChildren(QPushButton) if b.accessibleName() == f"file {name}"]
    assert len(found) == 1
    return found[0]


def import_versions(env, page, *texts: str) -> list[RecipeVersion]:
    """Import each text as the next version of the demo recipe; the page shows them."""
    importer = env.library.import_recipe
    versions = [importer(load_recipe(text, "demo.toml"), SYSTEM) for text in texts]
    page.reload()
    env.idle(page)
    return versions


class Answers:
    """Scripted answers for the page's dialog methods; records the prompts shown."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, title, prompt, *args, **kwargs):
        self.prompts.append(f"{title}: {prompt}" if isinstance(prompt, str) else title)
        return self.answers.pop(0)


class Signatures:
    """Scripted answers of the signing dialog, (user name or None, password) or None
    (cancelled); records what each dialog was to show (the request)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list = []

    def __call__(self, session, request):
        self.requests.append(request)
        return self.answers.pop(0)


def test_importing_a_good_and_a_broken_recipe_file(env, page, qtbot):
    assert page.versions == [] and "library is empty" in page.message.text()
    tap(qtbot, page.import_button)
    env.idle(page)
    assert page.stack.currentIndex() == 1
    assert "⚠ 4 problems" in tile(page, "broken.toml").text()
    assert "Demo 1.0" in tile(page, "demo.toml").text()

    tap(qtbot, tile(page, "broken.toml"))
    env.idle(page)
    assert page.message.objectName() == "Error"
    assert "broken.toml was not imported: 4 problems" in page.message.text()
    problems = [page.problems.item(i).text() for i in range(page.problems.count())]
    assert page.problems.isVisible() and len(problems) == 4
    assert any("unknown kit type 'CART-XL'" in p for p in problems)
    assert any("900 mL/min is outside 1..200 mL/min" in p for p in problems)
    assert env.library.all_versions() == []

    tap(qtbot, tile(page, "demo.toml"))
    env.idle(page)
    assert page.stack.currentIndex() == 0
    assert page.message.objectName() == "Hint"
    assert "Imported demo.toml as Demo v1, a draft" in page.message.text()
    assert [(v.label, v.status) for v in page.versions] == [("Demo v1", "draft")]
    assert [v.label for v in page.selected_versions()] == ["Demo v1"]  # selected for approval
    assert page.table.item(0, 2).text() == "draft (not approved)"
    assert env.audit("recipe.import")[0][:2] == ("Demo Supervisor", "Demo v1")

    tap(qtbot, page.import_button)  # the same file again is the same version
    env.idle(page)
    tap(qtbot, tile(page, "demo.toml"))
    env.idle(page)
    assert "already in the library as Demo v1" in page.message.text()
    assert len(page.versions) == 1


def test_an_empty_or_missing_folder_says_so(env, page, qtbot):
    for path in env.folder.iterdir():
        path.unlink()
    tap(qtbot, page.import_button)
    env.idle(page)
    assert page.message.objectName() == "Error"
    assert "no recipe files" in page.message.text()


def test_approving_shows_what_is_signed_then_signs(env, page, qtbot, monkeypatch):
    v1, v2 = import_versions(env, page, DEMO, SIX_MIN)
    assert not page.approve_button.isEnabled()  # nothing selected
    page.select_ids(v1.id)
    answers = Signatures(("supervisor", DEMO_PASSWORD))
    monkeypatch.setattr(page, "_ask_signature", answers)
    tap(qtbot, page.approve_button)
    env.idle(page)
    (request,) = answers.requests
    assert request.said == "approved" and request.record_words == 'recipe "Demo" version 1'
    assert "Operators can run this version" in request.statement
    assert page.message.objectName() == "Hint", page.message.text()
    assert "Demo v1 approved, signed by Demo Supervisor" in page.message.text()
    assert env.library.get(v1.id).status == "approved"
    assert env.library.runnable(v1.id)
    assert page.table.item(0, 2).text() == "APPROVED"

    (stored,) = env.records.signatures.signatures("recipe", str(v1.id))
    assert stored.statement == request.statement  # what was shown is what is kept

    page.select_ids(v2.id)
    monkeypatch.setattr(page, "_ask_signature", Signatures((None, "not-the-password")))
    tap(qtbot, page.approve_button)
    env.idle(page)
    assert page.message.objectName() == "Error"
    assert page.message.text() == "Not approved. Password not recognised."
    assert env.library.get(v2.id).status == "draft"

    page.select_ids(v2.id)
    monkeypatch.setattr(page, "_ask_signature", Signatures((None, DEMO_PASSWORD)))
    tap(qtbot, page.approve_button)
    env.idle(page)
    assert [env.library.get(i).status for i in (v1.id, v2.id)] == ["superseded", "approved"]


def test_cancelling_the_signature_changes_nothing(env, page, qtbot, monkeypatch):
    (version,) = import_versions(env, page, DEMO)
    page.select_ids(version.id)
    monkeypatch.setattr(page, "_ask_signature", Signatures(None))
    tap(qtbot, page.approve_button)
    assert page.message.text() == "Not approved: cancelled."
    assert env.library.get(version.id).status == "draft" and env.audit("recipe.approve") == []


def test_retiring_asks_a_reason_and_signs(env, page, qtbot, monkeypatch):
    version = env.library.import_recipe(load_recipe(DEMO, "demo.toml"), SYSTEM)
    env.library.approve(env.session, DEMO_PASSWORD, version.id, "supervisor")
    page.reload()
    env.idle(page)
    page.select_ids(version.id)
    assert page.retire_button.isEnabled() and not page.approve_button.isEnabled()
    reasons = Answers("Replaced by a newer version: CR-2231")
    monkeypatch.setattr(page, "_ask_reason", reasons)
    answers = Signatures((None, DEMO_PASSWORD))  # signed once already (the approval above)
    monkeypatch.setattr(page, "_ask_signature", answers)
    tap(qtbot, page.retire_button)
    env.idle(page)
    assert "Why retire Demo v1?" in reasons.prompts[0]
    assert answers.requests[0].said == "retired"
    assert "can never run" in answers.requests[0].statement
    assert "Demo v1 retired, signed by Demo Supervisor" in page.message.text()
    assert page.table.item(0, 2).text() == "retired"
    assert page.table.item(0, 2).font().strikeOut()
    assert env.audit("recipe.retire") == [
        (
            "Demo Supervisor",
            "Demo v1",
            "approved",
            "retired",
            "Replaced by a newer version: CR-2231",
        )
    ]
    with pytest.raises(NotApproved, match="retired"):
        env.library.runnable(version.id)
    page.select_ids(version.id)
    assert not page.retire_button.isEnabled()
    assert "Retired because: Replaced by a newer version" in page.selection_hint.text()


def test_comparing_two_versions_side_by_side(env, page, qtbot):
    v1, v2 = import_versions(env, page, DEMO, SIX_MIN)
    page.select_ids(v1.id)
    assert not page.compare_button.isEnabled()
    page.select_ids(v1.id, v2.id)
    tap(qtbot, page.compare_button)
    env.idle(page)
    assert page.stack.currentIndex() == 2
    assert page.diff.horizontalHeaderItem(1).text() == "Demo v1 (draft)"
    assert page.diff.horizontalHeaderItem(3).text() == "Demo v2 (draft)"
    assert "1 line changed" in page.compare_summary.text()
    changed = [
        r
        for r in range(page.diff.rowCount())
        if page.diff.item(r, 1).data(Qt.ItemDataRole.UserRole) == "changed"
    ]
    assert len(changed) == 1
    row = changed[0]
    assert page.diff.item(row, 1).text() == 'duration = "5 min"'
    assert page.diff.item(row, 3).text() == 'duration = "6 min"'
    assert page.diff.item(row, 0).text().startswith("≠")
    same = page.diff.item(0, 1).background().color()
    assert page.diff.item(row, 1).background().color() != same  # highlighted
    assert page.diff.rowCount() == len(DEMO.splitlines())
    tap(qtbot, page.compare_back)
    assert page.stack.currentIndex() == 0


def test_refusals_are_sentences_on_the_page(env, page, qtbot, monkeypatch):
    version = env.library.import_recipe(load_recipe(DEMO, "demo.toml"), SYSTEM)
    operator = env.records.users.login("operator", DEMO_PASSWORD)
    env.session = operator
    page.reload()
    env.idle(page)
    page.select_ids(version.id)
    monkeypatch.setattr(page, "_ask_signature", Signatures(("operator", DEMO_PASSWORD)))
    tap(qtbot, page.approve_button)
    env.idle(page)
    assert page.message.objectName() == "Error"
    assert page.message.text() == (
        "Not approved. Not allowed: Demo Operator (operator) may not approve or retire recipes."
    )
    tap(qtbot, page.import_button)
    env.idle(page)
    tap(qtbot, tile(page, "demo.toml"))
    env.idle(page)
    assert "demo.toml was not imported: Not allowed" in page.message.text()


def test_without_a_session_the_page_asks_to_sign_in(env, qtbot):
    page = RecipesPage(env.library, lambda: None, env.background, env.folder)
    qtbot.addWidget(page)
    page.reload()
    assert "Sign in as a supervisor" in page.message.text()
    page.show_import()
    assert page.message.objectName() == "Error" and page.stack.currentIndex() == 0


def test_signing_through_the_on_screen_keyboard_dialog(env, page, qtbot):
    """The real dialog, answered as a supervisor would: it shows who signs, the meaning,
    the recipe version and what approval causes before anything is typed."""
    (version,) = import_versions(env, page, DEMO)
    page.select_ids(version.id)
    shown: dict[str, str] = {}

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SigningDialog):
            QTimer.singleShot(20, answer)
            return
        assert not dialog.password_edit.text()  # shown before any password
        shown.update({key: label.text() for key, label in dialog.values.items()})
        shown["title"] = dialog.windowTitle()
        dialog.username_edit.setText("supervisor")  # the session's first signature
        dialog.password_edit.setText(DEMO_PASSWORD)
        qtbot.mouseClick(dialog.sign_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(20, answer)
    tap(qtbot, page.approve_button)
    env.idle(page)
    assert shown["title"] == "Electronic signature: approved"
    assert shown["signer"] == "Demo Supervisor"
    assert shown["meaning"].startswith("Approved")
    assert shown["record"] == 'recipe "Demo" version 1'
    assert shown["effect"].startswith("Operators can run this version")
    assert env.library.get(version.id).status == "approved", page.message.text()


def test_the_recipes_author_sees_approve_disabled_with_the_reason(env, page, qtbot):
    tap(qtbot, page.import_button)
    env.idle(page)
    tap(qtbot, tile(page, "demo.toml"))  # imported by the signed-in supervisor
    env.idle(page)
    assert [v.label for v in page.selected_versions()] == ["Demo v1"]
    assert not page.approve_button.isEnabled() and page.retire_button.isEnabled()
    assert page.selection_hint.text().endswith(
        'You imported recipe "Demo" version 1: someone else must approve it.'
    )
    assert env.audit("signature.refused") == []  # shown, not attempted


def test_every_button_is_a_touch_target(env, page, qtbot):
    import_versions(env, page, DEMO)
    tap(qtbot, page.import_button)
    env.idle(page)
    for view in range(page.stack.count()):
        page.stack.setCurrentIndex(view)
        qtbot.wait(1)  # let the layout settle (no sleep: processes events)
        buttons = [b for b in page.findChildren(QPushButton) if b.isVisible()]
        assert buttons
        for button in buttons:
            size = button.size()
            assert size.width() >= theme.MIN_TOUCH_PX, (button.text(), size)
            assert size.height() >= theme.MIN_TOUCH_PX, (button.text(), size)
    assert page.table.verticalHeader().defaultSectionSize() >= theme.MIN_TOUCH_PX
