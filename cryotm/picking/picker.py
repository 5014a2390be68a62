"""PeakPicker: from a scores map, an angle map and an angle list to a particle list.

The extraction engine, cryotm's counterpart of cryoCAT's
``scores_extract_particles``, as a sequence of public steps that a subclass
can override one at a time (:meth:`PeakPicker.run` calls them in order):

1. :meth:`~PeakPicker.evaluate_threshold`: the threshold rule (a rule that
   declares a capability is computed in the pass that reads the map anyway,
   see :mod:`cryotm.picking.thresholding`);
2. :meth:`~PeakPicker.find_candidates`: the voxels above it (NaN/inf
   checked, the edge margin and mask applied, their number bounded;
   :mod:`cryotm.picking.candidates`);
3. :meth:`~PeakPicker.filter_candidates`: cluster size and pytom-match-pick's
   tophat filter (``tophat_mode="pytom"``; :mod:`cryotm.picking.peak_filters`);
4. :meth:`~PeakPicker.suppress`: non-maximum suppression (rows kept, highest
   first; cryoCAT's greedy suppression by default), then
   :meth:`~PeakPicker.filter_peaks`: the tophat, shape and side-peak filters;
5. :meth:`~PeakPicker.orient`: the kept voxels become particles: angle-map
   orientations, C_n symmetry, sub-voxel shifts
   (:func:`~cryotm.picking.result.oriented_particles`).

With ``shape_filter=False`` (cryoCAT has none) and the same input and parameters it gives cryoCAT's
particles (same voxels, order, scores and angles; positions 0-based where cryoCAT writes index + 1),
much faster and in less memory: the maps are memory-mapped and read in slabs.

Differences from cryoCAT 0.7.1 (on purpose, each pinned by a test) are on the docs' cryoCAT
page; the default threshold is ``calibrated`` (:func:`~cryotm.picking.extract_particles`: ``triangle``).
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
from ..thresholds import ManualThreshold, SearchStatistics, SigmaThreshold, ThresholdResult, ThresholdStrategy
from ..thresholds import get_threshold_strategy
from . import _validators as check
from . import peak_filters
from .candidates import SLAB_VOXELS, Candidates, ProgressCallback, candidates_above, cryocat_order
from .candidates import default_candidate_limit
from .inputs import PickInputs, checked_rows, open_inputs
from .result import PickResult, oriented_particles, particles_at
from .suppression import greedy_suppression
from .thresholding import ThresholdOutcome, threshold_for_pick
from .tophat import TOPHAT_MODES

__all__ = ["PeakPicker", "PickResult", "particles_at"]

MaskMode = Literal["product", "inside"]


@attrs.define
class PeakPicker:
    """The extraction engine: threshold, candidates, filters, suppression, orientations.

    Parameters
    ----------
    particle_diameter : float
        In voxels. A picked peak removes every lower-or-equal candidate
        within this distance (cryoCAT uses the diameter as the suppression
        radius; set `radius` to change that).
    threshold : str, float or ThresholdStrategy
        The threshold rule: a name with an optional value (``"calibrated"``,
        ``"calibrated:10"``, ``"far:2"``, ``"sigma:3"``, ``"triangle"``,
        ``"manual:0.2"``), a number, or a strategy object. Default
        ``"calibrated"``: the cut-off above which one noise peak per
        tomogram is expected, from a tail model fitted to the map's own
        local maxima (the same default as ``cryotm extract``, ``batch`` and
        :class:`~cryotm.pipeline.Pipeline`); cryoCAT's default is
        ``"triangle"``.
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
        ``angles_numbering``); default: the AngleList's own, else 0. A base
        the angle map contradicts (index 0 with base 1, the list's length
        with base 0) is refused.
    object_id : int
        Written into every particle.
    mask_mode : {'product', 'inside'}
        With a tomogram mask: ``"product"`` multiplies the scores by it
        before anything else, as cryoCAT (the threshold is computed on the
        product, zeros included); ``"inside"`` computes the threshold on the
        voxels inside the mask only and picks only there.
    tophat : bool
        Drop candidates on peaks broader than a particle's (the tophat
        filter, see :mod:`cryotm.picking.tophat`): the broad maxima of gold
        beads, membranes and carbon edges.
    tophat_mode : {'particle', 'pytom'}
        ``"particle"`` (default): tophat under a ball of radius
        ``particle_diameter / 4``; a candidate is kept if its tophat value is
        at least `tophat_fraction` of its height above the map's median.
        ``"pytom"``: pytom-match-pick's ``--tophat-filter`` (a 3 x 3 x 3
        element, a cut-off fitted to the tophat histogram), which also drops
        particles whose own peak is broader than a voxel or two.
    tophat_fraction : float
        ``"particle"``: smallest tophat value, as a fraction of the
        candidate's height above the median, kept (default 0.35).
    tophat_false_positives : float
        ``"pytom"``: background voxels expected above the cut-off (default 1).
    tophat_connectivity : {1, 2, 3}
        ``"pytom"``: structuring element of the transform (1: face neighbours).
    tophat_bins : int
        ``"pytom"``: bins of the tophat histogram the cut-off is fitted to (default 50).
    side_peaks : bool
        Drop side lobes of the correlation (see
        :mod:`cryotm.picking.sidepeaks`): a peak within
        `side_peak_distance` particle diameters of a stronger kept peak
        whose score is below `side_peak_fraction` of that peak's. Applied
        after suppression and the tophat filter.
    side_peak_distance : float
        In particle diameters (default 2).
    side_peak_fraction : float
        Largest score ratio of a side lobe to its main peak (default 0.5).
    shape_filter : bool, optional
        Drop peaks broader than the highest half's (gold beads, membranes;
        :mod:`cryotm.picking.shape_filter`). None (default): when the rule
        expects at most a quarter of the peaks to be noise (``calibrated``,
        ``far``), so that the highest half is particles.
    shape_tolerance : float
        Largest excess kept, in robust spreads of the reference peaks' (default 5).
    subvoxel : {'gaussian', 'quadratic'}, optional
        Refine each particle's position by a local fit of the scores around
        its voxel (see :mod:`cryotm.picking.subvoxel`) and write the fraction
        as its shift. Default: no refinement (shift 0).
    max_candidates : int, optional
        Refuse a threshold that keeps more voxels than this (default: as many
        as half the available memory holds).
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

    particle_diameter: float = attrs.field(validator=check.positive_number)
    threshold: str | float | ThresholdStrategy = "calibrated"
    scores_threshold: float | None = None
    sigma_threshold: float | None = None
    radius: float | None = attrs.field(default=None, validator=check.positive_number)
    cluster_size: int | None = attrs.field(default=None, validator=check.count(1))
    n_particles: int | None = attrs.field(default=None, validator=check.count(0))
    edge_margin: int | tuple[int, int, int] = attrs.field(default=0, validator=check.margin)
    symmetry: str | int = "c1"
    seed: int | None = None
    angles_order: str = attrs.field(default="zxz", validator=check.angles_order)
    index_base: int | None = attrs.field(default=None, validator=check.index_base)
    object_id: int = 1
    mask_mode: MaskMode = attrs.field(default="product", validator=check.mask_mode)
    tophat: bool = False
    tophat_mode: str = attrs.field(default="particle", validator=check.one_of(*TOPHAT_MODES))
    tophat_fraction: float = attrs.field(default=0.35, validator=check.positive_number)
    tophat_false_positives: float = attrs.field(default=1.0, validator=check.positive_number)
    tophat_connectivity: int = attrs.field(default=1, validator=check.tophat_connectivity)
    tophat_bins: int = attrs.field(default=50, validator=check.count(8))
    side_peaks: bool = False
    side_peak_distance: float = attrs.field(default=2.0, validator=check.positive_number)
    side_peak_fraction: float = attrs.field(default=0.5, validator=check.positive_number)
    shape_filter: bool | None = None
    shape_tolerance: float = attrs.field(default=5.0, validator=check.positive_number)
    subvoxel: str | None = attrs.field(default=None, validator=check.subvoxel)
    max_candidates: int | None = attrs.field(default=None, validator=check.count(1))
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

    def candidate_limit(self) -> int | None:
        """The most candidates a pick may collect (`max_candidates`, else what half the memory holds)."""
        return self.max_candidates if self.max_candidates is not None else default_candidate_limit()

    # -- the steps -----------------------------------------------------------------------
    def evaluate_threshold(
        self,
        scores: ScoresMap,
        angle_list: AngleList | None = None,
        mask: MaskMap | None = None,
        threshold: str | float | ThresholdStrategy | None = None,
        statistics: SearchStatistics | None = None,
    ) -> tuple[ThresholdResult, Any]:
        """Step 1: the threshold for `scores` and the value candidates are compared with.

        The comparison value keeps the threshold's numpy type where that
        matters for identity with cryoCAT (a float32 sigma threshold is
        compared as float32). `statistics` are what the search knew; the
        number of rotations defaults to `angle_list`'s length.
        """
        outcome = threshold_for_pick(self, scores, angle_list, mask, threshold, statistics, verify=False)
        return outcome.result, outcome.value

    def find_candidates(
        self,
        scores: ScoresMap,
        outcome: ThresholdOutcome,
        mask: MaskMap | None = None,
        progress: ProgressCallback | None = None,
    ) -> Candidates:
        """Step 2: the voxels strictly above the threshold (edge margin and mask applied).

        Uses the candidates the threshold's own pass collected, if any. The
        scores are checked for NaN/inf on the way when they have not been.
        Refuses (:class:`~cryotm.errors.CryotmError`) a threshold that would
        keep more than :meth:`candidate_limit` voxels, estimated from a few
        planes before anything is collected.
        """
        found = outcome.candidates if outcome.candidates is not None else candidates_above(
            scores, outcome.value, mask, self.mask_mode, edge_margin=self.edge_margin, slab_voxels=self.slab_voxels,
            limit=self.candidate_limit(), check_finite=outcome.unchecked, progress=progress,
        )
        details = outcome.result.details if isinstance(outcome.result.details, dict) else {}
        return attrs.evolve(found, expected_noise=details.get("n_false_positives"))

    def filter_candidates(
        self, candidates: Candidates, scores: ScoresMap, mask: MaskMap | None = None
    ) -> tuple[Candidates, dict[str, dict[str, Any]]]:
        """Step 3: drop candidates in small clusters (`cluster_size`) and on broad peaks (`tophat`, pytom mode).

        See :mod:`cryotm.picking.peak_filters`.

        Returns
        -------
        candidates : Candidates
            The candidates kept.
        report : dict
            Per filter in use, what it did (``dropped`` and its parameters).
        """
        return peak_filters.filter_candidates(self, candidates, scores, mask)

    def filter_peaks(
        self, candidates: Candidates, rows: np.ndarray, scores: ScoresMap, mask: MaskMap | None = None
    ) -> tuple[np.ndarray, dict[str, dict[str, Any]]]:
        """Step 4b: the `tophat`, `shape_filter` and `side_peaks` filters, on each peak at its maximum.

        After suppression, so a broad peak that is dropped takes its flanks
        with it. See :mod:`cryotm.picking.peak_filters`.

        Returns
        -------
        rows : ndarray
            The rows of `candidates` kept, in the order given.
        report : dict
            ``{"tophat": {...}, "peak_shape": {...}, "side_peaks": {...}}`` for the filters that ran.
        """
        return peak_filters.filter_peaks(self, candidates, rows, scores, mask)

    def suppress(self, candidates: Candidates, progress: ProgressCallback | None = None) -> np.ndarray:
        """Step 4: the rows of `candidates` kept by non-maximum suppression, highest score first.

        cryoCAT's greedy suppression: a candidate is kept when no kept
        candidate before it (in cryoCAT's order, :func:`~cryotm.picking.cryocat_order`)
        lies within :attr:`suppression_radius`. Override this method for
        another suppression; :meth:`run` checks what it returns (whole
        numbers, rows of `candidates`, each once) and keeps every other step
        (NaN checks, cluster size, tophat, `n_particles`, symmetry, shifts).

        Returns
        -------
        ndarray of int
            Row numbers of `candidates`, in the order the particles are listed.
        """
        order = cryocat_order(candidates)
        positions = np.column_stack([candidates.x[order], candidates.y[order], candidates.z[order]])
        return order[greedy_suppression(positions, self.suppression_radius, progress=progress)]

    def orient(
        self,
        candidates: Candidates,
        rows: np.ndarray,
        angle_map: AngleMap,
        angles: AngleList,
        scores: ScoresMap,
        tomo_id: int = 1,
        pixel_size: float | None = None,
    ) -> ParticleList:
        """Step 5: the kept candidates as particles (orientation, symmetry, sub-voxel shift).

        Each particle takes the angle-list row its voxel's angle-map value
        points to; with a C_n `symmetry` phi turns by a random multiple of
        ``360 / n``; with `subvoxel` the shift is the local fit's fraction.
        """
        return oriented_particles(
            candidates, rows, angle_map, angles, scores, symmetry=self.symmetry, seed=self.seed,
            subvoxel=self.subvoxel, tomo_id=tomo_id, object_id=self.object_id, pixel_size=pixel_size,
        )

    # -- the work ------------------------------------------------------------------------
    def read_inputs(
        self,
        scores_map: ScoresMap | str | os.PathLike | np.ndarray,
        angle_map: AngleMap | str | os.PathLike | np.ndarray,
        angle_list: AngleList | str | os.PathLike | np.ndarray,
        tomo_mask: MaskMap | str | os.PathLike | np.ndarray | None = None,
    ) -> PickInputs:
        """Open the maps (memory-mapped), read the angle list, check shapes and the index base."""
        return open_inputs(
            scores_map, angle_map, angle_list, tomo_mask, self.angles_order, self.index_base, self.slab_voxels
        )

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
        statistics: SearchStatistics | None = None,
    ) -> PickResult:
        """Pick the particles and report the threshold, the candidates, the filters and the timings.

        The one code path of ``cryotm extract``, ``batch`` and
        :class:`~cryotm.pipeline.Pipeline`: the steps in order (see the module notes).

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
            A threshold for this call only (overrides the picker's rule; a
            pipeline passes its own strategy).
        statistics : SearchStatistics, optional
            What the search knew, handed to the threshold rule (the number of
            rotations defaults to the angle list's length).

        Raises
        ------
        InputError
            Maps of different shapes, NaN in the scores or mask, an angle
            index outside the list or an index base the map contradicts,
            unreadable files.
        CryotmError
            Bad parameters (unknown threshold name, symmetry, a threshold
            that would keep more candidates than the memory holds, a
            suppression override returning something other than rows).
        """
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        inputs = self.read_inputs(scores_map, angle_map, angle_list, tomo_mask)
        scores, mask = inputs.scores, inputs.mask
        timings["read"] = time.perf_counter() - clock

        def report(stage: str, fraction: float) -> None:
            if progress is not None:
                progress(stage, fraction)

        clock = time.perf_counter()
        report("threshold", 0.0)
        try:
            outcome = threshold_for_pick(self, scores, inputs.angles, mask, threshold, statistics,
                                         inputs.unchecked, progress)
        finally:
            inputs.wait()  # the angle map's check, run meanwhile: its error first, as it was found first
        report("threshold", 1.0)
        timings["threshold"] = time.perf_counter() - clock

        clock = time.perf_counter()
        candidates = self.find_candidates(scores, outcome, mask, progress)
        candidates, filters = self.filter_candidates(candidates, scores, mask)
        timings["candidates"] = time.perf_counter() - clock

        clock = time.perf_counter()
        rows = checked_rows(self.suppress(candidates, progress), len(candidates), type(self).__name__)
        rows, peak_reports = self.filter_peaks(candidates, rows, scores, mask)
        filters.update(peak_reports)
        if self.n_particles is not None:
            rows = rows[: self.n_particles]
        timings["suppression"] = time.perf_counter() - clock

        clock = time.perf_counter()
        particles = self.orient(candidates, rows, inputs.angle_map, inputs.angles, scores, tomo_id, pixel_size)
        report("particles", 1.0)
        timings["particles"] = time.perf_counter() - clock
        return PickResult(
            particles=particles, threshold=outcome.result, n_candidates=len(candidates), timings=timings,
            filters=filters,
        )

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
        statistics: SearchStatistics | None = None,
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
            pixel_size=pixel_size, progress=progress, threshold=threshold, statistics=statistics,
        ).particles
        if output is not None:
            from ..formats import write_particles

            write_particles(particles, output, format=format, overwrite=overwrite)
        return particles

