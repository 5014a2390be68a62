"""``far``: the false-alarm-rate cut-off of Rickgauer et al. (2017), as pytom-match-pick and pyTME use it.

With background scores distributed as a Gaussian of mean ``mu`` and width
``sigma``, and ``N`` independent trials (searched voxels x rotations), the
score that noise exceeds ``n_false_positives`` times on average is::

    cut-off = mu + sigma * sqrt(2) * erfcinv(2 * n_false_positives / N)

``mu`` and ``sigma`` come from the template-matching job when it recorded
them (:class:`~cryotm.thresholds.SearchStatistics`; pytom-match-pick writes
``std`` and assumes ``mu = 0``), otherwise from a Gaussian fitted to the core
of the scores' histogram (:func:`~cryotm.thresholds.background.estimate_background`),
not the plain standard deviation, which the particles inflate.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from ..errors import CryotmError, InputError
from .background import estimate_background
from .base import SearchStatistics, ThresholdResult, ThresholdStrategy, _masked_values, source_of

__all__ = ["FalseAlarmRateThreshold", "false_alarm_cutoff"]


def false_alarm_cutoff(mean: float, std: float, search_space: float, n_false_positives: float = 1.0) -> float:
    """``mean + std * sqrt(2) * erfcinv(2 * n_false_positives / search_space)``.

    Examples
    --------
    >>> round(false_alarm_cutoff(0.0, 1.0, 1e10), 3)
    6.361
    """
    if not n_false_positives > 0:
        raise CryotmError(f"far: n_false_positives must be positive, got {n_false_positives}")
    ratio = 2.0 * n_false_positives / search_space
    if not 0 < ratio < 2:
        raise CryotmError(
            f"far: {n_false_positives} false positives in a search space of {search_space} trials is not a rate"
        )
    from scipy.special import erfcinv  # scipy.special: only where the rule is evaluated

    return float(mean + std * math.sqrt(2.0) * erfcinv(ratio))


@attrs.define
class FalseAlarmRateThreshold(ThresholdStrategy):
    """The score that background noise exceeds ``n_false_positives`` times in the whole search.

    Parameters
    ----------
    n_false_positives : float
        Expected number of noise voxels above the cut-off (in the whole
        search space: voxels x rotations).
    n_angles : int, optional
        Rotations searched; used when the statistics do not give
        ``n_angles`` (one of the two is required).

    Notes
    -----
    The search space is ``n_voxels * n_angles`` with ``n_voxels`` from the
    statistics, else the voxels inside the mask, else the whole map.
    ``details`` holds ``mean``, ``std``, their ``estimate`` (``"statistics"``
    or ``"histogram fit"``), ``search_space``, and for a histogram fit the
    histogram, the fit range and the plain mean/std.

    Examples
    --------
    >>> from cryotm import make_scene
    >>> scene = make_scene(shape=(40, 48, 56), n_peaks=6, seed=2, min_distance=12)
    >>> far = FalseAlarmRateThreshold()
    >>> result = far.evaluate(scene.scores, statistics=SearchStatistics(n_angles=100))
    >>> bool(4 * scene.noise_std < result.value < scene.truth.data["score"].min())
    True
    """

    name = "far"
    primary_parameter = "n_false_positives"
    description = "false-alarm rate: noise exceeds it n times in the search (far:1, Rickgauer 2017)"

    n_false_positives: float = 1.0
    n_angles: int | None = None

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        statistics = statistics if statistics is not None else SearchStatistics()
        n_angles = statistics.n_angles if statistics.n_angles is not None else self.n_angles
        if n_angles is None:
            raise CryotmError(
                "far needs the number of rotations searched: give the angle list (--angle-list) or their number "
                "(--n-angles; n_angles= in Python)"
            )
        if int(n_angles) < 1:
            raise CryotmError(f"far: the number of rotations searched (--n-angles) must be at least 1, got {n_angles}")
        values = _masked_values(scores, mask)
        n_voxels = int(statistics.n_voxels) if statistics.n_voxels is not None else int(values.size)
        details: dict = {}
        if statistics.std is not None:
            mean = float(statistics.mean) if statistics.mean is not None else 0.0
            std = float(statistics.std)
            if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
                raise InputError(f"far: the search statistics give mean {mean}, std {std}")
            details["estimate"] = "statistics"
        else:
            fit = estimate_background(values, source=source_of(scores))
            mean, std = fit.mean, fit.std
            details["estimate"] = "histogram fit"
            details.update(fit.as_details())
        search_space = float(n_voxels) * float(n_angles)
        value = false_alarm_cutoff(mean, std, search_space, self.n_false_positives)
        details.update(
            {
                "mean": mean,
                "std": std,
                "n_voxels": n_voxels,
                "n_angles": int(n_angles),
                "search_space": search_space,
                "n_false_positives": float(self.n_false_positives),
                "n_sigma": (value - mean) / std,
            }
        )
        return ThresholdResult(value=value, strategy=self.name, details=details)
