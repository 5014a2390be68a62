"""The angle map's index range, checked against the index base before anything is picked.

Only the picked voxels' angle indices are looked up, so a wrong index base
(``--index-base 1`` on a 0-based map, or the reverse) can pass unnoticed
whenever the picked voxels happen to hold in-range indices: every particle
then gets the neighbouring row's orientation. The whole map's minimum and
maximum reveal it: a 1-based map never holds 0, and a 0-based map never
holds the list's length. :func:`check_index_base` reads the angle map once,
slab by slab (its minimum and maximum); only when those contradict the base
it looks again with the scores and the mask, leaving out voxels whose score
is exactly 0 (which some programs leave unsearched, holding index 0) and
voxels outside the tomogram mask.
"""

from __future__ import annotations

import numpy as np

from ..angles import AngleList
from ..errors import InputError
from ..maps import AngleMap, MaskMap, ScoresMap

__all__ = ["index_range", "check_index_base"]


def index_range(
    angle_map: AngleMap,
    scores: ScoresMap | None = None,
    mask: MaskMap | None = None,
    slab_voxels: int = 1 << 20,
) -> tuple[float, float] | None:
    """Smallest and largest angle-map value over the searched voxels (None if there is none).

    A voxel counts when its score is not 0 (when `scores` is given) and it
    lies inside `mask` (when given).

    Examples
    --------
    >>> amap = AngleMap.from_array(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    >>> index_range(amap)
    (0.0, 23.0)
    """
    data = angle_map.data
    nz, ny, nx = data.shape
    step = max(1, int(slab_voxels) // max(ny * nx, 1))
    low, high = np.inf, -np.inf
    for z0 in range(0, nz, step):
        values = np.asarray(data[z0 : z0 + step])
        keep = None
        if scores is not None:
            keep = np.asarray(scores.data[z0 : z0 + step]) != 0
        if mask is not None:
            inside = np.asarray(mask.data[z0 : z0 + step]) != 0
            keep = inside if keep is None else keep & inside
        if keep is not None:
            if not keep.any():
                continue
            values = values[keep]
        if values.size:
            low = min(low, float(np.min(values)))
            high = max(high, float(np.max(values)))
    if low > high:
        return None
    return low, high


def check_index_base(
    angle_map: AngleMap,
    angles: AngleList,
    scores: ScoresMap | None = None,
    mask: MaskMap | None = None,
    slab_voxels: int = 1 << 20,
) -> None:
    """Refuse an index base the angle map contradicts.

    Raises
    ------
    InputError
        Naming the angle map's file and the flag: a 1-based list (``index_base
        = 1``) on a map holding index 0, a 0-based list on a map holding the
        list's length (only a 1-based map holds it), or any index the list
        cannot have.

    Examples
    --------
    >>> amap = AngleMap.from_array(np.zeros((2, 2, 2), np.float32))
    >>> check_index_base(amap, AngleList(np.zeros((3, 3)), index_base=1))
    Traceback (most recent call last):
    ...
    cryotm.errors.InputError: the angle map holds index 0, which a 1-based angle list (index_base 1, --index-base 1) cannot have: it counts from 0, give --index-base 0
    """
    n, base = len(angles), angles.index_base
    found = index_range(angle_map, slab_voxels=slab_voxels)  # one quick pass over the angle map alone
    if found is None:
        return
    low, high = found
    if (low < base - 0.5 or high > n - 1 + base + 0.5 or not np.isfinite(low + high)) and (
        scores is not None or mask is not None
    ):
        # unsearched voxels may hold anything: look again at the searched ones only
        found = index_range(angle_map, scores, mask, slab_voxels)
        if found is None:
            return
        low, high = found
    source = angle_map.source
    if not (np.isfinite(low) and np.isfinite(high)):
        raise InputError("the angle map holds NaN or inf (it must hold angle indices)", source)
    if base == 1 and low < 0.5:
        raise InputError(
            f"the angle map holds index {low:g}, which a 1-based angle list (index_base 1, --index-base 1) "
            "cannot have: it counts from 0, give --index-base 0",
            source,
        )
    if base == 0 and round(high) == n:
        raise InputError(
            f"the angle map holds index {high:g}, the angle list's length ({n} angles), which only a 1-based "
            "map holds: it counts from 1 (STOPGAP), give --index-base 1 (index_base 1)",
            source,
        )
    if low < base - 0.5 or high > n - 1 + base + 0.5:
        raise InputError(
            f"the angle map holds indices {low:g}..{high:g}, outside the angle list {angles.label} of {n} angles "
            f"(valid {base}..{n - 1 + base} with --index-base {base}): is it the list of this search?",
            source,
        )
