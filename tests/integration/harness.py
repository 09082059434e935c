"""Drive a Connection against a simulator process without Qt, recording what it says."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hardware.connection import Connection, LinkState, Sample
from hardware.driver import Identity
from hardware.protocol import CHANNEL_INDEX, Event


@dataclass
class Recorder:
    states: list[tuple[LinkState, str]] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def on_state(self, state: LinkState, detail: str) -> None:
        self.states.append((state, detail))

    def on_identity(self, identity: Identity) -> None:
        self.identities.append(identity)

    def on_samples(self, samples: list[Sample]) -> None:
        self.samples.extend(samples)

    def on_events(self, events: list[Event]) -> None:
        self.events.extend(events)

    def latest(self, channel: str) -> float:
        return self.samples[-1].values[CHANNEL_INDEX[channel]]

    def event_codes(self) -> list[str]:
        return [e.code for e in self.events]


def connect(url: str, telemetry_hz: float = 10.0) -> tuple[Connection, Recorder]:
    recorder = Recorder()
    connection = Connection(url, recorder, telemetry_hz=telemetry_hz)
    connection.start()
    run_until(connection, lambda: connection.state is LinkState.CONNECTED, 10.0)
    return connection, recorder


def run_until(connection: Connection, done: Callable[[], bool], timeout: float) -> None:
    """Step the connection until ``done()`` or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        wait = connection.step()
        if wait:
            time.sleep(wait)  # this thread is the hardware thread's stand-in, not a GUI


def run_for(connection: Connection, seconds: float) -> None:
    end = time.monotonic() + seconds
    run_until(connection, lambda: time.monotonic() >= end, seconds + 5.0)
