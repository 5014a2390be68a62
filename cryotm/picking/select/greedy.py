"""The selection's last step: peaks in score order become particles where their footprints fit.

Two placements, chosen by :class:`~cryotm.picking.PeakSelector`'s ``placement``:

``"maximum"`` (the default)
    Every peak is judged at its maximum. The voxels of the peak regions are
    visited highest score first; a voxel whose footprint would overlap the
    footprint of a peak already judged belongs to that peak and is skipped.
    Otherwise the voxel is a peak's maximum: the peak is accepted if its
    footprint holds a peak region of at least ``min_peak_voxel_count``
    voxels (26-connected, through the maximum) and at least
    angle-consistent voxels by the selector's angular test (see
    :mod:`~cryotm.picking.select.agreement`; ``"regions"``: at least
    ``min_angles_voxel_count`` voxels of cryoCAT's consistent regions in the
    footprint); accepted or not, it claims its footprint. An accepted particle sits on the maximum and takes
    the maximum's angle. The angle-consistency test accepts or rejects a
    peak; it never moves it.
``"cryocat"``
    cryoCAT's ``select_peaks``: only angle-consistent voxels are visited, and
    the first one (by score) whose own consistent region is large enough
    becomes the particle. On real template-matching maps the maximum's
    neighbourhood holds other angle indices (a wrong rotation one to four
    voxels off scores almost as high), so this places particles off the
    maximum, at a voxel whose angle is often wrong; kept for parity with
    cryoCAT.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...angles import AngleList
from ...angles.distance_maps import angle_rows
from ...maps import AngleMap
from .agreement import FootprintAgreement, NeighbourAgreement
from .footprints import Footprint, block, component_size, reach, rotate_template_mask, sphere_footprint
from .inputs import BinSource

__all__ = ["PLACEMENTS", "footprints_for", "select_greedy"]

#: The placements :func:`select_greedy` knows.
PLACEMENTS: tuple[str, ...] = ("maximum", "cryocat")


def footprints_for(template_mask: np.ndarray, angles: AngleList) -> Callable[[int], Footprint]:
    """The footprint of a particle at an angle-list row (rotated template masks, cached)."""
    cache: dict[int, Footprint] = {}
    centre = np.array(template_mask.shape) // 2

    def footprint(row: int) -> Footprint:
        if row not in cache:
            matrix = angles.rotations([row]).as_matrix()[0]
            cache[row] = Footprint.cropped(rotate_template_mask(template_mask, matrix), centre)
        return cache[row]

    return footprint


def select_greedy(
    scores: np.ndarray,
    amap: AngleMap,
    angles: AngleList,
    visit: np.ndarray,
    peaks: np.ndarray,
    consistent: np.ndarray,
    bins: BinSource,
    template_mask: np.ndarray | None,
    template_radius: float,
    min_peak: int,
    min_angles: int,
    limit: int | None,
    placement: str = "maximum",
    angle_test: str = "regions",
    angle_tolerance: float | None = None,
    min_neighbours: int = 0,
    symmetry: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accept peaks in score order; return (voxels (N, 3) z, y, x; angle rows; labels map).

    Parameters
    ----------
    scores : ndarray
        The scores map.
    amap, angles
        Angle map and list (a voxel's orientation).
    visit : ndarray of bool
        The voxels visited, highest score first (``"maximum"``: the peak
        regions; ``"cryocat"``: the consistent voxels of the peak regions).
    peaks : ndarray of bool
        Above-threshold voxels in peak regions large enough.
    consistent : ndarray of bool
        The angle-consistent voxels.
    bins : BinSource
        Whole-degree distance bins (``"cryocat"``: the centre's own region).
    template_mask : ndarray, optional
        Rotated to each particle; else a sphere of `template_radius`.
    min_peak, min_angles : int
        Smallest peak region and angle-consistent region, in voxels.
    limit : int, optional
        At most this many particles.
    placement : {'maximum', 'cryocat'}
        See the module notes.
    angle_test : {'regions', 'neighbours', 'footprint'}
        ``"maximum"`` only: ``"regions"`` counts the voxels of `consistent`
        in the footprint (at least `min_angles`); ``"neighbours"`` counts
        the maximum's 26 neighbours whose rotation lies within
        `angle_tolerance` degrees of the maximum's (at least
        `min_neighbours`); ``"footprint"`` counts the peak voxels in the
        footprint within `angle_tolerance` (at least `min_angles`).
    angle_tolerance : float, optional
        Degrees, under C_n `symmetry` (``"neighbours"``, ``"footprint"``).
    min_neighbours : int
        Agreeing neighbours needed by ``"neighbours"`` (0: no angular test).
    """
    shape = scores.shape
    zyx = np.argwhere(visit)
    values = np.asarray(scores)[tuple(zyx.T)]
    order = np.argsort(-values, kind="stable")  # highest first; ties in z, y, x order
    zyx = zyx[order]
    rows = angle_rows(np.asarray(amap.data[tuple(zyx.T)]), angles, amap.source)
    limit = len(zyx) if limit is None else limit
    labels = np.zeros(shape, dtype=np.int32)
    maximum = placement == "maximum"
    if template_mask is None:
        # one footprint for all (the sphere): 'blocked' marks every voxel whose footprint
        # would overlap a claimed one, so the overlap test becomes one lookup
        ball = sphere_footprint(float(template_radius))
        sphere = Footprint(ball, (ball.shape[0] // 2,) * 3)
        footprint_of: Callable[[int], Footprint] = lambda row: sphere  # noqa: E731
        blocked, overlap = np.zeros(shape, dtype=bool), reach(ball)
    else:
        ball, overlap = None, None
        footprint_of = footprints_for(template_mask, angles)
        blocked = np.zeros(shape, dtype=bool) if maximum else labels
    footprint_test = neighbour_test = None
    if maximum and angle_test == "footprint":
        footprint_test = FootprintAgreement(amap, angles, float(angle_tolerance), symmetry)
    elif maximum and angle_test == "neighbours" and min_neighbours > 0:
        neighbour_test = NeighbourAgreement(amap, angles, float(angle_tolerance), symmetry)
    chosen: list[int] = []
    for i, voxel in enumerate(map(tuple, zyx.tolist())):
        if len(chosen) >= limit:
            break
        if blocked[voxel]:
            continue
        fp = footprint_of(int(rows[i]))
        win, cut, centre = fp.window(voxel, shape)
        inside = fp.mask[cut]
        if ball is None and np.any(blocked[win][inside]):
            continue
        if maximum:
            accepted = component_size(peaks[win] & inside, centre, min_peak) >= min_peak
            if accepted and footprint_test is not None:
                accepted = footprint_test.count(win, peaks[win] & inside, centre, int(rows[i])) >= min_angles
            elif accepted and neighbour_test is not None:
                accepted = neighbour_test.count(voxel, int(rows[i])) >= min_neighbours
            elif accepted and angle_test == "regions":
                accepted = np.count_nonzero(consistent[win] & inside) >= min_angles
            _claim(blocked, voxel, win, inside, ball, overlap)
        else:
            accepted = _cryocat_accepts(win, inside, centre, peaks, consistent, bins, min_peak, min_angles)
            if accepted and ball is not None:
                _claim(blocked, voxel, win, inside, ball, overlap)
        if accepted:
            chosen.append(i)
            labels[win][inside] = len(chosen)
    chosen_idx = np.asarray(chosen, dtype=np.int64)
    return zyx[chosen_idx], rows[chosen_idx], labels


def _claim(
    blocked: np.ndarray, voxel: tuple[int, ...], win: tuple[slice, ...], inside: np.ndarray,
    ball: np.ndarray | None, overlap: np.ndarray | None,
) -> None:
    """Mark a judged peak's footprint (sphere: every voxel whose footprint would touch it)."""
    if ball is None:
        blocked[win][inside] = True
    else:
        block(blocked, voxel, win, inside, ball, overlap)


def _cryocat_accepts(
    win: tuple[slice, ...], inside: np.ndarray, centre: tuple[int, int, int], peaks: np.ndarray,
    consistent: np.ndarray, bins: BinSource, min_peak: int, min_angles: int,
) -> bool:
    """cryoCAT's test of a consistent voxel: enough peak voxels and its own consistent region in every map."""
    # cryoCAT counts the candidate voxels (peak regions that are also consistent) around the centre
    if component_size(peaks[win] & consistent[win] & inside, centre, min_peak) < min_peak:
        return False
    region = consistent[win] & inside
    if not region[centre]:
        return False
    return all(
        component_size(region & (b == b[centre]), centre, min_angles) >= min_angles for b in bins.bins(win)
    )
