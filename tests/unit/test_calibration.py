"""Calibration math: good points give the coefficients that make the standards read
what they are; a probe in the wrong standard, an unsettled reading or a worn sensor is
refused with a sentence that names the figure."""

import math

import pytest

from app.service.calibration import (
    CalibrationInputError,
    Point,
    do_zero_span,
    load_cell_tare_span,
    ph_two_point,
    summarise,
    temperature_offset,
)


def electrode(ph: float, slope: float = 0.98, asymmetry: float = 0.1) -> float:
    """What an electrode with this slope (fraction of Nernstian) reads raw in a buffer."""
    return 7.0 + slope * (ph - 7.0) + asymmetry


def point(reference: float, raw: float, sd: float = 0.005) -> Point:
    return Point(reference, raw, sd, 10)


@pytest.mark.parametrize("buffer", [4.01, 10.01])
def test_ph_two_point_gives_the_slope_and_coefficients_that_read_both_buffers(buffer):
    result = ph_two_point(point(7.00, electrode(7.00)), point(buffer, electrode(buffer)), 1.0, 0.0)
    assert result.plausible, result.refusal
    assert result.figure == pytest.approx(98.0)
    assert result.gain == pytest.approx(1 / 0.98)
    assert result.offset == pytest.approx(7.0 - 7.1 / 0.98)
    assert result.reading(electrode(7.00)) == pytest.approx(7.00)
    assert result.reading(electrode(buffer)) == pytest.approx(buffer)
    assert result.reading(electrode(5.5)) == pytest.approx(5.5)
    assert (result.old_gain, result.old_offset) == (1.0, 0.0)
    assert result.reason == "pH two-point calibration, " + result.figure_text
    assert "slope 98.0 % of Nernstian" in result.figure_text
    assert [p["reference"] for p in result.details()["points"]] == [7.00, buffer]


def test_the_7_00_buffer_may_come_second_when_it_is_named():
    result = ph_two_point(point(4.01, electrode(4.01)), point(7.00, electrode(7.00)))
    assert result.plausible and result.figure == pytest.approx(98.0)
    assert result.points[0].reference == 7.00


def test_probe_left_in_7_00_for_the_second_point_is_refused_naming_the_slope():
    result = ph_two_point(point(7.00, electrode(7.00)), point(4.01, electrode(7.00) + 0.003))
    assert not result.plausible
    assert "slope -0.1 % of Nernstian is outside 90–105 %" in result.refusal
    assert "check that the probe was in the buffer you named" in result.refusal


def test_10_01_named_as_4_01_is_refused():
    result = ph_two_point(point(7.00, electrode(7.00)), point(4.01, electrode(10.01)))
    assert not result.plausible
    assert "slope -98.7 % of Nernstian" in result.refusal


@pytest.mark.parametrize("slope, ok", [(0.89, False), (0.91, True), (1.04, True), (1.06, False)])
def test_slope_limits(slope, ok):
    result = ph_two_point(
        point(7.00, electrode(7.00, slope)), point(10.01, electrode(10.01, slope))
    )
    assert result.plausible is ok, result.refusal


def test_asymmetry_beyond_half_a_ph_is_refused():
    result = ph_two_point(
        point(7.00, electrode(7.00, asymmetry=0.6)), point(4.01, electrode(4.01, asymmetry=0.6))
    )
    assert not result.plausible
    assert "the 7.00 buffer reads 7.60 raw, +0.60 pH off" in result.refusal


def test_readings_that_had_not_settled_are_refused():
    result = ph_two_point(point(7.00, electrode(7.00)), point(4.01, electrode(4.01), sd=0.05))
    assert not result.plausible
    assert "in 4.01 were not stable (SD 0.05 pH" in result.refusal


@pytest.mark.parametrize(
    "first, second, words",
    [
        (7.00, 5.00, "buffer 5 is not one"),
        (4.01, 10.01, "takes the 7.00 buffer"),
        (7.00, 7.00, "takes the 7.00 buffer"),
    ],
)
def test_buffers_other_than_7_00_with_4_01_or_10_01_are_bad_input(first, second, words):
    with pytest.raises(CalibrationInputError, match=words):
        ph_two_point(point(first, 7.0), point(second, 5.0))


def test_a_reading_that_is_not_a_number_is_bad_input():
    with pytest.raises(CalibrationInputError, match="not a number"):
        ph_two_point(point(7.00, math.nan), point(4.01, 4.0))


def test_summarise_gives_mean_sd_min_max_and_needs_two_readings():
    summary = summarise([7.01, 7.03, 7.02, 7.02])
    assert summary.n == 4 and summary.mean == pytest.approx(7.02)
    assert summary.sd == pytest.approx(0.008165, abs=1e-6)
    assert (summary.minimum, summary.maximum) == (7.01, 7.03)
    assert summary.spread == pytest.approx(0.02)
    assert Point.of(7.00, summary) == Point(7.00, summary.mean, summary.sd, 4)
    with pytest.raises(CalibrationInputError, match="at least two"):
        summarise([7.0])


def test_do_zero_and_span():
    result = do_zero_span(point(0.0, 2.0, 0.3), point(100.0, 97.0, 0.4), 1.0, 0.0)
    assert result.plausible, result.refusal
    assert result.gain == pytest.approx(100 / 95)
    assert result.reading(2.0) == pytest.approx(0.0)
    assert result.reading(97.0) == pytest.approx(100.0)
    assert result.figure == pytest.approx(100 / 95)


@pytest.mark.parametrize(
    "zero_raw, air_raw, words",
    [
        (12.0, 100.0, "the zero solution reads 12.0 % raw"),
        (0.0, 70.0, "span gain 1.429 is outside 0.8–1.25"),
        (0.0, 130.0, "span gain 0.769 is outside 0.8–1.25"),
    ],
)
def test_do_implausible(zero_raw, air_raw, words):
    result = do_zero_span(point(0.0, zero_raw, 0.3), point(100.0, air_raw, 0.3))
    assert not result.plausible and words in result.refusal


def test_do_needs_zero_and_air_saturation():
    with pytest.raises(CalibrationInputError, match=r"0 % .* and 100 %"):
        do_zero_span(point(0.0, 1.0), point(50.0, 50.0))


def test_load_cell_tare_and_span():
    result = load_cell_tare_span("w_media", point(0.0, 12.0, 0.1), point(1000.0, 1007.0, 0.2))
    assert result.plausible, result.refusal
    assert result.gain == pytest.approx(1000 / 995)
    assert result.reading(12.0) == pytest.approx(0.0)
    assert result.reading(1007.0) == pytest.approx(1000.0)
    assert result.channel == "w_media"


@pytest.mark.parametrize(
    "empty_raw, weighted_raw, words",
    [
        (250.0, 1250.0, "the empty hanger reads 250.0 g raw"),
        (0.0, 900.0, "span gain 1.1111 is outside 0.95–1.05"),
        (0.0, 500.0, "span gain 2.0000"),  # 500 g hung, 1000 g entered
    ],
)
def test_load_cell_implausible(empty_raw, weighted_raw, words):
    result = load_cell_tare_span("w_waste", point(0.0, empty_raw, 0.1), point(1000.0, weighted_raw))
    assert not result.plausible and words in result.refusal


def test_load_cell_bad_input():
    with pytest.raises(CalibrationInputError, match="not a load cell"):
        load_cell_tare_span("ph", point(0.0, 0.0), point(1000.0, 1000.0))
    with pytest.raises(CalibrationInputError, match="too light"):
        load_cell_tare_span("w_media", point(0.0, 0.0), point(20.0, 20.0))


def test_temperature_offset_keeps_the_gain():
    result = temperature_offset(point(37.05, 36.75, 0.01), old_gain=1.0, old_offset=0.1)
    assert result.plausible, result.refusal
    assert (result.gain, result.offset) == (1.0, pytest.approx(0.30))
    assert result.reading(36.75) == pytest.approx(37.05)
    assert "offset +0.30 C" in result.figure_text


def test_temperature_offset_over_one_degree_or_unsettled_is_refused():
    far = temperature_offset(point(37.0, 35.5, 0.01))
    assert not far.plausible and "offset +1.50 C is more than ±1 C" in far.refusal
    shaky = temperature_offset(point(37.0, 36.9, 0.2))
    assert not shaky.plausible and "not stable" in shaky.refusal
