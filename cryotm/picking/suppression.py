"""Greedy non-maximum suppression, exactly as cryoCAT's, in vectorised rounds.

cryoCAT walks the candidates from the highest score down; a candidate still
present is kept and removes every candidate with a lower or equal score
within ``particle_diameter`` (``KDTree.query_ball_point``: distance <= r).
Because the walk is in score order, this is the classic greedy suppression:
a candidate is kept exactly when no kept candidate before it in the order
lies within the radius. cryoCAT does it with a Python loop over every
candidate (seconds for a few hundred thousand).

Here the same result is computed in rounds over a grid of cells at least
one radius wide, so everything within the radius of a point lies in its own
or the 26 neighbouring cells:

1. in each cell, the first alive candidate in the order is the cell's best;
2. a cell's best that comes before the bests of all 26 neighbouring cells
   has no alive candidate before it within the radius: it is kept for sure
   (no two such winners are within the radius of each other);
3. every alive candidate within the radius of a winner is removed;
4. repeat with the candidates still alive.

Each round is a handful of numpy operations over the alive candidates; on
template-matching maps nearly all candidates go in the first rounds. The
result (and its order) is identical to the sequential walk for any input.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["greedy_suppression", "greedy_suppression_reference"]

# the 26 neighbouring cells and the own cell, nearest first (own, faces, edges, corners)
_OFFSETS = sorted(
    ((dz, dy, dx) for dz in (-1, 0, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)),
    key=lambda o: abs(o[0]) + abs(o[1]) + abs(o[2]),
)
# cells in the grid, at most: larger cells keep the grid small for sparse candidates
_MAX_CELLS_PER_POINT = 8
_MIN_MAX_CELLS = 1 << 21


def _cell_size(extent: np.ndarray, radius: float, n: int) -> int:
    size = max(1, math.ceil(radius)) if math.isfinite(radius) else int(extent.max()) + 1
    limit = max(_MIN_MAX_CELLS, _MAX_CELLS_PER_POINT * n)
    while np.prod(extent // size + 3, dtype=np.float64) > limit:
        size *= 2
    return int(size)


def greedy_suppression(
    positions: np.ndarray,
    radius: float,
    progress: Callable[[str, float], None] | None = None,
) -> np.ndarray:
    """Rows of `positions` kept by greedy suppression, in order.

    Parameters
    ----------
    positions : array_like, shape (N, 3)
        Voxel positions (integers; any axis order) sorted by priority,
        highest first (cryoCAT: by decreasing score).
    radius : float
        A kept position removes every later position at distance ``<= radius``.
    progress : callable, optional
        ``progress("suppression", fraction_removed)`` after each round.

    Returns
    -------
    ndarray of int64
        Increasing row numbers of the kept positions.

    Examples
    --------
    >>> pos = np.array([[0, 0, 0], [0, 0, 3], [0, 0, 5], [0, 0, 9]])
    >>> greedy_suppression(pos, 4.0)
    array([0, 2])
    """
    positions = np.asarray(positions)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must have shape (N, 3), got {positions.shape}")
    n = len(positions)
    radius = float(radius)
    if not radius >= 0:
        raise ValueError(f"suppression radius must be >= 0, got {radius}")
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if positions.dtype.kind not in "iu":
        rounded = np.rint(positions)
        if not np.array_equal(rounded, positions):
            raise ValueError("greedy_suppression needs integer (voxel) positions")
        positions = rounded
    origin = positions.min(axis=0)
    pos = (positions - origin).astype(np.int64)
    extent = pos.max(axis=0)
    size = _cell_size(extent, radius, n)
    cell = pos // size + 1
    grid = cell.max(axis=0) + 2
    n_cells = int(np.prod(grid))
    index_dtype = np.int32 if n_cells < 2**31 and n < 2**31 else np.int64
    strides = np.array([grid[1] * grid[2], grid[2], 1], dtype=np.int64)
    offsets = [int(np.dot(o, strides)) for o in _OFFSETS]
    neighbours = offsets[1:]
    coord_dtype = np.int32 if extent.max() < 2**14 else np.int64
    r2 = radius * radius

    # alive candidates, in priority order (row numbers increase)
    rows = np.arange(n, dtype=index_dtype)
    a0 = pos[:, 0].astype(coord_dtype)
    a1 = pos[:, 1].astype(coord_dtype)
    a2 = pos[:, 2].astype(coord_dtype)
    cells = (cell @ strides).astype(index_dtype)
    best = np.full(n_cells, n, dtype=index_dtype)
    second = np.full(n_cells, n, dtype=index_dtype)
    winner_at = np.full(n_cells, -1, dtype=index_dtype)
    kept: list[np.ndarray] = []
    while rows.size:
        # 1. the first alive candidate of every cell
        slot = np.arange(rows.size, dtype=index_dtype)
        np.minimum.at(best, cells, slot)
        first = np.flatnonzero(best[cells] == slot)
        first_cells = cells[first]
        # 2. cell bests with no alive candidate ahead of them within the radius in the
        #    neighbouring cells (checked against each cell's best; a cell whose second
        #    candidate is ahead too counts as blocking)
        is_first = np.zeros(rows.size, dtype=bool)
        is_first[first] = True
        others = np.flatnonzero(~is_first)
        np.minimum.at(second, cells[others], others.astype(index_dtype))
        f0, f1, f2 = a0[first], a1[first], a2[first]
        ahead = np.ones(first.size, dtype=bool)
        for offset in neighbours:
            q = best[first_cells + offset]
            check = np.flatnonzero(q < first)
            if check.size == 0:
                continue
            qc = q[check]
            d = f0[check] - a0[qc]
            d2 = d * d
            d = f1[check] - a1[qc]
            d2 += d * d
            d = f2[check] - a2[qc]
            d2 += d * d
            blocked = (d2 <= r2) | (second[first_cells[check] + offset] < first[check])
            ahead[check[blocked]] = False
        winners = first[ahead]
        second[cells[others]] = n
        best[first_cells] = n
        kept.append(rows[winners])
        winner_at[cells[winners]] = winners
        # 3. remove everything within the radius of a winner (own cell first, then compact)
        alive = np.ones(rows.size, dtype=bool)
        sub = slot
        s0, s1, s2, sc = a0, a1, a2, cells
        for k, offset in enumerate(offsets):
            if k in (1, 7):  # after the own cell, and after the faces: drop the removed ones
                keep = alive[sub]
                sub, s0, s1, s2, sc = sub[keep], s0[keep], s1[keep], s2[keep], sc[keep]
            w = winner_at[sc + offset]
            near = np.flatnonzero(w >= 0)
            if near.size == 0:
                continue
            w = w[near]
            d = s0[near] - a0[w]
            d2 = d * d
            d = s1[near] - a1[w]
            d2 += d * d
            d = s2[near] - a2[w]
            d2 += d * d
            alive[sub[near[d2 <= r2]]] = False
        winner_at[cells[winners]] = -1
        rows, a0, a1, a2, cells = rows[alive], a0[alive], a1[alive], a2[alive], cells[alive]
        if progress is not None:
            progress("suppression", 1.0 - rows.size / n)
    return np.sort(np.concatenate(kept)).astype(np.int64)


def greedy_suppression_reference(positions: np.ndarray, radius: float) -> np.ndarray:
    """The sequential walk (cryoCAT's loop, with a KD-tree); slow, for tests.

    Examples
    --------
    >>> pos = np.array([[0, 0, 0], [0, 0, 3], [0, 0, 5], [0, 0, 9]])
    >>> greedy_suppression_reference(pos, 4.0)
    array([0, 2])
    """
    from scipy.spatial import cKDTree

    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    removed = np.zeros(len(positions), dtype=bool)
    kept = []
    if len(positions) == 0:
        return np.empty(0, dtype=np.int64)
    tree = cKDTree(positions)
    for row in range(len(positions)):
        if removed[row]:
            continue
        kept.append(row)
        removed[tree.query_ball_point(positions[row], radius)] = True
    return np.array(kept, dtype=np.int64)
