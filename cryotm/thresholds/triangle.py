"""``triangle``: cryoCAT's triangle rule on the sorted scores, without sorting the map.

cryoCAT's ``compute_scores_map_threshold_triangle`` sorts every voxel and,
with the rank ``i`` of each positive value ``v_i`` below the maximum ``M``
(``i = 0 .. W-1``, ``W`` the number of such values), returns the value that
maximises the distance below the line from ``(0, 0)`` to ``(W, M)``::

    f(i) = (M / n) * i - (W / n) * v_i,    n = sqrt(M**2 + W**2)

(``argmax``, the first rank on ties). ``f`` only needs exact ranks near its
maximum, so this module finds them without a full sort:

1. one pass for the maximum; one pass that bins every value by the leading
   bits of its IEEE-754 pattern (monotone in the value for positive floats:
   about 1000 bins per octave) and counts the voxels equal to the maximum;
2. the cumulative counts give each bin's rank range, hence an upper bound of
   ``f`` inside each bin and a value ``f`` certainly reaches (the last value
   of any bin);
3. only bins whose upper bound reaches that value can hold the optimum: their
   values are gathered, sorted, given their exact ranks, and ``f`` is
   evaluated with cryoCAT's very expressions (same dtypes, same rounding), so
   the result is the identical number.

Maps that are not floating point fall back to cryoCAT's full sort.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from ..errors import InputError
from ._chunks import CHUNK_VOXELS, flat_chunks
from .base import ThresholdResult, ThresholdStrategy, _masked_values, source_of

__all__ = ["TriangleThreshold", "triangle_threshold", "triangle_threshold_sorted"]

# leading mantissa bits kept per bin: 2**10 bins per octave for float32, 2**7 for float64
# (so that the whole positive range fits in about 2**18 bins)
_MANTISSA_BITS = {4: 23, 8: 52}
_KEPT_BITS = {4: 10, 8: 7}


def _check_positive_finite(peak: Any, source: str | None) -> None:
    if not np.isfinite(peak):
        raise InputError(f"the scores hold a non-finite value ({peak}); the triangle rule needs finite scores", source)
    if not peak > 0:
        raise InputError(
            f"no score is positive (maximum {peak}); the triangle rule works on the positive scores", source
        )


def _check_shape(n_positive: int, n_max: int, peak: float, source: str | None) -> None:
    """Reject the inputs on which cryoCAT's rule is undefined or returns a meaningless value."""
    n_below = n_positive - n_max
    if n_below < n_max - 1:
        # cryoCAT "flips" here and then indexes the flipped array with an unflipped index,
        # returning an arbitrary value: a saturated map has no triangle threshold.
        raise InputError(
            f"{n_max} of the {n_positive} positive scores equal the maximum {peak}: the map is saturated "
            "and the triangle rule is undefined (choose another threshold)",
            source,
        )
    if n_below == 0:
        raise InputError(
            f"only the maximum ({peak}) is positive; the triangle rule needs positive scores below it", source
        )


def _objective(peak: np.generic, width: np.int64, ranks: np.ndarray, values: np.ndarray) -> np.ndarray:
    """cryoCAT's ``length`` at the given ranks, computed with its exact expressions and dtypes."""
    norm = np.sqrt(peak**2 + width**2)
    peak_n = peak / norm
    width_n = width / norm
    return peak_n * ranks - width_n * values


def triangle_threshold_sorted(values: np.ndarray, source: str | None = None) -> tuple[float, dict[str, Any]]:
    """cryoCAT's algorithm as written (a full sort), with clear errors on degenerate input.

    The reference of :func:`triangle_threshold` and the path for integer maps.
    """
    sp = np.sort(np.asarray(values), axis=None)
    if sp.size == 0:
        raise InputError("no scores to threshold", source)
    if sp.dtype.kind == "f" and np.isnan(sp[-1]):
        raise InputError("the scores hold a non-finite value (NaN); the triangle rule needs finite scores", source)
    peak = sp[-1]
    _check_positive_finite(peak, source)
    arg_peak = np.int64(np.searchsorted(sp, peak, side="left"))
    arg_low = np.int64(np.searchsorted(sp, 0, side="right"))
    n_positive = int(sp.size - arg_low)
    n_max = int(sp.size - arg_peak)
    _check_shape(n_positive, n_max, float(peak), source)
    width = arg_peak - arg_low
    ranks = np.arange(width)
    length = _objective(peak, width, ranks, sp[arg_low:arg_peak])
    level = int(np.argmax(length))
    details = {
        "peak": float(peak),
        "n_values": int(sp.size),
        "n_positive": n_positive,
        "n_at_peak": n_max,
        "rank": level,
        "method": "sort",
    }
    return float(sp[arg_low + level]), details


def _bits_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(dtype.str.replace("f", "i"))


def _float_from_bits(bits: int, dtype: np.dtype) -> float:
    return float(np.array([bits], dtype=_bits_dtype(dtype)).view(dtype)[0])


def triangle_threshold(data: np.ndarray, source: str | None = None) -> tuple[float, dict[str, Any]]:
    """cryoCAT's triangle threshold of `data` (any shape), the same value without a full sort.

    Parameters
    ----------
    data : ndarray
        The scores (memory-mapped arrays are read in chunks).
    source : str, optional
        The file the scores came from, for error messages.

    Returns
    -------
    value : float
        Exactly the value ``cryocat.tmana.compute_scores_map_threshold_triangle`` returns.
    details : dict
        ``peak`` (the maximum), ``n_values``, ``n_positive``, ``n_at_peak``,
        ``rank`` (of the threshold among the positive values), ``band_values``
        (how many values needed exact ranks) and ``method``.

    Raises
    ------
    InputError
        No positive score, a non-finite score, a single positive score, or a
        saturated map (more than half of the positive scores equal the
        maximum, where cryoCAT returns an arbitrary value).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scores = rng.normal(0.1, 0.03, size=(20, 20, 20)).astype(np.float32)
    >>> fast, _ = triangle_threshold(scores)
    >>> fast == triangle_threshold_sorted(scores)[0]
    True
    """
    data = np.asarray(data)
    if data.size == 0:
        raise InputError("no scores to threshold", source)
    if data.dtype.kind != "f" or data.dtype.itemsize not in _MANTISSA_BITS:
        return triangle_threshold_sorted(data, source)

    bits_dtype = _bits_dtype(data.dtype)
    shift = _MANTISSA_BITS[data.dtype.itemsize] - _KEPT_BITS[data.dtype.itemsize]
    round_up = (1 << shift) - 1

    peak = data.max()  # NaN propagates, so this also finds NaN
    _check_positive_finite(peak, source)
    peak_bits = int(np.array(peak, dtype=data.dtype).view(bits_dtype))
    k_peak = (peak_bits + round_up) >> shift

    # bin k = ceil(bits / 2**shift) for positive values; 0 for every value <= 0 (also -0.0)
    hist = np.zeros(k_peak + 1, dtype=np.int64)
    tmp = np.empty(min(CHUNK_VOXELS, data.size), dtype=np.int64)
    for chunk in flat_chunks(data):
        t = tmp[: chunk.size]
        np.maximum(chunk.view(bits_dtype), 0, out=t)
        t += round_up
        t >>= shift
        hist += np.bincount(t, minlength=k_peak + 1)
    del tmp
    # voxels equal to the maximum: usually the maximum is alone in its bin
    n_max = 1 if hist[k_peak] == 1 else sum(int(np.count_nonzero(c == peak)) for c in flat_chunks(data))

    n_positive = int(hist[1:].sum())
    _check_shape(n_positive, n_max, float(peak), source)
    width = np.int64(n_positive - n_max)

    # per bin (k = 1 .. k_peak): values below the peak, their first rank, and their value range
    counts = hist[1:].copy()
    counts[-1] -= n_max
    first_rank = np.concatenate(([0], np.cumsum(counts)[:-1]))
    last_rank = first_rank + counts - 1
    ks = np.arange(1, k_peak + 1, dtype=np.int64)
    lower_bits = (ks - 1) << shift  # values in bin k have bits in (lower_bits, upper_bits]
    upper_bits = np.minimum(ks << shift, peak_bits)
    lower = np.asarray(lower_bits, dtype=bits_dtype).view(data.dtype).astype(np.float64)
    upper = np.asarray(upper_bits, dtype=bits_dtype).view(data.dtype).astype(np.float64)
    norm = float(np.sqrt(float(peak) ** 2 + float(width) ** 2))
    a, b = float(peak) / norm, float(width) / norm
    filled = counts > 0
    upper_bound = a * last_rank - b * lower
    reached = np.max((a * last_rank - b * upper)[filled])
    slack = 1e-9 * (a * float(width) + b * float(peak))
    candidate = np.flatnonzero(filled & (upper_bound >= reached - slack))
    k_lo, k_hi = int(ks[candidate[0]]), int(ks[candidate[-1]])
    bits_lo, bits_hi = int(lower_bits[k_lo - 1]), int(upper_bits[k_hi - 1])
    rank_offset = int(first_rank[k_lo - 1])

    # exact ranks for the values in the band (bits_lo, bits_hi], the peak itself excluded
    parts = []
    tmp = np.empty(min(CHUNK_VOXELS, data.size), dtype=bits_dtype.newbyteorder("="))
    span = np.array(bits_hi - bits_lo, dtype=tmp.dtype).view(tmp.dtype.str.replace("i", "u"))
    for chunk in flat_chunks(data):
        t = tmp[: chunk.size]
        np.subtract(chunk.view(bits_dtype), bits_lo + 1, out=t)  # wraps around below bits_lo + 1
        parts.append(chunk[t.view(span.dtype) < span])
    del tmp
    band = np.concatenate(parts)
    if bits_hi == peak_bits:
        band = band[band != peak]
    band.sort()
    ranks = np.arange(rank_offset, rank_offset + band.size, dtype=np.int64)
    length = _objective(peak, width, ranks, band)
    j = int(np.argmax(length))
    details = {
        "peak": float(peak),
        "n_values": int(data.size),
        "n_positive": n_positive,
        "n_at_peak": n_max,
        "rank": int(ranks[j]),
        "band_values": int(band.size),
        "band": (_float_from_bits(bits_lo, data.dtype), _float_from_bits(bits_hi, data.dtype)),
        "method": "histogram band",
    }
    return float(band[j]), details


@attrs.define
class TriangleThreshold(ThresholdStrategy):
    """cryoCAT's default: the triangle rule on the sorted positive scores.

    The same number as ``cryocat.tmana.compute_scores_map_threshold_triangle``
    on the same scores (see :func:`triangle_threshold`), in well under a
    second for a 512**3 map. With a mask, only the voxels inside count; that
    equals cryoCAT's value on ``scores * mask``, since the rule ignores
    values <= 0.

    Examples
    --------
    >>> from cryotm import make_scene
    >>> scene = make_scene(shape=(32, 32, 32), n_peaks=3, seed=1, min_distance=10)
    >>> value = TriangleThreshold().compute(scene.scores)
    >>> 0 < value < float(scene.scores.max())
    True
    """

    name = "triangle"
    description = "cryoCAT's triangle rule on the sorted positive scores"

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        source = source_of(scores)
        values = _masked_values(scores, mask)
        value, details = triangle_threshold(values, source)
        return ThresholdResult(value=value, strategy=self.name, details=details)
