"""The ``runs`` table's state column: the ISA-88 state names a run is stored in, and
which of them end a run.

One definition for the whole console: the store needs it for its own statements (a
recipe version used by an unfinished run cannot be retired; an account change lands
after a run ended) and sits below the batch engine, so the engine's state machine
(app/batch/states.py, whose ``State`` values are these names) takes it from here."""

from __future__ import annotations

FINAL_STATES: tuple[str, ...] = ("Complete", "Stopped", "Aborted")
"""States a run never leaves (Reset to Idle only readies the unit for the next run)."""
