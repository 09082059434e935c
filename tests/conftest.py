"""Shared fixtures: a simulator process on a real pty, and headless Qt."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from hardware.simulator.launcher import SimulatorProcess


@pytest.fixture
def simulator(request):
    """A simulator process; parametrize indirectly with a list of extra arguments."""
    args = getattr(request, "param", [])
    sim = SimulatorProcess(args)
    sim.start()
    yield sim
    sim.stop()
