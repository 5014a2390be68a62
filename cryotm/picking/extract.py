"""cryoCAT's ``scores_extract_particles`` signature over :class:`~cryotm.picking.PeakPicker`."""

from __future__ import annotations

import os

import numpy as np

from ..angles import AngleList
from ..maps import AngleMap, MaskMap, ScoresMap
from ..particles import ParticleList
from ..thresholds import ThresholdStrategy
from .candidates import ProgressCallback
from .picker import PeakPicker

__all__ = ["extract_particles"]


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
    chooses another rule by name; cryotm's shape filter, which cryoCAT does
    not have, is off. See :class:`PeakPicker` for the parameters added by
    cryotm (`radius`, `edge_margin`, `seed`) and the differences.

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
        shape_filter=False,
    )
    fmt = {"relion": "relion31"}.get(output_type, output_type) if output_type is not None else None
    return picker.pick(
        scores_map, angles_map, angles_list, tomo_id=tomo_id, tomo_mask=tomo_mask,
        output=output_path, format=fmt, overwrite=overwrite, progress=progress,
    )
