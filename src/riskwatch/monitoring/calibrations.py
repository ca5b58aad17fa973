"""Each model's holdout calibration made once a cycle, and the label-free estimate that never
stops a cycle: an error in it is logged and said, not raised."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from riskwatch.config import Settings
from riskwatch.monitoring.estimate import (
    Calibration,
    Estimate,
    estimate_performance,
    holdout_calibration,
)

log = logging.getLogger(__name__)


@dataclass
class Calibrations:
    """Each model's holdout calibration by its file's sha256, made once a cycle and then reused
    (the evaluate step's estimate and the call list's expected leavers); a failure is kept too,
    so the second user hears the same reason without a second attempt."""

    found: dict[str, Calibration | Exception | None] = field(default_factory=dict)

    def of(self, settings: Settings, model: Any, sha256: str) -> Calibration | None:
        """The calibration of the model with this sha256 (made now when not held)."""
        if not sha256:  # an unnamed model: nothing to key it by
            return holdout_calibration(settings, model)
        if sha256 not in self.found:
            try:
                self.found[sha256] = holdout_calibration(settings, model)
            except Exception as error:
                self.found[sha256] = error
                raise
        held = self.found[sha256]
        if isinstance(held, Exception):
            raise held
        return held


def unavailable(error: Exception) -> str:
    """Why the estimate is missing, in words."""
    return f"estimate unavailable: {str(error) or type(error).__name__}"


def estimate_or_reason(
    settings: Settings, model: Any, sha256: str, risks: Any, calibrations: Calibrations
) -> tuple[Estimate | None, str]:
    """The label-free estimate on these risks, or None and why it is unavailable.

    The estimate is an extra beside the verdict, never a gate: any error in it is logged and
    returned as a reason, and the cycle goes on (None with no reason: no holdout to calibrate on).
    """
    try:
        calibration = calibrations.of(settings, model, sha256)
        if calibration is None:
            return None, ""
        k, seed = settings.call_list_capacity, settings.model_seed
        return estimate_performance(calibration, risks, k, seed=seed), ""
    except Exception as error:
        log.warning("%s", unavailable(error), exc_info=True)
        return None, unavailable(error)
