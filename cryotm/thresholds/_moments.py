"""Mean and standard deviation of a large map, bit-identical to numpy's, in bounded memory.

cryoCAT's ``sigma_threshold`` is ``scores.mean() + k * scores.std(ddof=1)``
in the map's dtype. ``std`` allocates a full-size temporary (``x - mean``), so
a 2 GB map costs 2 GB more memory. numpy sums a contiguous float array with
one *pairwise* summation over the whole array (split in halves, rounded down
to a multiple of 8, until pieces fit a block). Reproducing that split tree,
with numpy's own ``add.reduce`` on pieces of at most :data:`LEAF` values,
gives the very same float32/float64 result while never holding more than one
piece: the threshold, hence the candidate set, is identical to cryoCAT's.

Layouts other than one contiguous block (and non-float dtypes, which numpy
sums in buffered blocks) fall back to numpy's own full-array functions. So
does numpy older than 2.3, which sums a large array as consecutive blocks of
8192 values (each pairwise) rather than in one pairwise tree: there the
result stays exact, at the cost of numpy's full-size temporary.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["pairwise_sum", "mean_std", "StreamingMoments", "LEAF", "WHOLE_ARRAY_PAIRWISE"]

#: Largest piece summed in one call (256 kB of float32: it stays in the CPU cache).
LEAF = 1 << 16

#: True when numpy sums a contiguous array in one pairwise tree (numpy >= 2.3), the
#: scheme :func:`pairwise_sum` reproduces; older numpy sums buffered blocks in sequence.
WHOLE_ARRAY_PAIRWISE = np.lib.NumpyVersion(np.__version__) >= "2.3.0"


def pairwise_sum(n: int, piece_sum: Callable[[int, int], np.generic], leaf: int = LEAF) -> np.generic:
    """numpy's pairwise sum of `n` values from the sums of pieces ``[start, stop)``.

    Parameters
    ----------
    n : int
        Number of values.
    piece_sum : callable
        ``piece_sum(start, stop)`` returns ``np.add.reduce`` of the values in
        ``[start, stop)`` (a numpy scalar of the summed dtype).
    leaf : int
        Largest piece handed to `piece_sum` (at least 128).

    Examples
    --------
    >>> x = np.random.default_rng(0).random(8_000, dtype=np.float32)
    >>> bool(pairwise_sum(x.size, lambda a, b: np.add.reduce(x[a:b]), leaf=256) == x.sum())
    True
    """
    leaf = max(int(leaf), 128)

    def total(start: int, count: int) -> np.generic:
        if count <= leaf:
            return piece_sum(start, start + count)
        half = count // 2
        half -= half % 8
        return total(start, half) + total(start + half, count - half)

    return total(0, int(n))


def _flat_view(data: np.ndarray) -> np.ndarray | None:
    """The values of `data` in memory order as a 1D view, or None if not one contiguous block."""
    if data.flags.c_contiguous:
        return data.reshape(-1)
    if data.flags.f_contiguous:
        return data.T.reshape(-1)
    return None


class StreamingMoments:
    """numpy's ``mean()`` and ``std(ddof)`` of ``data * factor`` in two passes over pieces.

    :meth:`first_pass` gives the mean (and a rough standard deviation from an
    eighth of the pieces, good to a few parts in a thousand on smooth maps);
    :meth:`second_pass` the exact standard deviation. Callers may look at every piece on the way
    (to check values, or collect candidates), so that the map is read twice
    in all.

    Parameters
    ----------
    data : ndarray
        The map (a memmap is read piece by piece).
    factor : ndarray, optional
        A map of the same shape multiplied into `data` first (cryoCAT's
        ``scores * tomo_mask``), without forming the product map.
    leaf : int
        Values per piece (memory used is a few times this).
    """

    def __init__(self, data: np.ndarray, factor: np.ndarray | None = None, leaf: int = LEAF) -> None:
        self.data = data
        self.factor = factor
        self.leaf = max(int(leaf), 128)
        flat = _flat_view(data)
        flat_factor = None
        if factor is not None:
            flat_factor = _flat_view(factor)
            if flat_factor is None or (data.ndim > 1 and data.flags.c_contiguous != factor.flags.c_contiguous):
                flat = None
        dtype = np.result_type(data.dtype, factor.dtype) if factor is not None else data.dtype
        #: False when numpy would not sum the values in one pairwise pass (then numpy itself is used)
        self.streaming = WHOLE_ARRAY_PAIRWISE and flat is not None and dtype.kind == "f" and dtype.isnative
        # plain ndarray views: slicing a np.memmap makes a memmap object each time, a cost per piece
        self._flat = None if flat is None else np.asarray(flat)
        self._flat_factor = None if flat_factor is None else np.asarray(flat_factor)
        self.n = int(data.size)
        self._arrmean: np.ndarray | None = None

    def piece(self, start: int, stop: int) -> np.ndarray:
        """The values ``[start, stop)`` in memory order (multiplied by the factor)."""
        values = self._flat[start:stop]
        if self._flat_factor is not None:
            values = values * self._flat_factor[start:stop]
        return values

    def _whole(self) -> np.ndarray:
        return self.data if self.factor is None else self.data * self.factor

    def first_pass(
        self,
        visit: Callable[[np.ndarray, int, np.generic], None] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> tuple[np.generic, float]:
        """The exact mean and a rough standard deviation (of every 8th piece).

        `visit(values, flat_start, piece_sum)` sees every piece.
        """
        if not self.streaming:
            values = self._whole()
            flat = np.ascontiguousarray(values).reshape(-1)
            if visit is not None:
                visit(flat, 0, np.add.reduce(flat))
            self._values = values
            return values.mean(), float(np.std(flat, dtype=np.float64))
        n = self.n
        # rough statistics from every 8th piece: [pieces, values, sum, sum of squares]
        sample = [0, 0, 0.0, 0.0]

        def piece_total(a: int, b: int) -> np.generic:
            values = self.piece(a, b)
            result = np.add.reduce(values)
            if sample[0] % 8 == 0:
                sample[1] += b - a
                sample[2] += float(result)
                sample[3] += float(np.dot(values, values))
            sample[0] += 1
            if visit is not None:
                visit(values, a, result)
            if progress is not None:
                progress(0.5 * b / n)
            return result

        total = pairwise_sum(n, piece_total, self.leaf)
        count = np.intp(n)
        # numpy's _mean: a scalar sum divided by the intp count, cast back to the sum's dtype
        mean = total.dtype.type(total / count)
        # numpy's _var: the keepdims mean array, divided in place with unsafe casting
        arrmean = np.array([total])
        np.true_divide(arrmean, count, out=arrmean, casting="unsafe")
        self._arrmean = arrmean
        size = max(sample[1], 1)
        rough_mean = sample[2] / size
        variance = max(sample[3] / size - rough_mean * rough_mean, 0.0) * size / max(size - 1, 1)
        return mean, float(np.sqrt(variance))

    def second_pass(
        self,
        ddof: int = 1,
        visit: Callable[[np.ndarray, int], None] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> np.generic:
        """The exact standard deviation (after :meth:`first_pass`); `visit(values, flat_start)` sees every piece."""
        if not self.streaming:
            values = self._values
            if visit is not None:
                visit(np.ascontiguousarray(values).reshape(-1), 0)
            return values.std(ddof=ddof)
        if self._arrmean is None:
            raise RuntimeError("first_pass() must run before second_pass()")
        n = self.n
        arrmean = self._arrmean
        buffer = np.empty(min(n, self.leaf), dtype=arrmean.dtype)

        def squares(a: int, b: int) -> np.generic:
            values = self.piece(a, b)
            if visit is not None:
                visit(values, a)
            deviation = np.subtract(values, arrmean, out=buffer[: b - a])
            np.square(deviation, out=deviation)
            if progress is not None:
                progress(0.5 + 0.5 * b / n)
            return np.add.reduce(deviation)

        squared = pairwise_sum(n, squares, self.leaf)
        dof = np.maximum(np.intp(n) - ddof, 0)
        variance = squared.dtype.type(squared / dof)
        return variance.dtype.type(np.sqrt(variance))


def mean_std(
    data: np.ndarray,
    ddof: int = 1,
    factor: np.ndarray | None = None,
    leaf: int = LEAF,
) -> tuple[np.generic, np.generic]:
    """``(data * factor).mean()`` and ``.std(ddof=ddof)`` exactly as numpy computes them.

    Parameters
    ----------
    data : ndarray
        The map (a memmap is read piece by piece).
    ddof : int
        Delta degrees of freedom of the standard deviation (cryoCAT uses 1).
    factor : ndarray, optional
        A map of the same shape multiplied into `data` first.
    leaf : int
        Values per piece.

    Returns
    -------
    mean, std : numpy scalars
        In the dtype numpy gives them (float32 for a float32 map).

    Examples
    --------
    >>> x = np.random.default_rng(1).normal(size=(20, 30, 40)).astype(np.float32)
    >>> m, s = mean_std(x, leaf=500)
    >>> bool(m == x.mean() and s == x.std(ddof=1))
    True
    """
    moments = StreamingMoments(data, factor, leaf)
    mean, _ = moments.first_pass()
    return mean, moments.second_pass(ddof)
