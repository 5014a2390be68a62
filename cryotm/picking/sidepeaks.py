"""Side-peak filter: drop a peak that is a weaker side lobe of a stronger one nearby.

A template-matching search correlates the template, at every rotation, with
every position: next to a strong particle the correlation can have secondary
maxima, clearly weaker than the particle's own peak. Non-maximum suppression
within one diameter (cryoCAT's default) lets those beyond it through; a
larger suppression radius would also remove the second of two touching
particles. (On the realistic benchmark scenes such side lobes are not what
the default keeps wrongly: see the benchmarks page.) The filter here removes a peak only when
both hold: a stronger kept peak lies within `distance` voxels, and the
peak's score is below `fraction` of that peak's score. Two touching particles
of similar scores are both kept.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["side_peaks"]


def side_peaks(positions: np.ndarray, scores: np.ndarray, distance: float, fraction: float) -> np.ndarray:
    """Which peaks are side lobes of a stronger kept peak.

    Parameters
    ----------
    positions : ndarray, shape (N, 3)
        Peak positions (any consistent axis order), in voxels.
    scores : ndarray, shape (N,)
        Their scores.
    distance : float
        Largest distance, in voxels, between a side lobe and its main peak.
    fraction : float
        A peak is a side lobe when its score is below ``fraction`` times the
        score of a stronger kept peak within `distance`.

    Returns
    -------
    ndarray of bool, shape (N,)
        True for the peaks to drop. Peaks are judged from the highest score
        down; a dropped peak does not drop others.

    Examples
    --------
    >>> positions = np.array([[0, 0, 0], [15, 0, 0], [0, 10, 0]], dtype=float)
    >>> side_peaks(positions, np.array([1.0, 0.5, 0.9]), distance=20, fraction=0.7).tolist()
    [False, True, False]
    """
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    scores = np.asarray(scores, dtype=float).reshape(-1)
    drop = np.zeros(len(scores), dtype=bool)
    if len(scores) < 2:
        return drop
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    neighbours = cKDTree(positions).query_ball_point(positions, r=float(distance))
    for i in order:
        for j in neighbours[i]:
            if rank[j] < rank[i] and not drop[j] and scores[i] < fraction * scores[j]:
                drop[i] = True
                break
    return drop
