"""Automatic, angle-consistent peak selection (cryoCAT's ``select_peaks``).

A true particle leaves a compact peak in the scores map whose voxels also
agree on the orientation. The selection keeps a peak only if both hold:

1. **threshold**: voxels with ``score >= threshold`` (cryoCAT's triangle rule
   by default; any rule is computed on the whole map), inside the tomogram
   mask and away from the edges (`edge_masking`);
2. **peak size**: face-connected regions of that mask smaller than
   `min_peak_voxel_count` are dropped;
3. **angular consistency**: in each angular distance map (see
   :mod:`cryotm.angles.distance_maps`), voxels are grouped into
   face-connected regions of the same whole-degree distance (``floor`` of the
   distance, as cryoCAT's integer labelling does); regions smaller than
   `min_angles_voxel_count` are dropped, map after map
   (:func:`filter_distance_maps`, cryoCAT's ``filter_dist_maps``); each
   region is opened with a 2 x 2 x 2 cube; the size filter is applied again;
4. **selection**: the remaining voxels, highest score first, become
   particles if the template mask (rotated to the voxel's orientation) or a
   sphere of `template_radius`, centred on the voxel, does not overlap an
   accepted particle and holds at least `min_peak_voxel_count` voxels of the
   voxel's peak region and at least `min_angles_voxel_count` voxels of its
   region in every distance map (both 26-connected inside the mask).

Differences from cryoCAT 0.7.1, each on purpose and pinned by a test:

- the angle map's index base is subtracted once (``index_base``); cryoCAT
  always subtracts 1 and, with ``create_dist_maps``, subtracts it a second
  time and ignores ``angles_order`` (and the symmetry) for the maps;
- positions are 0-based voxels (x, y, z) like every particle list in cryotm;
  writers convert (an EM motive list gets index + 1, as extraction writes
  it). cryoCAT writes the 0-based index into a motive list whose convention
  is 1-based; its ``output_motl_name`` crashes (``write_to_emfile`` does not
  exist) - here `output` writes through any registered format;
- voxels whose distance is below 1 degree form a region like any other;
  cryoCAT's labelling takes them for background, so it can never select a
  particle oriented within 1 degree of the first angle of the list;
- the opening of each region is a true opening (zero outside the region);
  cryoCAT opens each region inside its bounding box with skimage's border
  rule (outside counts as inside for the erosion) and writes each box back
  whole, so overlapping boxes erase their neighbours' voxels;
- a template mask of odd size is centred on its centre voxel (``size // 2``,
  the rotation centre); cryoCAT rotates about ``size // 2`` but places
  ``ceil(size / 2)`` on the peak (one voxel off for odd sizes);
- ``edge_masking = 0`` masks nothing on that axis (cryoCAT masks everything).

Speed: every step after the threshold works on the above-threshold regions
only (bounding boxes of connected components) and each candidate is judged
inside its mask's box; no full-map operation runs per peak. A candidate's
verdict depends on accepted particles only through the overlap test (an
accepted particle's voxels are exactly the ones cryoCAT blanks), so one pass
in score order gives cryoCAT's result.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from scipy import ndimage
from scipy.signal import fftconvolve
from skimage import measure

from ..angles import AngleList
from ..angles.angle_list import AngleOrder
from ..angles.distance_maps import (
    DIST_MAP_SUFFIXES,
    DistanceMaps,
    angle_rows,
    canonical_distance_name,
    create_distance_maps,
    distance_map_paths,
    distance_tables,
    resolve_angle_list,
)
from ..angles.distances import parse_symmetry
from ..errors import InputError
from ..maps import AngleMap, MaskMap, ScoresMap, Volume
from ..particles import ParticleList
from ..thresholds import get_threshold_strategy
from ..thresholds.base import SearchStatistics, ThresholdStrategy
from .picker import particles_at as _particles_at

__all__ = [
    "PeakSelection",
    "PeakSelector",
    "select_peaks",
    "filter_distance_maps",
    "sphere_footprint",
    "rotate_template_mask",
    "edge_mask_margins",
]

#: cryoCAT's default ``dist_maps_list``.
DEFAULT_DIST_MAPS: tuple[str, ...] = tuple(DIST_MAP_SUFFIXES.values())

_FACE = ndimage.generate_binary_structure(3, 1)
_FULL = np.ones((3, 3, 3), dtype=bool)


# ----------------------------------------------------------------------------------------
# footprints: the region an accepted particle occupies
# ----------------------------------------------------------------------------------------
def sphere_footprint(radius: float) -> np.ndarray:
    """A ball of `radius` voxels (``distance <= radius``) in a box of odd size, centred.

    The same voxels as cryoCAT's ``spherical_mask(2 r + 2, radius=r)``.

    Examples
    --------
    >>> int(sphere_footprint(2).sum()), sphere_footprint(2).shape
    (33, (5, 5, 5))
    """
    if not np.isfinite(radius) or radius < 0:
        raise InputError(f"template_radius must be a non-negative number, got {radius}")
    half = int(np.floor(radius))
    grid = np.arange(-half, half + 1, dtype=float)
    zz, yy, xx = np.meshgrid(grid, grid, grid, indexing="ij")
    return np.sqrt(zz**2 + yy**2 + xx**2) <= radius


def rotate_template_mask(mask: np.ndarray, rotation_matrix: np.ndarray, order: int = 3) -> np.ndarray:
    """Rotate a binary mask (indexed ``[z, y, x]``) about voxel ``shape // 2``; hard-edged result.

    Parameters
    ----------
    mask : ndarray of bool or 0/1
        The template mask in the reference orientation.
    rotation_matrix : ndarray, shape (3, 3)
        The rotation acting on (x, y, z) vectors (``Rotation.as_matrix()``),
        which turns the reference into the particle's orientation.
    order : int
        Spline order of the interpolation (3 as cryoCAT); the result is the
        interpolated values ``>= 0.5``.

    Returns
    -------
    ndarray of bool, same shape as `mask`

    Examples
    --------
    >>> m = np.zeros((5, 5, 5), bool); m[2, 2, 2:] = True          # a rod along +x
    >>> quarter = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]])     # 90 degrees about z
    >>> np.argwhere(rotate_template_mask(m, quarter))[:, 1].tolist() # now along +y
    [2, 3, 4]
    """
    flip = np.eye(3)[::-1]  # (x, y, z) <-> (z, y, x)
    matrix = flip @ np.asarray(rotation_matrix, dtype=float).T @ flip
    centre = np.array(mask.shape) // 2
    offset = centre - matrix @ centre
    rotated = ndimage.affine_transform(
        np.asarray(mask, dtype=np.float64), matrix, offset=offset, order=order, mode="constant", cval=0.0
    )
    return rotated >= 0.5


@attrs.frozen
class _Footprint:
    """A boolean footprint cropped to its nonzero box, and the index placed on the peak."""

    mask: np.ndarray
    centre: tuple[int, int, int]

    @classmethod
    def cropped(cls, mask: np.ndarray, centre: np.ndarray) -> _Footprint:
        nz = np.argwhere(mask)
        if len(nz) == 0:
            return cls(mask, tuple(int(c) for c in centre))
        lo, hi = nz.min(axis=0), nz.max(axis=0) + 1
        # keep the centre inside the box so that windows are always defined
        lo, hi = np.minimum(lo, centre), np.maximum(hi, np.asarray(centre) + 1)
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        return cls(np.ascontiguousarray(mask[box]), tuple(int(c) for c in np.asarray(centre) - lo))

    def window(self, voxel: tuple[int, int, int], shape: tuple[int, ...]):
        """(map slices, footprint slices, centre inside the window) for a peak at `voxel`."""
        start = np.asarray(voxel) - self.centre
        stop = start + self.mask.shape
        lo, hi = np.maximum(start, 0), np.minimum(stop, shape)
        win = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
        cut = tuple(slice(int(a), int(b)) for a, b in zip(lo - start, hi - start))
        centre = tuple(int(v - a) for v, a in zip(voxel, lo))
        return win, cut, centre


# ----------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------
def edge_mask_margins(edge_masking: Any, shape: tuple[int, int, int]) -> tuple[int, int, int] | None:
    """Margins (z, y, x) from cryoCAT's `edge_masking`: one number, or three in (x, y, z) order.

    Raises
    ------
    InputError
        For negative or non-integer margins, a wrong count, or margins that
        leave nothing of the map.

    Examples
    --------
    >>> edge_mask_margins(3, (40, 50, 60)), edge_mask_margins((1, 2, 3), (40, 50, 60))
    ((3, 3, 3), (3, 2, 1))
    """
    if edge_masking is None:
        return None
    values = np.atleast_1d(np.asarray(edge_masking))
    if values.ndim != 1 or values.size not in (1, 3):
        raise InputError(f"edge_masking must be one number or three (x, y, z), got {edge_masking!r}")
    if values.size == 1:
        values = np.repeat(values, 3)
    if values.dtype.kind not in "iuf" or np.any(values != np.round(values)) or np.any(values < 0):
        raise InputError(f"edge_masking must hold non-negative whole numbers of voxels, got {edge_masking!r}")
    margins = tuple(int(v) for v in values[::-1])  # (x, y, z) -> (z, y, x)
    for axis, (margin, size) in enumerate(zip(margins, shape)):
        if 2 * margin >= size:
            name = "zyx"[axis]
            raise InputError(
                f"edge masking of {margin} voxels along {name} is larger than the map "
                f"({size} voxels): nothing would remain"
            )
    return margins


def _apply_edge_mask(mask: np.ndarray, margins: tuple[int, int, int] | None) -> None:
    if margins is None:
        return
    for axis, margin in enumerate(margins):
        if margin == 0:
            continue
        index = [slice(None)] * 3
        index[axis] = slice(0, margin)
        mask[tuple(index)] = False
        index[axis] = slice(mask.shape[axis] - margin, None)
        mask[tuple(index)] = False


def _check_binary(mask: np.ndarray, what: str, source: str | None) -> np.ndarray:
    values = np.unique(np.asarray(mask))
    if not np.isin(values, (0, 1)).all():
        shown = ", ".join(f"{v:g}" for v in values[~np.isin(values, (0, 1))][:3])
        raise InputError(
            f"{what} must be binary (0/1, hard-edged); it holds {shown}. Threshold it first, "
            "for example at 0.5", source
        )
    if not values.any():
        raise InputError(f"{what} is empty (all zero)", source)
    return np.asarray(mask) != 0


class _BinSource:
    """Whole-degree angular distance bins of the used maps, read box by box.

    Either per-row tables looked up through the angle map (maps created on
    the fly, never materialised) or distance maps given as arrays/files.
    """

    def __init__(
        self,
        names: Sequence[str],
        angle_map: AngleMap,
        angles: AngleList,
        tables: Mapping[str, np.ndarray] | None = None,
        maps: Mapping[str, Volume] | None = None,
    ) -> None:
        self.names = list(names)
        self.angle_map = angle_map
        self.angles = angles
        self.tables = None
        if tables is not None:
            # float32 like written maps, so created and read-back maps give the same bins
            self.tables = [np.floor(tables[n].astype(np.float32)).astype(np.int32) for n in self.names]
        self.maps = None if maps is None else [maps[n] for n in self.names]

    def rows(self, box: tuple[slice, ...]) -> np.ndarray:
        return angle_rows(self.angle_map.data[box], self.angles, self.angle_map.source)

    def bins(self, box: tuple[slice, ...], within: np.ndarray | None = None) -> list[np.ndarray]:
        """The bins of every used map in `box`; a NaN/inf distance at a voxel of `within` is an error.

        A non-finite distance elsewhere in the box gets a meaningless bin: the
        selection only compares the bins of voxels that were checked (the
        angle-consistent ones, each checked with its region).
        """
        if self.tables is not None:
            rows = self.rows(box)
            return [table[rows] for table in self.tables]
        out = []
        for volume in self.maps:  # type: ignore[union-attr]
            values = np.asarray(volume.data[box])
            if within is not None and not np.isfinite(values[within]).all():
                raise InputError("distance map holds a non-finite value", volume.source)
            with np.errstate(invalid="ignore"):  # the cast of a NaN outside `within`
                out.append(np.floor(values).astype(np.int32))
        return out


def _read_distance_maps(
    names: Sequence[str], base: str | os.PathLike | None, given: Any, shape: tuple[int, int, int]
) -> dict[str, Volume]:
    maps: dict[str, Volume] = {}
    for name in names:
        if given is not None:
            if isinstance(given, DistanceMaps):
                value: Any = given[name]
            else:
                found = [v for k, v in given.items() if canonical_distance_name(k) == name]
                if not found:
                    raise InputError(f"dist_maps has no {name!r} map ({DIST_MAP_SUFFIXES[name]})")
                value = found[0]
        else:
            candidates = [distance_map_paths(base, fmt)[name] for fmt in ("em", "mrc")]
            existing = [p for p in candidates if p.is_file()]
            if not existing:
                raise InputError(f"distance map not found (looked for {candidates[0]} and {candidates[1]})")
            value = existing[0]
        volume = value if isinstance(value, Volume) else Volume.coerce(value, mmap=True)
        if volume.shape != shape:
            raise InputError(
                f"distance map {DIST_MAP_SUFFIXES[name]} has shape {volume.shape} (z, y, x) "
                f"but the scores map has {shape}",
                volume.source,
            )
        maps[name] = volume
    return maps


# ----------------------------------------------------------------------------------------
# region filters (cryoCAT's filter_dist_maps and the opening)
# ----------------------------------------------------------------------------------------
def _size_filter(mask: np.ndarray, bins: np.ndarray, min_count: int) -> np.ndarray:
    """Keep face-connected regions of equal bin inside `mask` with at least `min_count` voxels."""
    if not mask.any():
        return mask
    # skimage labels regions of equal value: shift the bins inside the mask off the background 0
    shifted = bins.astype(np.int64) - int(bins[mask].min()) + 1
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
    count = _validate_count(min_angles_voxel_count, "min_angles_voxel_count")
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


def _open_regions(mask: np.ndarray, bins: np.ndarray) -> np.ndarray:
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


def _consistent_region(local: np.ndarray, bins: list[np.ndarray], min_angles: int) -> np.ndarray:
    """The angle-consistent voxels of one above-threshold region (cryoCAT's two filters and opening).

    `local` is the region in its bounding box, `bins` the distance bins there.
    """
    _, mask = filter_distance_maps(bins, local, min_angles)
    if not mask.any():
        return mask
    padded = _pad1(mask)
    opened = [_open_regions(padded, _pad1(b))[1:-1, 1:-1, 1:-1] for b in bins]
    for b, o in zip(bins, opened):  # cryoCAT's second filter_dist_maps on the opened maps
        _, mask = filter_distance_maps([b], mask & o, min_angles)
    return mask


def _reach(ball: np.ndarray) -> np.ndarray:
    """Offsets at which two copies of the symmetric footprint `ball` overlap (``ball (+) ball``)."""
    return fftconvolve(ball.astype(np.float32), ball.astype(np.float32), mode="full") > 0.5


def _block(
    blocked: np.ndarray, voxel: tuple[int, ...], win: tuple[slice, ...], placed: np.ndarray,
    ball: np.ndarray, reach: np.ndarray,
) -> None:
    """Mark in `blocked` the voxels whose footprint `ball` would touch `placed` (at `win`)."""
    r = ball.shape[0] // 2
    if placed.shape == ball.shape:  # not clipped by the map's faces: the precomputed reach
        footprint = _Footprint(reach, (2 * r,) * 3)
        box, cut, _ = footprint.window(voxel, blocked.shape)
        blocked[box] |= reach[cut]
        return
    lo = [max(w.start - r, 0) for w in win]
    hi = [min(w.stop + r, n) for w, n in zip(win, blocked.shape)]
    local = np.zeros(tuple(b - a for a, b in zip(lo, hi)), dtype=np.float32)
    local[tuple(slice(w.start - a, w.stop - a) for w, a in zip(win, lo))] = placed
    grown = fftconvolve(local, ball.astype(np.float32), mode="same") > 0.5
    blocked[tuple(slice(a, b) for a, b in zip(lo, hi))] |= grown


def _component_size(mask: np.ndarray, centre: tuple[int, int, int], minimum: int) -> int:
    """Voxels of the 26-connected component of `mask` holding `centre` (0 if outside).

    Returns early (with a value below `minimum`) when the whole mask is too small.
    """
    if not mask[centre]:
        return 0
    total = int(np.count_nonzero(mask))
    if total < minimum:
        return total
    labels, _ = ndimage.label(mask, structure=_FULL)
    return int(np.count_nonzero(labels == labels[centre]))


# ----------------------------------------------------------------------------------------
# the selection
# ----------------------------------------------------------------------------------------
@attrs.frozen
class PeakSelection:
    """What :meth:`PeakSelector.select` found.

    Unpacks as ``particles, labels`` (cryoCAT's tuple).

    Attributes
    ----------
    particles : ParticleList
        The selected particles in selection order (highest score first);
        0-based voxel positions, the angle-list orientation of each voxel.
    labels : ndarray of int32, indexed ``[z, y, x]``
        Each accepted particle's (rotated) mask, holding its ``subtomo_id``;
        0 elsewhere. ``labels > 0`` is cryoCAT's ``empty_label``.
    threshold : float
        The score threshold used.
    n_candidates : int
        Voxels that passed the threshold, peak-size and angular filters.
    """

    particles: ParticleList
    labels: np.ndarray
    threshold: float
    n_candidates: int

    def __iter__(self):
        yield self.particles
        yield self.labels


def _validate_count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"{name} must be a non-negative whole number, got {value!r}")
    return int(value)


def _validate_names(names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        names = [names]
    canonical = tuple(canonical_distance_name(n) for n in names)
    if not canonical:
        raise InputError("dist_maps_list must name at least one distance map")
    if len(set(canonical)) != len(canonical):
        raise InputError(f"dist_maps_list names a map twice: {list(names)!r}")
    return canonical


@attrs.define(eq=False)
class PeakSelector:
    """The parameters of the automatic, angle-consistent peak selection.

    Parameters
    ----------
    peak_number : int, optional
        At most this many particles (cryoCAT's ``peak_number``); all by default.
    dist_maps_list : sequence of str
        The distance maps that must agree: ``"_dist_all"`` (or ``"total"``),
        ``"_dist_normals"`` (``"normals"``), ``"_dist_inplane"`` (``"inplane"``).
    min_peak_voxel_count : int
        Smallest peak region (voxels), both as a face-connected region of the
        threshold mask and inside the particle's mask around the peak.
    min_angles_voxel_count : int
        Smallest region of equal whole-degree distance, in every used map,
        both map-wide and inside the particle's mask around the peak.
    template_mask : ndarray, optional
        Binary (0/1) mask of the template, indexed ``[z, y, x]``, rotated to
        each peak's orientation and centred on the peak (voxel ``shape // 2``).
        Tight and not hollow, as cryoCAT advises.
    template_radius : float
        Radius (voxels) of the sphere used instead when there is no template mask.
    edge_masking : int or (int, int, int), optional
        Voxels at the map's faces excluded: one number for every axis, or
        three in (x, y, z) order as cryoCAT takes them.
    threshold : str, float or ThresholdStrategy
        Score threshold (voxels ``>=`` it pass), any strategy by name;
        ``"triangle"`` (cryoCAT's rule) by default. Every rule is computed on
        the whole scores map, as cryoCAT's triangle; ``far`` counts the
        whole map times the angle list as its search space.
    symmetry : int or str
        C_n symmetry used when the distance maps are created here.
    """

    peak_number: int | None = None
    dist_maps_list: tuple[str, ...] = attrs.field(default=DEFAULT_DIST_MAPS, converter=_validate_names)
    min_peak_voxel_count: int = 7
    min_angles_voxel_count: int = 7
    template_mask: np.ndarray | None = None
    template_radius: float = 2
    edge_masking: Any = None
    threshold: str | float | ThresholdStrategy = "triangle"
    symmetry: int = attrs.field(default=1, converter=parse_symmetry)

    def __attrs_post_init__(self) -> None:
        if self.peak_number is not None:
            self.peak_number = _validate_count(self.peak_number, "peak_number")
        self.min_peak_voxel_count = _validate_count(self.min_peak_voxel_count, "min_peak_voxel_count")
        self.min_angles_voxel_count = _validate_count(self.min_angles_voxel_count, "min_angles_voxel_count")
        if self.template_mask is not None:
            volume = MaskMap.coerce(self.template_mask)
            self.template_mask = _check_binary(volume.data, "template mask", volume.source)
        else:
            sphere_footprint(float(self.template_radius))  # validates the radius
        get_threshold_strategy(self.threshold)  # an unknown name fails here, not after the work

    # -- the steps -------------------------------------------------------------------
    def threshold_mask(
        self,
        scores: ScoresMap,
        tomo_mask: MaskMap | None = None,
        statistics: SearchStatistics | None = None,
    ) -> tuple[float, np.ndarray]:
        """The threshold and the voxels ``>=`` it, inside the tomogram mask and edge margins.

        The threshold rule sees the whole scores map, as cryoCAT computes its
        triangle threshold; the tomogram mask and the edge margins only
        restrict which voxels pass it.

        Parameters
        ----------
        scores : ScoresMap
            The scores map.
        tomo_mask : MaskMap, optional
            Nonzero voxels are searched.
        statistics : SearchStatistics, optional
            What the search knew (:meth:`select` gives ``n_angles``, the size
            of the angle list, which the false-alarm rate ``far`` needs).

        Raises
        ------
        InputError
            If no voxel is left.
        """
        strategy = get_threshold_strategy(self.threshold)
        value = float(strategy.compute(scores, statistics=statistics))
        mask = np.asarray(scores.data) >= value
        if tomo_mask is not None:
            mask &= tomo_mask.as_bool()
        _apply_edge_mask(mask, edge_mask_margins(self.edge_masking, scores.shape))
        if not mask.any():
            raise InputError(
                f"the threshold mask is empty: no voxel scores >= {value:.6g} "
                f"({strategy.name}) inside the tomogram mask and edge margins",
                scores.source,
            )
        return value, mask

    def consistent_voxels(
        self, above: np.ndarray, bins: _BinSource
    ) -> tuple[np.ndarray, np.ndarray]:
        """The candidate voxels and the angle-consistent voxels (bool maps).

        Candidates lie in a peak region of at least `min_peak_voxel_count`
        voxels and in angle-consistent regions of every used map: each
        above-threshold region goes through :func:`filter_distance_maps`,
        the opening, and :func:`filter_distance_maps` again.
        """
        shape = above.shape
        labels, _ = ndimage.label(above, structure=_FACE)
        sizes = np.bincount(labels.ravel())
        consistent = np.zeros(shape, dtype=bool)
        candidates = np.zeros(shape, dtype=bool)
        smallest = max(self.min_angles_voxel_count, 1)
        wanted = np.flatnonzero(sizes >= smallest)
        wanted = wanted[wanted > 0]
        boxes = ndimage.find_objects(labels)
        for label in wanted:
            box = boxes[label - 1]
            region = labels[box] == label
            kept = _consistent_region(region, bins.bins(box, within=region), self.min_angles_voxel_count)
            consistent[box] |= kept
            if sizes[label] >= self.min_peak_voxel_count:
                candidates[box] |= kept
        return candidates, consistent

    def select(
        self,
        scores: ScoresMap | np.ndarray | str | os.PathLike,
        angle_map: AngleMap | np.ndarray | str | os.PathLike,
        angles: AngleList | np.ndarray | str | os.PathLike,
        dist_maps: DistanceMaps | Mapping[str, Any] | None = None,
        tomo_mask: MaskMap | np.ndarray | str | os.PathLike | None = None,
        tomo_number: int | None = None,
    ) -> PeakSelection:
        """Select the particles.

        Parameters
        ----------
        scores, angle_map : maps, arrays (``[z, y, x]``) or paths
            The template-matching result.
        angles : AngleList
            The angle list with its ``index_base``.
        dist_maps : DistanceMaps or mapping, optional
            Precomputed distance maps (name -> map, array or path); computed
            from `angles` (relative to its first row, with `symmetry`) when absent.
        tomo_mask : MaskMap, array or path, optional
            Nonzero voxels are searched (same shape as the scores map).
        tomo_number : int, optional
            ``tomo_id`` of every particle (0 when not given).

        Returns
        -------
        PeakSelection
        """
        scores = ScoresMap.coerce(scores)
        amap = AngleMap.coerce(angle_map, mmap=True)
        scores.check_same_shape(amap, "angle map")
        angles = resolve_angle_list(angles)
        mask = None
        if tomo_mask is not None:
            mask = MaskMap.coerce(tomo_mask)
            scores.check_same_shape(mask, "tomogram mask")
        if dist_maps is None:
            tables = distance_tables(angles, self.symmetry).as_dict()
            bins = _BinSource(self.dist_maps_list, amap, angles, tables=tables)
        else:
            maps = _read_distance_maps(self.dist_maps_list, None, dist_maps, scores.shape)
            bins = _BinSource(self.dist_maps_list, amap, angles, maps=maps)

        value, above = self.threshold_mask(scores, mask, SearchStatistics(n_angles=len(angles)))
        candidates, consistent = self.consistent_voxels(above, bins)
        del above
        particles, labels = self._greedy(scores, amap, angles, candidates, consistent, bins, tomo_number)
        return PeakSelection(particles, labels, value, int(np.count_nonzero(candidates)))

    def _footprints(self, angles: AngleList):
        """The footprint of a particle at an angle-list row (rotated template masks are cached)."""
        cache: dict[int, _Footprint] = {}
        mask = self.template_mask
        centre = np.array(mask.shape) // 2

        def footprint(row: int) -> _Footprint:
            if row not in cache:
                matrix = angles.rotations([row]).as_matrix()[0]
                cache[row] = _Footprint.cropped(rotate_template_mask(mask, matrix), centre)
            return cache[row]

        return footprint

    def _greedy(
        self,
        scores: ScoresMap,
        amap: AngleMap,
        angles: AngleList,
        candidates: np.ndarray,
        consistent: np.ndarray,
        bins: _BinSource,
        tomo_number: int | None,
    ) -> tuple[ParticleList, np.ndarray]:
        shape = scores.shape
        zyx = np.argwhere(candidates)
        values = np.asarray(scores.data)[tuple(zyx.T)]
        order = np.argsort(-values, kind="stable")  # highest first; ties in z, y, x order
        zyx, values = zyx[order], values[order]
        rows = angle_rows(np.asarray(amap.data[tuple(zyx.T)]), angles, amap.source)

        limit = len(zyx) if self.peak_number is None else self.peak_number
        labels = np.zeros(shape, dtype=np.int32)
        if self.template_mask is None:
            # one footprint for all (the sphere): 'blocked' marks every voxel whose footprint
            # would overlap an accepted particle, so the overlap test becomes one lookup
            ball = sphere_footprint(float(self.template_radius))
            sphere = _Footprint(ball, (ball.shape[0] // 2,) * 3)
            footprint_of = lambda row: sphere  # noqa: E731
            blocked, reach = np.zeros(shape, dtype=bool), _reach(ball)
        else:
            ball, reach = None, None
            footprint_of = self._footprints(angles)
            blocked = labels
        min_peak, min_angles = self.min_peak_voxel_count, self.min_angles_voxel_count
        chosen: list[int] = []
        for i, voxel in enumerate(map(tuple, zyx.tolist())):
            if len(chosen) >= limit:
                break
            if blocked[voxel]:
                continue
            fp = footprint_of(int(rows[i]))
            win, cut, centre = fp.window(voxel, shape)
            inside = fp.mask[cut]
            if ball is None and np.any(labels[win][inside]):
                continue
            if _component_size(candidates[win] & inside, centre, min_peak) < min_peak:
                continue
            region = consistent[win] & inside
            if not region[centre]:
                continue
            if not all(
                _component_size(region & (b == b[centre]), centre, min_angles) >= min_angles
                for b in bins.bins(win)
            ):
                continue
            chosen.append(i)
            labels[win][inside] = len(chosen)
            if ball is not None:
                _block(blocked, voxel, win, inside, ball, reach)

        chosen_idx = np.asarray(chosen, dtype=np.int64)
        particles = _particles_at(
            tuple(zyx[chosen_idx].T), angles.angles[rows[chosen_idx]], values[chosen_idx], scores,
            tomo_id=0 if tomo_number is None else tomo_number,
        )
        return particles, labels


# ----------------------------------------------------------------------------------------
# cryoCAT-shaped entry point
# ----------------------------------------------------------------------------------------
def select_peaks(
    scores_map: ScoresMap | np.ndarray | str | os.PathLike,
    angles_map: AngleMap | np.ndarray | str | os.PathLike,
    angles_file: AngleList | np.ndarray | str | os.PathLike,
    peak_number: int | None = None,
    create_dist_maps: bool = False,
    dist_maps_list: Sequence[str] = DEFAULT_DIST_MAPS,
    dist_maps_name_base: str | os.PathLike | None = None,
    write_dist_maps: bool = False,
    min_peak_voxel_count: int = 7,
    min_angles_voxel_count: int = 7,
    template_mask: MaskMap | np.ndarray | str | os.PathLike | None = None,
    template_radius: float = 2,
    edge_masking: int | Sequence[int] | None = None,
    tomo_mask: MaskMap | np.ndarray | str | os.PathLike | None = None,
    output_motl_name: str | os.PathLike | None = None,
    tomo_number: int | None = None,
    angles_order: AngleOrder = "zxz",
    *,
    dist_maps: DistanceMaps | Mapping[str, Any] | None = None,
    index_base: int | None = None,
    symmetry: int | str = 1,
    threshold: str | float | ThresholdStrategy = "triangle",
    dist_maps_format: str = "em",
    output_format: str | None = None,
    overwrite: bool = False,
) -> PeakSelection:
    """Automatic, angle-consistent peak selection (cryoCAT's ``select_peaks``).

    Parameters keep cryoCAT's names and meaning (see :class:`PeakSelector`
    for the selection rule); maps are indexed ``[z, y, x]``.

    Parameters
    ----------
    scores_map, angles_map : map, array or path
        Scores and angle indices of the template-matching run.
    angles_file : AngleList, array or path
        The angle list; column order `angles_order` when a file or an array.
    peak_number : int, optional
        At most this many particles.
    create_dist_maps : bool
        Compute the distance maps from the angle map (with `symmetry`); also
        done when neither `dist_maps` nor `dist_maps_name_base` is given.
    dist_maps_list : sequence of str
        Which distance maps must agree (``_dist_all``, ``_dist_normals``, ``_dist_inplane``).
    dist_maps_name_base : str or path-like, optional
        Read ``{base}_dist_all.em`` (or ``.mrc``) etc.; with `create_dist_maps`
        and `write_dist_maps`, where the created maps are written.
    write_dist_maps : bool
        Write the created maps to `dist_maps_name_base` (format `dist_maps_format`).
    min_peak_voxel_count, min_angles_voxel_count, template_radius, edge_masking
        See :class:`PeakSelector`.
    template_mask : MaskMap, array or path, optional
        Binary template mask (``[z, y, x]``).
    tomo_mask : MaskMap, array or path, optional
        Nonzero voxels are searched.
    output_motl_name : str or path-like, optional
        Write the particles there (format from `output_format` or the extension).
    tomo_number : int, optional
        ``tomo_id`` of the particles.
    angles_order : {'zxz', 'zzx'}
        Column order of the angle list (used for created distance maps too).
    dist_maps : DistanceMaps or mapping, optional
        Distance maps in memory (name -> map, array or path).
    index_base : {0, 1}, optional
        Angle-map value of the first angle (STOPGAP: 1). Default: the
        AngleList's own, else 0. Subtracted exactly once.
    symmetry : int or str
        C_n symmetry for created distance maps.
    threshold : str, float or ThresholdStrategy
        Score threshold; cryoCAT's triangle rule by default.
    dist_maps_format : {'em', 'mrc'}
        Format of written distance maps.
    output_format : str, optional
        Particle-list format name for `output_motl_name`.
    overwrite : bool
        Replace existing outputs.

    Returns
    -------
    PeakSelection
        ``particles, labels = select_peaks(...)`` works as in cryoCAT.

    Examples
    --------
    >>> from cryotm import make_scene
    >>> scene = make_scene(shape=(40, 40, 40), n_peaks=4, seed=2, min_distance=12)
    >>> result = select_peaks(scene.scores, scene.angle_map, scene.angles, template_radius=4)
    >>> len(result.particles) >= 4
    True
    """
    angles = resolve_angle_list(angles_file, angles_order, index_base)
    selector = PeakSelector(
        peak_number=peak_number,
        dist_maps_list=tuple(dist_maps_list) if not isinstance(dist_maps_list, str) else dist_maps_list,
        min_peak_voxel_count=min_peak_voxel_count,
        min_angles_voxel_count=min_angles_voxel_count,
        template_mask=template_mask,
        template_radius=template_radius,
        edge_masking=edge_masking,
        threshold=threshold,
        symmetry=symmetry,
    )
    if output_motl_name is not None:
        from .._atomic import check_writable

        check_writable(output_motl_name, overwrite)
    scores = ScoresMap.coerce(scores_map)
    amap = AngleMap.coerce(angles_map, mmap=True)
    scores.check_same_shape(amap, "angle map")
    given = dist_maps
    if dist_maps is not None and create_dist_maps:
        raise InputError("give either dist_maps or create_dist_maps, not both")
    if create_dist_maps or (dist_maps is None and dist_maps_name_base is None):
        if write_dist_maps:
            if dist_maps_name_base is None:
                raise InputError("write_dist_maps needs dist_maps_name_base (where to write them)")
            create_distance_maps(
                amap, angles, symmetry=selector.symmetry, output_base=dist_maps_name_base,
                format=dist_maps_format, overwrite=overwrite,
            )
        given = None
    elif dist_maps is None:
        given = _read_distance_maps(selector.dist_maps_list, dist_maps_name_base, None, scores.shape)
    result = selector.select(scores, amap, angles, dist_maps=given, tomo_mask=tomo_mask, tomo_number=tomo_number)
    if output_motl_name is not None:
        from ..formats import write_particles

        write_particles(result.particles, output_motl_name, format=output_format, overwrite=overwrite)
    return result
