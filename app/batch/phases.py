"""The phase library: every step a recipe may use, with the arguments it takes.

This module says what a phase is and which arguments (with units and ranges) it
accepts; the engine maps each phase to instrument commands and completion conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Arg:
    """One argument of a phase. ``kind`` is quantity, bag, text, choice, int or bool."""

    kind: str
    dimension: str = ""  # for quantities: a key of units.DIMENSIONS
    required: bool = True
    low: float | None = None  # inclusive range, in the dimension's base unit
    high: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


def q(dimension: str, low: float, high: float, required: bool = True, help: str = "") -> Arg:
    return Arg("quantity", dimension, required, low, high, help=help)


BAG_OR_CHAMBER = Arg("bag", help="a bag of the kit, or chamber")


@dataclass(frozen=True)
class Phase:
    name: str
    description: str
    args: dict[str, Arg] = field(default_factory=dict)
    # (from, to, volume argument): a bag name, or "@arg" for the bag named by an argument
    moves_liquid: tuple[str, str, str] | None = None


PHASES: dict[str, Phase] = {
    p.name: p
    for p in (
        Phase(
            "prime",
            "Prime the kit's lines with buffer",
            {"volume": q("volume", 1, 100), "rate": q("flow", 1, 200)},
            moves_liquid=("buffer", "waste", "volume"),
        ),
        Phase(
            "transfer",
            "Pump a volume from one bag to another through the chamber line",
            {
                "from": BAG_OR_CHAMBER,
                "to": BAG_OR_CHAMBER,
                "volume": q("volume", 0.1, 5000),
                "rate": q("flow", 1, 200),
            },
            moves_liquid=("@from", "@to", "volume"),
        ),
        Phase(
            "wash",
            "Spin, remove supernatant, add buffer; repeated",
            {
                "spin_speed": q("speed", 100, 3000),
                "spin_time": q("duration", 10, 3600),
                "supernatant": q("volume", 1, 1000),
                "buffer": q("volume", 1, 1000),
                "repeats": Arg("int", low=1, high=10),
            },
        ),
        Phase(
            "select",
            "Magnetic selection of the target cells",
            {
                "bead_volume": q("volume", 0.1, 50),
                "incubation": q("duration", 60, 7200),
                "rate": q("flow", 1, 100),
            },
        ),
        Phase(
            "activate",
            "Add activation reagent and incubate",
            {
                "reagent_volume": q("volume", 0.1, 100),
                "incubation": q("duration", 60, 4 * 86400),
                "temperature": q("temperature", 30, 39),
            },
        ),
        Phase(
            "transduce",
            "Add viral vector and hold",
            {
                "vector_volume": q("volume", 0.1, 100),
                "hold": q("duration", 60, 4 * 86400),
                "temperature": q("temperature", 30, 39),
            },
        ),
        Phase(
            "culture",
            "Expand the cells at a temperature and CO2, feeding as they grow",
            {
                "temperature": q("temperature", 30, 39),
                "co2": q("percent", 0, 20),
                "duration": q("duration", 60, 21 * 86400),
                "feed_rule": Arg("choice", choices=("density", "schedule", "none")),
                "feed_density": q("density", 0.1, 50, required=False),
                "feed_every": q("duration", 3600, 7 * 86400, required=False),
                "feed_volume": q("volume", 1, 1000, required=False),
                "target_cells": q("cells", 1e6, 1e12, required=False),
                "agitation": q("speed", 0, 300, required=False),
            },
        ),
        Phase(
            "feed",
            "Add fresh media to the chamber",
            {"volume": q("volume", 1, 1000), "rate": q("flow", 1, 200)},
            moves_liquid=("media", "chamber", "volume"),
        ),
        Phase(
            "sample",
            "Draw a sample for an off-line count",
            {"volume": q("volume", 0.1, 10)},
            moves_liquid=("chamber", "waste", "volume"),
        ),
        Phase(
            "harvest",
            "Concentrate and move the cells to the product bag",
            {
                "volume": q("volume", 1, 1000),
                "rate": q("flow", 1, 200),
                "spin_speed": q("speed", 100, 3000, required=False),
            },
            moves_liquid=("chamber", "product", "volume"),
        ),
        Phase(
            "formulate",
            "Add formulation buffer to the product",
            {"buffer": q("volume", 1, 500), "rate": q("flow", 1, 200)},
            moves_liquid=("buffer", "product", "buffer"),
        ),
        Phase(
            "prompt",
            "Ask the operator: confirmation, data entry or signature",
            {
                "message": Arg("text"),
                "response": Arg("choice", choices=("confirm", "data", "signature")),
                "data_label": Arg("text", required=False),
                "data_unit": Arg("text", required=False),
                "data_low": Arg("float", required=False),
                "data_high": Arg("float", required=False),
                "second_person": Arg("bool", required=False),
            },
        ),
        Phase("wait", "Wait for a time", {"duration": q("duration", 1, 14 * 86400)}),
        Phase(
            "hold_until",
            "Hold until a channel crosses a value (or time out)",
            {
                "channel": Arg("text"),
                "condition": Arg("choice", choices=("above", "below")),
                "value": Arg("float"),
                "timeout": q("duration", 1, 7 * 86400),
            },
        ),
    )
}
