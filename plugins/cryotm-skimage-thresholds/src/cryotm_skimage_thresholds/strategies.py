"""scikit-image's Otsu and Li thresholds as cryotm threshold strategies.

Both are computed on the scores (only those inside the mask, if one is
given). On a large map they use every k-th score, k chosen so that at most
``max_samples`` values are used (a regular subsample: deterministic, cheap on
a memory-mapped map, and with millions of values the histogram-based Otsu
and the iterative Li change by far less than the scores' noise).
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

from cryotm.errors import InputError
from cryotm.maps import ScoresMap
from cryotm.thresholds import ThresholdResult, ThresholdStrategy

__all__ = ["OtsuThreshold", "LiThreshold", "sampled_scores"]


def sampled_scores(scores: Any, mask: Any = None, max_samples: int | None = 2_000_000) -> tuple[np.ndarray, int]:
    """The scores used by the strategies (every k-th one when there are more than `max_samples`).

    Returns
    -------
    values : ndarray, 1D float64
        The sampled scores.
    n_total : int
        How many scores there were before sampling.

    Examples
    --------
    >>> values, n = sampled_scores(np.arange(10.0), max_samples=4)
    >>> values.tolist(), n
    ([0.0, 3.0, 6.0, 9.0], 10)
    """
    source = scores.source if isinstance(scores, ScoresMap) else None
    data = scores.data if isinstance(scores, ScoresMap) else np.asarray(scores)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != data.shape:
            raise InputError(f"mask has shape {mask.shape} but the scores map has {data.shape}", source)
        flat = np.asarray(data)[mask != 0]
    else:
        flat = data.reshape(-1)
    n_total = int(flat.size)
    if n_total == 0:
        raise InputError("no score to threshold (empty map or empty mask)", source)
    step = 1 if not max_samples or n_total <= max_samples else -(-n_total // int(max_samples))
    values = np.asarray(flat[::step], dtype=np.float64)
    if not np.isfinite(values).all():
        raise InputError("the scores hold NaN or infinite values", source)
    if values.min() == values.max():
        raise InputError(f"every score equals {values.min()}: there is nothing to threshold", source)
    return values, n_total


@attrs.define
class _SampledThreshold(ThresholdStrategy):
    """Shared by the two strategies: sampling and the result's details."""

    rule: ClassVar[str] = ""

    max_samples: int | None = 2_000_000

    def threshold(self, values: np.ndarray) -> float:
        raise NotImplementedError

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        values, n_total = sampled_scores(scores, mask, self.max_samples)
        value = float(self.threshold(values))
        details = {"rule": self.rule, "n_scores": n_total, "n_used": int(values.size)}
        return ThresholdResult(value=value, strategy=self.name, details=details)


@attrs.define
class OtsuThreshold(_SampledThreshold):
    """Otsu's threshold (``skimage.filters.threshold_otsu``): maximise the between-class variance.

    Parameters
    ----------
    nbins : int
        Histogram bins (``otsu:512`` sets it).
    max_samples : int, optional
        Use at most this many scores (every k-th); None uses all.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scores = np.concatenate([rng.normal(0.0, 0.05, 5000), rng.normal(0.6, 0.05, 5000)])
    >>> 0.15 < OtsuThreshold().compute(scores) < 0.45
    True
    """

    name = "otsu"
    primary_parameter = "nbins"
    description = "Otsu's threshold of the scores (scikit-image; otsu:NBINS; plugin cryotm-skimage-thresholds)"
    rule = "skimage.filters.threshold_otsu"

    nbins: int = attrs.field(default=256, converter=int, kw_only=True)

    def threshold(self, values: np.ndarray) -> float:
        from skimage.filters import threshold_otsu  # scikit-image: only where the rule is evaluated

        return threshold_otsu(values, nbins=self.nbins)


@attrs.define
class LiThreshold(_SampledThreshold):
    """Li's minimum cross-entropy threshold (``skimage.filters.threshold_li``).

    Parameters
    ----------
    tolerance : float, optional
        Stop when the threshold changes by less (default: half the smallest
        difference between scores, scikit-image's default). ``li:0.001`` sets it.
    max_samples : int, optional
        Use at most this many scores (every k-th); None uses all.
    """

    name = "li"
    primary_parameter = "tolerance"
    description = "Li's minimum cross-entropy threshold of the scores (scikit-image; plugin cryotm-skimage-thresholds)"
    rule = "skimage.filters.threshold_li"

    tolerance: float | None = attrs.field(default=None, kw_only=True)

    def threshold(self, values: np.ndarray) -> float:
        from skimage.filters import threshold_li  # scikit-image: only where the rule is evaluated

        return threshold_li(values, tolerance=self.tolerance)

    def spec(self) -> str:
        return self.name if self.tolerance is None else f"{self.name}:{self.tolerance}"
