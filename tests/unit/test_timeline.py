"""Placing audit stamps (UTC) on the trends' process-time axis, and reading them."""

from types import SimpleNamespace

from app.review.record import AuditRow, StepRecord
from app.review.timeline import clock_map, describe


def _step(n: int, start: str, end: str, start_s: float, end_s: float | None) -> StepRecord:
    step = StepRecord(n, f"step {n}", "wait", started_utc=start, ended_utc=end)
    step.started_s, step.ended_s = start_s, end_s
    return step


def test_stamps_between_step_boundaries_are_interpolated_on_process_time():
    # Simulator at 60x: 1 s of wall clock is 60 s of process time.
    record = SimpleNamespace(
        steps=[
            _step(1, "2026-01-01T00:00:00Z", "2026-01-01T00:00:10Z", 0.0, 600.0),
            _step(2, "2026-01-01T00:00:10Z", "", 600.0, None),  # still running
        ]
    )
    newest = (1767225620.0, 1_200_000)  # 2026-01-01T00:00:20Z, 20 min in
    clock = clock_map(record, newest)
    placed = clock.run_ms(
        [
            "2026-01-01T00:00:05Z",  # half-way through step 1
            "2026-01-01T00:00:15Z",  # after the last step boundary, before the newest sample
            "2025-12-31T23:59:00Z",  # before the run: its start
            "2026-01-01T01:00:00Z",  # after the newest sample: its time
        ]
    )
    assert placed == [300_000, 900_000, 0, 1_200_000]


def test_a_run_without_steps_or_samples_places_nothing():
    clock = clock_map(SimpleNamespace(steps=[]), None)
    assert clock.run_ms(["2026-01-01T00:00:05Z"]) == [None]


def test_knots_out_of_order_never_move_time_backwards():
    record = SimpleNamespace(
        steps=[
            _step(1, "2026-01-01T00:00:00Z", "2026-01-01T00:00:10Z", 0.0, 600.0),
            _step(2, "2026-01-01T00:00:11Z", "2026-01-01T00:00:12Z", 590.0, 700.0),
        ]
    )
    clock = clock_map(record, None)
    assert list(clock.t_ms) == sorted(clock.t_ms)


def test_entries_read_as_sentences():
    def row(action, obj, old=None, new=None, reason=None, kind="step"):
        return AuditRow(1, "2026-01-01T00:00:00Z", "Ann", action, kind, obj, old, new, reason)

    assert describe(row("step.start", "7/3", new="Load cells")) == (
        "step 3 started: Load cells — Ann"
    )
    assert describe(row("run.setpoint", "7", "37.0", "36.5", "Deviation response", "run")) == (
        "run.setpoint run 7: 37.0 → 36.5 (reason: Deviation response) — Ann"
    )
