"""What a pick produces: :class:`PickResult`, and :func:`particles_at`, where voxels become particles."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from ..angles import AngleList, parse_symmetry
from ..maps import AngleMap, ScoresMap
from ..particles import ParticleList
from ..thresholds import ThresholdResult
from .candidates import Candidates
from .subvoxel import refine_peaks
from .symmetry import phi_range_start, randomise_in_plane

__all__ = ["PickResult", "particles_at", "oriented_particles"]


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
        Voxels above the threshold (after the edge margin, mask and the
        candidate filters: cluster size, tophat).
    timings : dict
        Seconds spent per stage (``read``, ``threshold``, ``candidates``,
        ``suppression``, ``particles``). When the threshold rule declares
        the moments capability (cryoCAT's sigma threshold) the candidates are
        gathered during the threshold's second pass over the map, so
        ``candidates`` is then next to nothing.
    filters : dict
        What each filter did: ``{"cluster_size": {"dropped": n}, "tophat":
        {"dropped": n, "value": cut-off, ...}, "peak_shape": {...}}`` for the filters in use.
    """

    particles: ParticleList
    threshold: ThresholdResult
    n_candidates: int
    timings: dict[str, float] = attrs.field(factory=dict)
    filters: dict[str, dict[str, Any]] = attrs.field(factory=dict)

    def summary(self) -> str:
        """One line: the threshold used, the number of particles and what the filters dropped."""
        dropped = "".join(
            f", {name.replace('_', ' ')} dropped {info['dropped']}"
            for name, info in self.filters.items() if "dropped" in info
        )
        details = self.threshold.details if isinstance(self.threshold.details, dict) else {}
        raised = ""
        if details.get("gap") is not None:  # calibrated's trail step
            n = details["n_trail"]
            raised = (f" (raised from the noise cut-off {details['noise_cutoff']:.6g} into a gap below the "
                      f"particles: about {n} candidate{'' if n == 1 else 's'} below it dropped)")
        return (
            f"threshold {self.threshold.strategy} = {self.threshold.value:.6g}{raised}: "
            f"{len(self.particles)} particles from {self.n_candidates} voxels above it{dropped}"
        )


def particles_at(
    zyx: tuple[np.ndarray, np.ndarray, np.ndarray],
    orientations: np.ndarray,
    values: np.ndarray,
    scores: ScoresMap,
    tomo_id: int,
    object_id: int = 1,
    pixel_size: float | None = None,
    shifts: np.ndarray | None = None,
) -> ParticleList:
    """Particles at voxels of `scores`' map, in the given order, carrying the map's metadata.

    The one place where picked voxels become a particle list (used by
    :class:`~cryotm.picking.PeakPicker` and :class:`~cryotm.picking.PeakSelector`).

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
    shifts : ndarray, shape (N, 3), optional
        Sub-voxel shifts (x, y, z) in voxels.

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
        shifts=shifts,
        tomo_id=int(tomo_id),
        object_id=int(object_id),
        pixel_size=pixel_size if pixel_size is not None else scores.pixel_size,
        experiment_id=scores.experiment_id,
        tomogram_shape=tuple(int(s) for s in scores.shape),
    )


def oriented_particles(
    candidates: Candidates,
    rows: np.ndarray,
    angle_map: AngleMap,
    angles: AngleList,
    scores: ScoresMap,
    symmetry: str | int = "c1",
    seed: int | None = None,
    subvoxel: str | None = None,
    tomo_id: int = 1,
    object_id: int = 1,
    pixel_size: float | None = None,
) -> ParticleList:
    """The `rows` of `candidates` as particles: the picker's orientation step.

    Each particle takes the angle-list row its voxel's angle-map value
    points to; with a C_n `symmetry` phi turns by a random multiple of
    ``360 / n`` (reproducible with `seed`); with `subvoxel` the shift is the
    local fit's fraction (:func:`~cryotm.picking.subvoxel.refine_peaks`).
    """
    z, y, x = candidates.z[rows], candidates.y[rows], candidates.x[rows]
    values = angle_map.indices_at(z, y, x)
    euler = angles.angles[angles.rows_for(values, source=angle_map.source)]
    order = parse_symmetry(symmetry)
    if order > 1:
        rng = np.random.default_rng(seed)
        euler = euler.copy()
        euler[:, 0] = randomise_in_plane(euler[:, 0], order, rng, phi_range_start(angles.angles[:, 0]))
    shifts = refine_peaks(scores.data, z, y, x, subvoxel) if subvoxel is not None else None
    return particles_at(
        (z, y, x), euler, candidates.scores[rows], scores,
        tomo_id=tomo_id, object_id=object_id, pixel_size=pixel_size, shifts=shifts,
    )
