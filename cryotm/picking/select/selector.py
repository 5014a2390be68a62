"""The selector: :class:`PeakSelector` (the rule's parameters and steps) and :class:`PeakSelection`."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from scipy import ndimage

from ...angles import AngleList
from ...angles.distance_maps import (
    DIST_MAP_SUFFIXES,
    DistanceMaps,
    canonical_distance_name,
    distance_tables,
    resolve_angle_list,
)
from ...angles.distances import parse_symmetry
from ...errors import CryotmWarning, InputError
from ...maps import AngleMap, MaskMap, ScoresMap
from ...particles import ParticleList
from ...thresholds import get_threshold_strategy
from ...thresholds.base import SearchStatistics, ThresholdStrategy
from ..result import particles_at
from ..shape_filter import MIN_PEAKS, few_noise_peaks, shape_outliers, shell_radius
from .agreement import ANGLE_TESTS, angular_step, min_agreeing_neighbours_for
from .footprints import sphere_footprint
from .greedy import PLACEMENTS, select_greedy
from .inputs import BinSource, apply_edge_mask, check_binary, edge_mask_margins, read_distance_maps
from .regions import consistent_region, validate_count

__all__ = ["PeakSelection", "PeakSelector", "DEFAULT_DIST_MAPS"]

#: cryoCAT's default ``dist_maps_list``.
DEFAULT_DIST_MAPS: tuple[str, ...] = tuple(DIST_MAP_SUFFIXES.values())

_FACE = ndimage.generate_binary_structure(3, 1)


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
        Voxels that passed the threshold and peak-size filters (and, with
        ``angle_test="regions"``, the distance-map filter).
    """

    particles: ParticleList
    labels: np.ndarray
    threshold: float
    n_candidates: int

    def __iter__(self):
        yield self.particles
        yield self.labels


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
    min_peak_voxel_count : int, optional
        Smallest peak region (voxels), both as a face-connected region of the
        threshold mask and inside the particle's mask around the peak.
        Default: cryoCAT's 7 with ``placement="cryocat"``, else 1 (on
        realistic searches the weakest particles just above the threshold
        hold fewer voxels; 7 lost 0.005 of the mean F1 on 72 of them).
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
        Score threshold (voxels ``>=`` it pass), any strategy by name.
        Default: ``"calibrated"`` (as every other command), or ``"triangle"``
        (cryoCAT's rule) with ``placement="cryocat"``. Every rule is computed on
        the whole scores map, as cryoCAT's triangle; ``far`` counts the
        whole map times the angle list as its search space.
    symmetry : int or str
        C_n symmetry used when the distance maps are created here.
    placement : {'maximum', 'cryocat'}
        Where a particle goes (see :mod:`cryotm.picking.select.greedy`):
        ``"maximum"`` (default) judges each peak at its score maximum and
        places the particle there, with the maximum's angle; the angular
        consistency accepts or rejects the peak but never moves it.
        ``"cryocat"`` is cryoCAT's rule (the best angle-consistent voxel
        becomes the particle), which on real maps lands off the maximum with
        a wrong angle; use it for parity with cryoCAT.
    angle_test : {'none', 'neighbours', 'footprint', 'regions'}, optional
        How ``placement="maximum"`` judges a peak's angular consistency
        (see :mod:`~cryotm.picking.select.agreement`). ``"none"`` (the
        default with ``placement="maximum"``): no angular test. On realistic
        searches the maximum's neighbours agree with its rotation as often
        at noise, gold and membrane peaks as at particles (the rotation
        map of a maximum over rotations is as smooth at either), so a test
        rejects particles and junk alike: ``"neighbours"`` lost 0.012 of
        the mean F1 on 72 realistic scenes (``benchmarks/quality.py`` and
        ``quality_holdout.py``).
        ``"neighbours"``: at least
        `min_agreeing_neighbours` of the maximum's 26 neighbours hold a
        rotation within `angle_tolerance` of the maximum's.
        ``"footprint"``: at least `min_angles_voxel_count` of the peak's
        above-threshold voxels inside the footprint do. ``"regions"``:
        cryoCAT's test - at least `min_angles_voxel_count` voxels of regions
        of equal whole-degree distance in every distance map (which needs
        several neighbouring voxels with the very same rotation and rejects
        almost every peak of a real map); the only test of
        ``placement="cryocat"`` and its default.
    angle_tolerance : float, optional
        Degrees (under the C_n `symmetry`) within which a rotation agrees
        with the maximum's, for ``"neighbours"`` and ``"footprint"``.
        Default: half the angle list's step (:func:`~cryotm.picking.select.agreement.angular_step`),
        i.e. the same rotation of the list or a symmetry copy of it.
    min_agreeing_neighbours : int, optional
        Agreeing neighbours (of 26) the ``"neighbours"`` test needs; 0
        switches the angular test off. Default: from the angle list's length
        (:func:`~cryotm.picking.select.agreement.min_agreeing_neighbours_for`:
        1 for a thousand rotations or more, more for short lists, where
        chance agreement is common).
    shape_filter : bool, optional
        Drop the selected peaks broader than the highest half's (gold beads,
        membranes; :mod:`cryotm.picking.shape_filter`), with
        ``placement="maximum"``. None (default): when the threshold rule
        declares the noise peaks it expects (``calibrated``, ``far``) and they
        are at most a quarter of the peaks, as :class:`~cryotm.picking.PeakPicker`.
    shape_tolerance : float
        Largest excess kept, in robust spreads of the reference peaks' (default 5).
    """

    peak_number: int | None = None
    dist_maps_list: tuple[str, ...] = attrs.field(default=DEFAULT_DIST_MAPS, converter=_validate_names)
    min_peak_voxel_count: int | None = None
    min_angles_voxel_count: int = 7
    template_mask: np.ndarray | None = None
    template_radius: float = 2
    edge_masking: Any = None
    threshold: str | float | ThresholdStrategy | None = None
    symmetry: int = attrs.field(default=1, converter=parse_symmetry)
    placement: str = "maximum"
    angle_test: str | None = None
    angle_tolerance: float | None = None
    min_agreeing_neighbours: int | None = None
    shape_filter: bool | None = None
    shape_tolerance: float = 5.0

    def __attrs_post_init__(self) -> None:
        if self.peak_number is not None:
            self.peak_number = validate_count(self.peak_number, "peak_number")
        if self.min_peak_voxel_count is None:  # cryoCAT's 7 with its placement; any peak region otherwise
            self.min_peak_voxel_count = 7 if self.placement == "cryocat" else 1
        self.min_peak_voxel_count = validate_count(self.min_peak_voxel_count, "min_peak_voxel_count")
        self.min_angles_voxel_count = validate_count(self.min_angles_voxel_count, "min_angles_voxel_count")
        if self.template_mask is not None:
            volume = MaskMap.coerce(self.template_mask)
            self.template_mask = check_binary(volume.data, "template mask", volume.source)
        else:
            sphere_footprint(float(self.template_radius))  # validates the radius
        if self.threshold is None:  # cryotm's default, or cryoCAT's with cryoCAT's placement
            self.threshold = "triangle" if self.placement == "cryocat" else "calibrated"
        get_threshold_strategy(self.threshold)  # an unknown name fails here, not after the work
        if self.placement not in PLACEMENTS:
            raise InputError(f"placement must be one of {', '.join(PLACEMENTS)}, got {self.placement!r}")
        if self.min_agreeing_neighbours is not None:
            self.min_agreeing_neighbours = validate_count(self.min_agreeing_neighbours, "min_agreeing_neighbours")
        if self.angle_test is None:
            if self.placement != "maximum":
                self.angle_test = "regions"
            else:  # asking for agreeing neighbours or a tolerance asks for the neighbours test
                wants = self.min_agreeing_neighbours is not None or self.angle_tolerance is not None
                self.angle_test = "neighbours" if wants else "none"
        if self.angle_test not in ANGLE_TESTS:
            raise InputError(f"angle_test must be one of {', '.join(ANGLE_TESTS)}, got {self.angle_test!r}")
        if self.angle_test in ("none", "neighbours") and self.min_angles_voxel_count != 7:
            counts = ("there is no angular test" if self.angle_test == "none" else
                      "the 'neighbours' test counts min_agreeing_neighbours (--min-agreeing-neighbours)")
            warnings.warn(
                f"min_angles_voxel_count={self.min_angles_voxel_count} has no effect: {counts}; cryoCAT's test is "
                "angle_test='regions' (--angle-test regions)",
                CryotmWarning,
                stacklevel=3,
            )
        if self.placement != "maximum" and self.angle_test != "regions":
            raise InputError(
                f"angle_test {self.angle_test!r} needs placement 'maximum' (cryoCAT's rule uses distance maps)"
            )
        if self.angle_tolerance is not None:
            value = self.angle_tolerance
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 < value <= 180:
                raise InputError(f"angle_tolerance must be a number of degrees in (0, 180], got {value!r}")
            if self.placement != "maximum":
                raise InputError("angle_tolerance needs placement 'maximum' (cryoCAT's rule uses distance maps)")
            if self.angle_test in ("regions", "none"):
                raise InputError(
                    f"angle_tolerance needs angle_test 'neighbours' or 'footprint', got angle_test {self.angle_test!r}"
                )
        if self.shape_filter and self.placement != "maximum":
            raise InputError("shape_filter needs placement 'maximum' (cryoCAT's rule has no shape filter)")
        if isinstance(self.shape_tolerance, bool) or not isinstance(self.shape_tolerance, (int, float)) or not (
            self.shape_tolerance > 0
        ):
            raise InputError(f"shape_tolerance must be a positive number, got {self.shape_tolerance!r}")
        if self.min_agreeing_neighbours is not None and self.angle_test != "neighbours":
            raise InputError(
                f"min_agreeing_neighbours needs angle_test 'neighbours', got angle_test {self.angle_test!r}"
            )

    def tolerance_for(self, angles: AngleList) -> float:
        """The angle tolerance in force: `angle_tolerance`, else half the list's step."""
        if self.angle_tolerance is not None:
            return float(self.angle_tolerance)
        return angular_step(angles, self.symmetry) / 2

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
        if callable(getattr(strategy, "with_particle_diameter", None)):  # a rule that models the suppression
            extent = max(self.template_mask.shape) if self.template_mask is not None else 2 * self.template_radius
            strategy = strategy.with_particle_diameter(float(extent))
        value = float(strategy.compute(scores, statistics=statistics))
        mask = np.asarray(scores.data) >= value
        if tomo_mask is not None:
            mask &= tomo_mask.as_bool()
        apply_edge_mask(mask, edge_mask_margins(self.edge_masking, scores.shape))
        if not mask.any():
            raise InputError(
                f"the threshold mask is empty: no voxel scores >= {value:.6g} "
                f"({strategy.name}) inside the tomogram mask and edge margins",
                scores.source,
            )
        return value, mask

    def consistent_voxels(
        self, above: np.ndarray, bins: BinSource
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
            kept = consistent_region(region, bins.bins(box, within=region), self.min_angles_voxel_count)
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
        from ..index_range import check_index_base

        check_index_base(amap, angles, scores, mask)  # the whole map, as extract: not only the picked voxels
        if self.angle_test != "regions":
            bins = None
        elif dist_maps is None:
            tables = distance_tables(angles, self.symmetry).as_dict()
            bins = BinSource(self.dist_maps_list, amap, angles, tables=tables)
        else:
            maps = read_distance_maps(self.dist_maps_list, None, dist_maps, scores.shape)
            bins = BinSource(self.dist_maps_list, amap, angles, maps=maps)

        value, above = self.threshold_mask(scores, mask, SearchStatistics(n_angles=len(angles)))
        peaks = self.peak_regions(above)
        if self.angle_test == "regions":
            candidates, consistent = self.consistent_voxels(above, bins)
        else:  # the orientations are compared peak by peak: no distance-map regions
            candidates, consistent = peaks, np.zeros(0, dtype=bool)
        del above
        zyx, rows, labels = select_greedy(
            np.asarray(scores.data), amap, angles,
            visit=peaks if self.placement == "maximum" else candidates,
            peaks=peaks, consistent=consistent, bins=bins, template_mask=self.template_mask,
            template_radius=self.template_radius, min_peak=self.min_peak_voxel_count,
            min_angles=self.min_angles_voxel_count, limit=self.peak_number, placement=self.placement,
            angle_test=self.angle_test,
            angle_tolerance=None if self.angle_test == "regions" else self.tolerance_for(angles),
            min_neighbours=(min_agreeing_neighbours_for(len(angles)) if self.min_agreeing_neighbours is None
                            else self.min_agreeing_neighbours),
            symmetry=self.symmetry,
        )
        keep = self.shape_filter_keeps(scores, zyx, mask)
        if not keep.all():  # the dropped peaks' labels go, the others are numbered again in order
            renumber = np.zeros(len(keep) + 1, dtype=labels.dtype)
            renumber[1:][keep] = np.arange(1, np.count_nonzero(keep) + 1, dtype=labels.dtype)
            labels, zyx, rows = renumber[labels], zyx[keep], rows[keep]
        particles = particles_at(
            tuple(zyx.T), angles.angles[rows], np.asarray(scores.data)[tuple(zyx.T)], scores,
            tomo_id=0 if tomo_number is None else tomo_number,
        )
        return PeakSelection(particles, labels, value, int(np.count_nonzero(candidates)))

    def shape_filter_keeps(self, scores: ScoresMap, zyx: np.ndarray, mask: MaskMap | None = None) -> np.ndarray:
        """Which selected peaks (rows of `zyx`, ``(z, y, x)``) the shape filter keeps (all when it is off)."""
        keep = np.ones(len(zyx), dtype=bool)
        on = self.shape_filter
        if on is None:  # as the picker: when the rule expects few noise peaks among those selected
            noise = getattr(get_threshold_strategy(self.threshold), "n_false_positives", None)
            on = self.placement == "maximum" and few_noise_peaks(noise, len(zyx))
        if not on or len(zyx) < MIN_PEAKS:
            return keep
        from ..tophat import background_level

        extent = max(self.template_mask.shape) if self.template_mask is not None else 2 * self.template_radius
        data, mask_data = np.asarray(scores.data), None if mask is None else np.asarray(mask.data)
        keep, _ = shape_outliers(data, tuple(zyx.T), shell_radius(extent), float(self.shape_tolerance),
                                 background_level(data, mask_data), mask_data, scores.source)
        return keep

    def peak_regions(self, above: np.ndarray) -> np.ndarray:
        """The above-threshold voxels in face-connected regions of at least `min_peak_voxel_count` voxels."""
        labels, _ = ndimage.label(above, structure=_FACE)
        sizes = np.bincount(labels.ravel())
        keep = sizes >= self.min_peak_voxel_count
        keep[0] = False
        return keep[labels]
