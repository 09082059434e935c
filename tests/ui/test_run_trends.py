"""The run screen's trends taking up a run under way: the historian's clock and
history carry on, so a restarted console draws the whole run on one time axis."""

import numpy as np

from app.store.historian import RunClock, Series
from app.ui.run_trends import BUFFERED, MinuteEnvelope, RunTrends
from hardware.protocol import CHANNEL_INDEX, CHANNEL_NAMES


def test_a_run_taken_up_mid_way_continues_its_clock_and_keeps_its_history(qtbot):
    trends = RunTrends()
    qtbot.addWidget(trends)
    t = np.arange(0, 600_000, 60_000, dtype=np.int64)  # ten minutes of 1-minute rollups
    lo = {name: np.full(len(t), 36.0) for name in BUFFERED}
    hi = {name: np.full(len(t), 38.0) for name in BUFFERED}
    clock = RunClock(boot=3, last_inst=1_540_000, last_run_ms=540_000, offset=-1_000_000)
    trends.begin_run(clock, Series("1min", t, lo, hi, lo))
    assert trends.envelope.last == 9
    values = np.zeros((1, len(CHANNEL_NAMES)))
    values[0, CHANNEL_INDEX["temp"]] = 37.2
    trends.add_batch(np.array([3]), np.array([1_660_000]), values)  # instrument time
    x, _ = trends.live.view()
    assert list(x) == [11.0]  # process minute 11, not 0: the same axis as the history
    minutes, _, high = trends.envelope.view()
    column = BUFFERED.index("temp")
    assert len(minutes) == 12 and high[0, column] == 38.0 and high[11, column] == 37.2


def test_the_envelope_keeps_each_minutes_extremes():
    envelope = MinuteEnvelope(("temp",))
    t = np.array([0, 10_000, 50_000, 70_000], dtype=np.int64)
    values = np.zeros((4, len(CHANNEL_NAMES)))
    values[:, CHANNEL_INDEX["temp"]] = [37.0, 39.5, 36.1, 37.0]
    envelope.append(np.ones(4, dtype=np.int32), t, values)
    _, low, high = envelope.view()
    assert (low[0, 0], high[0, 0]) == (36.1, 39.5) and (low[1, 0], high[1, 0]) == (37.0, 37.0)


def test_sparse_samples_still_draw_a_line_in_long_windows_and_gaps_stay_gaps(qtbot):
    """A simulator run fast sends a sample every few process minutes: the whole-run line
    joins them instead of breaking into dots at every empty minute; an hour without
    samples (a link gap) is not bridged."""
    trends = RunTrends()
    qtbot.addWidget(trends)
    trends.show()
    minutes = np.r_[np.arange(0, 600, 8), np.arange(700, 1000, 8)]  # gap 600-700 min
    values = np.zeros((len(minutes), len(CHANNEL_NAMES)))
    values[:, CHANNEL_INDEX["temp"]] = 37.0
    trends.add_batch(np.ones(len(minutes), np.int32), minutes * 60_000, values)
    trends.set_window(None)
    x, y = trends.curves["temp"].getData()
    assert len(x) == len(minutes) and np.all(np.isfinite(y))
    joined = trends.curves["temp"].opts["connect"]
    assert joined.sum() == len(minutes) - 2  # every pair joined but across the gap
    trends.set_window(10.0)  # back to a short window: a plain line again
    assert trends.curves["temp"].opts["connect"] == "all"


def test_the_time_axis_reads_in_days_hours_and_minutes():
    from app.ui.plot_axes import ProcessTimeAxis, time_label

    assert time_label(3 * 1440, 1440) == "3 d"
    assert time_label(2 * 1440 + 360, 360) == "2 d 6 h" and time_label(360, 360) == "6 h"
    assert time_label(5800, 10) == "96:40"
    axis = ProcessTimeAxis()
    assert axis.tickSpacing(0, 4 * 1440, 330) == [(1440.0, 0.0)]  # 4 labels fit
    assert axis.tickSpacing(4 * 1440, 4 * 1440 + 10, 330) == [(2.0, 0.0)]  # 10 min window
    assert len(axis.tickValues(0, 5800, 200)[0][1]) >= 2  # a narrow plot still has labels


def test_the_first_minutes_of_a_run_have_time_labels_too():
    from app.ui.plot_axes import ProcessTimeAxis, time_label

    axis = ProcessTimeAxis()
    ((step, ticks),) = axis.tickValues(0.1, 0.9, 230)  # under a minute in, a narrow plot
    assert step < 1 and len(ticks) >= 2
    assert len(axis.tickValues(0.0, 2.0, 230)[0][1]) >= 2
    assert time_label(2.5, 0.5) == "0:02:30"
