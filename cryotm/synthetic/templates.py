"""Templates for simulated searches: two built-in asymmetric shapes, or a user's map.

A template is a cubic density map indexed ``[z, y, x]`` whose centre is the
voxel ``size // 2`` (RELION's and pytom's convention: an integer voxel); it is
rotated about that centre. The built-in shapes have no rotational symmetry (every rotation gives another map), so the
rotation of a planted copy is recoverable by a search.
"""

from __future__ import annotations

import os

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation

from ..errors import InputError

__all__ = ["BUILTIN_TEMPLATES", "builtin_template", "load_template", "rotate_volume", "spherical_mask"]

#: Built-in shapes: name -> list of Gaussian blobs (x, y, z, sigma, weight), voxels from the centre.
BUILTIN_TEMPLATES: dict[str, list[tuple[float, float, float, float, float]]] = {
    # four blobs of different sizes, none in a common plane: a chiral, asymmetric assembly
    "blobs": [
        (0.0, 0.0, 0.0, 2.4, 1.0),
        (4.2, 1.0, -0.5, 1.8, 0.8),
        (-1.5, 4.0, 1.2, 1.5, 0.7),
        (0.8, -1.8, 4.4, 1.3, 0.6),
    ],
    # an L-shaped rod with a knob off its long arm: elongated, as filaments and flat complexes are
    "hook": [(float(x), 0.0, 0.0, 1.3, 0.8) for x in np.arange(-5.0, 5.1, 1.25)]
    + [(5.0, float(y), 0.0, 1.3, 0.8) for y in np.arange(1.25, 5.1, 1.25)]
    + [(-3.0, -1.5, 2.5, 1.6, 0.9)],
}


def spherical_mask(size: int, radius: float | None = None) -> np.ndarray:
    """A float32 ball of `radius` around the centre voxel ``size // 2`` of a ``size**3`` box.

    The default radius, ``(size - 1) // 2 - 0.5``, keeps the ball inside the
    box on every side.
    """
    radius = (size - 1) // 2 - 0.5 if radius is None else float(radius)
    centre = size // 2
    grid = np.indices((size,) * 3, dtype=np.float32) - np.float32(centre)
    return (np.sum(grid**2, axis=0) <= radius**2).astype(np.float32)


def builtin_template(name: str = "blobs", size: int = 24) -> np.ndarray:
    """A built-in template (``"blobs"`` or ``"hook"``) in a ``size**3`` box, float32, maximum 1.

    Examples
    --------
    >>> t = builtin_template("hook", size=24)
    >>> t.shape, float(t.max())
    ((24, 24, 24), 1.0)
    """
    if name not in BUILTIN_TEMPLATES:
        raise InputError(f"unknown template {name!r}: built-in templates are {', '.join(BUILTIN_TEMPLATES)}")
    centre = size // 2
    z, y, x = np.indices((size,) * 3, dtype=np.float64) - centre
    volume = np.zeros((size,) * 3)
    for bx, by, bz, sigma, weight in BUILTIN_TEMPLATES[name]:
        volume += weight * np.exp(-((x - bx) ** 2 + (y - by) ** 2 + (z - bz) ** 2) / (2 * sigma**2))
    volume *= spherical_mask(size)
    return (volume / volume.max()).astype(np.float32)


def load_template(path: str | os.PathLike) -> np.ndarray:
    """Read a template map (MRC/EM; cubic, density positive), float32 with maximum 1.

    Raises
    ------
    InputError
        Not a cubic map, or a map without positive density.
    """
    from ..maps import read_map

    data = np.asarray(read_map(path)[0], dtype=np.float32)
    if data.ndim != 3 or len(set(data.shape)) != 1:
        raise InputError(f"a template must be a cubic 3D map, got shape {data.shape}", path)
    data = data - np.float32(np.median(data))
    if not np.isfinite(data).all() or data.max() <= 0:
        raise InputError("the template has no positive density (is it inverted? negate it)", path)
    return data / data.max()


def rotate_volume(volume: np.ndarray, rotation: Rotation, shift_zyx: np.ndarray | None = None) -> np.ndarray:
    """`volume` rotated by `rotation` (x, y, z frame) about its centre and shifted by `shift_zyx` voxels.

    ``out(p) = volume(R^-1 (p - centre - shift) + centre)``: the density of a
    reference rotated by R into the tomogram, as the zxz Euler angles of an
    angle list mean it. Linear interpolation (zero outside the box).
    """
    matrix_xyz = rotation.as_matrix()
    inverse_zyx = matrix_xyz[::-1, ::-1].T  # R^-1 in (z, y, x) index order
    centre = (np.array(volume.shape) // 2).astype(np.float64)
    shifted = centre if shift_zyx is None else centre + np.asarray(shift_zyx, dtype=np.float64)
    offset = centre - inverse_zyx @ shifted
    return ndimage.affine_transform(volume, inverse_zyx, offset=offset, order=1, mode="constant", cval=0.0)
