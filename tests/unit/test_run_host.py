"""The run host checks permissions in the service layer: who may start, restart after a
fault, shelve, change a set-point; and a set-point change is audited before it is sent."""

import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.batch.host import PrestartFailed, RunHost
from app.batch.library import RecipeLibrary
from app.batch.recipe import load_recipe_file
from app.batch.states import State, Trigger
from app.records import DEMO_PASSWORD, Records
from app.store.actor import INSTRUMENT, SYSTEM
from app.store.users import PermissionDenied
from hardware.commands import SetSetpoint
from hardware.connection import LinkState, Sample
from hardware.driver import Identity
from hardware.protocol import CHANNEL_INDEX, CHANNEL_NAMES, Event

DEMO = Path(__file__).parents[2] / "resources" / "recipes" / "demo.toml"
READY = {"door": 0.0, "state": 0.0, "ilk": 0.0, "temp_sp": 37.0}


@pytest.fixture
def setting(tmp_path):
    records = Records.open(tmp_path, demo=True)
    sent: list = []
    host = RunHost(records, lambda c: sent.append(c) or "ok")
    host.identity = Identity("CD-1000", "SIM-0001", "1.0.0", "CART-STD-0001", 1, 0)
    host.link, host.values = LinkState.CONNECTED, dict(READY)
    supervisor = records.users.login("supervisor", DEMO_PASSWORD)
    library = RecipeLibrary(records.users, records.signatures, records.path)
    version = library.import_recipe(load_recipe_file(DEMO), SYSTEM)
    library.approve(supervisor, DEMO_PASSWORD, version.id, username="supervisor")
    yield records, host, sent, version.id
    host.close()
    records.close()


def login(records, name):
    return records.users.login(name, DEMO_PASSWORD)


def test_service_may_not_start_a_run_and_the_attempt_is_audited(setting):
    records, host, _, version = setting
    with pytest.raises(PermissionDenied):
        host.start(login(records, "service"), version, "B-1", "B-1")
    with sqlite3.connect(records.path) as conn:
        denied = conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'permission.denied'")
        assert denied.fetchone()[0] == 1
    assert host.engine is None


def test_a_failing_checklist_refuses_the_start(setting):
    records, host, _, version = setting
    host.values = {**READY, "door": 1.0}
    with pytest.raises(PrestartFailed, match="door"):
        host.start(login(records, "operator"), version, "B-1", "B-1")
    with pytest.raises(PrestartFailed, match="differ"):
        host.values = dict(READY)
        host.start(login(records, "operator"), version, "B-1", "B-2")


def test_after_a_fault_only_a_supervisor_restarts(setting):
    records, host, _, version = setting
    operator = login(records, "operator")
    host.start(operator, version, "B-1", "B-1")
    host.engine.hold(Trigger.INTERLOCK, INSTRUMENT, "interlock DOOR")
    with pytest.raises(PermissionDenied):
        host.restart(operator, "door closed again")
    host.restart(login(records, "supervisor"), "door closed again, checked")
    assert host.engine.state is State.RUNNING
    host.hold(operator, "waiting for the sample")
    host.restart(operator, "sample taken")  # an operator's own hold: the operator's call
    assert host.engine.state is State.RUNNING


def test_a_setpoint_change_needs_a_reason_a_range_and_is_audited_first(setting):
    records, host, sent, version = setting
    operator = login(records, "operator")
    host.start(operator, version, "B-1", "B-1")
    with pytest.raises(ValueError, match="outside"):
        host.change_setpoint(operator, "temp_sp", 41.0, "too cold")
    with pytest.raises(ValueError, match="reason"):
        host.change_setpoint(operator, "temp_sp", 36.5, " ")
    host.change_setpoint(operator, "temp_sp", 36.5, "per deviation DV-12")
    assert sent[-1] == SetSetpoint("temp_sp", 36.5)
    with sqlite3.connect(records.path) as conn:
        row = conn.execute(
            "SELECT old_value, new_value, reason FROM audit WHERE action = 'setpoint.change'"
        ).fetchone()
    assert row == ("37", "36.5", "per deviation DV-12")
    with pytest.raises(PermissionDenied):
        host.shelve(operator, "LINE_PRESSURE_HIGH", "sensor check", 30)


def _samples(t0_s: float, hours: float, every_s: float, vcd, volume: float = 40.0) -> list:
    """Synthetic telemetry: READY channels, the given cell density (a function of process
    hours) and chamber volume, one sample every ``every_s``."""
    samples = []
    for t in np.arange(t0_s, t0_s + hours * 3600.0, every_s):
        values = [0.0] * len(CHANNEL_NAMES)
        for name, value in {**READY, "vcd": vcd(t / 3600.0), "w_chamber": volume}.items():
            values[CHANNEL_INDEX[name]] = value
        samples.append(Sample(int(t * 1000), tuple(values), 1.7e9 + t, 1, False))
    return samples


def test_the_run_status_carries_live_growth_and_the_harvest_prediction(setting):
    records, host, _, version = setting
    host.start(login(records, "operator"), version, "B-1", "B-1")
    assert host.status().doubling_h is None  # not enough data yet
    growing = _samples(0.0, 30.0, 10.0, lambda h: 0.3 * 2.0 ** (h / 30.0))  # 30 h doubling
    for start in range(0, len(growing), 25):  # batches as they come from the connection
        host.on_samples(growing[start : start + 25])
    status = host.status()
    assert status.doubling_h == pytest.approx(30.0, rel=0.02)
    assert status.doubling_low_h < status.doubling_h < status.doubling_high_h
    assert status.fold_expansion == pytest.approx(2.0 ** (30.0 / 30.0), rel=0.05)
    assert status.total_cells == pytest.approx(0.3e6 * 40.0 * 2.0, rel=0.05)
    # Demo's dose: its product_cells lower bound, 3e7 = 1.2e7 · 2^(t/30 h) at t ≈ 39.7 h
    assert status.harvest_target_cells == 3e7
    eta_h = 30.0 * np.log2(3e7 / 1.2e7)
    assert status.harvest_eta_s / 3600.0 == pytest.approx(eta_h, abs=1.0)
    assert status.harvest_early_s < status.harvest_eta_s < status.harvest_late_s
    # every estimate is kept with the run, with the prediction made from it
    records.writer.call(lambda ctx: None)  # the writer's queue is in order: all written
    with sqlite3.connect(records.path) as conn:
        rows = conn.execute(
            "SELECT t_s, doubling_h, harvest_eta_s FROM run_kinetics WHERE run_id = ? ORDER BY t_s",
            (status.run_id,),
        ).fetchall()
    assert len(rows) >= 100  # one per 10 min from the first estimate on
    assert rows[-1][1] == pytest.approx(status.doubling_h)
    assert rows[-1][2] == pytest.approx(status.harvest_eta_s)
    # a new run starts a fresh estimator
    host.abort(login(records, "supervisor"), "test over")
    assert host.status().doubling_h is not None  # the finished run still shows its growth
    host.start(login(records, "operator"), version, "B-2", "B-2")
    assert host.status().doubling_h is None and host.status().harvest_eta_s is None


def test_a_run_without_cells_has_no_growth_and_no_prediction(setting):
    records, host, _, version = setting
    host.start(login(records, "operator"), version, "B-1", "B-1")
    host.on_samples(_samples(0.0, 12.0, 10.0, lambda h: 0.0))
    status = host.status()
    assert status.state  # the run goes on
    for name in (
        "doubling_h",
        "doubling_low_h",
        "doubling_high_h",
        "fold_expansion",
        "total_cells",
        "harvest_eta_s",
        "harvest_early_s",
        "harvest_late_s",
    ):
        assert getattr(status, name) is None, name


def test_a_run_is_watched_against_its_recipe_versions_golden_band(setting):
    """A band in force for the version: the status carries it, and a chamber 3 °C below
    the band for over 2 h raises the low-priority early warning, like any alarm."""
    from app.analytics import BandSpec, RunSeries, build_golden, golden_to_json
    from app.store.golden import GoldenStore

    records, host, _, version = setting
    t = np.arange(0.0, 20 * 3600.0, 60.0)
    runs = [RunSeries(f"r{k}", {"temp": (t, 37.0 + 0.01 * k + 0 * t)}) for k in range(3)]
    band = build_golden(runs, {"temp": BandSpec(floor=0.5)}, align_steps=False)
    supervisor = login(records, "supervisor")
    GoldenStore(records.writer, records.path, records.users).record(
        supervisor,
        DEMO_PASSWORD,
        version,
        (1, 2, 3),
        golden_to_json(band),
        "test band",
        "supervisor",
    )
    host.start(login(records, "operator"), version, "B-1", "B-1")
    status = host.status()
    assert status.golden is not None and "golden band of 3 runs" in status.golden_summary
    assert status.step_starts_s[0] == 0.0
    with sqlite3.connect(records.path) as conn:  # kept with the run: review judges by it
        (kept,) = conn.execute(
            "SELECT new_value FROM audit WHERE action = 'run.golden' AND run_id = ?",
            (status.run_id,),
        ).fetchone()
    assert kept.startswith("band 1: golden band of 3 runs")
    cold = _samples(0.0, 4.0, 10.0, lambda h: 0.0)
    column = CHANNEL_INDEX["temp"]
    cold = [replace(s, values=(*s.values[:column], 34.0, *s.values[column + 1 :])) for s in cold]
    for start in range(0, len(cold), 30):
        host.on_samples(cold[start : start + 30])
    alarms = {a.tag: a for a in host.status().alarms}
    assert alarms["BAND_TEMP"].priority == "low", alarms
    assert "outside the golden band" in alarms["BAND_TEMP"].message


def test_every_sample_reaches_the_analytics_across_a_step_start(setting):
    """Steps that begin inside a command (answering the first prompt) and inside a batch
    of samples (priming done when the pump has moved its volume) split the samples at
    their starts: those before go to the step before, none is lost."""
    records, host, _, version = setting
    host.start(login(records, "operator"), version, "B-1", "B-1")
    received: list[np.ndarray] = []
    add = host.feed.analytics.add
    host.feed.analytics.add = lambda t, v: received.append(t) or add(t, v)
    first = _samples(0.0, 1.0, 10.0, lambda h: 0.3)
    second = _samples(3600.0, 1.0, 10.0, lambda h: 0.3)

    def pumped(sample: Sample) -> Sample:  # pump 1's counter: both legs of priming done
        values = list(sample.values)
        values[CHANNEL_INDEX["p1_vol"]] = 100.0 if sample.t_ms < 6_005_000 else 200.0
        return replace(sample, values=tuple(values))

    # from 1.5 h on: priming's legs end inside batches of samples
    second = [pumped(s) if s.t_ms >= 5_405_000 else s for s in second]
    for start in range(0, len(first), 25):
        host.on_samples(first[start : start + 25])
    host.answer(login(records, "operator"), "confirmed")  # step 2 begins
    step_2 = host.engine.process_s
    for start in range(0, len(second), 25):
        host.on_samples(second[start : start + 25])
    host.feed.flush(host.engine, raise_alarms=True)
    times = np.concatenate(received)
    assert len(times) == len(first) + len(second)  # every sample, once
    assert host.feed.analytics.step_starts_s[:2] == [0.0, step_2]
    assert len(host.feed.analytics.step_starts_s) >= 3, "priming did not end: the test is void"
    for start in host.feed.analytics.step_starts_s[1:]:
        assert all(chunk[-1] <= start or chunk[0] >= start for chunk in received), (
            start,
            [(c[0], c[-1]) for c in received],
        )


def test_a_band_that_cannot_be_read_is_not_used_and_the_run_starts(setting, monkeypatch):
    import app.batch.host as host_module

    records, host, _, version = setting

    def broken(*_):
        raise ValueError("band JSON damaged")

    monkeypatch.setattr(host_module, "active_band", broken)
    host.start(login(records, "operator"), version, "B-1", "B-1")
    status = host.status()
    assert status.state == "Running" and status.golden is None
    assert any("golden band not used: it could not be read" in line for line in status.lines)


def test_a_resumed_run_does_not_watch_fold_expansion_against_the_band():
    """After a console restart the estimators count fold expansion from the resume,
    which the band's (from seeding) does not compare with."""
    from app.analytics import DEFAULT_BAND_SPECS, RunSeries, build_golden
    from app.batch.run_analytics import RunAnalytics

    recipe = load_recipe_file(DEMO)
    t = np.arange(0.0, 10 * 3600.0, 600.0)
    flat = {name: (t, np.ones(len(t))) for name in DEFAULT_BAND_SPECS}
    band = build_golden([RunSeries(f"r{k}", flat) for k in range(3)], DEFAULT_BAND_SPECS)
    fresh = RunAnalytics(recipe, recipe.resolve({}), band)
    resumed = RunAnalytics(recipe, recipe.resolve({}), band, (0.0, 60.0), resumed=True)
    assert "log10_fold" in fresh.band_channels and "log10_fold" not in resumed.band_channels
    tags = {d.tag for d in resumed.alarm_definitions}
    assert "BAND_MU_H" in tags and "BAND_LOG10_FOLD" not in tags
    assert resumed.step_starts_s == [0.0, 60.0]


def _hot(t0_s: float, seconds: float, temp: float) -> list:
    """One sample a second with the chamber at ``temp``."""
    column = CHANNEL_INDEX["temp"]
    samples = _samples(t0_s, seconds / 3600.0, 1.0, lambda h: 0.0)
    return [replace(s, values=(*s.values[:column], temp, *s.values[column + 1 :])) for s in samples]


def _who(records, run_id: int) -> list[tuple[str, str, str, str]]:
    records.writer.call(lambda ctx: None)  # everything queued is written
    with sqlite3.connect(records.path) as conn:
        return conn.execute(
            "SELECT action, object_id, user_id, user_name FROM audit WHERE run_id = ? ORDER BY id",
            (run_id,),
        ).fetchall()


def test_every_row_names_who_acted_person_or_system(setting):
    """The operator starts, the supervisor acknowledges, a service engineer who signs in
    mid-run acknowledges the next one, the system raises alarms and starts steps, the
    instrument's interlock holds: each row carries that actor's own id."""
    records, host, _, version = setting
    operator, supervisor = login(records, "operator"), login(records, "supervisor")
    run_id = host.start(operator, version, "B-1", "B-1")
    host.on_samples(_hot(0.0, 90.0, 39.0))  # CHAMBER_OVERTEMP after its 60 s delay
    host.acknowledge(supervisor, "CHAMBER_OVERTEMP")
    host.on_samples(_hot(90.0, 30.0, 37.0))
    host.on_samples(_hot(120.0, 90.0, 39.0))
    service = login(records, "service")  # signs in while the run goes on
    host.acknowledge(service, "CHAMBER_OVERTEMP")
    host.answer(operator, "confirmed")
    host.on_events([Event(300_000, "INTERLOCK", {"name": "DOOR", "state": "ON"})])
    rows = _who(records, run_id)
    ids = {"operator": str(operator.user_id), "supervisor": str(supervisor.user_id)}
    ids["service"] = str(service.user_id)

    def by(action: str, new: str | None = None) -> list[str]:
        return [r[2] for r in rows if r[0] == action and (new is None or new in r[1])]

    assert by("run.create") == [ids["operator"]]
    assert by("run.state")[0] == ids["operator"]  # Idle -> Running: the operator's Start
    assert set(by("step.start")) == {"system"}  # steps begin by themselves
    assert by("alarm.unacknowledged") == ["system", "system"]
    assert by("alarm.acknowledged") == [ids["supervisor"], ids["service"]]
    assert by("step.answer") == [ids["operator"]]
    held = [r for r in rows if r[0] == "run.state"][-2:]  # Running -> Holding -> Held
    assert {r[2] for r in held} == {"instrument"} and held[0][3] == "Instrument"
    assert ids["operator"] not in {r[2] for r in rows if r[0].startswith("alarm.")}


def test_recovery_is_the_systems_act_and_alarms_come_back_unacknowledged(setting):
    """The console dies with an unacknowledged alarm: the console that takes the run up
    records its hold as the recovery identity, and the alarm is back, unacknowledged,
    with its original activation time."""
    records, host, sent, version = setting
    operator = login(records, "operator")
    run_id = host.start(operator, version, "B-1", "B-1")
    host.on_samples(_hot(0.0, 90.0, 39.0))
    (alarm,) = [a for a in host.status().alarms if a.tag == "CHAMBER_OVERTEMP"]
    assert alarm.state == "unacknowledged"
    activated = host.engine.alarms.alarms["CHAMBER_OVERTEMP"].active_since
    records.writer.call(lambda ctx: None)
    # the console dies here: a new host on the same records takes the run up
    again = RunHost(records, lambda c: sent.append(c) or "ok")
    again.identity = host.identity
    again.link, again.values = LinkState.CONNECTED, dict(READY)
    again.find_unfinished()
    assert again.engine is not None and again.engine._recovering
    again.on_samples(_hot(90.0, 5.0, 39.0))  # the instrument is back, still hot
    assert again.engine.state is State.HELD
    restored = again.engine.alarms.alarms["CHAMBER_OVERTEMP"]
    assert restored.state.value == "unacknowledged" and restored.active_since == activated
    assert [a.tag for a in again.status().alarms if a.state == "unacknowledged"] == [
        "CHAMBER_OVERTEMP"
    ]
    recovery = [r for r in _who(records, run_id) if r[0] == "run.state"][-2:]
    assert {r[2] for r in recovery} == {"recovery"}
    with pytest.raises(PermissionDenied):  # the operator may not restart after a recovery
        again.restart(operator, "go on")
    again.acknowledge(login(records, "supervisor"), "CHAMBER_OVERTEMP")
    assert again.engine.alarms.alarms["CHAMBER_OVERTEMP"].state.value == "acknowledged"
    again.close()
