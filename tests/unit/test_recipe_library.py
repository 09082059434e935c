"""Recipe versions: import as drafts, approve by a supervisor's signature, run only
approved versions whose signature still matches their text."""

import sqlite3
from pathlib import Path

import pytest

from app.batch.recipe import load_recipe
from app.records import DEMO_PASSWORD, Records
from app.store.recipes import NotApproved, RecipeLibrary
from app.store.users import PermissionDenied

DEMO = (Path(__file__).parents[2] / "resources" / "recipes" / "demo.toml").read_text()


@pytest.fixture
def library(tmp_path):
    records = Records.open(tmp_path, demo=True)
    yield RecipeLibrary(records.users, records.signatures, records.path), records
    records.close()


def test_import_approve_run_and_supersede(library):
    lib, records = library
    recipe = load_recipe(DEMO, "demo.toml")
    v1 = lib.import_recipe(recipe, "u", "Importer")
    assert (v1.version_no, v1.status) == (1, "draft")
    assert lib.import_recipe(recipe, "u", "Importer").id == v1.id  # same text, same version
    with pytest.raises(NotApproved):
        lib.runnable(v1.id)
    operator = records.users.login("operator", DEMO_PASSWORD)
    with pytest.raises(PermissionDenied):
        lib.approve(operator, DEMO_PASSWORD, v1.id, username="operator")
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    approved = lib.approve(supervisor, DEMO_PASSWORD, v1.id, username="supervisor")
    assert approved.status == "approved" and approved.approval_signature_id
    assert lib.runnable(v1.id).content_hash == recipe.content_hash
    changed = load_recipe(DEMO.replace('duration = "5 min"', 'duration = "6 min"'), "demo.toml")
    v2 = lib.import_recipe(changed, "u", "Importer")
    assert (v2.version_no, v2.status) == (2, "draft")
    assert lib.runnable(v1.id)  # the approved version is untouched by the new draft
    lib.approve(supervisor, DEMO_PASSWORD, v2.id)
    assert lib.get(v1.id).status == "superseded"
    with pytest.raises(NotApproved):
        lib.runnable(v1.id)
    assert [v.id for v in lib.approved()] == [v2.id]


def test_a_recipe_text_changed_in_the_file_is_not_runnable(library, tmp_path):
    lib, records = library
    version = lib.import_recipe(load_recipe(DEMO, "demo.toml"), "u", "Importer")
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    lib.approve(supervisor, DEMO_PASSWORD, version.id, username="supervisor")
    conn = sqlite3.connect(records.path)
    with pytest.raises(sqlite3.IntegrityError, match="never changes"):
        conn.execute("UPDATE recipes SET text = text || ' ' WHERE id = ?", (version.id,))
    conn.execute("DROP TRIGGER recipes_text_fixed")
    conn.execute(
        "UPDATE recipes SET text = replace(text, '5 min', '50 min') WHERE id = ?", (version.id,)
    )
    conn.commit()
    conn.close()
    with pytest.raises(NotApproved, match="signature broken"):
        lib.runnable(version.id)
