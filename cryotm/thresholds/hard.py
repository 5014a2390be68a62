"""``hard``: a fraction (one half) of the peak height, as cryoCAT's ``evaluate_scores_map`` uses it."""

from __future__ import annotations

import attrs
import numpy as np

from ..errors import InputError
from .base import ThresholdResult, ThresholdStrategy, _masked_values, source_of

__all__ = ["HardThreshold"]


@attrs.define
class HardThreshold(ThresholdStrategy):
    """``fraction`` times the highest score (cryoCAT: half the peak height).

    The peak height is the maximum of the whole map (or of the voxels inside
    the mask), as cryoCAT's ``evaluate_scores_map`` takes it from
    ``create_starting_parameters_2D``.

    Parameters
    ----------
    fraction : float
        Share of the peak height, in (0, 1]; 0.5 is cryoCAT's rule.

    Raises
    ------
    InputError
        If the map holds NaN or no positive score (half of a peak that is not
        there is no threshold).

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.zeros((5, 5, 5), dtype=np.float32)
    >>> scores[2, 2, 2] = 0.75
    >>> HardThreshold().compute(scores)
    0.375
    """

    name = "hard"
    primary_parameter = "fraction"
    description = "a fraction of the peak height (hard:0.5, cryoCAT's 'hard')"

    fraction: float = 0.5

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        if not 0 < self.fraction <= 1:
            raise InputError(f"hard threshold: fraction must be in (0, 1], got {self.fraction}")
        values = _masked_values(scores, mask)
        if values.size == 0:
            raise InputError("no scores to threshold", source_of(scores))
        peak = values.max()
        if not np.isfinite(peak):
            raise InputError(f"the scores hold a non-finite value ({peak})", source_of(scores))
        if not peak > 0:
            raise InputError(
                f"no score is positive (maximum {peak}); there is no peak to take a fraction of", source_of(scores)
            )
        # halving is exact in any precision: fraction 0.5 gives cryoCAT's ``peak / 2.0``
        value = float(peak) * float(self.fraction)
        return ThresholdResult(
            value=value, strategy=self.name, details={"peak": float(peak), "fraction": float(self.fraction)}
        )
