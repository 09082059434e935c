"""Quantities with units in recipes: "100 mL", "50 mL/min", "7 d", "37.0 C".

Each argument declares its dimension; a value in another dimension ("100 mL" where a
time is expected) is refused with a message saying what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Dimension:
    name: str
    base: str  # unit values are converted to
    units: dict[str, float]  # accepted unit -> factor to the base unit


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("volume", "mL", {"mL": 1.0, "L": 1000.0, "uL": 0.001}),
        Dimension("flow", "mL/min", {"mL/min": 1.0, "L/min": 1000.0, "mL/h": 1 / 60}),
        Dimension("duration", "s", {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}),
        Dimension("temperature", "C", {"C": 1.0, "°C": 1.0}),
        Dimension("percent", "%", {"%": 1.0}),
        Dimension("speed", "rpm", {"rpm": 1.0}),
        Dimension("density", "1e6/mL", {"1e6/mL": 1.0, "cells/mL": 1e-6}),
        Dimension("cells", "cells", {"cells": 1.0}),
        Dimension("ph", "pH", {"pH": 1.0}),
        Dimension("pressure", "mbar", {"mbar": 1.0}),
    )
}

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S+)\s*$")


class UnitError(ValueError):
    """Not a quantity, or a quantity in the wrong unit."""


def parse_quantity(value: object, dimension: str) -> float:
    """A "<number> <unit>" string as a float in the dimension's base unit."""
    dim = DIMENSIONS[dimension]
    if isinstance(value, bool) or not isinstance(value, str):
        raise UnitError(f'expected a {dim.name} with its unit, like "10 {dim.base}"')
    match = _QUANTITY.match(value)
    if not match:
        raise UnitError(f'expected "<number> <unit>" (a {dim.name} in {dim.base}), got {value!r}')
    number, unit = float(match.group(1)), match.group(2)
    if unit not in dim.units:
        accepted = ", ".join(dim.units)
        raise UnitError(f"wrong unit {unit!r} for a {dim.name}: use {accepted}")
    return number * dim.units[unit]


def format_quantity(value: float, dimension: str) -> str:
    return f"{value:g} {DIMENSIONS[dimension].base}"
