"""Recipe versions: import as drafts, approve by a supervisor's signature, run only
approved versions whose signature still matches their text."""

import sqlite3
from pathlib import Path

import pytest

from app.batch.library import RecipeLibrary
from app.batch.recipe import RecipeError, load_recipe
from app.records import DEMO_PASSWORD, Records
from app.store.actor import SYSTEM, Actor
from app.store.recipes import NotApproved, side_by_side
from app.store.signatures import Meaning
from app.store.users import AuthError, PermissionDenied

DEMO = (Path(__file__).parents[2] / "resources" / "recipes" / "demo.toml").read_text()


@pytest.fixture
def library(tmp_path):
    records = Records.open(tmp_path, demo=True)
    yield RecipeLibrary(records.users, records.signatures, records.path), records
    records.close()


def test_import_approve_run_and_supersede(library):
    lib, records = library
    recipe = load_recipe(DEMO, "demo.toml")
    v1 = lib.import_recipe(recipe, SYSTEM)
    assert (v1.version_no, v1.status) == (1, "draft")
    assert lib.import_recipe(recipe, SYSTEM).id == v1.id  # same text, same version
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
    v2 = lib.import_recipe(changed, SYSTEM)
    assert (v2.version_no, v2.status) == (2, "draft")
    assert lib.runnable(v1.id)  # the approved version is untouched by the new draft
    lib.approve(supervisor, DEMO_PASSWORD, v2.id)
    assert lib.get(v1.id).status == "superseded"
    with pytest.raises(NotApproved):
        lib.runnable(v1.id)
    assert [v.id for v in lib.approved()] == [v2.id]


def test_a_recipe_text_changed_in_the_file_is_not_runnable(library, tmp_path):
    lib, records = library
    version = lib.import_recipe(load_recipe(DEMO, "demo.toml"), SYSTEM)
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


# ---------------------------------------------------------------------- retire


def audit_rows(records, action):
    conn = sqlite3.connect(records.path)
    try:
        return conn.execute(
            "SELECT user_name, object_id, old_value, new_value, reason FROM audit"
            " WHERE action = ? ORDER BY id",
            (action,),
        ).fetchall()
    finally:
        conn.close()


def approved_demo(lib, records):
    version = lib.import_recipe(load_recipe(DEMO, "demo.toml"), SYSTEM)
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    lib.approve(supervisor, DEMO_PASSWORD, version.id, username="supervisor")
    return version, supervisor


def test_retire_signs_audits_and_stops_the_version_running(library):
    lib, records = library
    version, supervisor = approved_demo(lib, records)
    retired = lib.retire(supervisor, DEMO_PASSWORD, version.id, "Replaced by the 2.0 process")
    assert retired.status == "retired" and retired.retired_signature_id
    assert retired.retired_reason == "Replaced by the 2.0 process"
    signature = records.signatures.signatures("recipe", str(version.id))[-1]
    assert signature.id == retired.retired_signature_id
    assert signature.meaning is Meaning.REJECTED and signature.user_name == "Demo Supervisor"
    checks = records.signatures.verify("recipe", str(version.id), version.text)
    assert all(c.valid for c in checks)  # bound to the text that was retired
    assert audit_rows(records, "recipe.retire") == [
        ("Demo Supervisor", "Demo v1", "approved", "retired", "Replaced by the 2.0 process")
    ]
    with pytest.raises(NotApproved, match=r"Demo v1 was retired \(Replaced.*\): it can no longer"):
        lib.runnable(version.id)
    assert lib.approved() == []
    with pytest.raises(ValueError, match="is retired, not a draft"):
        lib.approve(supervisor, DEMO_PASSWORD, version.id)
    with pytest.raises(ValueError, match="already retired"):
        lib.retire(supervisor, DEMO_PASSWORD, version.id, "again")


def test_retire_is_refused_without_authority_reason_or_password(library):
    lib, records = library
    version, supervisor = approved_demo(lib, records)
    operator = records.users.login("operator", DEMO_PASSWORD)
    with pytest.raises(PermissionDenied):
        lib.retire(operator, DEMO_PASSWORD, version.id, "because", username="operator")
    with pytest.raises(ValueError, match="needs a reason"):
        lib.retire(supervisor, DEMO_PASSWORD, version.id, "   ")
    with pytest.raises(AuthError, match="password not recognised"):
        lib.retire(supervisor, "wrong-password", version.id, "obsolete")
    fresh = records.users.login("supervisor", DEMO_PASSWORD)
    with pytest.raises(AuthError, match="user name too"):  # first signature of a session
        lib.retire(fresh, DEMO_PASSWORD, version.id, "obsolete")
    assert lib.get(version.id).status == "approved"  # nothing changed
    assert lib.runnable(version.id)
    assert audit_rows(records, "recipe.retire") == []
    assert len(records.signatures.signatures("recipe", str(version.id))) == 1  # approval only


def test_a_draft_can_be_retired_and_a_retired_version_stays_retired(library):
    lib, records = library
    version, supervisor = approved_demo(lib, records)
    draft = lib.import_recipe(
        load_recipe(DEMO.replace('duration = "5 min"', 'duration = "7 min"'), "demo.toml"),
        SYSTEM,
    )
    lib.retire(supervisor, DEMO_PASSWORD, draft.id, "Imported by mistake")
    assert lib.get(draft.id).status == "retired"
    assert audit_rows(records, "recipe.retire")[0][2:4] == ("draft", "retired")
    # a newer approval supersedes the approved one, not the retired one
    newer = lib.import_recipe(
        load_recipe(DEMO.replace('duration = "5 min"', 'duration = "8 min"'), "demo.toml"),
        SYSTEM,
    )
    lib.approve(supervisor, DEMO_PASSWORD, newer.id)
    assert [lib.get(i).status for i in (version.id, draft.id, newer.id)] == [
        "superseded",
        "retired",
        "approved",
    ]
    conn = sqlite3.connect(records.path)
    with pytest.raises(sqlite3.IntegrityError, match="stays retired"):
        conn.execute("UPDATE recipes SET retired_signature_id = NULL WHERE id = ?", (draft.id,))
    conn.close()


def test_a_version_an_unfinished_run_uses_cannot_be_retired(library):
    lib, records = library
    version, supervisor = approved_demo(lib, records)
    conn = sqlite3.connect(records.path)
    conn.execute(
        "INSERT INTO runs (batch_id, started_utc, state, recipe_id) VALUES ('B-7', 'now',"
        " 'Held', ?)",
        (version.id,),
    )
    conn.commit()
    with pytest.raises(ValueError, match=r"used by a run that has not finished: B-7 \(Held\)"):
        lib.retire(supervisor, DEMO_PASSWORD, version.id, "obsolete")
    conn.execute(  # a run header changes only with its audit entry (migration 10)
        "UPDATE runs SET state = 'Complete', audit_id = (SELECT MAX(id) + 1 FROM audit)"
    )
    conn.commit()
    conn.close()
    assert lib.retire(supervisor, DEMO_PASSWORD, version.id, "obsolete").status == "retired"


# ---------------------------------------------------------------------- compare


def test_compare_gives_a_side_by_side_line_diff(library):
    lib, _ = library
    v1 = lib.import_recipe(load_recipe(DEMO, "demo.toml"), SYSTEM)
    edited = DEMO.replace('duration = "5 min"', 'duration = "6 min"').replace(
        'author = "CellDeck"', 'author = "CellDeck"\n# reviewed 2025'
    )
    v2 = lib.import_recipe(load_recipe(edited, "demo.toml"), SYSTEM)
    rows = lib.compare(v1.id, v2.id)
    kinds = [kind for kind, _, _ in rows]
    assert kinds.count("changed") == 1 and kinds.count("added") == 1
    assert "removed" not in kinds
    assert ("changed", 'duration = "5 min"', 'duration = "6 min"') in rows
    assert ("added", "", "# reviewed 2025") in rows
    assert [left for kind, left, _ in rows if kind != "added"] == DEMO.splitlines()
    assert [right for kind, _, right in rows if kind != "removed"] == edited.splitlines()
    backwards = lib.compare(v2.id, v1.id)
    assert ("removed", "# reviewed 2025", "") in backwards
    assert all(kind == "same" for kind, _, _ in lib.compare(v1.id, v1.id))


def test_side_by_side_pairs_a_replaced_block_and_its_overhang():
    assert side_by_side(["a", "b", "c"], ["a", "B", "C", "D", "c"]) == [
        ("same", "a", "a"),
        ("changed", "b", "B"),
        ("added", "", "C"),
        ("added", "", "D"),
        ("same", "c", "c"),
    ]
    assert side_by_side(["x", "y", "z"], ["X"]) == [
        ("changed", "x", "X"),
        ("removed", "y", ""),
        ("removed", "z", ""),
    ]
    assert side_by_side([], []) == []


def test_importing_is_checked_on_the_session_not_by_the_screen(library, tmp_path):
    lib, records = library
    recipe = load_recipe(DEMO, "demo.toml")
    operator = records.users.login("operator", DEMO_PASSWORD)
    with pytest.raises(PermissionDenied):
        lib.import_recipe(recipe, operator)
    with pytest.raises(PermissionDenied):  # a person given only as an Actor: no role to check
        lib.import_recipe(recipe, Actor.of(records.users.login("supervisor", DEMO_PASSWORD)))
    broken = tmp_path / "broken.toml"
    broken.write_text("not [ toml")
    with pytest.raises(PermissionDenied):  # refused before the file is read
        lib.import_file(broken, operator)
    assert lib.all_versions() == []
    with sqlite3.connect(records.path) as conn:
        refused = conn.execute(
            "SELECT object_id FROM audit WHERE action = 'permission.denied' ORDER BY id"
        ).fetchall()
    assert refused == [("Demo",), ("broken.toml",)]  # the session's refusals, audited
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    with pytest.raises(RecipeError):
        lib.import_file(broken, supervisor)
    path = tmp_path / "demo.toml"
    path.write_text(DEMO)
    version = lib.import_file(path, supervisor)
    assert (version.status, version.imported_by) == ("draft", supervisor.full_name)
    assert lib.import_recipe(recipe, supervisor).id == version.id
