"""The step journal: everything a step's phase read, sent and was answered, written
durably *before* it acts, so that a console that died mid-step can bring the phase back
to exactly where it was by replaying it, without sending anything twice.

Phases are deterministic given their inputs (the channel values they read and the
results of their waits), so replaying a phase generator against its journal walks it
through the same commands; the journal supplies the inputs and swallows the commands
that were already sent. When the journal runs out, the phase is live again.

Entry kinds (each with the step number):
  start     the step began                          {process_s}
  read      the phase read a channel               {channel, value}
  send      the phase is about to send a command   {command, args}
  done      a wait ended with a result             {result}
  progress  the wait in progress, at a checkpoint  {elapsed_s, boot, t_ms, process_s, running}
  end       the step finished                      {process_s}
  outcome   the phase measured a result            {name, value}
  alarm     an alarm changed state (step 0)        {tag, state, t_s, priority, message}
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hardware import commands as command_module
from hardware.commands import InstrumentCommand, SetSetpoint, SetValve

COMMAND_TYPES: dict[str, type[InstrumentCommand]] = {
    cls.__name__: cls
    for cls in vars(command_module).values()
    if isinstance(cls, type) and issubclass(cls, InstrumentCommand) and cls is not InstrumentCommand
}


class JournalMismatch(RuntimeError):
    """The phase does not do what the journal says it did: the recipe or the code changed
    under a running batch. The run cannot be resumed automatically."""


@dataclass(frozen=True)
class JournalEntry:
    step: int
    kind: str
    data: dict[str, Any]


def encode_command(command: InstrumentCommand) -> dict[str, Any]:
    return {"command": type(command).__name__, "args": dataclasses.asdict(command)}


def decode_command(data: dict[str, Any]) -> InstrumentCommand:
    return COMMAND_TYPES[data["command"]](**data["args"])


@dataclass
class StepRecovery:
    """Where the journal says a run stands: the step in progress (or the next one to
    start), the phase inputs to replay, and the last checkpoint of the wait in progress."""

    step: int  # 1-based; the step to continue (or to start, when not started)
    started: bool
    replay: list[JournalEntry]
    progress: dict[str, Any] | None
    process_s: float
    outcomes: dict[str, float]


def where_the_run_stands(entries: Iterable[JournalEntry]) -> StepRecovery:
    """Read a run's journal (in order) to find the step to continue."""
    step, started, replay, progress, process_s = 1, False, [], None, 0.0
    outcomes: dict[str, float] = {}
    for entry in entries:
        if entry.kind == "outcome":
            outcomes[entry.data["name"]] = float(entry.data["value"])
        elif entry.kind == "start":
            step, started, replay, progress = entry.step, True, [], None
            process_s = float(entry.data.get("process_s", process_s))
        elif entry.kind == "end":
            step, started, replay, progress = entry.step + 1, False, [], None
            process_s = float(entry.data.get("process_s", process_s))
        elif entry.kind == "progress":
            progress = entry.data
            process_s = float(entry.data.get("process_s", process_s))
        elif entry.kind in ("read", "send", "done"):
            if entry.kind == "done":
                progress = None  # a checkpoint belongs to the wait it was written in
            replay.append(entry)
    return StepRecovery(step, started, replay, progress, process_s, outcomes)


class PhaseJournal:
    """The phase's view of the instrument during one step: reads and sends go through
    here, journaled first when live, taken from the journal while replaying."""

    def __init__(
        self,
        step: int,
        write: Callable[[int, str, dict[str, Any]], None],
        read_live: Callable[[str], float],
        send_live: Callable[[InstrumentCommand], str],
        replay: Iterable[JournalEntry] = (),
    ) -> None:
        self.step = step
        self.write = write
        self.read_live = read_live
        self.send_live = send_live
        self.pending: deque[JournalEntry] = deque(replay)
        self.replayed_sends: list[InstrumentCommand] = []

    @property
    def replaying(self) -> bool:
        return bool(self.pending)

    def _expect(self, kind: str, what: str) -> JournalEntry:
        entry = self.pending.popleft()
        if entry.kind != kind:
            raise JournalMismatch(
                f"step {self.step}: the phase wants to {what} but the journal has a "
                f"{entry.kind} entry {entry.data}"
            )
        return entry

    def read(self, channel: str) -> float:
        if self.pending:
            entry = self._expect("read", f"read {channel}")
            if entry.data["channel"] != channel:
                raise JournalMismatch(
                    f"step {self.step}: the phase reads {channel}, the journal "
                    f"{entry.data['channel']}"
                )
            return float(entry.data["value"])
        value = self.read_live(channel)
        self.write(self.step, "read", {"channel": channel, "value": value})
        return value

    def send(self, command: InstrumentCommand) -> str:
        encoded = encode_command(command)
        if self.pending:
            entry = self._expect("send", f"send {encoded}")
            if entry.data != encoded:
                raise JournalMismatch(
                    f"step {self.step}: the phase sends {encoded}, the journal {entry.data}"
                )
            self.replayed_sends.append(command)
            return "replayed"
        self.write(self.step, "send", encoded)  # durable first: never sent twice
        return self.send_live(command)

    def next_result(self) -> tuple[bool, Any]:
        """While replaying, the recorded result of the wait the phase has just yielded."""
        if self.pending and self.pending[0].kind == "done":
            return True, self.pending.popleft().data.get("result")
        return False, None

    def done(self, result: Any) -> None:
        self.write(self.step, "done", {"result": result})

    def state_to_restore(self) -> list[InstrumentCommand]:
        """After replay, the step's standing orders (set-points and valve positions), the
        last of each: sent again at restart in case the last ones never arrived."""
        last: dict[tuple[str, str], InstrumentCommand] = {}
        for command in self.replayed_sends:
            if isinstance(command, SetSetpoint):
                last[("setpoint", command.name)] = command
            elif isinstance(command, SetValve):
                last[("valve", command.name)] = command
        return list(last.values())
