"""Physics sanity of the simulated instrument, through its firmware (PID, interlocks)."""

from hardware.protocol import CHANNEL_INDEX, encode_frame
from hardware.simulator.firmware import Firmware
from hardware.simulator.physics import Plant, media


def reading(fw: Firmware, name: str) -> float:
    return fw.readings()[CHANNEL_INDEX[name]]


def command(fw: Firmware, payload: str) -> bytes:
    return fw.handle_line(encode_frame(payload))[-1]


def test_heater_step_settles_within_spec():
    fw = Firmware(seed=1)
    fw.plant.temp = 22.0
    command(fw, "1 SET temp_sp 37")
    fw.advance(3 * 3600.0)  # three hours from room temperature
    temps = []
    for _ in range(1800):  # then watch for 30 minutes
        fw.advance(1.0)
        temps.append(fw.plant.temp)
    assert max(abs(t - 37.0) for t in temps) < 0.2
    assert max(temps) < 40.0


def test_heater_step_has_bounded_overshoot_and_responds():
    fw = Firmware(seed=1)
    fw.plant.temp = 22.0
    fw.advance(1800.0)
    assert fw.plant.temp > 30.0  # really heating
    peak = 0.0
    for _ in range(4 * 3600):
        fw.advance(1.0)
        peak = max(peak, fw.plant.temp)
    assert peak < 37.5


def test_100_ml_transfer_moves_100_g_between_bags():
    fw = Firmware(seed=1)
    before_buffer = fw.plant.weight("buffer")
    command(fw, "1 VALVE buffer OPEN")
    assert b"OK" in command(fw, "2 PUMP 1 60 100")
    fw.advance(150.0)
    moved_out = before_buffer - reading(fw, "w_buffer")
    moved_in = reading(fw, "w_chamber")
    pumped = reading(fw, "p1_vol")
    assert abs(pumped - 100.0) < 1e-6
    assert abs(moved_out - 100.0) <= 1.0
    assert abs(moved_in - 100.0) <= 1.0
    assert any(b"PUMP_DONE" in f for f in fw.take_output())


def test_pump_against_closed_valve_raises_pressure_and_trips_interlock():
    fw = Firmware(seed=1)
    fw.take_output()
    command(fw, "1 PUMP 1 50")
    pressures = []
    for _ in range(40):
        fw.advance(0.1)
        pressures.append(fw.plant.pressure)
    assert pressures[5] >= pressures[0] + 50  # rising while it pushes (100 mbar/s)
    assert max(pressures) > fw.setpoints["p_limit"]
    assert fw.plant.pumps[0].rate == 0  # the interlock stopped the pump
    events = b"".join(fw.take_output())
    assert b"name=PRESSURE state=ON" in events


def test_occlusion_fault_blocks_an_open_line():
    fw = Firmware(seed=1)
    command(fw, "1 FAULT occlusion")
    command(fw, "2 VALVE buffer OPEN")
    command(fw, "3 PUMP 1 50")
    fw.advance(5.0)
    assert b"name=PRESSURE state=ON" in b"".join(fw.take_output())
    assert fw.plant.pumps[0].rate == 0
    assert fw.plant.weight("chamber") == 0.0


def grow(temp: float, days: float) -> float:
    plant = Plant()
    plant.vessels["chamber"] = media(200.0, cells_per_ml=0.5e6)
    plant.co2 = plant.co2_setpoint = 5.0
    start = plant.vessels["chamber"].cells
    for _ in range(int(days * 24 * 60)):
        plant.temp = temp
        for _ in range(60):
            plant.step(1.0)
    return plant.vessels["chamber"].cells / start


def test_cells_grow_at_37_and_clearly_less_at_30():
    at_37 = grow(37.0, 5.0)
    at_30 = grow(30.0, 5.0)
    assert at_37 >= 8.0
    assert at_30 < at_37 / 3


def test_co2_lowers_ph_and_cells_consume_oxygen():
    fw = Firmware(seed=1)
    fw.plant.vessels["chamber"] = media(200.0, cells_per_ml=8e6)
    command(fw, "1 SET co2_sp 10")
    fw.advance(2 * 3600.0)
    ph_high_co2 = fw.plant.ph
    command(fw, "2 SET co2_sp 2")
    fw.advance(2 * 3600.0)
    assert fw.plant.ph > ph_high_co2 + 0.2
    assert fw.plant.do < 80.0


def test_rotor_ramps():
    fw = Firmware(seed=1)
    command(fw, "1 ROTOR 2000")
    fw.advance(1.0)
    assert 400 <= fw.plant.rpm <= 600
    fw.advance(5.0)
    assert fw.plant.rpm == 2000


def test_supernatant_removed_while_spinning_leaves_the_cells():
    fw = Firmware(seed=1)
    fw.plant.vessels["chamber"] = media(100.0, cells_per_ml=1e6)
    command(fw, "1 ROTOR 1500")
    fw.advance(5.0)
    command(fw, "2 VALVE waste OPEN")
    command(fw, "3 PUMP 1 -60 80")
    fw.advance(120.0)
    chamber = fw.plant.vessels["chamber"]
    assert abs(chamber.volume - 20.0) < 0.5 and chamber.cells > 0.99e8  # (two minutes of life)
    assert fw.plant.vessels["waste"].cells == 0.0
