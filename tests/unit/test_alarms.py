"""ISA-18.2 alarm handling: debounce, states, shelving, suppression, flood."""

import math

import pytest

from app.batch.alarms import (
    AlarmDefinition,
    AlarmManager,
    AlarmState,
    Kind,
    Priority,
)
from app.store.actor import SYSTEM, Actor

ADA = Actor("3", "Ada Operator", "operator")
GRACE = Actor("4", "Grace Supervisor", "supervisor")

TEMP_HI = AlarmDefinition(
    "TEMP_HI",
    "temp",
    Kind.HIGH,
    38.0,
    Priority.HIGH,
    "Check the heater; hold the run if it keeps rising.",
    on_delay_s=10.0,
    deadband=0.3,
)


def manager(*definitions):
    events = []
    return AlarmManager(list(definitions or [TEMP_HI]), events.append), events


def states(events, tag="TEMP_HI"):
    return [e.new for e in events if e.tag == tag]


def chattering(second: int) -> float:
    """A minute clearly high, then nine minutes wobbling +/-0.25 C around the limit."""
    return 38.5 if second < 60 else 38.0 + 0.25 * math.sin(second * 2.1)


def test_chattering_signal_makes_one_alarm():
    alarms, events = manager()
    for second in range(600):
        alarms.evaluate(float(second), {"temp": chattering(second)})
    assert states(events).count(AlarmState.UNACKNOWLEDGED) == 1
    naive = AlarmDefinition("NAIVE", "temp", Kind.HIGH, 38.0, Priority.LOW, "x")
    plain, plain_events = manager(naive)  # the same signal without on-delay and deadband
    for second in range(600):
        plain.evaluate(float(second), {"temp": chattering(second)})
    assert states(plain_events, "NAIVE").count(AlarmState.UNACKNOWLEDGED) > 50


def test_on_delay_filters_a_short_excursion():
    alarms, events = manager()
    for second in range(5):
        alarms.evaluate(float(second), {"temp": 39.0})
    alarms.evaluate(5.0, {"temp": 37.0})
    assert events == []


def test_acknowledge_and_return_to_normal_in_either_order():
    alarms, events = manager()
    for second in range(15):
        alarms.evaluate(float(second), {"temp": 39.0})
    assert alarms.active() == [("TEMP_HI", AlarmState.UNACKNOWLEDGED, Priority.HIGH)]
    with pytest.raises(PermissionError):
        alarms.acknowledge("TEMP_HI", SYSTEM, 15.0)
    alarms.acknowledge("TEMP_HI", ADA, 15.0)
    alarms.evaluate(16.0, {"temp": 37.0})
    assert states(events)[-2:] == [AlarmState.ACKNOWLEDGED, AlarmState.NORMAL]
    for second in range(20, 40):
        alarms.evaluate(float(second), {"temp": 39.0})
    alarms.evaluate(41.0, {"temp": 37.0})
    assert states(events)[-1] is AlarmState.RETURNED_UNACKNOWLEDGED
    alarms.acknowledge("TEMP_HI", ADA, 42.0)
    assert states(events)[-1] is AlarmState.NORMAL and alarms.active() == []
    assert "heater" in events[0].message  # the defined operator response travels with it


def test_shelved_alarm_comes_back_when_its_time_ends():
    alarms, events = manager()
    with pytest.raises(ValueError, match="reason"):
        alarms.shelve("TEMP_HI", GRACE, " ", 600, 0.0)
    alarms.shelve("TEMP_HI", GRACE, "heater being replaced", 600, 0.0)
    for second in range(0, 600, 5):
        alarms.evaluate(float(second), {"temp": 39.0})
    assert AlarmState.UNACKNOWLEDGED not in states(events)
    for second in range(600, 620):
        alarms.evaluate(float(second), {"temp": 39.0})
    assert states(events)[-1] is AlarmState.UNACKNOWLEDGED
    assert events[0].actor == GRACE and events[0].reason == "heater being replaced"


def test_suppressed_by_design_during_a_phase():
    ph_low = AlarmDefinition(
        "PH_LO", "ph", Kind.LOW, 6.9, Priority.MEDIUM, "Check CO2.", suppressed_in=("transfer",)
    )
    alarms, events = manager(ph_low)
    for second in range(30):
        alarms.evaluate(float(second), {"ph": 6.5}, phase="transfer")
    assert states(events, "PH_LO") == [AlarmState.SUPPRESSED]
    alarms.evaluate(30.0, {"ph": 6.5}, phase="culture")
    assert states(events, "PH_LO")[-1] is AlarmState.UNACKNOWLEDGED


def test_flood_is_detected():
    definitions = [
        AlarmDefinition(f"A{i}", f"c{i}", Kind.HIGH, 1.0, Priority.LOW, "Look.") for i in range(12)
    ]
    alarms, events = manager(*definitions)
    values = {f"c{i}": 0.0 for i in range(12)}
    for i in range(12):
        values[f"c{i}"] = 2.0
        alarms.evaluate(float(i * 30), values)
    assert any(e.tag == "FLOOD" for e in events) and alarms.flood


def test_deviation_and_rate_alarms_and_statistics():
    deviation = AlarmDefinition(
        "TEMP_DEV",
        "temp",
        Kind.DEVIATION,
        1.0,
        Priority.MEDIUM,
        "Check the door.",
        setpoint_channel="temp_sp",
    )
    rate = AlarmDefinition(
        "P_RATE",
        "pressure",
        Kind.RATE,
        100.0,
        Priority.HIGH,
        "Stop the pumps; check the line for a clamp.",
    )
    alarms, events = manager(deviation, rate)
    alarms.evaluate(0.0, {"temp": 37.0, "temp_sp": 37.0, "pressure": 10.0})
    alarms.evaluate(1.0, {"temp": 35.5, "temp_sp": 37.0, "pressure": 20.0})
    assert {e.tag for e in events} == {"TEMP_DEV", "P_RATE"}
    stats = alarms.statistics(61.0)
    assert stats["TEMP_DEV"]["activations"] == 1 and stats["TEMP_DEV"]["active_s"] == 60.0


def test_every_alarm_needs_an_operator_response():
    with pytest.raises(ValueError, match="response"):
        AlarmDefinition("X", "temp", Kind.HIGH, 1.0, Priority.LOW, "")


def test_a_bad_reading_neither_clears_nor_raises():
    alarms, events = manager()
    for second in range(15):
        alarms.evaluate(float(second), {"temp": 39.0})
    alarms.evaluate(15.0, {"temp": float("nan")})
    assert states(events)[-1] is AlarmState.UNACKNOWLEDGED


def test_an_unacknowledged_alarm_survives_a_suppressing_phase():
    ph_low = AlarmDefinition(
        "PH_LO", "ph", Kind.LOW, 6.9, Priority.MEDIUM, "Check CO2.", suppressed_in=("transfer",)
    )
    alarms, _events = manager(ph_low)
    alarms.evaluate(0.0, {"ph": 6.5}, phase="culture")
    alarms.evaluate(1.0, {"ph": 6.5}, phase="transfer")
    assert alarms.active() == [("PH_LO", AlarmState.UNACKNOWLEDGED, Priority.MEDIUM)]


def test_an_out_of_service_alarm_cannot_be_shelved_back_into_service():
    alarms, _ = manager()
    alarms.remove_from_service("TEMP_HI", GRACE, "probe replaced", 0.0)
    with pytest.raises(ValueError, match="cannot be shelved"):
        alarms.shelve("TEMP_HI", GRACE, "x", 60, 1.0)
