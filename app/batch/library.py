"""The recipe library as the batch engine and the screens use it: import a recipe file
(validated, by someone allowed to), and the parsed recipe of a version that may run.

The rows, their SQL, approval and retirement by signature are the store's
(``app.store.recipes.RecipeStore``); this layer adds what needs a parsed ``Recipe``.
Importing is checked here, in the service layer, not by the screen: a person imports
with their session (``recipe.approve``, refused and audited otherwise); the console's
own identities (the demo data, the headless runner) import as an ``Actor``.
"""

from __future__ import annotations

from pathlib import Path

from app.batch.recipe import Recipe, load_recipe, load_recipe_file
from app.store.actor import Actor
from app.store.recipes import RecipeStore, RecipeVersion
from app.store.security import Permission
from app.store.users import PermissionDenied, Session


def load_version(version: RecipeVersion) -> Recipe:
    """Parse a stored version's text again (it was valid when imported)."""
    return load_recipe(version.text, version.label)


class RecipeLibrary(RecipeStore):
    def _importer(self, by: Session | Actor, object_id: str) -> Actor:
        """Who imports: a person's session with ``recipe.approve`` (a refusal is audited),
        or one of the console's own identities. A person given only as an Actor is
        refused: without the session, nothing says the role is still theirs."""
        if isinstance(by, Actor):
            if by.is_person:
                raise PermissionDenied(
                    f"{by.name} imports a recipe signed in: the role is checked on the session"
                )
            return by
        self.users.require(by, Permission.RECIPE_APPROVE, "recipe", object_id)
        return Actor.of(by)

    def import_recipe(self, recipe: Recipe, by: Session | Actor) -> RecipeVersion:
        """Store a validated recipe as a draft version (or find the identical one)."""
        actor = self._importer(by, recipe.name)
        return self.add_draft(recipe.name, recipe.version, recipe.text, recipe.content_hash, actor)

    def import_file(self, path: str | Path, by: Session | Actor) -> RecipeVersion:
        """Check who imports, then read and validate ``path`` (RecipeError listing every
        problem) and store it as a draft version (or find the identical one)."""
        path = Path(path)
        actor = self._importer(by, path.name)  # refused before the file is even read
        recipe = load_recipe_file(path)
        return self.add_draft(recipe.name, recipe.version, recipe.text, recipe.content_hash, actor)

    def runnable(self, version_id: int) -> Recipe:
        """The recipe of an approved version whose signature still matches its text
        (NotApproved otherwise)."""
        return load_version(self.approved_version(version_id))
