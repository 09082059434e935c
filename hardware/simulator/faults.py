"""Fault injection for the simulated instrument: names, values and their validation.

Faults are set at start (``--fault NAME[=VALUE]``) or at run time (``FAULT`` verb).
Sensor and plant faults act inside the firmware; link faults (corrupt, drop, slow)
act on the bytes the simulator's transport sends and receives. The calibration
standards (probe-ph, probe-do, ph-slope, ref-w_<bag>, bias-<channel>) change only what
a sensor reads, never the plant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hardware.protocol import CALIBRATABLE, CHANNEL_NAMES

LINK_FAULTS = ("corrupt", "drop", "slow", "reset")  # acted on by the transport (wall clock)

PROBE_RANGES: dict[str, tuple[float, float, str]] = {
    "ph": (0.0, 14.0, "a buffer pH 0..14"),
    "do": (0.0, 200.0, "a standard in % saturation 0..200"),
}
"""``probe-<ch>=<value>``: the probe sits in a standard of that true value."""
LOAD_CELLS: tuple[str, ...] = tuple(name for name in CALIBRATABLE if name.startswith("w_"))
MAX_REFERENCE_G = 5000.0
PH_SLOPE_RANGE = (0.5, 1.2)
MAX_BIAS = 100.0


class FaultError(ValueError):
    """An unknown fault name or a value it cannot take."""


@dataclass(frozen=True)
class Fault:
    name: str  # e.g. "noise", "stuck-pressure", "corrupt"
    value: float | None  # None when the fault takes its default

    @property
    def kind(self) -> str:
        """The fault family: "stuck" for "stuck-pressure", the name otherwise."""
        return self.name.split("-", 1)[0]

    @property
    def channel(self) -> str:
        return self.name.split("-", 1)[1] if "-" in self.name else ""


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultError(f"fault {name}: value {text!r} is not a number") from None
    if not math.isfinite(value):
        raise FaultError(f"fault {name}: value must be finite")
    return value


def parse_fault(text: str) -> Fault:
    """Parse ``NAME[=VALUE]`` and check that the name exists and the value fits."""
    name, sep, raw = text.partition("=")
    value = _number(raw, name) if sep else None
    if name == "drift":
        name = "drift-ph"  # plain "drift" is the classic drifting pH probe
    if name.startswith("ref-") and f"w_{name[4:]}" in LOAD_CELLS:
        name = f"ref-w_{name[4:]}"  # ref-source is taken as ref-w_source
    fault = Fault(name, value)
    kind, channel = fault.kind, fault.channel
    if name == "ph-slope":
        low, high = PH_SLOPE_RANGE
        if value is None or not low <= value <= high:
            raise FaultError("fault ph-slope needs the electrode slope as a fraction 0.5..1.2")
    elif kind == "probe":
        if channel not in PROBE_RANGES:
            raise FaultError(f"fault {name}: no standard for channel {channel!r} (ph, do)")
        low, high, what = PROBE_RANGES[channel]
        if value is None or not low <= value <= high:
            raise FaultError(f"fault {name} needs {what}")
    elif kind == "ref":
        if channel not in LOAD_CELLS:
            raise FaultError(f"fault {name}: {channel!r} is not a load cell")
        if value is None or not 0.0 <= value <= MAX_REFERENCE_G:
            raise FaultError(f"fault {name} needs a reference weight in g, 0..5000")
    elif kind == "bias":
        if channel not in CALIBRATABLE:
            raise FaultError(f"fault {name}: channel {channel!r} has no raw reading")
        if value is None or abs(value) > MAX_BIAS:
            raise FaultError(f"fault {name} needs an error in channel units, -100..100")
    elif kind == "stuck":
        if channel not in CHANNEL_NAMES:
            raise FaultError(f"fault {name}: unknown channel {channel!r}")
        if value is not None and abs(value) > 1e6:
            raise FaultError(f"fault {name}: value is at most 1e6 in magnitude")
    elif kind == "drift":
        if channel not in CALIBRATABLE:
            raise FaultError(f"fault {name}: channel {channel!r} cannot drift")
        if value is not None and abs(value) > 1000.0:
            raise FaultError(f"fault {name}: drift is at most 1000 units per hour")
    elif channel:
        raise FaultError(f"unknown fault {name!r}")
    elif name == "corrupt":
        if value is None or not 0.0 <= value <= 0.5:
            raise FaultError("fault corrupt needs a fraction of bytes 0..0.5")
    elif name == "drop":
        if value is None or not 0.0 <= value <= 3600.0:
            raise FaultError("fault drop needs seconds without link, 0..3600")
    elif name == "slow":
        if value is None or not 0.0 <= value <= 60_000.0:
            raise FaultError("fault slow needs milliseconds added to each reply, 0..60000")
    elif name == "occlusion":
        if value is not None and value not in (1, 2):
            raise FaultError("fault occlusion takes pump 1 or 2")
    elif name == "noise":
        if value is not None and not 0.0 <= value <= 1000.0:
            raise FaultError("fault noise takes a factor 0..1000")
    elif name == "door":
        if value is not None and value not in (0, 1):
            raise FaultError("fault door takes 0 (closed) or 1 (open)")
    elif name == "reset":
        if value is not None and not 0.0 <= value <= 86_400.0:
            raise FaultError("fault reset takes a delay in seconds, 0..86400")
    else:
        raise FaultError(f"unknown fault {name!r}")
    return fault
