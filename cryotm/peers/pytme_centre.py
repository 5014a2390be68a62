"""pyTME's rotation centre: the correction of positions found with an even-sized template.

pyTME rotates a template about its box's geometric centre ``(size - 1) / 2``;
cryotm's particle centre is voxel ``size // 2``. The two differ by half a
voxel on each even axis, so the score maximum of a particle rotated by ``R``
lies ``(I - R) h`` from its centre (see :mod:`cryotm.peers.pytme`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..angles import AngleList
from ..errors import InputError

__all__ = ["as_template_shape", "centre_correction", "correct_positions", "template_shape_of"]


def as_template_shape(value: int | Sequence[int], source: Path) -> tuple[int, int, int]:
    try:
        values = (int(value),) * 3 if np.ndim(value) == 0 else tuple(int(v) for v in value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"a template shape needs one or three whole numbers, got {value!r}", source) from None
    if len(values) != 3 or min(values) < 1:
        raise InputError(f"a template shape needs one or three positive numbers, got {value!r}", source)
    return values  # type: ignore[return-value]


def template_shape_of(path: str | os.PathLike, result: Any) -> tuple[int, int, int] | None:
    """The template's box ``(nz, ny, nx)`` from its MRC header, or None when its file cannot be found.

    The file is the one the run's arguments name, else one of its name beside the result `path`.
    """
    import mrcfile

    if result.template is None:
        return None
    named = Path(result.template)
    for candidate in (named, Path(path).parent / named.name):
        if candidate.is_file():
            try:
                with mrcfile.open(candidate, header_only=True, permissive=True) as mrc:
                    header = mrc.header
                    shape = (int(header.nz), int(header.ny), int(header.nx))
            except (OSError, ValueError):
                continue
            if min(shape) >= 1:
                return shape  # type: ignore[return-value]
    return None


def centre_correction(angles: np.ndarray, template_shape: Sequence[int]) -> np.ndarray:
    """What to add to pyTME's score-maximum positions to reach the template's centre voxel ``size // 2``.

    pyTME rotates the template about ``(size - 1) / 2``: for an even axis the
    centre voxel of the template rotated by ``R`` lies ``(R - I) h`` from the
    maximum, ``h`` = 0.5 voxel on each even axis, 0 on each odd one.

    Parameters
    ----------
    angles : ndarray, shape (n, 3)
        The rotations searched at the maxima: extrinsic zxz degrees, reference into tomogram.
    template_shape : (nz, ny, nx)
        The template's box.

    Returns
    -------
    ndarray, shape (n, 3)
        ``(dx, dy, dz)`` per row.

    Examples
    --------
    A quarter turn about z moves the centre of a 4^3 box by (-1, 0, 0):

    >>> centre_correction(np.array([[90.0, 0.0, 0.0]]), (4, 4, 4)).round(6) + 0.0
    array([[-1.,  0.,  0.]])
    """
    from scipy.spatial.transform import Rotation

    nz, ny, nx = (int(v) for v in template_shape)
    half = np.array([0.5 if n % 2 == 0 else 0.0 for n in (nx, ny, nz)])
    angles = np.asarray(angles, dtype=np.float64).reshape(-1, 3)
    if not half.any() or not len(angles):
        return np.zeros((len(angles), 3))
    matrices = Rotation.from_euler("zxz", angles, degrees=True).as_matrix()
    return matrices @ half - half


def correct_positions(
    particles: Any, angle_map: Any, angle_list: AngleList, template_shape: Sequence[int],
    offset: Sequence[float] = (0.0, 0.0, 0.0),
) -> Any:
    """`particles` (picked from a pyTME result) moved by :func:`centre_correction`.

    Each pick's rotation is the one searched at its voxel (the angle map at
    its rounded position less `offset`), not its listed angles, which a C_n
    symmetry may have turned.
    """
    data = particles.data
    if not len(data) or not any(int(n) % 2 == 0 for n in template_shape):
        return particles
    xyz = data[["x", "y", "z"]].to_numpy(float)
    voxel = np.rint(xyz - np.asarray(offset, dtype=float)).astype(np.intp)
    voxel = np.clip(voxel, 0, np.array(angle_map.shape[::-1]) - 1)
    rows = angle_list.rows_for(angle_map.indices_at(voxel[:, 2], voxel[:, 1], voxel[:, 0]), source=angle_map.source)
    data = data.copy()
    data[["x", "y", "z"]] = xyz + centre_correction(angle_list.angles[rows], template_shape)
    return attrs.evolve(particles, data=data)
