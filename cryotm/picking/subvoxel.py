"""Sub-voxel peak positions: a local fit of the scores around each picked maximum.

A picked particle sits on a voxel; its true centre lies up to half a voxel
away. A full 3D quadratic (10 coefficients: constant, gradient, Hessian with
cross terms) fitted by least squares to the 3 x 3 x 3 scores around the
maximum has its vertex at the centre: exact for a quadratic peak, and, fitted
to the logarithm of the scores (``method="gaussian"``), exact for a Gaussian
peak of any width and orientation. The fraction is written as the particle's
shift (the position stays the voxel), as pyTME writes its oversampled peaks.

A fit whose Hessian is not negative definite (no maximum), or whose vertex
lies more than one voxel away, or a peak on the map's face (no 3 x 3 x 3
neighbourhood) keeps shift 0. ``gaussian`` falls back to ``quadratic`` for a
neighbourhood with a score <= 0 (no logarithm).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import CryotmError

__all__ = ["SubvoxelMethod", "SUBVOXEL_METHODS", "refine_peaks"]

SubvoxelMethod = Literal["quadratic", "gaussian"]
SUBVOXEL_METHODS: tuple[str, ...] = ("quadratic", "gaussian")

# the 27 offsets (dz, dy, dx) of the neighbourhood, in C order of a 3 x 3 x 3 block
_OFFSETS = np.stack(np.meshgrid(*(np.arange(-1, 2),) * 3, indexing="ij"), axis=-1).reshape(-1, 3).astype(float)
_DZ, _DY, _DX = _OFFSETS.T
# columns: 1, z, y, x, zz, yy, xx, zy, zx, yx
_DESIGN = np.column_stack([np.ones(27), _DZ, _DY, _DX, _DZ**2, _DY**2, _DX**2, _DZ * _DY, _DZ * _DX, _DY * _DX])
_SOLVE = np.linalg.pinv(_DESIGN)  # (10, 27): least-squares coefficients of a block


def _neighbourhoods(data: np.ndarray, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values (N, 27) as float64, inside (N,)) of the 3 x 3 x 3 blocks around the voxels."""
    shape = np.asarray(data.shape)
    zyx = np.column_stack([z, y, x]).astype(np.int64)
    inside = np.all((zyx >= 1) & (zyx <= shape - 2), axis=1)
    values = np.zeros((len(zyx), 27))
    where = np.flatnonzero(inside)
    if len(where):
        points = zyx[where][:, None, :] + _OFFSETS.astype(np.int64)[None]
        values[where] = np.asarray(data[points[..., 0], points[..., 1], points[..., 2]], dtype=np.float64)
    return values, inside


def _vertices(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets (N, 3) in z, y, x; valid (N,)) of the quadratics fitted to the blocks."""
    c = values @ _SOLVE.T
    gradient = c[:, 1:4]
    hessian = np.empty((len(c), 3, 3))
    hessian[:, 0, 0], hessian[:, 1, 1], hessian[:, 2, 2] = 2 * c[:, 4], 2 * c[:, 5], 2 * c[:, 6]
    hessian[:, 0, 1] = hessian[:, 1, 0] = c[:, 7]
    hessian[:, 0, 2] = hessian[:, 2, 0] = c[:, 8]
    hessian[:, 1, 2] = hessian[:, 2, 1] = c[:, 9]
    valid = np.all(np.isfinite(c), axis=1)
    offsets = np.zeros((len(c), 3))
    if valid.any():
        eigen = np.full((len(c), 3), np.inf)
        eigen[valid] = np.linalg.eigvalsh(hessian[valid])
        valid &= np.all(eigen < 0, axis=1)
    if valid.any():
        offsets[valid] = -np.linalg.solve(hessian[valid], gradient[valid][..., None])[..., 0]
    valid &= np.all(np.abs(offsets) <= 1.0, axis=1)
    offsets[~valid] = 0.0
    return offsets, valid


def refine_peaks(
    data: np.ndarray,
    z: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    method: SubvoxelMethod = "gaussian",
) -> np.ndarray:
    """Sub-voxel offsets of peaks at voxels ``(z, y, x)`` of `data`, as (N, 3) shifts in x, y, z.

    Parameters
    ----------
    data : ndarray, shape (nz, ny, nx)
        The scores map (only the 27 voxels around each peak are read).
    z, y, x : ndarray of int
        The peaks' voxels.
    method : {'gaussian', 'quadratic'}
        Fit a quadratic to the log of the scores (exact for Gaussian peaks)
        or to the scores themselves (exact for quadratic peaks).

    Returns
    -------
    ndarray, shape (N, 3)
        Shifts (x, y, z) in voxels to add to the voxel positions; 0 where no
        maximum could be fitted (see the module notes).

    Examples
    --------
    >>> zz, yy, xx = np.mgrid[:9, :9, :9]
    >>> peak = np.exp(-((xx - 4.3) ** 2 + (yy - 3.8) ** 2 + (zz - 4.1) ** 2) / 4.0)
    >>> refine_peaks(peak, np.array([4]), np.array([4]), np.array([4])).round(6).tolist()
    [[0.3, -0.2, 0.1]]
    """
    if method not in SUBVOXEL_METHODS:
        raise CryotmError(f"subvoxel must be one of {', '.join(SUBVOXEL_METHODS)}, got {method!r}")
    z, y, x = (np.asarray(v, dtype=np.int64).reshape(-1) for v in (z, y, x))
    values, inside = _neighbourhoods(data, z, y, x)
    offsets = np.zeros((len(z), 3))
    if not inside.any():
        return offsets
    quadratic = inside.copy()
    if method == "gaussian":
        logs = inside & np.all(values > 0, axis=1)
        if logs.any():
            offsets[logs], _ = _vertices(np.log(values[logs]))
        quadratic &= ~logs
    if quadratic.any():
        offsets[quadratic], _ = _vertices(values[quadratic])
    return offsets[:, ::-1].copy()  # (z, y, x) -> (x, y, z)
