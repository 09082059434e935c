"""Recipes as data: the kit types, a recipe's parameters and steps, and the problems
that keep a file from loading. Resolving parameters into a step's arguments is here too.

Loading (``app/batch/recipe.py``) and validation (``app/batch/recipe_validation.py``)
build these; every name is importable from ``app.batch.recipe`` as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.batch.alarms import AlarmDefinition
from app.batch.phases import PHASES, Arg
from app.batch.units import DIMENSIONS, parse_quantity

ROLES = ("operator", "supervisor", "service", "administrator")


@dataclass(frozen=True)
class Kit:
    """A single-use kit type: its bags with their capacities (mL), and the chamber's."""

    name: str
    bags: dict[str, float]
    chamber: float


KITS: dict[str, Kit] = {
    k.name: k
    for k in (
        Kit(
            "CART-STD",
            {"source": 300, "media": 2000, "buffer": 1000, "waste": 3000, "product": 500},
            chamber=500,
        ),
        Kit(
            "WASH-MINI", {"source": 300, "buffer": 1000, "waste": 2000, "product": 300}, chamber=300
        ),
    )
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class RecipeError(ValueError):
    """A recipe that cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    unit: str
    dimension: str
    default: float  # in the dimension's base unit
    low: float
    high: float
    changeable_by: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    number: int  # 1-based
    name: str
    phase: str
    args: dict[str, Any]  # as written; "$name" refers to a parameter


@dataclass(frozen=True)
class Recipe:
    source: str  # file name, for messages
    text: str
    content_hash: str
    name: str
    version: str
    product_type: str
    author: str
    description: str
    kit: Kit
    fills: dict[str, float]  # initial bag volumes, mL
    parameters: dict[str, Parameter]
    steps: tuple[Step, ...]
    alarms: tuple[AlarmDefinition, ...] = ()
    outcome: dict[str, tuple[float, float]] = field(default_factory=dict)  # expected ranges

    def resolve(self, overrides: dict[str, float] | None = None) -> list[dict[str, Any]]:
        """Every step's arguments with parameters filled in and quantities in base units.
        Overrides (in base units) are checked against each parameter's range."""
        values = {name: p.default for name, p in self.parameters.items()}
        for name, value in (overrides or {}).items():
            parameter = self.parameters.get(name)
            if parameter is None:
                raise ValueError(f"recipe {self.name} has no parameter {name!r}")
            if not parameter.low <= value <= parameter.high:
                factor = DIMENSIONS[parameter.dimension].units[parameter.unit]
                raise ValueError(
                    f"{parameter.label}: {value / factor:g} {parameter.unit} is outside "
                    f"{parameter.low / factor:g}..{parameter.high / factor:g} {parameter.unit}"
                )
            values[name] = value
        return [
            {
                key: _resolve_value(PHASES[s.phase].args.get(key), raw, values, self.parameters)
                for key, raw in s.args.items()
            }
            for s in self.steps
        ]


def _resolve_value(
    arg: Arg | None, raw: Any, values: dict[str, float], parameters: dict[str, Parameter]
) -> Any:
    if isinstance(raw, str) and raw.startswith("$"):
        return values[raw[1:]]
    if arg is not None and arg.kind == "quantity":
        return parse_quantity(raw, arg.dimension)
    return raw
