"""``manual``: a threshold the user knows (cryoCAT's ``scores_threshold``)."""

from __future__ import annotations

import attrs

from .base import ThresholdResult, ThresholdStrategy

__all__ = ["ManualThreshold"]


@attrs.define
class ManualThreshold(ThresholdStrategy):
    """A fixed threshold value.

    Parameters
    ----------
    value : float
        Scores strictly above it are candidates.

    Examples
    --------
    >>> import numpy as np
    >>> ManualThreshold(0.25).compute(np.zeros((2, 2, 2)))
    0.25
    """

    name = "manual"
    primary_parameter = "value"
    description = "a fixed threshold value (manual:0.25)"

    value: float = 0.0

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        return ThresholdResult(value=float(self.value), strategy=self.name, details={})
