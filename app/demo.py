"""Demo data folder: the shipped recipes imported by the console's demo seeding (the
system, not a person) and approved by the demo supervisor, so that a trainee can start a
run at once. The import is the system's so that the supervisor is not the recipe's author:
a recipe's author does not approve it (app/store/signing.py). Never used outside the
demo folder."""

from __future__ import annotations

import logging

from app.batch.library import RecipeLibrary
from app.batch.recipe import RecipeError, load_recipe_file
from app.paths import resources_dir
from app.records import DEMO_PASSWORD, Records
from app.store.actor import SYSTEM

log = logging.getLogger(__name__)


def seed_demo_recipes(records: Records) -> int:
    """Import and approve every shipped recipe not yet in the library; returns how many."""
    library = RecipeLibrary(records.users, records.signatures, records.path)
    known = {(v.name, v.content_hash) for v in library.approved()}
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    added = 0
    for path in sorted((resources_dir() / "recipes").glob("*.toml")):
        try:
            recipe = load_recipe_file(path)
        except RecipeError as exc:  # a broken shipped recipe is a bug: say so, go on
            log.error("shipped recipe %s refused: %s", path.name, exc)
            continue
        if (recipe.name, recipe.content_hash) in known:
            continue
        version = library.import_recipe(recipe, SYSTEM)  # not the approver
        if version.status == "draft":
            username = None if supervisor.signed_once else supervisor.username
            library.approve(supervisor, DEMO_PASSWORD, version.id, username=username)
            added += 1
    records.users.logout(supervisor)
    return added
