"""PeakPicker: from a scores map, an angle map and an angle list to a particle list.

The extraction engine, cryotm's counterpart of cryoCAT's
``scores_extract_particles``: threshold -> candidates -> greedy suppression
-> orientations -> :class:`~cryotm.particles.ParticleList`. On the same input
and parameters it gives cryoCAT's particles (same voxels, order, scores and
angles; positions 0-based where cryoCAT writes index + 1), much faster and in
a fraction of the memory: the maps are memory-mapped, read in slabs, and the
angle map is read only at the picked voxels.

Differences from cryoCAT 0.7.1, each on purpose and pinned by a test:

- ``cluster_size`` has a meaning (see :mod:`cryotm.picking.clusters`);
  cryoCAT's can never act;
- the C_n in-plane randomisation is reproducible (``seed``) and keeps phi in
  the angle list's range;
- an angle index outside the list is an error (cryoCAT wraps negative
  indices to the end of the list or fails with an IndexError);
- nothing above the threshold gives an empty particle list (cryoCAT returns
  None), and a non-cyclic symmetry is an error (cryoCAT ignores it);
- the default threshold of :class:`PeakPicker` is the false-alarm rate
  (``far``); :func:`extract_particles` keeps cryoCAT's default (``triangle``).
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Literal

import attrs
import numpy as np

from ..angles import AngleList, parse_symmetry
from ..errors import CryotmError
from ..maps import AngleMap, MaskMap, ScoresMap
from ..particles import ParticleList
from ..thresholds import (
    ManualThreshold,
    SearchStatistics,
    SigmaThreshold,
    ThresholdResult,
    ThresholdStrategy,
    get_threshold_strategy,
)
from ._access import UncheckedScoresMap, check_finite, open_scores, raise_non_finite
from ..thresholds._moments import StreamingMoments
from .candidates import (
    SLAB_VOXELS,
    CandidateCollector,
    Candidates,
    ProgressCallback,
    cryocat_order,
    find_candidates,
)
from .clusters import region_sizes
from .suppression import greedy_suppression
from .symmetry import phi_range_start, randomise_in_plane

__all__ = ["PeakPicker", "PickResult", "extract_particles"]

MaskMode = Literal["product", "inside"]


def _positive_number(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None and attribute.name != "particle_diameter":
        return
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CryotmError(f"{attribute.name} must be a number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise CryotmError(f"{attribute.name} must be a positive number, got {value!r}")


def _count(minimum: int) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise CryotmError(f"{attribute.name} must be a whole number >= {minimum}, got {value!r}")

    return check


def _margin(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    values = np.atleast_1d(np.asarray(value))
    if values.ndim != 1 or values.size not in (1, 3) or values.dtype.kind not in "iu" or np.any(values < 0):
        raise CryotmError(f"edge_margin must be a whole number >= 0 (or three, x, y, z), got {value!r}")


def _mask_mode(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value not in ("product", "inside"):
        raise CryotmError(f"mask_mode must be 'product' or 'inside', got {value!r}")


def _order(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value not in ("zxz", "zzx"):
        raise CryotmError(f"angles_order must be 'zxz' or 'zzx', got {value!r}")


def _index_base(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and value not in (0, 1):
        raise CryotmError(f"index_base (angles_numbering) must be 0 or 1, got {value!r}")


@attrs.frozen
class _Threshold:
    """A threshold, the value candidates are compared with, and what its computation left."""

    result: ThresholdResult
    value: Any
    unchecked: bool
    candidates: Candidates | None = None


@attrs.frozen
class PickResult:
    """What a pick produced and what it saw on the way.

    Attributes
    ----------
    particles : ParticleList
        The picked particles, highest score first.
    threshold : ThresholdResult
        The threshold used (value, strategy, the strategy's details).
    n_candidates : int
        Voxels above the threshold (after the edge margin, mask and cluster-size filter).
    timings : dict
        Seconds spent per stage (``read``, ``threshold``, ``candidates``,
        ``suppression``, ``particles``). With cryoCAT's sigma threshold the
        candidates are gathered during the threshold's second pass over the
        map, so ``candidates`` is then next to nothing.
    """

    particles: ParticleList
    threshold: ThresholdResult
    n_candidates: int
    timings: dict[str, float] = attrs.field(factory=dict)

    def summary(self) -> str:
        """One line: the threshold used and the number of particles."""
        return (
            f"threshold {self.threshold.strategy} = {self.threshold.value:.6g}: "
            f"{len(self.particles)} particles from {self.n_candidates} voxels above it"
        )


@attrs.define
class PeakPicker:
    """The extraction engine: threshold, candidates, suppression, orientations.

    Parameters
    ----------
    particle_diameter : float
        In voxels. A picked peak removes every lower-or-equal candidate
        within this distance (cryoCAT uses the diameter as the suppression
        radius; set `radius` to change that).
    threshold : str, float or ThresholdStrategy
        The threshold rule: a name with an optional value (``"far"``,
        ``"far:2"``, ``"sigma:3"``, ``"triangle"``, ``"manual:0.2"``), a
        number, or a strategy object. Default ``"far"``, the false-alarm
        rate (one noise voxel expected above it in the whole search, for
        which the angle list's length is the number of rotations searched);
        cryoCAT's default is ``"triangle"``.
    scores_threshold : float, optional
        cryoCAT's direct threshold; overrides `threshold` and `sigma_threshold`.
    sigma_threshold : float, optional
        cryoCAT's ``mean + k * std`` threshold (computed exactly as cryoCAT
        does, in the map's dtype); overrides `threshold`.
    radius : float, optional
        Suppression radius in voxels (default: `particle_diameter`, as cryoCAT).
    cluster_size : int, optional
        Minimum number of above-threshold voxels in the 26-connected region
        of a candidate; smaller regions are dropped before suppression.
    n_particles : int, optional
        Keep at most this many particles (the highest scores).
    edge_margin : int or (int, int, int)
        Voxels closer than this to the border are neither picked nor
        suppress others, as pytom-match-pick's edge masking: one number for
        every axis, or three in (x, y, z) order (the order of positions and
        of :func:`~cryotm.picking.select_peaks`' `edge_masking`).
    symmetry : str or int
        Cyclic symmetry ``"c1"``, ``"c4"``, ...: each particle's phi gets a
        random multiple of ``360 / n`` (reproducible with `seed`), wrapped
        into the angle list's range.
    seed : int, optional
        Seed of the symmetry's random choice.
    angles_order : {'zxz', 'zzx'}
        Column order of an angle list given as a path or array (cryoCAT's
        ``angles_order``).
    index_base : {0, 1}, optional
        Angle-map value of the list's first row (cryoCAT's
        ``angles_numbering``); default: the AngleList's own, else 0.
    object_id : int
        Written into every particle.
    mask_mode : {'product', 'inside'}
        With a tomogram mask: ``"product"`` multiplies the scores by it
        before anything else, as cryoCAT (the threshold is computed on the
        product, zeros included); ``"inside"`` computes the threshold on the
        voxels inside the mask only and picks only there.
    slab_voxels : int
        Voxels read at a time.

    Examples
    --------
    >>> from cryotm import make_scene
    >>> scene = make_scene(shape=(40, 48, 56), n_peaks=5, n_angles=50, seed=1, min_distance=12)
    >>> picker = PeakPicker(particle_diameter=8, threshold="sigma:5")
    >>> particles = picker.pick(scene.scores, scene.angle_map, scene.angles, tomo_id=1)
    >>> len(particles) >= 5
    True
    """

    particle_diameter: float = attrs.field(validator=_positive_number)
    threshold: str | float | ThresholdStrategy = "far"
    scores_threshold: float | None = None
    sigma_threshold: float | None = None
    radius: float | None = attrs.field(default=None, validator=_positive_number)
    cluster_size: int | None = attrs.field(default=None, validator=_count(1))
    n_particles: int | None = attrs.field(default=None, validator=_count(0))
    edge_margin: int | tuple[int, int, int] = attrs.field(default=0, validator=_margin)
    symmetry: str | int = "c1"
    seed: int | None = None
    angles_order: str = attrs.field(default="zxz", validator=_order)
    index_base: int | None = attrs.field(default=None, validator=_index_base)
    object_id: int = 1
    mask_mode: MaskMode = attrs.field(default="product", validator=_mask_mode)
    slab_voxels: int = SLAB_VOXELS

    def __attrs_post_init__(self) -> None:
        parse_symmetry(self.symmetry)  # fail early on an unsupported symmetry
        for name in ("scores_threshold", "sigma_threshold"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float, np.number)) and math.isfinite(value)):
                raise CryotmError(f"{name} must be a finite number, got {value!r}")

    # -- parameters --------------------------------------------------------------------
    @property
    def suppression_radius(self) -> float:
        """The radius used for suppression (`radius`, else `particle_diameter`)."""
        return float(self.radius if self.radius is not None else self.particle_diameter)

    def strategy(self, threshold: str | float | ThresholdStrategy | None = None) -> ThresholdStrategy:
        """The threshold rule in force.

        A `threshold` given here (per call) wins; otherwise `scores_threshold`
        > `sigma_threshold` > the picker's `threshold`.
        """
        if threshold is not None:
            return get_threshold_strategy(threshold)
        if self.scores_threshold is not None:
            return ManualThreshold(float(self.scores_threshold))
        if self.sigma_threshold is not None:
            return SigmaThreshold(k=self.sigma_threshold)
        return get_threshold_strategy(self.threshold)

    # -- the work ------------------------------------------------------------------------
    def evaluate_threshold(
        self,
        scores: ScoresMap,
        angle_list: AngleList | None = None,
        mask: MaskMap | None = None,
        threshold: str | float | ThresholdStrategy | None = None,
    ) -> tuple[ThresholdResult, Any]:
        """The threshold for `scores` and the value candidates are compared with.

        The comparison value keeps the threshold's numpy type where that
        matters for identity with cryoCAT (a float32 sigma threshold is
        compared as float32).
        """
        outcome = self._evaluate(scores, angle_list, mask, threshold, verify=False)
        return outcome.result, outcome.value

    def _evaluate(
        self,
        scores: ScoresMap,
        angle_list: AngleList | None,
        mask: MaskMap | None,
        threshold: str | float | ThresholdStrategy | None,
        verify: bool,
        progress: ProgressCallback | None = None,
    ) -> _Threshold:
        """`evaluate_threshold`, checking the scores for NaN/inf on the way when `verify`.

        For cryoCAT's sigma threshold, the second pass over the map also
        collects the candidates (see :class:`CandidateCollector`).
        """
        if threshold is None and self.scores_threshold is not None:
            value = self.scores_threshold
            return _Threshold(ThresholdResult(float(value), "manual", {"value": float(value)}), value, verify)
        strategy = self.strategy(threshold)
        if callable(getattr(strategy, "with_particle_diameter", None)):  # a rule that models the suppression
            strategy = strategy.with_particle_diameter(self.suppression_radius)
        if isinstance(strategy, ManualThreshold):
            result = strategy.evaluate(scores)
            return _Threshold(result, result.value, verify)
        product = mask is not None and self.mask_mode == "product"
        if isinstance(strategy, SigmaThreshold) and (mask is None or product):
            outcome = self._sigma(scores, strategy, mask.data if product else None, verify, progress)
            if outcome is not None:
                return outcome
            # a degenerate map: let the strategy say what is wrong
        if verify:
            check_finite(scores.data, scores.source)
        statistics = SearchStatistics(n_angles=len(angle_list) if angle_list is not None else None)
        if mask is None:
            result = strategy.evaluate(scores, statistics=statistics)
        elif product:
            result = strategy.evaluate(_product_map(scores, mask, self.slab_voxels), statistics=statistics)
        else:
            result = strategy.evaluate(scores, mask=mask.as_bool(), statistics=statistics)
        return _Threshold(result, result.value, False)

    def _sigma(
        self,
        scores: ScoresMap,
        strategy: SigmaThreshold,
        factor: np.ndarray | None,
        verify: bool,
        progress: ProgressCallback | None,
    ) -> _Threshold | None:
        """cryoCAT's ``mean + k * std`` (bit for bit), and the candidates, in two passes."""
        # cryoCAT's expression: numpy scalars of the map's dtype, k a Python number
        k = strategy.k if isinstance(strategy.k, (int, float)) else float(strategy.k)
        moments = StreamingMoments(scores.data, factor)

        def inspect(values: np.ndarray, start: int, total: np.generic) -> None:
            if not np.isfinite(total):
                raise_non_finite(values, start, scores.shape, scores.source)

        report = None if progress is None else (lambda fraction: progress("threshold", fraction))
        mean, rough_std = moments.first_pass(visit=inspect if verify else None, progress=report)
        collector = None
        if moments.streaming and np.isfinite(mean) and np.isfinite(rough_std):
            # a little below mean + k * std; if the rough std was too far off after all,
            # the candidates are searched in a pass of their own
            low = float(mean) + k * rough_std - abs(k) * rough_std * 0.02 - 1e-6 * abs(float(mean))
            collector = CandidateCollector(low, scores.shape, self.edge_margin)
        std = moments.second_pass(1, visit=collector, progress=report)
        if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
            return None
        value = mean + k * std
        details = {"mean": float(mean), "std": float(std), "k": float(k), "n_voxels": int(scores.data.size)}
        candidates = collector.candidates(value) if collector is not None and collector.covers(value) else None
        return _Threshold(ThresholdResult(float(value), strategy.name, details), value, False, candidates)

    def run(
        self,
        scores_map: ScoresMap | str | os.PathLike | np.ndarray,
        angle_map: AngleMap | str | os.PathLike | np.ndarray,
        angle_list: AngleList | str | os.PathLike | np.ndarray,
        tomo_id: int = 1,
        tomo_mask: MaskMap | str | os.PathLike | np.ndarray | None = None,
        pixel_size: float | None = None,
        progress: ProgressCallback | None = None,
        threshold: str | float | ThresholdStrategy | None = None,
    ) -> PickResult:
        """Pick the particles and report the threshold, the candidates and the timings.

        Parameters
        ----------
        scores_map, angle_map : map, path or array
            Maps indexed ``[z, y, x]``; files are memory-mapped.
        angle_list : AngleList, path or array
            The search's angles (CSV path or (N, 3) array in `angles_order`).
        tomo_id : int
            Written into every particle.
        tomo_mask : map, path or array, optional
            Tomogram mask of the maps' shape (see `mask_mode`).
        pixel_size : float, optional
            Overrides the scores map's header (Å), written into the list.
        progress : callable, optional
            ``progress(stage, fraction)`` during long runs (stages
            ``threshold``, ``candidates``, ``suppression``, ``particles``).
        threshold : str, float or ThresholdStrategy, optional
            A threshold for this call only (overrides the picker's rule;
            a pipeline passes the value it has computed).

        Raises
        ------
        InputError
            Maps of different shapes, NaN in the scores or mask, an angle
            index outside the list, unreadable files.
        CryotmError
            Bad parameters (unknown threshold name, symmetry, ...).
        """
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        if isinstance(scores_map, (str, os.PathLike)):
            scores = open_scores(scores_map)  # checked for NaN/inf while it is read below
        else:
            scores = ScoresMap.coerce(scores_map, mmap=True)
        unchecked = isinstance(scores, UncheckedScoresMap)
        angles_map = AngleMap.coerce(angle_map, mmap=True)
        scores.check_same_shape(angles_map, "angle map")
        # an AngleList keeps its own index base unless the picker names one; a path or array gets 0
        angles = AngleList.coerce(angle_list, order=self.angles_order, index_base=self.index_base)
        mask = None
        if tomo_mask is not None:
            mask = MaskMap.coerce(tomo_mask, mmap=True)
            scores.check_same_shape(mask, "tomogram mask")
        order = parse_symmetry(self.symmetry)
        timings["read"] = time.perf_counter() - clock

        def report(stage: str, fraction: float) -> None:
            if progress is not None:
                progress(stage, fraction)

        clock = time.perf_counter()
        report("threshold", 0.0)
        outcome = self._evaluate(scores, angles, mask, threshold, verify=unchecked, progress=progress)
        report("threshold", 1.0)
        timings["threshold"] = time.perf_counter() - clock

        clock = time.perf_counter()
        product = mask is not None and self.mask_mode == "product"
        candidates = outcome.candidates
        if candidates is None:
            candidates = find_candidates(
                scores.data,
                outcome.value,
                factor=mask.data if product else None,
                inside=mask.data if mask is not None and not product else None,
                edge_margin=self.edge_margin,
                slab_voxels=self.slab_voxels,
                progress=progress,
                check_finite=outcome.unchecked,
                source=scores.source,
            )
        if self.cluster_size is not None and self.cluster_size > 1 and len(candidates):
            candidates = candidates.take(region_sizes(candidates) >= self.cluster_size)
        timings["candidates"] = time.perf_counter() - clock

        clock = time.perf_counter()
        rows = _suppress(candidates, self.suppression_radius, progress)
        if self.n_particles is not None:
            rows = rows[: self.n_particles]
        timings["suppression"] = time.perf_counter() - clock

        clock = time.perf_counter()
        particles = self._particles(candidates, rows, angles_map, angles, order, tomo_id, scores, pixel_size)
        report("particles", 1.0)
        timings["particles"] = time.perf_counter() - clock
        return PickResult(particles=particles, threshold=outcome.result, n_candidates=len(candidates), timings=timings)

    def pick(
        self,
        scores_map: ScoresMap | str | os.PathLike | np.ndarray,
        angle_map: AngleMap | str | os.PathLike | np.ndarray,
        angle_list: AngleList | str | os.PathLike | np.ndarray,
        tomo_id: int = 1,
        tomo_mask: MaskMap | str | os.PathLike | np.ndarray | None = None,
        pixel_size: float | None = None,
        output: str | os.PathLike | None = None,
        format: str | None = None,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
        threshold: str | float | ThresholdStrategy | None = None,
    ) -> ParticleList:
        """Pick the particles; optionally write them (see :meth:`run` for the parameters).

        Parameters
        ----------
        output : path, optional
            Write the particles there (atomically; an empty list gives a
            valid empty file).
        format : str, optional
            Writer name (``emmotl``, ``stopgap``, ``relion5``, ...); default:
            from `output`'s extension.
        overwrite : bool
            Replace an existing `output`.

        Returns
        -------
        ParticleList
            Highest score first; positions 0-based voxels (x, y, z).
        """
        if output is not None:
            from .._atomic import check_writable

            check_writable(output, overwrite)  # fail before the work, not after
        particles = self.run(
            scores_map, angle_map, angle_list, tomo_id=tomo_id, tomo_mask=tomo_mask,
            pixel_size=pixel_size, progress=progress, threshold=threshold,
        ).particles
        if output is not None:
            from ..formats import write_particles

            write_particles(particles, output, format=format, overwrite=overwrite)
        return particles

    def _particles(
        self,
        candidates: Candidates,
        rows: np.ndarray,
        angle_map: AngleMap,
        angles: AngleList,
        symmetry_order: int,
        tomo_id: int,
        scores: ScoresMap,
        pixel_size: float | None,
    ) -> ParticleList:
        z, y, x = candidates.z[rows], candidates.y[rows], candidates.x[rows]
        values = angle_map.indices_at(z, y, x)
        euler = angles.angles[angles.rows_for(values, source=angle_map.source)]
        if symmetry_order > 1:
            rng = np.random.default_rng(self.seed)
            euler = euler.copy()
            euler[:, 0] = randomise_in_plane(euler[:, 0], symmetry_order, rng, phi_range_start(angles.angles[:, 0]))
        return particles_at(
            (z, y, x), euler, candidates.scores[rows], scores,
            tomo_id=tomo_id, object_id=self.object_id, pixel_size=pixel_size,
        )


def particles_at(
    zyx: tuple[np.ndarray, np.ndarray, np.ndarray],
    orientations: np.ndarray,
    values: np.ndarray,
    scores: ScoresMap,
    tomo_id: int,
    object_id: int = 1,
    pixel_size: float | None = None,
) -> ParticleList:
    """Particles at voxels of `scores`' map, in the given order, carrying the map's metadata.

    The one place where picked voxels become a particle list (used by
    :class:`PeakPicker` and :class:`~cryotm.picking.select.PeakSelector`).

    Parameters
    ----------
    zyx : tuple of ndarray
        The voxels' indices ``(z, y, x)``; positions become 0-based (x, y, z).
    orientations : ndarray, shape (N, 3)
        phi, theta, psi (extrinsic zxz, degrees) per voxel.
    values : ndarray
        The score per voxel.
    scores : ScoresMap
        The map the voxels lie in: pixel size, experiment id and tomogram shape.
    tomo_id, object_id : int
        Written into every particle.
    pixel_size : float, optional
        Overrides the map's pixel size.

    Examples
    --------
    >>> scores = ScoresMap.from_array(np.zeros((4, 5, 6), np.float32))
    >>> p = particles_at((np.array([1]), np.array([2]), np.array([3])), np.zeros((1, 3)), np.ones(1), scores, 7)
    >>> p.positions.tolist(), p.tomogram_shape
    ([[3.0, 2.0, 1.0]], (4, 5, 6))
    """
    z, y, x = zyx
    return ParticleList.from_arrays(
        np.column_stack([x, y, z]),
        orientations=orientations,
        scores=values,
        tomo_id=int(tomo_id),
        object_id=int(object_id),
        pixel_size=pixel_size if pixel_size is not None else scores.pixel_size,
        experiment_id=scores.experiment_id,
        tomogram_shape=tuple(int(s) for s in scores.shape),
    )


def _suppress(candidates: Candidates, radius: float, progress: ProgressCallback | None) -> np.ndarray:
    """Rows of `candidates` kept by cryoCAT's suppression, highest score first."""
    order = cryocat_order(candidates)
    positions = np.column_stack([candidates.x[order], candidates.y[order], candidates.z[order]])
    return order[greedy_suppression(positions, radius, progress=progress)]


def _product_map(scores: ScoresMap, mask: MaskMap, slab_voxels: int) -> ScoresMap:
    """``scores * mask`` as a new map (for threshold rules that need the whole product)."""
    data = scores.data
    dtype = np.result_type(data.dtype, mask.data.dtype)
    product = np.empty(data.shape, dtype=dtype)
    step = max(1, slab_voxels // max(1, data.shape[1] * data.shape[2]))
    for z0 in range(0, data.shape[0], step):
        np.multiply(data[z0 : z0 + step], mask.data[z0 : z0 + step], out=product[z0 : z0 + step])
    return ScoresMap(product, pixel_size=scores.pixel_size, experiment_id=scores.experiment_id, source=scores.source)


def extract_particles(
    scores_map: ScoresMap | str | os.PathLike | np.ndarray,
    angles_map: AngleMap | str | os.PathLike | np.ndarray,
    angles_list: AngleList | str | os.PathLike | np.ndarray,
    tomo_id: int,
    particle_diameter: float,
    object_id: int | None = None,
    scores_threshold: float | None = None,
    sigma_threshold: float | None = None,
    cluster_size: int | None = None,
    n_particles: int | None = None,
    output_path: str | os.PathLike | None = None,
    output_type: str | None = "emmotl",
    angles_order: str = "zxz",
    symmetry: str | int = "c1",
    angles_numbering: int = 0,
    tomo_mask: MaskMap | str | os.PathLike | np.ndarray | None = None,
    *,
    threshold: str | float | ThresholdStrategy = "triangle",
    radius: float | None = None,
    edge_margin: int | tuple[int, int, int] = 0,
    seed: int | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> ParticleList:
    """cryoCAT's ``scores_extract_particles``, with the same parameters and meaning.

    For users coming from cryoCAT: the call is the same, the particles are
    the same (0-based positions, where cryoCAT's motive list holds index + 1;
    writers add the offset their format needs). Arrays are indexed
    ``[z, y, x]`` as mrcfile returns them (cryoCAT transposes maps it reads
    from files to ``[x, y, z]``). Without `scores_threshold` and
    `sigma_threshold` the threshold is cryoCAT's triangle rule; `threshold`
    chooses another rule by name. See :class:`PeakPicker` for the parameters
    added by cryotm (`radius`, `edge_margin`, `seed`) and the differences.

    Parameters
    ----------
    output_path : path, optional
        Write the particles there; `output_type` names the format (cryoCAT's
        ``"emmotl"``, ``"stopgap"``, ``"relion"`` (RELION 3.1) or any cryotm
        format name; None: from the extension).

    Returns
    -------
    ParticleList
        Empty (not None) when nothing is above the threshold.

    Examples
    --------
    >>> from cryotm import make_scene
    >>> scene = make_scene(shape=(40, 48, 56), n_peaks=5, n_angles=50, seed=1, min_distance=12)
    >>> particles = extract_particles(scene.scores, scene.angle_map, scene.angles.angles, 1, 8, sigma_threshold=5)
    >>> int(particles.data["subtomo_id"].iloc[0]), int(particles.data["tomo_id"].iloc[0])
    (1, 1)
    """
    picker = PeakPicker(
        particle_diameter=particle_diameter,
        threshold=threshold,
        scores_threshold=scores_threshold,
        sigma_threshold=sigma_threshold,
        radius=radius,
        cluster_size=cluster_size,
        n_particles=n_particles,
        edge_margin=edge_margin,
        symmetry=symmetry,
        seed=seed,
        angles_order=angles_order,
        index_base=angles_numbering,
        object_id=1 if object_id is None else object_id,
    )
    fmt = {"relion": "relion31"}.get(output_type, output_type) if output_type is not None else None
    return picker.pick(
        scores_map, angles_map, angles_list, tomo_id=tomo_id, tomo_mask=tomo_mask,
        output=output_path, format=fmt, overwrite=overwrite, progress=progress,
    )
