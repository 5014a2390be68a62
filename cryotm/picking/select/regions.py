"""Angle-consistent regions: cryoCAT's ``filter_dist_maps`` and the opening of each region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...angles.distance_maps import DistanceMaps
from ...errors import InputError
from ...maps import MaskMap, Volume

__all__ = ["filter_distance_maps", "open_regions", "consistent_region", "validate_count"]


def _size_filter(mask: np.ndarray, bins: np.ndarray, min_count: int) -> np.ndarray:
    """Keep face-connected regions of equal bin inside `mask` with at least `min_count` voxels."""
    if not mask.any():
        return mask
    # skimage labels regions of equal value: shift the bins inside the mask off the background 0
    shifted = bins.astype(np.int64) - int(bins[mask].min()) + 1
    from skimage import measure  # scikit-image loads only when a selection runs

    labels = measure.label(np.where(mask, shifted, 0), connectivity=1, background=0)
    counts = np.bincount(labels.ravel())
    keep = counts >= min_count
    keep[0] = False
    return keep[labels]


def _whole_degrees(values: np.ndarray, mask: np.ndarray, source: str | None) -> np.ndarray:
    """Whole-degree bins (``floor``) of a distance map; integer maps are taken as they are."""
    if values.dtype.kind in "iub":
        return values
    if values.dtype.kind != "f":
        raise InputError(f"a distance map must hold numbers, got dtype {values.dtype}", source)
    if not np.isfinite(values[mask]).all():
        raise InputError("distance map holds a non-finite value", source)
    return np.floor(np.where(mask, values, 0)).astype(np.int64)


def _distance_map_list(dist_maps: Any) -> tuple[list[str] | None, list[np.ndarray], list[str | None]]:
    """(names or None, arrays, sources) of the maps given to :func:`filter_distance_maps`."""
    if isinstance(dist_maps, list) and dist_maps and all(type(v) is np.ndarray for v in dist_maps):
        return None, dist_maps, [None] * len(dist_maps)  # the selector's case, per region: no copies
    if isinstance(dist_maps, DistanceMaps):
        dist_maps = dist_maps.as_dict()
    if isinstance(dist_maps, Mapping):
        names: list[str] | None = list(dist_maps)
        values = list(dist_maps.values())
    elif isinstance(dist_maps, (np.ndarray, Volume)) and np.ndim(getattr(dist_maps, "data", dist_maps)) == 3:
        names, values = None, [dist_maps]
    else:
        names, values = None, list(dist_maps)
    if not values:
        raise InputError("filter_distance_maps needs at least one distance map")
    arrays = [np.asarray(v.data if isinstance(v, Volume) else v) for v in values]
    sources = [v.source if isinstance(v, Volume) else None for v in values]
    return names, arrays, sources


def filter_distance_maps(
    dist_maps: DistanceMaps | Mapping[str, Any] | Sequence[Any] | np.ndarray,
    threshold_mask: np.ndarray | MaskMap,
    min_angles_voxel_count: int,
) -> tuple[list[np.ndarray] | dict[str, np.ndarray], np.ndarray]:
    """Drop the small regions of equal angular distance (cryoCAT's ``filter_dist_maps``).

    Map after map, the voxels of `threshold_mask` are grouped into
    face-connected regions (connectivity 1) of the same whole-degree distance
    (``floor`` of the distance, the integer value cryoCAT's labelling sees);
    regions with fewer than `min_angles_voxel_count` voxels leave the mask,
    which the next map starts from. :class:`PeakSelector` runs this filter
    on each above-threshold region, before and after opening the regions.

    Parameters
    ----------
    dist_maps : DistanceMaps, mapping, sequence of arrays or ndarray
        The distance maps (degrees, indexed ``[z, y, x]``), in the order they
        are filtered: a :class:`~cryotm.angles.DistanceMaps` (total, normals,
        in-plane), a mapping name -> array, a sequence of arrays (an array
        ``[n, z, y, x]`` is n maps), or one 3D array. Integer maps are taken
        as whole degrees already.
    threshold_mask : ndarray or MaskMap
        The voxels to consider (nonzero), same shape as every map.
    min_angles_voxel_count : int
        Smallest region kept, in voxels.

    Returns
    -------
    maps : list of ndarray, or dict for a mapping or DistanceMaps input
        Each map with the voxels outside the returned mask set to 0, as cryoCAT
        returns them (a kept voxel may be 0 too: use the mask, not the value).
    mask : ndarray of bool
        The voxels that lie in a large enough region of every map.

    Raises
    ------
    InputError
        For maps whose shape differs from the mask's, a non-finite distance
        inside the mask, or a negative or non-integer count.

    Notes
    -----
    Differences from cryoCAT 0.7.1: a distance below 1 degree (whole-degree
    value 0) forms a region like any other, where cryoCAT's labelling takes it
    for background and drops it; the maps are not modified in place; the maps
    are indexed ``[z, y, x]`` and given as separate arrays instead of one
    ``[x, y, z, n]`` array.

    Examples
    --------
    >>> total = np.zeros((1, 4, 6)); total[0, :, 3:] = 40.5   # two regions: 12 voxels each
    >>> inplane = np.zeros((1, 4, 6)); inplane[0, 0, :] = 7.0  # a 6-voxel strip and the rest
    >>> above = np.ones((1, 4, 6), bool); above[0, 3, 0] = False
    >>> maps, mask = filter_distance_maps([total, inplane], above, 10)
    >>> mask.astype(int)[0]
    array([[0, 0, 0, 0, 0, 0],
           [1, 1, 1, 1, 1, 1],
           [1, 1, 1, 1, 1, 1],
           [0, 1, 1, 1, 1, 1]])
    >>> float(maps[0][0, 1, 4]), float(maps[0][0, 0, 4])
    (40.5, 0.0)
    """
    count = validate_count(min_angles_voxel_count, "min_angles_voxel_count")
    names, arrays, sources = _distance_map_list(dist_maps)
    mask = np.asarray(threshold_mask.data if isinstance(threshold_mask, Volume) else threshold_mask)
    mask = mask if mask.dtype == bool else mask != 0
    if mask.ndim != 3:
        raise InputError(f"the threshold mask must be a 3D map, got shape {mask.shape}")
    for values, source in zip(arrays, sources):
        if values.shape != mask.shape:
            raise InputError(
                f"distance map has shape {values.shape} (z, y, x) but the threshold mask has {mask.shape}",
                source,
            )
    for values, source in zip(arrays, sources):
        if not mask.any():
            break
        mask = _size_filter(mask, _whole_degrees(values, mask, source), count)
    filtered = [np.where(mask, values, values.dtype.type(0)) for values in arrays]
    if names is not None:
        return dict(zip(names, filtered)), mask
    return filtered, mask


def open_regions(mask: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Union of the 2 x 2 x 2 cubes that lie inside `mask` within one bin (a true opening per region).

    `mask` and `bins` must carry a margin of at least one voxel outside the
    regions (the caller pads), so cubes never leave the arrays.
    """
    n0, n1, n2 = (s - 1 for s in mask.shape)
    corner = bins[:n0, :n1, :n2]
    fits = mask[:n0, :n1, :n2].copy()
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                if dz == dy == dx == 0:
                    continue
                box = (slice(dz, dz + n0), slice(dy, dy + n1), slice(dx, dx + n2))
                fits &= mask[box] & (bins[box] == corner)
    out = np.zeros_like(mask)
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                out[dz : dz + n0, dy : dy + n1, dx : dx + n2] |= fits
    return out


def _pad1(array: np.ndarray) -> np.ndarray:
    out = np.zeros(tuple(n + 2 for n in array.shape), dtype=array.dtype)
    out[1:-1, 1:-1, 1:-1] = array
    return out


def consistent_region(local: np.ndarray, bins: list[np.ndarray], min_angles: int) -> np.ndarray:
    """The angle-consistent voxels of one above-threshold region (cryoCAT's two filters and opening).

    `local` is the region in its bounding box, `bins` the distance bins there.
    """
    _, mask = filter_distance_maps(bins, local, min_angles)
    if not mask.any():
        return mask
    padded = _pad1(mask)
    opened = [open_regions(padded, _pad1(b))[1:-1, 1:-1, 1:-1] for b in bins]
    for b, o in zip(bins, opened):  # cryoCAT's second filter_dist_maps on the opened maps
        _, mask = filter_distance_maps([b], mask & o, min_angles)
    return mask


def validate_count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"{name} must be a non-negative whole number, got {value!r}")
    return int(value)
