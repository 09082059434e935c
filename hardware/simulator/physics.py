"""Physics of the simulated kit: heat, gas, pH, DO, liquid transfers, pressure, rotor, cells.

A plain-Python model stepped by the firmware with ``step(dt)``; every first-order
process uses its exact exponential update so that steps of up to a second (used when
the simulator runs thousands of times faster than real time) stay stable.
Quantities: volumes in mL (1 mL weighs 1 g), temperatures in °C, gas in %, time in s.

Fluidic layout: pump 1 joins the bag manifold (a pinch valve per bag) to the chamber,
forwards into the chamber; pump 2 feeds media through the "feed" valve. The line
pressure sensor sits on the chamber inlet where both lines meet, so either pump
pushing against a closed (or occluded) line raises it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

BAGS: tuple[str, ...] = ("source", "media", "buffer", "waste", "product")
VESSELS: tuple[str, ...] = (*BAGS, "chamber")

AMBIENT_C = 22.0
HEATER_GAIN_C = 30.0  # steady-state rise above ambient at 100 % heater power
THERMAL_TAU_S = 600.0  # chamber loss to ambient
HEATER_TAU_S = 20.0  # heater element lag
GAS_TAU_S = 180.0  # headspace CO2 follows the mixer
PH_TAU_S = 60.0  # medium pH follows dissolved CO2 / bicarbonate equilibrium
PRESSURE_BASE_MBAR = 10.0
PRESSURE_PER_FLOW = 0.6  # mbar per mL/min through an open line
PRESSURE_RISE_PER_FLOW = 2.0  # mbar/s per mL/min pushed against a closed line
PRESSURE_TAU_S = 1.0
ROTOR_RAMP_RPM_S = 500.0
PELLET_RPM = 500.0  # spinning at least this fast, the chamber keeps its cells as a pellet
MEDIA_GLUCOSE_MM = 11.0
MEDIA_BICARB_MM = 24.0
X_MAX_PER_ML = 4.0e7  # contact-inhibition ceiling
LAG_TAU_S = 8 * 3600.0
GLUCOSE_PER_CELL_H = 2.0e-11  # mmol per cell per hour
BICARB_PER_GLUCOSE = 0.5  # lactate produced consumes bicarbonate
OUR_PER_CELL_ML_H = 2.0e-5  # % air saturation per hour per (cell/mL)
DEATH_RATE_H = 0.001
GLUCOSE_KS_MM = 0.2  # Monod half-saturation of growth on glucose
FRESH_NUTRIENT = MEDIA_GLUCOSE_MM / (MEDIA_GLUCOSE_MM + GLUCOSE_KS_MM)
STARVED_DEATH_RATE_H = 0.03


@dataclass
class Vessel:
    """Liquid content of a bag or the chamber, perfectly mixed."""

    volume: float = 0.0  # mL
    cells: float = 0.0  # viable cells
    glucose: float = 0.0  # mmol
    bicarb: float = 0.0  # mmol

    def take(self, volume: float, keep_cells: bool = False) -> Vessel:
        """Remove ``volume`` mL (or all there is) and return it as a new Vessel; with
        ``keep_cells`` (a spinning centrifuge: cells pelleted) only supernatant leaves."""
        volume = min(volume, self.volume)
        if volume <= 0.0 or self.volume <= 0.0:
            return Vessel()
        share = volume / self.volume
        cells = 0.0 if keep_cells and volume < self.volume else self.cells * share
        part = Vessel(volume, cells, self.glucose * share, self.bicarb * share)
        self.volume -= volume
        self.cells -= part.cells
        self.glucose -= part.glucose
        self.bicarb -= part.bicarb
        if self.volume < 1e-9:
            self.volume = self.cells = self.glucose = self.bicarb = 0.0
        return part

    def add(self, part: Vessel) -> None:
        self.volume += part.volume
        self.cells += part.cells
        self.glucose += part.glucose
        self.bicarb += part.bicarb


def media(volume: float, cells_per_ml: float = 0.0) -> Vessel:
    """Fresh culture medium (glucose, bicarbonate buffer), optionally with cells."""
    litres = volume / 1000.0
    return Vessel(
        volume, cells_per_ml * volume, MEDIA_GLUCOSE_MM * litres, MEDIA_BICARB_MM * litres
    )


def buffer(volume: float) -> Vessel:
    """Wash buffer: no nutrients; its phosphate buffering is modelled as bicarbonate."""
    return Vessel(volume, 0.0, 0.0, MEDIA_BICARB_MM * volume / 1000.0)


SOURCE_CELLS_PER_ML = 1.0e6  # apheresis product, after dilution
DEFAULT_FILLS = {"source": 100.0, "media": 1000.0, "buffer": 500.0}
FILLABLE = ("source", "media", "buffer")


def default_kit(fills: dict[str, float] | None = None) -> dict[str, Vessel]:
    """A freshly loaded kit: apheresis product in the source bag, media, buffer, empties.
    ``fills`` (mL) replaces the default volume of the source, media or buffer bag."""
    volumes = {**DEFAULT_FILLS, **(fills or {})}
    unknown = set(volumes) - set(FILLABLE)
    if unknown:
        raise ValueError(f"only {', '.join(FILLABLE)} can be filled, not {sorted(unknown)}")
    return {
        "source": media(volumes["source"], cells_per_ml=SOURCE_CELLS_PER_ML),
        "media": media(volumes["media"]),
        "buffer": buffer(volumes["buffer"]),
        "waste": Vessel(),
        "product": Vessel(),
        "chamber": Vessel(),
    }


@dataclass
class Pump:
    """A peristaltic pump: signed rate in mL/min, optional volume after which it stops."""

    rate: float = 0.0
    remaining: float | None = None  # mL left of a volume-limited command
    command_volume: float | None = None  # the volume that command asked for
    delivered: float = 0.0  # cumulative mL moved (always positive)

    def run(self, rate: float, volume: float | None) -> None:
        self.rate = rate
        self.remaining = volume if rate else None
        self.command_volume = self.remaining

    def stop(self) -> None:
        self.rate = 0.0
        self.remaining = None


@dataclass
class Plant:
    """The kit and the instrument's physical state. The firmware sets the actuator
    fields (heater_power, co2_setpoint, pumps, valves, rotor_setpoint) and reads the
    true state; sensors (noise, drift, calibration) are the firmware's business."""

    vessels: dict[str, Vessel] = field(default_factory=default_kit)
    doubling_h: float = 30.0  # gross: before death, nutrient and density limits, and lag
    net_doubling_h: float | None = None  # set: the exponential-phase doubling (see growth)
    temp: float = AMBIENT_C
    heater_element: float = 0.0  # effective heater power 0..1 after element lag
    heater_power: float = 0.0  # commanded 0..1
    co2: float = 5.0  # headspace %, as gassed before the kit is loaded
    co2_setpoint: float = 0.0
    ph: float = 7.4
    do: float = 100.0
    pressure: float = PRESSURE_BASE_MBAR
    rpm: float = 0.0
    rotor_setpoint: float = 0.0
    pumps: tuple[Pump, Pump] = field(default_factory=lambda: (Pump(), Pump()))
    valves: set[str] = field(default_factory=set)
    occluded: set[int] = field(default_factory=set)  # pumps with a blocked line (fault)
    door_open: bool = False
    bubble: bool = False
    culture_age: float = 0.0  # s since cells were first present in the chamber
    completed: list[int] = field(default_factory=list)  # pumps that finished a volume

    # ------------------------------------------------------------------ stepping
    def step(self, dt: float) -> None:
        """Advance the physical state by ``dt`` seconds (at most a few seconds)."""
        self._thermal(dt)
        self._gas_and_ph(dt)
        self._fluidics(dt)
        self._rotor(dt)
        self._cells(dt)
        self._oxygen(dt)

    def _thermal(self, dt: float) -> None:
        power = min(max(self.heater_power, 0.0), 1.0)
        self.heater_element += (power - self.heater_element) * (1 - math.exp(-dt / HEATER_TAU_S))
        target = AMBIENT_C + HEATER_GAIN_C * self.heater_element
        self.temp += (target - self.temp) * (1 - math.exp(-dt / THERMAL_TAU_S))

    def _gas_and_ph(self, dt: float) -> None:
        target_co2 = max(self.co2_setpoint, 0.04)
        self.co2 += (target_co2 - self.co2) * (1 - math.exp(-dt / GAS_TAU_S))
        self.ph += (self.equilibrium_ph() - self.ph) * (1 - math.exp(-dt / PH_TAU_S))

    def equilibrium_ph(self) -> float:
        """Henderson–Hasselbalch for the bicarbonate buffer under the headspace CO2."""
        chamber = self.vessels["chamber"]
        if chamber.volume > 1.0:
            bicarb_mm = max(chamber.bicarb / (chamber.volume / 1000.0), 0.05)
        else:
            bicarb_mm = MEDIA_BICARB_MM
        dissolved_co2_mm = 0.0307 * self.co2 * 7.6  # mmHg per % at sea level
        return 6.1 + math.log10(bicarb_mm / max(dissolved_co2_mm, 1e-3))

    # ------------------------------------------------------------------ liquids
    def _line_open(self, pump_index: int) -> list[str]:
        """Bags the pump's line is open to (empty list: pushing against a closed line)."""
        if pump_index in self.occluded:
            return []
        if pump_index == 0:
            return [b for b in BAGS if b in self.valves]
        return ["media"] if "feed" in self.valves else []

    def _fluidics(self, dt: float) -> None:
        line_pressure_target = PRESSURE_BASE_MBAR
        pushing_closed = 0.0
        self.bubble = False
        for index, pump in enumerate(self.pumps):
            if not pump.rate:
                continue
            volume = abs(pump.rate) / 60.0 * dt
            if pump.remaining is not None:
                volume = min(volume, pump.remaining)
            bags = self._line_open(index)
            if not bags:
                pushing_closed += abs(pump.rate)
                continue
            moved = self._transfer(bags, volume, forward=pump.rate > 0)
            if moved < volume * 0.999:
                self.bubble = True  # the source ran dry: air in the line
            pump.delivered += volume
            line_pressure_target += PRESSURE_PER_FLOW * abs(pump.rate)
            if pump.remaining is not None:
                pump.remaining -= volume
                if pump.remaining <= 1e-9:
                    pump.stop()
                    self.completed.append(index)
        if pushing_closed:
            self.pressure += PRESSURE_RISE_PER_FLOW * pushing_closed * dt
        else:
            decay = 1 - math.exp(-dt / PRESSURE_TAU_S)
            self.pressure += (line_pressure_target - self.pressure) * decay

    def _transfer(self, bags: list[str], volume: float, forward: bool) -> float:
        """Move ``volume`` mL between the open bags and the chamber; return mL moved."""
        chamber = self.vessels["chamber"]
        share = volume / len(bags)
        moved = 0.0
        for name in bags:
            if forward:
                part = self.vessels[name].take(share)
                chamber.add(part)
            else:
                part = chamber.take(share, keep_cells=self.rpm >= PELLET_RPM)
                self.vessels[name].add(part)
            moved += part.volume
        return moved

    def stop_pumps(self) -> None:
        for pump in self.pumps:
            pump.stop()

    # ------------------------------------------------------------------ rotor, cells, O2
    def _rotor(self, dt: float) -> None:
        step = ROTOR_RAMP_RPM_S * dt
        delta = self.rotor_setpoint - self.rpm
        self.rpm = (
            self.rotor_setpoint if abs(delta) <= step else self.rpm + math.copysign(step, delta)
        )

    def growth_rate_h(self) -> float:
        """Specific growth rate (1/h) of the chamber culture under current conditions.

        By default ``doubling_h`` sets the gross maximum rate. With ``net_doubling_h`` set
        (``--doubling-h``) that is the doubling time the culture shows at 37 °C in fresh
        medium, past its lag and far from confluence: the maximum rate makes up for the
        death rate, and the glucose term is relative to fresh medium's, so a culture
        really doubles in that time and analytics can be checked against it."""
        chamber = self.vessels["chamber"]
        if chamber.volume < 1.0 or chamber.cells <= 0.0:
            return 0.0
        temperature = math.exp(-(((self.temp - 37.0) / 5.0) ** 2))
        glucose_mm = chamber.glucose / (chamber.volume / 1000.0)
        nutrient = glucose_mm / (glucose_mm + GLUCOSE_KS_MM)
        if self.net_doubling_h is None:
            mu_max = math.log(2) / self.doubling_h
        else:
            mu_max = math.log(2) / self.net_doubling_h + DEATH_RATE_H
            nutrient = min(1.0, nutrient / FRESH_NUTRIENT)
        density = max(0.0, 1.0 - chamber.cells / chamber.volume / X_MAX_PER_ML)
        lag = 1.0 - math.exp(-self.culture_age / LAG_TAU_S)
        return mu_max * temperature * nutrient * density * lag

    def _cells(self, dt: float) -> None:
        chamber = self.vessels["chamber"]
        if chamber.cells <= 1e3 or chamber.volume < 1.0:
            self.culture_age = 0.0
            return
        self.culture_age += dt
        hours = dt / 3600.0
        glucose_mm = chamber.glucose / (chamber.volume / 1000.0)
        death = STARVED_DEATH_RATE_H if glucose_mm < 0.2 else DEATH_RATE_H
        mu = self.growth_rate_h()
        consumed = min(chamber.glucose, GLUCOSE_PER_CELL_H * chamber.cells * hours)
        chamber.glucose -= consumed
        chamber.bicarb = max(0.0, chamber.bicarb - BICARB_PER_GLUCOSE * consumed)
        chamber.cells *= math.exp((mu - death) * hours)

    def _oxygen(self, dt: float) -> None:
        chamber = self.vessels["chamber"]
        saturation = 100.0 * (1.0 - self.co2 / 100.0)
        kla = (2.0 + 0.01 * self.rpm) / 3600.0  # 1/s, agitation improves transfer
        uptake = 0.0
        if chamber.volume > 1.0:
            uptake = OUR_PER_CELL_ML_H * chamber.cells / chamber.volume / 3600.0  # %/s
        equilibrium = max(0.0, saturation - uptake / kla)
        self.do += (equilibrium - self.do) * (1 - math.exp(-dt * kla))

    # ------------------------------------------------------------------ readings
    def weight(self, vessel: str) -> float:
        return self.vessels[vessel].volume

    def cell_density(self) -> float:
        """Viable cells per mL in the chamber (0 when the chamber is dry)."""
        chamber = self.vessels["chamber"]
        return chamber.cells / chamber.volume if chamber.volume >= 5.0 else 0.0
