"""Compare picked particles with a reference (ground truth or another program's picks)."""

from __future__ import annotations

import attrs
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from .particles import ParticleList

__all__ = ["MatchResult", "match_particles"]


@attrs.frozen
class MatchResult:
    """The outcome of matching picks to a reference.

    Attributes
    ----------
    pairs : ndarray, shape (M, 2)
        Row numbers (pick, reference) of the matched pairs.
    distances : ndarray, shape (M,)
        Distance in voxels of each pair (positions + shifts).
    angular_errors : ndarray, shape (M,)
        Angle in degrees of the rotation between each pair's orientations.
    n_picks, n_reference : int
        Sizes of the two lists.
    """

    pairs: np.ndarray
    distances: np.ndarray
    angular_errors: np.ndarray
    n_picks: int
    n_reference: int

    @property
    def true_positives(self) -> int:
        return len(self.pairs)

    @property
    def precision(self) -> float:
        """Matched picks / picks (1.0 for no picks)."""
        return self.true_positives / self.n_picks if self.n_picks else 1.0

    @property
    def recall(self) -> float:
        """Matched reference particles / reference particles (1.0 for an empty reference)."""
        return self.true_positives / self.n_reference if self.n_reference else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> str:
        """One line: counts, precision, recall, F1 and the median angular error."""
        median = float(np.median(self.angular_errors)) if len(self.angular_errors) else float("nan")
        return (
            f"{self.true_positives} matched of {self.n_picks} picks and {self.n_reference} reference "
            f"particles: precision {self.precision:.3f}, recall {self.recall:.3f}, F1 {self.f1:.3f}, "
            f"median angular error {median:.2f} deg"
        )


def match_particles(picks: ParticleList, reference: ParticleList, tolerance: float) -> MatchResult:
    """Match picks to reference particles one-to-one within `tolerance` voxels.

    The assignment minimises the total distance among pairs closer than
    `tolerance` (Hungarian algorithm on the sparse candidate pairs), so no
    pick or reference particle is counted twice. Positions include shifts.

    Parameters
    ----------
    picks, reference : ParticleList
        Positions in voxels of the same tomogram.
    tolerance : float
        Largest distance (voxels) at which a pick counts as the reference particle.
    """
    a = picks.positions + picks.shifts
    b = reference.positions + reference.shifts
    empty = np.empty((0, 2), dtype=np.int64)
    if len(a) == 0 or len(b) == 0:
        return MatchResult(empty, np.empty(0), np.empty(0), len(a), len(b))
    near = cKDTree(a).sparse_distance_matrix(cKDTree(b), tolerance, output_type="coo_matrix")
    if near.nnz == 0:
        return MatchResult(empty, np.empty(0), np.empty(0), len(a), len(b))
    # cost: distance (+ tiny offset so that zero-distance pairs are not taken as 'no edge')
    cost = csr_matrix((near.data + 1e-9, (near.row, near.col)), shape=(len(a), len(b)))
    pairs_list = []
    # solve each connected group of candidates separately: the dense problem stays small
    from scipy.sparse.csgraph import connected_components

    n_groups, labels = connected_components(
        csr_matrix((np.ones(near.nnz), (near.row, near.col + len(a))), shape=(len(a) + len(b),) * 2),
        directed=False,
    )
    pick_groups = labels[: len(a)]
    ref_groups = labels[len(a) :]
    rows_by_group: dict[int, list[int]] = {}
    for row in np.unique(near.row):
        rows_by_group.setdefault(int(pick_groups[row]), []).append(int(row))
    cols_by_group: dict[int, list[int]] = {}
    for col in np.unique(near.col):
        cols_by_group.setdefault(int(ref_groups[col]), []).append(int(col))
    dense = cost.tocsr()
    for group, rows in rows_by_group.items():
        cols = cols_by_group[group]
        block = dense[rows][:, cols].toarray()
        block[block == 0] = np.inf
        if len(rows) == 1 and len(cols) == 1:
            pairs_list.append((rows[0], cols[0]))
            continue
        big = np.where(np.isfinite(block), block, 1e12)
        r, c = linear_sum_assignment(big)
        for i, j in zip(r, c):
            if np.isfinite(block[i, j]):
                pairs_list.append((rows[i], cols[j]))
    pairs = np.array(sorted(pairs_list), dtype=np.int64).reshape(-1, 2)
    distances = np.linalg.norm(a[pairs[:, 0]] - b[pairs[:, 1]], axis=1)
    relative = picks.orientations[pairs[:, 0]] * reference.orientations[pairs[:, 1]].inv()
    angular = np.degrees(relative.magnitude())
    return MatchResult(pairs, distances, angular, len(a), len(b))
