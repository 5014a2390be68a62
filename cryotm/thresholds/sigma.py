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
        return self.threshold_from_moments(mean_, std_, int(values.size), source_of(scores))

    def threshold_from_moments(self, mean_, std_, n_voxels: int, source: str | None = None) -> ThresholdResult:
        """The threshold from the scores' mean and standard deviation (``ddof=1``).

        This method is a *capability*: a picker that reads the map anyway
        computes the moments while streaming it and asks the strategy for the
        threshold here instead of calling :meth:`evaluate` (see
        :func:`cryotm.picking.thresholding.declared`). A subclass that
        overrides :meth:`evaluate` without overriding this method is always
        evaluated through its own :meth:`evaluate`.

        Parameters
        ----------
        mean_, std_ : numpy scalar
            Mean and standard deviation in the map's dtype (cryoCAT's
            expression keeps that dtype).
        n_voxels : int
            Number of voxels they describe.
        source : str, optional
            The map's file, for error messages.
        """
        mean, std = float(mean_), float(std_)
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
            details={"mean": mean, "std": std, "k": self.k, "n_voxels": int(n_voxels)},
        )
