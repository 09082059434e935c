"""``celldeck service --selftest --simulator``: every item passes on a sound simulated
instrument, and an injected fault fails exactly the items that depend on the faulty
part, nothing else."""

import pytest
from pypdf import PdfReader

from app.service.selftest import SelfTest
from tests.headless import celldeck

ALL_ITEMS = [name for name, _ in SelfTest(lambda: 0.0, lambda c: "").items()]


def failed_items(stdout: str) -> set[str]:
    return {name for name in ALL_ITEMS if f"  FAIL  {name}" in stdout}


def test_a_sound_instrument_passes_every_item_and_the_report_is_a_pdf(tmp_path):
    pdf = tmp_path / "selftest.pdf"
    result = celldeck("service", "--selftest", "--simulator", "--pdf", str(pdf), timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "verdict: PASS" in result.stdout
    assert sum(line.startswith("  pass ") for line in result.stdout.splitlines()) == 2 * len(
        ALL_ITEMS
    )  # once as it runs, once in the report
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert "Instrument self-test" in text and "SIM-0001" in text and "Verdict: PASS" in text
    for name in ("pump 1 moves liquid", "heater warms the chamber", "rotor reaches"):
        assert name in text
    assert text.count(" pass ") == len(ALL_ITEMS)  # a result per item
    assert "page 1 of" in text


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("occlusion", {"pump 1 moves liquid (buffer bag to chamber)"}),
        ("occlusion=2", {"pump 2 moves liquid (media bag to chamber)"}),
        (
            "stuck-pressure",
            {
                "sensor pressure reads and is live",
                "valves close: pressure rises against a closed line",
            },
        ),
    ],
)
def test_an_injected_fault_fails_exactly_its_items(fault, expected):
    result = celldeck("service", "--selftest", "--simulator", "--sim-fault", fault, timeout=180)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert failed_items(result.stdout) == expected
    assert f"verdict: FAIL ({len(expected)} of {len(ALL_ITEMS)})" in result.stdout
