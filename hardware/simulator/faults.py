"""Fault injection for the simulated instrument: names, values and their validation.

Faults are set at start (``--fault NAME[=VALUE]``) or at run time (``FAULT`` verb).
Sensor and plant faults act inside the firmware; link faults (corrupt, drop, slow)
act on the bytes the simulator's transport sends and receives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hardware.protocol import CALIBRATABLE, CHANNEL_NAMES

LINK_FAULTS = ("corrupt", "drop", "slow", "reset")  # acted on by the transport (wall clock)


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
    fault = Fault(name, value)
    kind, channel = fault.kind, fault.channel
    if kind == "stuck":
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
