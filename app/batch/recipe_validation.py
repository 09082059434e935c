"""Recipe validation: every problem in a parsed recipe file, each named by line and
field ("demo.toml:42: steps[3].volume: wrong unit 'g' for a volume: use mL, L, uL").

``RecipeChecker`` walks the sections (header, kit, parameters, steps and their
arguments with their units, alarms and outcome through ``recipe_checks``) and follows
the liquid through the steps; a recipe with any problem is not built.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from app.batch.phases import PHASES, Arg, Phase
from app.batch.recipe_checks import check_alarms, check_outcome
from app.batch.recipe_model import KITS, ROLES, Kit, Parameter, Problem, Recipe, Step
from app.batch.units import DIMENSIONS, UnitError, parse_quantity
from hardware.protocol import CHANNEL_NAMES

SECTIONS = ("recipe", "kit", "parameters", "steps", "alarms", "outcome")
EMPTY_AT_START = ("waste", "product")
HEADER_KEYS = ("name", "version", "product_type", "author", "description")
PARAMETER_KEYS = {"label", "unit", "default", "min", "max", "changeable_by"}


def _finite(value: Any) -> float | None:
    """A TOML number as a finite float, or None (text, bool, nan, inf, or too large)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------- line finding


class _Lines:
    """Where each table and key of a TOML text is (tomllib gives no positions)."""

    HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple, int] = {}
        self.keys: dict[tuple, int] = {}
        counts: dict[str, int] = {}
        path: tuple = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = self.HEADER.match(line)
            if header:
                name = header.group(2)
                if header.group(1) == "[[":
                    counts[name] = counts.get(name, 0) + 1
                    path = (name, counts[name] - 1)
                else:
                    path = tuple(part.strip().strip('"') for part in name.split("."))
                self.tables.setdefault(path, number)
                continue
            key = self.KEY.match(line)
            if key:
                self.keys.setdefault((*path, key.group(1)), number)

    def of(self, *path: Any) -> int:
        return (
            self.keys.get(tuple(path))
            or self.tables.get(tuple(path))
            or self.tables.get(tuple(path[:-1]), 0)
        )


class RecipeChecker:
    """Checks one parsed recipe file; ``check`` returns the recipe, or None with
    ``problems`` listing why not."""

    def __init__(self, source: str, text: str, data: dict[str, Any]) -> None:
        self.source = source
        self.text = text
        self.data = data
        self.lines = _Lines(text)
        self.problems: list[Problem] = []

    def problem(self, path: tuple, field_name: str, message: str) -> None:
        self.problems.append(Problem(self.source, self.lines.of(*path), field_name, message))

    def check(self) -> Recipe | None:
        for section in self.data:
            if section not in SECTIONS:
                self.problem(
                    (section,), section, f"unknown section (expected {', '.join(SECTIONS)})"
                )
        header = self._header()
        kit, fills = self._kit()
        parameters = self._parameters()
        steps = self._steps(kit, parameters)
        alarms = check_alarms(self.data.get("alarms"), self.problem)
        outcome = check_outcome(self.data.get("outcome"), self.problem)
        if kit is not None and steps:
            self._volumes(kit, fills, parameters, steps)
        if self.problems or kit is None:
            return None
        return Recipe(
            self.source,
            self.text,
            hashlib.sha256(self.text.encode("utf-8")).hexdigest(),
            *header,
            kit,
            fills,
            parameters,
            tuple(steps),
            alarms,
            outcome,
        )

    # ----------------------------------------------------------------- sections
    def _header(self) -> tuple[str, ...]:
        section = self.data.get("recipe")
        if not isinstance(section, dict):
            self.problem(("recipe",), "recipe", "missing [recipe] section")
            return ("",) * len(HEADER_KEYS)
        values = []
        for key in HEADER_KEYS:
            value = section.get(key)
            if not isinstance(value, str) or not value.strip():
                self.problem(("recipe", key), f"recipe.{key}", "required text is missing")
                value = ""
            values.append(value)
        for key in section:
            if key not in HEADER_KEYS:
                self.problem(("recipe", key), f"recipe.{key}", "unknown field")
        return tuple(values)

    def _kit(self) -> tuple[Kit | None, dict[str, float]]:
        section = self.data.get("kit")
        if not isinstance(section, dict) or "type" not in section:
            self.problem(("kit",), "kit.type", "missing: which kit type the recipe needs")
            return None, {}
        kit = KITS.get(section["type"]) if isinstance(section["type"], str) else None
        if kit is None:
            self.problem(
                ("kit", "type"),
                "kit.type",
                f"unknown kit type {section['type']!r} (known: {', '.join(KITS)})",
            )
            return None, {}
        fills: dict[str, float] = {}
        for bag, value in section.items():
            if bag == "type":
                continue
            if bag not in kit.bags:
                self.problem(("kit", bag), f"kit.{bag}", f"kit {kit.name} has no bag {bag!r}")
                continue
            if bag in EMPTY_AT_START:
                self.problem(("kit", bag), f"kit.{bag}", f"the {bag} bag is loaded empty")
                continue
            try:
                volume = parse_quantity(value, "volume")
            except UnitError as exc:
                self.problem(("kit", bag), f"kit.{bag}", str(exc))
                continue
            if not 0 <= volume <= kit.bags[bag]:
                self.problem(
                    ("kit", bag),
                    f"kit.{bag}",
                    f"{volume:g} mL does not fit the {bag} bag ({kit.bags[bag]:g} mL)",
                )
                continue
            fills[bag] = volume
        return kit, fills

    def _parameters(self) -> dict[str, Parameter]:
        section = self.data.get("parameters", {})
        result: dict[str, Parameter] = {}
        if not isinstance(section, dict):
            self.problem(("parameters",), "parameters", "must be a table of parameters")
            return result
        for name, spec in section.items():
            path, label = ("parameters", name), f"parameters.{name}"
            if not isinstance(spec, dict):
                self.problem(path, label, "must be a table (label, unit, default, min, max)")
                continue
            for key in spec:
                if key not in PARAMETER_KEYS:
                    self.problem((*path, key), f"{label}.{key}", "unknown field")
            missing = [k for k in ("unit", "default", "min", "max") if k not in spec]
            if missing:
                self.problem(path, label, f"missing {', '.join(missing)}")
                continue
            unit = spec["unit"]
            dimension = next(
                (d.name for d in DIMENSIONS.values() if isinstance(unit, str) and unit in d.units),
                None,
            )
            if dimension is None:
                self.problem((*path, "unit"), f"{label}.unit", f"unknown unit {spec['unit']!r}")
                continue
            numbers = {}
            for key in ("default", "min", "max"):
                number = _finite(spec[key])
                if number is None:
                    self.problem((*path, key), f"{label}.{key}", "must be a finite number")
                else:
                    numbers[key] = number
            if len(numbers) < 3:
                continue
            if not numbers["min"] <= numbers["default"] <= numbers["max"]:
                self.problem(
                    (*path, "default"),
                    f"{label}.default",
                    f"{numbers['default']:g} is outside {numbers['min']:g}.."
                    f"{numbers['max']:g} {spec['unit']}",
                )
                continue
            who = spec.get("changeable_by", [])
            if not isinstance(who, list) or any(r not in ROLES for r in who):
                self.problem(
                    (*path, "changeable_by"),
                    f"{label}.changeable_by",
                    f"must be a list of roles from {', '.join(ROLES)}",
                )
                continue
            factor = DIMENSIONS[dimension].units[spec["unit"]]
            result[name] = Parameter(
                name,
                str(spec.get("label", name)),
                spec["unit"],
                dimension,
                numbers["default"] * factor,
                numbers["min"] * factor,
                numbers["max"] * factor,
                tuple(who),
            )
        return result

    def _steps(self, kit: Kit | None, parameters: dict[str, Parameter]) -> list[Step]:
        raw_steps = self.data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            self.problem(("steps",), "steps", "a recipe needs at least one [[steps]]")
            return []
        steps = []
        for index, raw in enumerate(raw_steps):
            path, label = ("steps", index), f"steps[{index + 1}]"
            if not isinstance(raw, dict):
                self.problem(path, label, "each step must be a [[steps]] table")
                continue
            name, phase_name = raw.get("name"), raw.get("phase")
            if not isinstance(name, str) or not name.strip():
                self.problem((*path, "name"), f"{label}.name", "every step needs a name")
                name = f"step {index + 1}"
            phase = PHASES.get(phase_name) if isinstance(phase_name, str) else None
            if phase is None:
                self.problem(
                    (*path, "phase"),
                    f"{label}.phase",
                    f"unknown phase {phase_name!r} (known: {', '.join(PHASES)})",
                )
                continue
            args = {k: v for k, v in raw.items() if k not in ("name", "phase")}
            self._step_args(path, label, phase, args, kit, parameters)
            steps.append(Step(index + 1, name, phase.name, args))
        return steps

    def _step_args(
        self,
        path: tuple,
        label: str,
        phase: Phase,
        args: dict[str, Any],
        kit: Kit | None,
        parameters: dict[str, Parameter],
    ) -> None:
        for key in args:
            if key not in phase.args:
                self.problem(
                    (*path, key),
                    f"{label}.{key}",
                    f"phase {phase.name} takes no {key!r} (it takes {', '.join(phase.args)})",
                )
        for key, arg in phase.args.items():
            where, field_name = (*path, key), f"{label}.{key}"
            if key not in args:
                if arg.required:
                    self.problem(path, field_name, f"required by phase {phase.name}")
                continue
            message = self._arg_problem(arg, args[key], kit, parameters)
            if message:
                self.problem(where, field_name, message)
        low, high = _finite(args.get("data_low")), _finite(args.get("data_high"))
        if low is not None and high is not None and low > high:
            self.problem((*path, "data_low"), f"{label}.data_low", "is above data_high")
        channel = args.get("channel")
        if phase.name == "hold_until" and isinstance(channel, str) and channel not in CHANNEL_NAMES:
            self.problem(
                (*path, "channel"),
                f"{label}.channel",
                f"unknown channel {channel!r} (see docs/protocol.md)",
            )

    def _arg_problem(
        self, arg: Arg, value: Any, kit: Kit | None, parameters: dict[str, Parameter]
    ) -> str:
        if isinstance(value, str) and value.startswith("$"):
            parameter = parameters.get(value[1:])
            if parameter is None:
                return f"refers to parameter {value[1:]!r}, which [parameters] does not define"
            if arg.kind != "quantity" or parameter.dimension != arg.dimension:
                wanted = arg.dimension or arg.kind
                return f"parameter {value[1:]!r} is a {parameter.dimension}, not a {wanted}"
            if (arg.low is not None and parameter.low < arg.low) or (
                arg.high is not None and parameter.high > arg.high
            ):
                return (
                    f"parameter {value[1:]!r} may range {parameter.low:g}..{parameter.high:g}"
                    f" {DIMENSIONS[arg.dimension].base}, beyond what the phase allows "
                    f"({arg.low:g}..{arg.high:g})"
                )
            return ""
        if arg.kind == "quantity":
            try:
                number = parse_quantity(value, arg.dimension)
            except UnitError as exc:
                return str(exc)
            return self._range(arg, number, DIMENSIONS[arg.dimension].base)
        if arg.kind == "bag":
            known = set(kit.bags) | {"chamber"} if kit else set()
            if not isinstance(value, str) or (kit and value not in known):
                return f"kit {kit.name if kit else '?'} has no bag {value!r}"
            return ""
        if arg.kind == "choice":
            return "" if value in arg.choices else f"must be one of {', '.join(arg.choices)}"
        if arg.kind == "text":
            return "" if isinstance(value, str) and value.strip() else "must be text"
        if arg.kind == "bool":
            return "" if isinstance(value, bool) else "must be true or false"
        if arg.kind in ("int", "float"):
            number = _finite(value)
            if number is None or (arg.kind == "int" and not isinstance(value, int)):
                return f"must be a{'n integer' if arg.kind == 'int' else ' finite number'}"
            return self._range(arg, number, "")
        return ""

    @staticmethod
    def _range(arg: Arg, number: float, unit: str) -> str:
        if (arg.low is not None and number < arg.low) or (
            arg.high is not None and number > arg.high
        ):
            return f"{number:g} {unit} is outside {arg.low:g}..{arg.high:g} {unit}".replace(
                "  ", " "
            )
        return ""

    # ----------------------------------------------------------------- volumes
    def _volumes(
        self, kit: Kit, fills: dict[str, float], parameters: dict[str, Parameter], steps: list[Step]
    ) -> None:
        """Follow the liquid through the steps for every allowed parameter value at once:
        each bag holds a range [least, most]; a step may take no more than the least its
        source can hold, and the most a bag can reach must fit it."""
        capacity = {**kit.bags, "chamber": kit.chamber}
        least = {bag: fills.get(bag, 0.0) for bag in capacity}
        most = dict(least)
        for step in steps:
            path, label = ("steps", step.number - 1), f"steps[{step.number}]"
            for source, target, (low, high) in self._moves(PHASES[step.phase], step, parameters):
                missing = [b for b in (source, target) if b not in capacity]
                if missing:
                    self.problem(
                        path,
                        label,
                        f"phase {step.phase} needs the {missing[0]} bag, "
                        f"which kit {kit.name} lacks",
                    )
                    return
                if high > least[source] + 1e-9:
                    self.problem(
                        path,
                        label,
                        f"impossible volume: step {step.number} ({step.name}) may take "
                        f"{high:g} mL from {source}, which may then hold only "
                        f"{least[source]:g} mL",
                    )
                    return
                least[source] -= high
                most[source] -= low
                least[target] += low
                most[target] += high
                if most[target] > capacity[target] + 1e-9:
                    self.problem(
                        path,
                        label,
                        f"impossible volume: after step {step.number} ({step.name}) "
                        f"{target} may hold {most[target]:g} mL, more than its "
                        f"{capacity[target]:g} mL",
                    )
                    return

    @staticmethod
    def _moves(phase: Phase, step: Step, parameters: dict[str, Parameter]) -> list[tuple]:
        """(source, target, (least, most) mL) for each movement of liquid in a step."""

        def amount(key: str) -> tuple[float, float]:
            raw = step.args.get(key)
            if isinstance(raw, str) and raw.startswith("$"):
                parameter = parameters.get(raw[1:])
                return (parameter.low, parameter.high) if parameter else (0.0, 0.0)
            try:
                volume = parse_quantity(raw, "volume")
            except UnitError:
                return (0.0, 0.0)
            return (volume, volume)

        if phase.name == "wash":
            repeats = step.args.get("repeats", 1)
            repeats = repeats if isinstance(repeats, int) and not isinstance(repeats, bool) else 1
            return [
                ("chamber", "waste", amount("supernatant")),
                ("buffer", "chamber", amount("buffer")),
            ] * max(1, min(repeats, 10))
        if phase.moves_liquid is None:
            return []
        source, target, volume_key = phase.moves_liquid
        source = step.args.get(source[1:]) if source.startswith("@") else source
        target = step.args.get(target[1:]) if target.startswith("@") else target
        if not isinstance(source, str) or not isinstance(target, str):
            return []
        return [(source, target, amount(volume_key))]
