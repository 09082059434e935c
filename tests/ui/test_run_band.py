"""The golden band behind the run screen's live trends: laid onto the run's own time
axis by its step starts (minutes, like the curves), behind the live curve, rebuilt only
when the band or the step starts change, and gone with ``set_band(None, ())``."""

import numpy as np
import pytest

from app.analytics import DEFAULT_BAND_SPECS, RunSeries, build_golden
from app.batch.status import RunStatus
from app.ui.run_screen import RunScreen
from app.ui.run_trends import RunTrends

BANDED = ("temp", "ph", "do", "vcd")
HOUR = 3600.0


@pytest.fixture(scope="module")
def golden():
    """Four 12 h runs at one sample a minute; step 2 started about 4 h in, step 3 8 h."""
    rng = np.random.default_rng(7)
    t = np.arange(0.0, 12 * HOUR, 60.0)
    runs = []
    for i, shift in enumerate((0.0, 600.0, -600.0, 300.0)):
        channels = {
            "temp": (t, 37.0 + rng.normal(0, 0.05, len(t))),
            "ph": (t, 7.10 + rng.normal(0, 0.01, len(t))),
            "do": (t, 60.0 + rng.normal(0, 2.0, len(t))),
            "vcd": (t, 0.5e6 * np.exp(t / (30 * HOUR)) * (1 + rng.normal(0, 0.02, len(t)))),
        }
        runs.append(RunSeries(f"run {i}", channels, (0.0, 4 * HOUR + shift, 8 * HOUR + shift)))
    specs = {name: DEFAULT_BAND_SPECS[name] for name in BANDED}
    return build_golden(runs, specs)


def test_the_band_lies_behind_the_curves_on_the_runs_own_step_times(qtbot, golden):
    trends = RunTrends()
    qtbot.addWidget(trends)
    step2 = golden.reference_starts_s[1]
    late = (0.0, step2 + 1800.0)  # this run's step 2 began 30 min after the reference's
    trends.set_band(golden, late, "golden band of 4 runs (1, 2, 3, 4)")
    assert set(trends.band_fills) == set(BANDED)  # no band for CO2 or pressure
    assert trends.band_caption.full_text == "Blue shading: golden band of 4 runs (1, 2, 3, 4)"
    for name in BANDED:
        fill, band = trends.band_fills[name], golden.bands[name]
        items = trends.plots[name].getPlotItem().items
        assert fill in items and trends.band_medians[name] in items
        assert fill.zValue() < trends.curves[name].zValue()
        x, low = fill.low_curve.getData()
        t_ref = band.t_s + golden.bucket_s / 2  # bucket midpoints, reference seconds
        after = t_ref > step2
        assert np.allclose(x[after] * 60.0 - t_ref[after], 1800.0)  # minutes, shifted 30 min
        assert x[0] * 60.0 == pytest.approx(t_ref[0] * (step2 + 1800.0) / step2)  # stretched
        np.testing.assert_array_equal(low, band.low)
        np.testing.assert_array_equal(fill.high_curve.getData()[1], band.high)
    # the y range counts only the band the window shows: 10 min at 3 h, not all 12 h
    vcd = trends.band_fills["vcd"]
    low, high = vcd.dataBounds(1, orthoRange=(170.0, 180.0))
    whole = golden.bands["vcd"]
    assert np.nanmin(whole.low) * 1.05 < low < high < np.nanmax(whole.high) * 0.8
    assert vcd.dataBounds(0) is None  # the window owns the x axis

    first = trends.band_fills["temp"]
    trends.set_band(golden, list(late))  # every status: equal starts, nothing rebuilt
    assert trends.band_fills["temp"] is first
    assert trends.band_caption.full_text == "Blue shading: golden band of 4 runs"  # no summary
    trends.set_band(golden, (*late, 8 * HOUR + 1800.0))  # step 3 began: rebuilt
    assert trends.band_fills["temp"] is not first

    fills = list(trends.band_fills.items())
    trends.set_band(None, ())
    assert trends.band_fills == {} and trends.band_medians == {}
    for name, fill in fills:
        assert fill not in trends.plots[name].getPlotItem().items


def test_the_run_screen_passes_each_status_band_to_its_trends(qtbot, golden):
    screen = RunScreen(runs=None, session=lambda: None)
    qtbot.addWidget(screen)
    summary = "golden band of 4 runs (1, 2, 3, 4), chosen by Sue Supervisor"
    screen.show_status(RunStatus(state="Running", golden=golden, golden_summary=summary))
    assert set(screen.trends.band_fills) == set(BANDED)
    assert screen.trends.band_caption.full_text == f"Blue shading: {summary}"
    screen.show_status(RunStatus(state="Running"))
    assert screen.trends.band_fills == {} and screen.trends.band_caption.isHidden()
