"""Greedy non-maximum suppression, exactly as cryoCAT's, in vectorised rounds.

cryoCAT walks the candidates from the highest score down; a candidate still
present is kept and removes every candidate with a lower or equal score
within ``particle_diameter`` (``KDTree.query_ball_point``: distance <= r).
Because the walk is in score order, this is the classic greedy suppression:
a candidate is kept exactly when no kept candidate before it in the order
lies within the radius. cryoCAT does it with a Python loop over every
candidate (seconds for a few hundred thousand).

Here the same result is computed in rounds over a grid of cells at least
one radius wide, so that everything within the radius of a point lies in its
own or the 26 neighbouring cells. The alive candidates are kept sorted by
cell, and within a cell by priority, so every cell is a contiguous run whose
first member is the cell's best:

1. a cell's best is a *winner* when no neighbouring cell can hold an alive
   candidate ahead of it within the radius: each neighbouring cell's best is
   behind it, or is farther than the radius and the cell's second is behind
   it too. Nothing can remove a winner any more, so it is kept (and no two
   winners are within the radius of each other);
2. every alive candidate within the radius of a winner is removed; those
   are found among the runs of the 27 cells around each winner;
3. repeat with the candidates still alive.

Each round is a fixed number of numpy operations over the alive candidates
(and the pairs around the winners); on template-matching maps nearly all
candidates go in the first two or three rounds. The kept set and its order
are identical to the sequential walk's for any input.
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


def _squared_distance(
    p: tuple[np.ndarray, np.ndarray, np.ndarray], i: np.ndarray,
    q: tuple[np.ndarray, np.ndarray, np.ndarray], j: np.ndarray,
) -> np.ndarray:
    """``|p[i] - q[j]|^2`` for positions given as three coordinate arrays (in their integer dtype)."""
    d = p[0][i] - q[0][j]
    d2 = d * d
    for k in (1, 2):
        d = p[k][i] - q[k][j]
        d2 += d * d
    return d2


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
    extent = positions.max(axis=0) - origin
    size = _cell_size(extent, radius, n)
    grid = extent // size + 3
    n_cells = int(np.prod(grid))
    index_dtype = np.int32 if n_cells < 2**31 and n < 2**31 else np.int64
    coord_dtype = np.int32 if extent.max() < 2**14 else np.int64
    strides = np.array([grid[1] * grid[2], grid[2], 1], dtype=np.int64)
    offsets = np.array([int(np.dot(o, strides)) for o in _OFFSETS], dtype=index_dtype)
    neighbours = offsets[1:]
    neighbour_groups = [neighbours[:6], neighbours[6:18], neighbours[18:]]  # faces, edges, corners
    r2 = radius * radius

    # alive candidates sorted by cell, and within a cell by priority (their row number)
    axes = [(positions[:, k] - origin[k]).astype(coord_dtype) for k in range(3)]
    per_axis = [axes[k] // size + 1 for k in range(3)]
    cells = np.zeros(n, dtype=np.int64)
    for k in range(3):
        cells += per_axis[k].astype(np.int64) * int(strides[k])
    if grid.max() <= 1 << 16:  # a stable sort by cell: three stable radix sorts of 16-bit cell coordinates
        by_cell = np.argsort(per_axis[2].astype(np.uint16), kind="stable")
        for k in (1, 0):
            by_cell = by_cell[np.argsort(per_axis[k].astype(np.uint16)[by_cell], kind="stable")]
        by_cell = by_cell.astype(index_dtype)
    else:
        by_cell = np.argsort(cells * n + np.arange(n)).astype(index_dtype)  # keys are unique
    rank = by_cell
    cells = cells[by_cell].astype(index_dtype)
    a0, a1, a2 = axes[0][by_cell], axes[1][by_cell], axes[2][by_cell]
    # per cell: rank of its first and second alive candidate, position of the first
    best = np.full(n_cells, n, dtype=index_dtype)
    second = np.full(n_cells, n, dtype=index_dtype)
    b0 = np.zeros(n_cells, dtype=coord_dtype)
    b1 = np.zeros(n_cells, dtype=coord_dtype)
    b2 = np.zeros(n_cells, dtype=coord_dtype)
    run_at = np.zeros(n_cells, dtype=index_dtype)
    run_length = np.zeros(n_cells, dtype=index_dtype)
    kept: list[np.ndarray] = []
    while rank.size:
        # 1. runs of candidates in one cell: the first is the cell's best
        change = np.flatnonzero(cells[1:] != cells[:-1]) + 1
        starts = np.concatenate(([0], change)).astype(index_dtype)
        lengths = np.diff(np.append(starts, rank.size)).astype(index_dtype)
        run_cells = cells[starts]
        first = rank[starts]
        best[run_cells] = first
        pairs = np.flatnonzero(lengths > 1)
        second[run_cells[pairs]] = rank[starts[pairs] + 1]
        f0, f1, f2 = a0[starts], a1[starts], a2[starts]
        b0[run_cells], b1[run_cells], b2[run_cells] = f0, f1, f2
        # 2. winners: cell bests with no alive candidate ahead of them within the radius.
        #    A neighbouring cell blocks if its best is ahead and near, or if its second is
        #    ahead too (not looked at closer: that waits for a later round).
        contenders = np.arange(starts.size, dtype=index_dtype)
        for group in neighbour_groups:
            g = run_cells[contenders][:, None] + group[None, :]
            check = np.flatnonzero(best[g] < first[contenders][:, None])
            run = contenders[check // group.size]
            g = g.ravel()[check]
            d2 = _squared_distance((f0, f1, f2), run, (b0, b1, b2), g)
            blocked = (d2 <= r2) | (second[g] < first[run])
            ahead = np.ones(starts.size, dtype=bool)
            ahead[run[blocked]] = False
            contenders = contenders[ahead[contenders]]
        ahead = np.zeros(starts.size, dtype=bool)
        ahead[contenders] = True
        winners = np.flatnonzero(ahead)
        best[run_cells] = n
        second[run_cells[pairs]] = n
        kept.append(first[winners])
        # 3. remove every alive candidate within the radius of a winner: the candidates of
        #    the 27 cells around each winner are contiguous runs
        run_at[run_cells] = starts
        run_length[run_cells] = lengths
        around = (run_cells[winners][:, None] + offsets[None, :]).ravel()
        span = run_length[around]
        owner = np.repeat(np.repeat(starts[winners], offsets.size), span)
        total = int(span.sum())
        member = np.arange(total, dtype=index_dtype) + np.repeat(run_at[around] - (np.cumsum(span) - span), span)
        d2 = _squared_distance((a0, a1, a2), member, (a0, a1, a2), owner)
        alive = np.ones(rank.size, dtype=bool)
        alive[member[d2 <= r2]] = False
        run_length[run_cells] = 0
        rank, a0, a1, a2, cells = rank[alive], a0[alive], a1[alive], a2[alive], cells[alive]
        if progress is not None:
            progress("suppression", 1.0 - rank.size / n)
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
