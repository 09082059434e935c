"""Sensor front-end of the simulated firmware: raw readings with noise, drift and
stuck faults, then the per-channel calibration (reading = gain * raw + offset).

The calibration faults act here too, on what a sensor reads and never on the plant:
a probe sitting in a standard (``probe``), the pH electrode's slope (``ph_slope``), a
reference weight on a load cell (``reference_g``) and a constant error (``bias``)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hardware.protocol import (
    CALIBRATABLE,
    CHANNEL_INDEX,
    STATES,
    VALUE_LIMIT,
    FirmwareState,
    valve_mask,
)
from hardware.simulator.physics import Plant

NOISE_SD: dict[str, float] = {
    "temp": 0.02,
    "ph": 0.004,
    "do": 0.3,
    "co2": 0.02,
    "pressure": 0.5,
    "w_source": 0.05,
    "w_media": 0.05,
    "w_buffer": 0.05,
    "w_waste": 0.05,
    "w_product": 0.05,
    "w_chamber": 0.05,
}
VCD_RELATIVE_SD = 0.02
PH_ISOPOTENTIAL = 7.0  # a pH electrode reads 7 at 0 mV whatever its slope
assert set(NOISE_SD) == set(CALIBRATABLE)


@dataclass
class Calibration:
    gain: float = 1.0
    offset: float = 0.0


class Sensors:
    """Turns the plant's true state into the channel values the firmware reports."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.calibration: dict[str, Calibration] = {name: Calibration() for name in CALIBRATABLE}
        self.noise_factor = 1.0
        self.drift_per_h: dict[str, float] = {}
        self.drift_since_s: dict[str, float] = {}
        self.stuck: dict[str, float | None] = {}  # None: freeze at the next reading
        self.probe: dict[str, float] = {}  # ph/do probe in a standard of this true value
        self.ph_slope = 1.0  # pH electrode slope as a fraction of Nernstian
        self.reference_g: dict[str, float] = {}  # load cell -> reference weight added, g
        self.bias: dict[str, float] = {}  # channel -> constant error added to the raw reading

    def raw(self, name: str, true_value: float, t_s: float) -> float:
        """Raw reading of a calibratable sensor: what the probe sits in (the plant, or a
        standard), through the pH electrode's slope, plus reference weight, noise, drift
        and bias. Each term is applied only when its fault is set, so without faults the
        reading is exactly truth + noise."""
        if name in self.probe:
            true_value = self.probe[name]
        if name == "ph" and self.ph_slope != 1.0:
            true_value = PH_ISOPOTENTIAL + self.ph_slope * (true_value - PH_ISOPOTENTIAL)
        if name in self.reference_g:
            true_value += self.reference_g[name]
        value = true_value + self.rng.gauss(0.0, NOISE_SD[name] * self.noise_factor)
        rate = self.drift_per_h.get(name)
        if rate:
            value += rate * (t_s - self.drift_since_s.get(name, t_s)) / 3600.0
        if name in self.bias:
            value += self.bias[name]
        return value

    def read(
        self,
        plant: Plant,
        t_s: float,
        setpoints: dict[str, float],
        interlock_mask: int,
        state: FirmwareState,
    ) -> list[float]:
        """Every channel's current value, in protocol channel order."""
        values: dict[str, float] = {}
        for name, true_value in true_values(plant).items():
            cal = self.calibration[name]
            values[name] = round(cal.gain * self.raw(name, true_value, t_s) + cal.offset, 4)
        density = plant.cell_density() / 1e6
        noisy_density = density * (1 + self.rng.gauss(0.0, VCD_RELATIVE_SD * self.noise_factor))
        values["vcd"] = round(max(0.0, noisy_density), 4)
        pump1, pump2 = plant.pumps
        values.update(
            temp_sp=setpoints["temp_sp"],
            co2_sp=setpoints["co2_sp"],
            rpm_sp=plant.rotor_setpoint,
            heater=round(100.0 * plant.heater_power, 1),
            rpm=round(plant.rpm),
            p1_rate=pump1.rate,
            p1_vol=round(pump1.delivered, 3),
            p2_rate=pump2.rate,
            p2_vol=round(pump2.delivered, 3),
            valves=valve_mask(plant.valves),
            bubble=int(plant.bubble),
            door=int(plant.door_open),
            ilk=interlock_mask,
            state=STATES.index(state),
        )
        for name, frozen in self.stuck.items():
            if frozen is None:
                self.stuck[name] = frozen = values[name]
            values[name] = frozen
        ordered = [0.0] * len(CHANNEL_INDEX)
        for name, value in values.items():  # a wild fault never puts inf/nan on the wire
            ordered[CHANNEL_INDEX[name]] = min(max(value, -VALUE_LIMIT), VALUE_LIMIT)
        return ordered


def true_values(plant: Plant) -> dict[str, float]:
    """The plant's true value of every calibratable channel, in protocol order."""
    return {
        "temp": plant.temp,
        "ph": plant.ph,
        "do": plant.do,
        "co2": plant.co2,
        "pressure": plant.pressure,
        "w_source": plant.weight("source"),
        "w_media": plant.weight("media"),
        "w_buffer": plant.weight("buffer"),
        "w_waste": plant.weight("waste"),
        "w_product": plant.weight("product"),
        "w_chamber": plant.weight("chamber"),
    }
