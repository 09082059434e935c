"""What ``ServiceHost.apply_calibration`` (app/service/host.py) reports: the stage it is
at, and how it ended. Plain Python, no Qt."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from app.service.calibration import CalibrationResult
from app.store.calibrations import CalibrationRecord

__all__ = [
    "ApplyOutcome",
    "ApplyStage",
    "CalibrationApplied",
    "ReadBackMismatch",
    "same_on_the_wire",
]


class ApplyStage(Enum):
    """Where ``apply_calibration`` is (its ``progress``)."""

    CHECK = "checking the signature"
    WRITE = "writing to the instrument"
    RECORD = "recording"
    RESTORE = "writing the old coefficients back"


class ApplyOutcome(Enum):
    RECORDED = "recorded"  # written, read back and recorded, signed
    REFUSED = "refused"  # the permission or the password: nothing written or recorded
    NOT_WRITTEN = "not written"  # the instrument refused: it keeps its old coefficients
    RESTORED = "restored"  # not recorded; the old coefficients are back on the instrument
    UNRECORDED = "unrecorded"  # not recorded, and writing the old ones back failed too


class ReadBackMismatch(RuntimeError):
    """The instrument holds other coefficients than were written."""


@dataclass(frozen=True)
class CalibrationApplied:
    """What ``apply_calibration`` did. ``error``: why it stopped (the refusal, the
    write's refusal, or why the record could not be made); ``restore_error``: why
    writing the old coefficients back failed (UNRECORDED)."""

    outcome: ApplyOutcome
    result: CalibrationResult  # as the instrument read it back, once written
    record: CalibrationRecord | None = None
    error: BaseException | None = None
    restore_error: BaseException | None = None

    @property
    def recorded(self) -> bool:
        return self.outcome is ApplyOutcome.RECORDED


def same_on_the_wire(a: float, b: float) -> bool:
    """Equal as the wire carries them (ten significant digits)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
