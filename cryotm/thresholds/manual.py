"""``manual``: a threshold the user knows (cryoCAT's ``scores_threshold``)."""

from __future__ import annotations

import math
from typing import Any

import attrs

from ..errors import CryotmError
from .base import ThresholdResult, ThresholdStrategy

__all__ = ["ManualThreshold"]


def _finite(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    # NaN or inf would silently pick nothing (or everything)
    if not math.isfinite(float(value)):
        raise CryotmError(f"a manual threshold must be a finite number, got {value}")


@attrs.define
class ManualThreshold(ThresholdStrategy):
    """A fixed threshold value.

    Parameters
    ----------
    value : float
        Scores strictly above it are candidates (a finite number).

    Examples
    --------
    >>> import numpy as np
    >>> ManualThreshold(0.25).compute(np.zeros((2, 2, 2)))
    0.25
    """

    name = "manual"
    primary_parameter = "value"
    description = "a fixed threshold value (manual:0.25)"

    value: float = attrs.field(default=0.0, validator=_finite)

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        return self.threshold_without_scores()

    def threshold_without_scores(self) -> ThresholdResult:
        """The threshold, which needs no scores (a capability a picker asks for; see
        :func:`cryotm.picking.thresholding.declared`): no pass over the map is made for it."""
        return ThresholdResult(value=float(self.value), strategy=self.name, details={})
