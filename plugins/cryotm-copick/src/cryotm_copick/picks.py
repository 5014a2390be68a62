"""cryotm particles <-> copick picks: positions in Å, the 4x4 transformation, the score.

Conventions (checked against copick's own code, ``copick.models.CopickPoint``
and ``copick.util.formats``; pinned by the tests):

* ``location`` is x, y, z in Å: cryotm's 0-based voxel position times the
  pixel size (voxel 0's centre at 0 Å; copick's EM import subtracts 1 from
  the 1-based motive list and multiplies by the voxel size, the same thing).
* ``transformation`` is the 4x4 affine from object (reference) space to
  tomogram space, acting on column vectors (x, y, z, 1). Its rotation block
  is cryotm's rotation, ``Rotation.from_euler("zxz", [phi, theta, psi],
  degrees=True).as_matrix()`` (copick's ``em_to_copick_transform`` does the
  same with the TOM angles); its translation column holds cryotm's shifts in
  Å, so that the particle centre is ``location + transformation[:3, 3]``
  (copick's ``full_positions``).
* ``score`` is cryotm's score; ``instance_id`` stays 0 (copick gives it to
  filaments).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cryotm.angles import rotation_to_euler
from cryotm.errors import InputError
from cryotm.particles import ParticleList

if TYPE_CHECKING:  # pandas and scipy load where the picks are converted, not when the plugin registers
    import pandas as pd

__all__ = ["to_copick", "from_copick"]


def to_copick(particles: ParticleList, pixel_size: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Locations (N, 3; Å), transformations (N, 4, 4) and scores (N,) of `particles`.

    Examples
    --------
    >>> plist = ParticleList.from_arrays([[10, 20, 30]], orientations=[[90, 0, 0]], scores=[0.4], shifts=[[1, 0, 0]])
    >>> locations, transforms, scores = to_copick(plist, pixel_size=5.0)
    >>> locations.tolist(), np.round(transforms[0], 6).tolist()[0], scores.tolist()
    ([[50.0, 100.0, 150.0]], [0.0, -1.0, 0.0, 5.0], [0.4])
    """
    n = len(particles)
    transforms = np.zeros((n, 4, 4))
    transforms[:, 3, 3] = 1.0
    if n:
        transforms[:, :3, :3] = particles.orientations.as_matrix()
        transforms[:, :3, 3] = particles.shifts * pixel_size
    return particles.positions * pixel_size, transforms, particles.scores.copy()


def from_copick(
    locations: np.ndarray,
    transforms: np.ndarray,
    scores: np.ndarray,
    pixel_size: float,
    source: str | None = None,
) -> pd.DataFrame:
    """The particle columns (x, y, z, shifts, phi, theta, psi, score) of copick points.

    Raises
    ------
    InputError
        If a transformation's 3x3 block is not a rotation (a reflection or a scaling).
    """
    import pandas as pd
    from scipy.spatial.transform import Rotation

    locations = np.asarray(locations, dtype=float).reshape(-1, 3)
    transforms = np.asarray(transforms, dtype=float).reshape(-1, 4, 4)
    n = len(locations)
    frame = pd.DataFrame(locations / pixel_size, columns=["x", "y", "z"])
    frame[["shift_x", "shift_y", "shift_z"]] = transforms[:, :3, 3] / pixel_size if n else np.zeros((0, 3))
    if n:
        blocks = transforms[:, :3, :3]
        identity = np.einsum("nij,nkj->nik", blocks, blocks)
        bad = ~np.all(np.isclose(identity, np.eye(3), atol=1e-4), axis=(1, 2)) | (np.linalg.det(blocks) < 0)
        if bad.any():
            raise InputError(f"point {int(np.argmax(bad)) + 1}: its transformation is not a rotation", source)
        euler = rotation_to_euler(Rotation.from_matrix(blocks))
    else:
        euler = np.zeros((0, 3))
    frame[["phi", "theta", "psi"]] = euler
    frame["score"] = np.asarray(scores, dtype=float).reshape(n)
    return frame
