"""Candidates: the voxels of a scores map above a threshold, found slab by slab.

The map is read in slabs of a few planes (a memory-mapped map is never
copied whole, and no full-size boolean or float temporary is made). The
candidates come out in memory order (z, then y, then x), with their scores;
:func:`cryocat_order` puts them in cryoCAT's processing order.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from ..errors import CryotmError
from ._access import raise_non_finite

__all__ = [
    "Candidates",
    "CandidateCollector",
    "find_candidates",
    "candidates_above",
    "cryocat_order",
    "ProgressCallback",
    "estimate_candidates",
    "default_candidate_limit",
    "too_many_candidates",
]

#: ``progress(stage, fraction)``: called with a stage name and the fraction of it done (0..1).
ProgressCallback = Callable[[str, float], None]

#: Voxels per slab (4 MB of float32; rounded to whole planes).
SLAB_VOXELS = 1 << 20


@attrs.frozen
class Candidates:
    """Above-threshold voxels of a map (0-based indices) and their scores.

    Attributes
    ----------
    z, y, x : ndarray of int64
        Voxel indices, in memory order of the map (``data[z, y, x]``).
    scores : ndarray
        The value at each voxel, in the map's dtype (the product with the
        mask when a mask multiplies the scores).
    shape : tuple of int
        ``(nz, ny, nx)`` of the map.
    expected_noise : float or None
        Noise peaks the threshold rule expects above its cut-off (its
        ``n_false_positives``, as ``calibrated`` and ``far`` declare them),
        None when the rule does not say.
    """

    z: np.ndarray
    y: np.ndarray
    x: np.ndarray
    scores: np.ndarray
    shape: tuple[int, int, int]
    expected_noise: float | None = None

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def linear_index(self) -> np.ndarray:
        """Flat index ``(z * ny + y) * nx + x`` of each candidate (increasing)."""
        _, ny, nx = self.shape
        return (self.z * ny + self.y) * nx + self.x

    def take(self, rows: np.ndarray) -> Candidates:
        """The candidates at `rows` (indices or a boolean mask), in that order."""
        return attrs.evolve(self, z=self.z[rows], y=self.y[rows], x=self.x[rows], scores=self.scores[rows])


def _margins(margin: Any) -> np.ndarray:
    """Margins per array axis (z, y, x) from one number or three in (x, y, z) order."""
    values = np.broadcast_to(np.asarray(margin, dtype=np.int64), (3,))[::-1].copy()
    if np.any(values < 0):
        raise ValueError(f"edge margin must be >= 0, got {margin}")
    return values


def find_candidates(
    data: np.ndarray,
    threshold: Any,
    factor: np.ndarray | None = None,
    inside: np.ndarray | None = None,
    edge_margin: int | tuple[int, int, int] = 0,
    slab_voxels: int = SLAB_VOXELS,
    progress: ProgressCallback | None = None,
    check_finite: bool = False,
    source: str | None = None,
    limit: int | None = None,
) -> Candidates:
    """Find every voxel whose score is strictly above `threshold`.

    Parameters
    ----------
    data : ndarray, shape (nz, ny, nx)
        The scores map (a memmap is read slab by slab).
    threshold : float or numpy scalar
        Voxels with ``score > threshold`` are kept. The comparison is numpy's
        (a Python float is compared in the map's dtype, as cryoCAT does).
    factor : ndarray, optional
        A map multiplied into the scores first (cryoCAT's ``scores * mask``);
        the candidates' scores are the products.
    inside : ndarray, optional
        Only voxels where it is nonzero can be candidates.
    edge_margin : int or (int, int, int)
        Voxels closer than this to the border are ignored: one number for
        every axis, or three in (x, y, z) order (the order of positions).
    slab_voxels : int
        Voxels read at a time (rounded to whole z-planes).
    progress : callable, optional
        ``progress("candidates", fraction)`` after each slab.
    check_finite : bool
        Raise :class:`~cryotm.errors.InputError` (naming `source`) at a
        NaN/inf score, found on the way.
    source : str, optional
        The map's file, for that message.
    limit : int, optional
        Refuse (:class:`~cryotm.errors.CryotmError`) as soon as more than this
        many candidates are found, before they fill the memory.

    Returns
    -------
    Candidates
        In memory order (z, y, x increasing).

    Examples
    --------
    >>> data = np.zeros((4, 5, 6), np.float32)
    >>> data[1, 2, 3] = 1.0
    >>> c = find_candidates(data, 0.5)
    >>> (int(c.z[0]), int(c.y[0]), int(c.x[0])), float(c.scores[0])
    ((1, 2, 3), 1.0)
    """
    nz, ny, nx = data.shape
    margin = _margins(edge_margin)
    plane = ny * nx
    step = max(1, int(slab_voxels) // max(plane, 1))
    z_lo, z_hi = int(margin[0]), nz - int(margin[0])
    flat_parts: list[np.ndarray] = []
    score_parts: list[np.ndarray] = []
    hits = np.empty(min(step, max(nz, 1)) * plane, dtype=bool)
    found = 0
    starts = range(z_lo, z_hi, step)
    for count, z0 in enumerate(starts):
        z1 = min(z0 + step, z_hi)
        values = data[z0:z1]
        if factor is not None:
            values = values * factor[z0:z1]
        flat = values.reshape(-1)
        if check_finite and not np.isfinite(np.add.reduce(flat)):
            raise_non_finite(flat, z0 * plane, (nz, ny, nx), source)
        above = hits[: flat.size]
        np.greater(flat, threshold, out=above)
        if inside is not None:
            above &= inside[z0:z1].reshape(-1) != 0
        index = np.flatnonzero(above)
        if index.size:
            score_parts.append(flat[index])
            flat_parts.append(index + z0 * plane)
            found += index.size
            if limit is not None and found > limit:
                raise too_many_candidates(found, limit, threshold, nz * plane, source, at_least=True)
        if progress is not None:
            progress("candidates", (count + 1) / len(starts))
    if check_finite and (z_lo > 0 or z_hi < nz):
        # the slabs in the edge margin were skipped: NaN there is an error all the same
        for z0, z1 in ((0, z_lo), (max(z_hi, z_lo), nz)):
            piece = np.ascontiguousarray(data[z0:z1]).reshape(-1)
            if not np.isfinite(np.add.reduce(piece)):
                raise_non_finite(piece, z0 * plane, (nz, ny, nx), source)
    dtype = np.result_type(data.dtype, factor.dtype) if factor is not None else data.dtype
    return _assemble(flat_parts, score_parts, dtype, (nz, ny, nx), margin)


def candidates_above(
    scores: Any,
    threshold: Any,
    mask: Any = None,
    mask_mode: str = "product",
    edge_margin: int | tuple[int, int, int] = 0,
    slab_voxels: int = SLAB_VOXELS,
    limit: int | None = None,
    check_finite: bool = False,
    progress: ProgressCallback | None = None,
) -> Candidates:
    """:func:`find_candidates` of a ScoresMap with a tomogram mask, refused early if far too many.

    With `mask_mode` ``"product"`` the scores are multiplied by the mask
    (cryoCAT), with ``"inside"`` only voxels inside it count. A threshold
    that would keep more than `limit` voxels, estimated from a few planes
    (:func:`estimate_candidates`), is refused before anything is collected.
    """
    product = mask is not None and mask_mode == "product"
    factor = mask.data if product else None
    inside = mask.data if mask is not None and not product else None
    if limit is not None:
        estimate = estimate_candidates(scores.data, threshold, factor=factor, inside=inside)
        if estimate > limit:
            raise too_many_candidates(estimate, limit, threshold, scores.data.size, scores.source)
    return find_candidates(
        scores.data, threshold, factor=factor, inside=inside, edge_margin=edge_margin, slab_voxels=slab_voxels,
        progress=progress, check_finite=check_finite, source=scores.source, limit=limit,
    )


def _assemble(
    flat_parts: list[np.ndarray],
    score_parts: list[np.ndarray],
    dtype: np.dtype,
    shape: tuple[int, int, int],
    margin: np.ndarray,
) -> Candidates:
    """Candidates from flat indices (increasing) and scores, without those in the edge margin."""
    nz, ny, nx = shape
    if flat_parts:
        linear = np.concatenate(flat_parts)
        scores = np.concatenate(score_parts)
    else:
        linear = np.empty(0, dtype=np.int64)
        scores = np.empty(0, dtype=dtype)
    z, rest = np.divmod(linear, ny * nx)
    y, x = np.divmod(rest, nx)
    if margin.any():
        keep = (
            (z >= margin[0]) & (z < nz - margin[0])
            & (y >= margin[1]) & (y < ny - margin[1])
            & (x >= margin[2]) & (x < nx - margin[2])
        )
        z, y, x, scores = z[keep], y[keep], x[keep], scores[keep]
    return Candidates(z=z, y=y, x=x, scores=scores, shape=shape)


class CandidateCollector:
    """Gathers the voxels above a provisional threshold while another pass reads the map.

    The picker's sigma threshold needs two passes over the map; the second
    one hands its pieces to a collector with a threshold a little below the
    final one (from the first pass's rough statistics), which saves a third
    pass. :meth:`candidates` then keeps exactly the voxels above the final
    threshold, the same as :func:`find_candidates` would find.

    Parameters
    ----------
    low : float
        Provisional threshold (values strictly above it are kept for now).
    shape : tuple of int
        ``(nz, ny, nx)`` of the map.
    edge_margin : int or (int, int, int)
        As in :func:`find_candidates`.
    limit : int, optional
        As in :func:`find_candidates`: more collected voxels are refused.
    """

    def __init__(
        self, low: float, shape: tuple[int, int, int], edge_margin: Any = 0, limit: int | None = None
    ) -> None:
        self.low = low
        self.limit = limit
        self._found = 0
        self.shape = tuple(int(s) for s in shape)
        self.margin = _margins(edge_margin)
        self._flat: list[np.ndarray] = []
        self._scores: list[np.ndarray] = []
        self._dtype: np.dtype | None = None

    def __call__(self, values: np.ndarray, start: int) -> None:
        """Take the voxels of `values` (flat, from index `start`) above the provisional threshold."""
        self._dtype = values.dtype
        index = np.flatnonzero(values > self.low)
        if index.size:
            self._flat.append(index + start)
            self._scores.append(values[index])
            self._found += index.size
            if self.limit is not None and self._found > self.limit:
                n = int(np.prod(self.shape))
                raise too_many_candidates(self._found, self.limit, self.low, n, None, at_least=True)

    def covers(self, threshold: Any) -> bool:
        """True if the provisional threshold is at or below `threshold` (nothing was missed)."""
        return float(self.low) <= float(threshold)

    def candidates(self, threshold: Any) -> Candidates:
        """The collected voxels strictly above `threshold` (compared as :func:`find_candidates` does)."""
        if not self.covers(threshold):
            raise ValueError(f"collected above {self.low}, cannot give the candidates above {threshold}")
        dtype = self._dtype if self._dtype is not None else np.dtype(np.float32)
        flat_parts, score_parts = [], []
        for linear, scores in zip(self._flat, self._scores):
            keep = np.greater(scores, threshold)
            flat_parts.append(linear[keep])
            score_parts.append(scores[keep])
        return _assemble(flat_parts, score_parts, dtype, self.shape, self.margin)


#: Bytes a candidate costs at the peak of the pick (indices, score, sort keys).
BYTES_PER_CANDIDATE = 100


def too_many_candidates(
    count: int, limit: int, threshold: Any, n_voxels: int, source: str | None, at_least: bool = False
) -> CryotmError:
    """The error for a threshold that would make more candidates than the memory holds."""
    size = count * BYTES_PER_CANDIDATE
    memory = f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB"
    more = "more than " if at_least else "about "
    return CryotmError(
        f"the threshold {float(threshold):.6g} keeps {more}{count:,} of {n_voxels:,} voxels as candidates "
        f"({more}{memory}; the limit is {limit:,}): it is far too low for this map. Raise it "
        "(e.g. -t far or -t sigma:3), or raise the limit (max_candidates / --max-candidates) if you mean it",
        source,
    )


def available_memory() -> int | None:
    """Bytes of memory available to this process now (Linux ``MemAvailable``; else None)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def default_candidate_limit() -> int | None:
    """The most candidates a pick may collect by default: those that fit half the available memory."""
    memory = available_memory()
    return None if memory is None else max(memory // 2 // BYTES_PER_CANDIDATE, 1_000_000)


def estimate_candidates(
    data: np.ndarray,
    threshold: Any,
    factor: np.ndarray | None = None,
    inside: np.ndarray | None = None,
    n_planes: int = 16,
) -> int:
    """Estimate how many voxels score above `threshold`, from `n_planes` evenly spaced z-planes.

    Reads about `n_planes` planes of the map (a memory-mapped map is not read
    whole): cheap enough to run before every candidate search.

    Examples
    --------
    >>> data = np.zeros((32, 8, 8), np.float32); data[:16] = 1.0   # half the voxels
    >>> estimate_candidates(data, 0.5)
    1024
    """
    nz = data.shape[0]
    if nz == 0 or data.size == 0:
        return 0
    planes = np.unique(np.linspace(0, nz - 1, min(n_planes, nz)).round().astype(int))
    above = 0
    for z in planes:
        values = np.asarray(data[z])
        if factor is not None:
            values = values * factor[z]
        hits = values > threshold
        if inside is not None:
            hits &= np.asarray(inside[z]) != 0
        above += int(np.count_nonzero(hits))
    return int(round(above / (len(planes) * data[0].size) * data.size))


def cryocat_order(candidates: Candidates) -> np.ndarray:
    """The order in which cryoCAT's ``scores_extract_particles`` visits the candidates.

    cryoCAT holds the map transposed (x, y, z), so ``np.where`` lists the
    candidates with x varying slowest; it then orders them by decreasing
    score with ``argpartition`` followed by an (unstable) ``argsort`` and a
    stable Python sort. Equal scores therefore come in an order only that
    sequence of calls gives; it is reproduced here call for call on the
    same input, so ties are broken exactly as cryoCAT breaks them.

    Returns
    -------
    ndarray of int64
        Row numbers of `candidates`, highest score first.
    """
    n = len(candidates)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    nz, ny, nx = candidates.shape
    # cryoCAT's np.where on the (x, y, z) array: x slowest, then y, then z (the voxels are distinct, so any
    # sort gives this order: three stable radix sorts of 16-bit coordinates where they fit, else one argsort)
    if max(nz, ny, nx) <= 1 << 16:
        lexical = np.argsort(candidates.z.astype(np.uint16), kind="stable")
        for axis in (candidates.y, candidates.x):
            lexical = lexical[np.argsort(axis.astype(np.uint16)[lexical], kind="stable")]
    else:
        lexical = np.argsort((candidates.x * ny + candidates.y) * nz + candidates.z)
    values = candidates.scores[lexical]
    k = n - 1
    order = np.argpartition(-values, k)[: k + 1]
    order = order[np.argsort(-values[order])]
    # the following stable `sorted(..., key=score, reverse=True)` keeps this order: it is sorted
    return lexical[order]
