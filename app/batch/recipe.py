"""Recipe files (TOML): load, validate, resolve parameters.

Validation collects every problem it finds, each naming the file, the line and the
field ("demo.toml:42: steps[3].volume: wrong unit 'g' for a volume: use mL, L, uL"),
and a recipe with any problem cannot be loaded. The format is documented in
docs/recipes.md.

This module loads; the data types are in ``recipe_model`` and the checks in
``recipe_validation`` (and ``recipe_checks``). The types are importable from here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from app.batch.recipe_model import (
    KITS,
    ROLES,
    Kit,
    Parameter,
    Problem,
    Recipe,
    RecipeError,
    Step,
)
from app.batch.recipe_validation import RecipeChecker

__all__ = [
    "KITS",
    "ROLES",
    "Kit",
    "Parameter",
    "Problem",
    "Recipe",
    "RecipeError",
    "Step",
    "load_recipe",
    "load_recipe_file",
]


def load_recipe_file(path: str | Path) -> Recipe:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError([Problem(path.name, 0, "", f"cannot read the file: {exc}")]) from None
    return load_recipe(text, path.name)


def load_recipe(text: str, source: str = "recipe.toml") -> Recipe:
    """Parse and validate; raises RecipeError listing every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(exc))) else 0
        raise RecipeError([Problem(source, line, "", f"not valid TOML: {exc}")]) from None
    checker = RecipeChecker(source, text, data)
    recipe = checker.check()
    if checker.problems:
        raise RecipeError(checker.problems)
    assert recipe is not None
    return recipe
