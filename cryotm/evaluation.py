"""Compare picked particles with a reference (ground truth or another program's picks)."""

from __future__ import annotations

import attrs
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .angles.distances import total_angle
from .errors import InputError
from .particles import ParticleList

__all__ = ["DetectionScores", "MatchResult", "match_particles"]

_NO_PAIR = 1e12  # cost of a pick-reference pair farther apart than the tolerance


class DetectionScores:
    """Precision, recall and F1 from ``true_positives``, ``n_picks`` and ``n_reference``.

    A mixin for results of matching picks to a reference; empty lists count
    as perfect (nothing was missed, nothing was wrongly picked).
    """

    true_positives: int
    n_picks: int
    n_reference: int

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
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@attrs.frozen
class MatchResult(DetectionScores):
    """The outcome of matching picks to a reference.

    Attributes
    ----------
    pairs : ndarray, shape (M, 2)
        Row numbers (pick, reference) of the matched pairs.
    distances : ndarray, shape (M,)
        Distance in voxels of each pair (positions + shifts).
    angular_errors : ndarray, shape (M,)
        Angle in degrees of the rotation between each pair's orientations
        (the smallest over the symmetry copies under C_n symmetry).
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
        """Number of matched pairs."""
        return len(self.pairs)

    def summary(self) -> str:
        """One line: counts, precision, recall, F1 and the median angular error."""
        median = float(np.median(self.angular_errors)) if len(self.angular_errors) else float("nan")
        return (
            f"{self.true_positives} matched of {self.n_picks} picks and {self.n_reference} reference "
            f"particles: precision {self.precision:.3f}, recall {self.recall:.3f}, F1 {self.f1:.3f}, "
            f"median angular error {median:.2f} deg"
        )


def match_particles(
    picks: ParticleList, reference: ParticleList, tolerance: float, symmetry: int | str = 1
) -> MatchResult:
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
    symmetry : int or str
        C_n symmetry of the particle about its z axis (``3`` or ``"C3"``): the
        angular error is the smallest over the n equivalent orientations
        (see :func:`cryotm.angles.total_angle`).
    """
    a = picks.positions + picks.shifts
    b = reference.positions + reference.shifts
    for what, points, plist in (("picks", a, picks), ("reference", b, reference)):
        bad = ~np.isfinite(points).all(axis=1)
        if bad.any():
            raise InputError(
                f"{int(bad.sum())} of the {what}' positions are not finite numbers (first: particle "
                f"{int(np.argmax(bad)) + 1})", getattr(plist, "source", None) or None,
            )
    if not (np.isfinite(tolerance) and tolerance > 0):
        raise InputError(f"the match tolerance must be a finite number > 0, got {tolerance}")
    empty = np.empty((0, 2), dtype=np.int64)
    if len(a) == 0 or len(b) == 0:
        return MatchResult(empty, np.empty(0), np.empty(0), len(a), len(b))
    near = cKDTree(a).sparse_distance_matrix(cKDTree(b), tolerance, output_type="coo_matrix")
    if near.nnz == 0:
        return MatchResult(empty, np.empty(0), np.empty(0), len(a), len(b))
    # candidate pairs form small groups (connected components of the pick-reference graph);
    # each group is a small dense assignment problem
    graph = coo_matrix((np.ones(near.nnz), (near.row, near.col + len(a))), shape=(len(a) + len(b),) * 2)
    _, labels = connected_components(graph, directed=False)
    group_of_pair = labels[near.row]
    order = np.argsort(group_of_pair, kind="stable")
    bounds = np.flatnonzero(np.diff(group_of_pair[order])) + 1
    pairs_list = []
    for members in np.split(order, bounds):
        rows, row_index = np.unique(near.row[members], return_inverse=True)
        cols, col_index = np.unique(near.col[members], return_inverse=True)
        cost = np.full((len(rows), len(cols)), _NO_PAIR)
        cost[row_index, col_index] = near.data[members]
        r, c = linear_sum_assignment(cost)
        keep = cost[r, c] < _NO_PAIR
        pairs_list.extend(zip(rows[r[keep]], cols[c[keep]]))
    pairs = np.array(sorted(pairs_list), dtype=np.int64).reshape(-1, 2)
    distances = np.linalg.norm(a[pairs[:, 0]] - b[pairs[:, 1]], axis=1)
    angular = total_angle(reference.orientations[pairs[:, 1]], picks.orientations[pairs[:, 0]], symmetry)
    return MatchResult(pairs, distances, angular, len(a), len(b))
