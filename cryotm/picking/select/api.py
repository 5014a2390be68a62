"""cryoCAT's ``select_peaks`` signature over :class:`~cryotm.picking.PeakSelector`."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...angles import AngleList
from ...angles.angle_list import AngleOrder
from ...angles.distance_maps import DistanceMaps, create_distance_maps, resolve_angle_list
from ...errors import CryotmWarning, InputError
from ...maps import AngleMap, MaskMap, ScoresMap
from ...thresholds.base import ThresholdStrategy
from .inputs import read_distance_maps
from .selector import DEFAULT_DIST_MAPS, PeakSelection, PeakSelector

__all__ = ["select_peaks"]


def select_peaks(
    scores_map: ScoresMap | np.ndarray | str | os.PathLike,
    angles_map: AngleMap | np.ndarray | str | os.PathLike,
    angles_file: AngleList | np.ndarray | str | os.PathLike,
    peak_number: int | None = None,
    create_dist_maps: bool = False,
    dist_maps_list: Sequence[str] = DEFAULT_DIST_MAPS,
    dist_maps_name_base: str | os.PathLike | None = None,
    write_dist_maps: bool = False,
    min_peak_voxel_count: int | None = None,
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
    threshold: str | float | ThresholdStrategy | None = None,
    dist_maps_format: str = "em",
    output_format: str | None = None,
    overwrite: bool = False,
    placement: str = "maximum",
    angle_test: str | None = None,
    angle_tolerance: float | None = None,
    min_agreeing_neighbours: int | None = None,
    shape_filter: bool | None = None,
    shape_tolerance: float = 5.0,
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
        Score threshold; ``"calibrated"`` by default, cryoCAT's
        ``"triangle"`` with ``placement="cryocat"``.
    dist_maps_format : {'em', 'mrc'}
        Format of written distance maps.
    output_format : str, optional
        Particle-list format name for `output_motl_name`.
    overwrite : bool
        Replace existing outputs.
    placement : {'maximum', 'cryocat'}
        ``"maximum"`` (default): each particle sits on its peak's score
        maximum with that voxel's angle; ``"cryocat"``: cryoCAT's placement
        (parity), see :class:`PeakSelector`.
    angle_test : {'none', 'neighbours', 'footprint', 'regions'}, optional
        How the angular consistency is judged: ``"none"`` (default with
        ``placement="maximum"``; ``"neighbours"`` when
        `min_agreeing_neighbours` or `angle_tolerance` is given) does not
        judge it; ``"neighbours"`` compares the maximum's rotation with its
        26 neighbours'; ``"regions"`` is cryoCAT's distance-map test (the
        only one, and the default, with ``placement="cryocat"``). See
        :class:`PeakSelector`.
    angle_tolerance : float, optional
        Degrees within which a rotation agrees with the maximum's
        (``"neighbours"``, ``"footprint"``); default half the list's step.
    min_agreeing_neighbours : int, optional
        Agreeing neighbours the ``"neighbours"`` test needs (default: from
        the angle list's length, 1 for a thousand rotations or more).
    shape_filter : bool, optional
        Drop selected peaks broader than the highest half's (gold beads,
        membranes); None (default): when the threshold rule expects few noise
        peaks among them (``calibrated``, ``far``). Not with ``placement="cryocat"``.
    shape_tolerance : float
        The shape filter's largest excess kept, in robust spreads (default 5).

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
        placement=placement,
        angle_test=angle_test,
        angle_tolerance=angle_tolerance,
        min_agreeing_neighbours=min_agreeing_neighbours,
        shape_filter=shape_filter,
        shape_tolerance=shape_tolerance,
    )
    if selector.angle_test != "regions" and (
        dist_maps is not None or (dist_maps_name_base is not None and not write_dist_maps)
    ):
        warnings.warn(
            f"distance maps are used only by angle_test='regions' (--angle-test regions); the "
            f"{selector.angle_test!r} test ignores them",
            CryotmWarning,
            stacklevel=2,
        )
        dist_maps, dist_maps_name_base = None, None
    if output_motl_name is not None:
        from ..._atomic import check_writable

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
        given = read_distance_maps(selector.dist_maps_list, dist_maps_name_base, None, scores.shape)
    result = selector.select(scores, amap, angles, dist_maps=given, tomo_mask=tomo_mask, tomo_number=tomo_number)
    if output_motl_name is not None:
        from ...formats import write_particles

        write_particles(result.particles, output_motl_name, format=output_format, overwrite=overwrite)
    return result
