"""Connected regions of candidate voxels (the meaning cryotm gives to ``cluster_size``).

cryoCAT's ``cluster_size`` counts the members of DBSCAN clusters of the
*suppressed* peaks; after suppression no two peaks are closer than the
diameter, every cluster has one member, and the option never acts (a value
above 1 removes everything and then crashes). In cryotm, ``cluster_size`` is
the minimum number of above-threshold voxels in the connected region a
candidate belongs to (26-connectivity): a region smaller than that, such as
an isolated noise spike, is dropped before suppression, so it can neither
become a particle nor suppress one.
"""

from __future__ import annotations

import numpy as np

from .candidates import Candidates

__all__ = ["region_sizes"]

# half of the 26 neighbours: the other half is found from the other end of each pair
_FORWARD = [
    (dz, dy, dx)
    for dz in (-1, 0, 1)
    for dy in (-1, 0, 1)
    for dx in (-1, 0, 1)
    if (dz, dy, dx) > (0, 0, 0)
]


def region_sizes(candidates: Candidates) -> np.ndarray:
    """Size of the 26-connected region of candidate voxels each candidate belongs to.

    Parameters
    ----------
    candidates : Candidates
        In memory order (as :func:`~cryotm.picking.candidates.find_candidates` gives them).

    Returns
    -------
    ndarray of int64
        Per candidate, the number of candidates in its region.

    Examples
    --------
    >>> from cryotm.picking.candidates import find_candidates
    >>> data = np.zeros((5, 5, 5), np.float32)
    >>> data[1, 1, 1] = data[2, 2, 2] = data[4, 4, 4] = 1
    >>> region_sizes(find_candidates(data, 0.5)).tolist()
    [2, 2, 1]
    """
    n = len(candidates)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    nz, ny, nx = candidates.shape
    linear = candidates.linear_index
    order = np.argsort(linear, kind="stable")
    sorted_linear = linear[order]
    z, y, x = candidates.z, candidates.y, candidates.x
    sources, targets = [], []
    for dz, dy, dx in _FORWARD:
        inside = (
            (z + dz >= 0) & (z + dz < nz) & (y + dy >= 0) & (y + dy < ny) & (x + dx >= 0) & (x + dx < nx)
        )
        rows = np.flatnonzero(inside)
        wanted = linear[rows] + (dz * ny + dy) * nx + dx
        found = np.minimum(np.searchsorted(sorted_linear, wanted), n - 1)
        hit = sorted_linear[found] == wanted
        sources.append(rows[hit])
        targets.append(order[found[hit]])
    source = np.concatenate(sources)
    target = np.concatenate(targets)
    from scipy.sparse import coo_matrix  # scipy.sparse: only where cluster sizes are asked for
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(source.size, dtype=np.int8), (source, target)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.bincount(labels)[labels].astype(np.int64)
