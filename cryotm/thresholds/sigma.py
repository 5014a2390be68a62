"""``sigma``: mean + k standard deviations of the scores (cryoCAT's ``sigma_threshold``)."""

from __future__ import annotations

import attrs
import numpy as np

from ..errors import InputError
from ._moments import mean_std
from .base import ThresholdResult, ThresholdStrategy, _masked_values, source_of

__all__ = ["SigmaThreshold"]


@attrs.define
class SigmaThreshold(ThresholdStrategy):
    """``mean + k * std`` of the scores (``ddof=1``, as cryoCAT).

    Without a mask the statistics are those of the whole map, bit for bit
    as cryoCAT computes them (``scores.mean() + k * scores.std(ddof=1)`` in
    the map's dtype), but read piece by piece, without a full-size temporary
    (see :mod:`cryotm.thresholds._moments`). With a mask only the voxels
    inside it count; cryoCAT's ``scores_extract_particles`` instead takes the
    statistics of ``scores * mask`` over the whole map, zeros outside the
    mask included, which drags the mean towards 0 and inflates the std.
    NaN/inf scores and constant maps raise :class:`~cryotm.errors.InputError`.

    Parameters
    ----------
    k : float
        Number of standard deviations above the mean.

    Examples
    --------
    >>> import numpy as np
    >>> round(SigmaThreshold(2).compute(np.array([0.0, 1.0, 2.0]).reshape(3, 1, 1)), 6)
    3.0
    """

    name = "sigma"
    primary_parameter = "k"
    description = "mean + k standard deviations of the scores (sigma:3)"

    k: float = 3.0

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        values = _masked_values(scores, mask)
        if values.size > 1:
            mean_, std_ = mean_std(values, ddof=1)
        else:
            mean_, std_ = values.mean(), np.float64("nan")
        mean, std = float(mean_), float(std_)
        source = source_of(scores)
        if not (np.isfinite(mean) and np.isfinite(std)):
            raise InputError(
                f"sigma threshold: the scores' mean/std are {mean}/{std} (NaN, inf or a single value)", source
            )
        if std == 0:
            raise InputError(
                f"sigma threshold: every score equals {mean}; nothing stands out of the background", source
            )
        return ThresholdResult(
            # cryoCAT's expression: numpy scalars of the map's dtype, k a Python number
            value=float(mean_ + float(self.k) * std_),
            strategy=self.name,
            details={"mean": mean, "std": std, "k": self.k, "n_voxels": int(values.size)},
        )
