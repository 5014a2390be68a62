"""Footprints: the region an accepted particle occupies (a sphere or the rotated template mask)."""

from __future__ import annotations

import attrs
import numpy as np
from scipy import ndimage

from ...errors import InputError

__all__ = ["sphere_footprint", "rotate_template_mask", "Footprint", "reach", "block", "component_size"]

_FULL = np.ones((3, 3, 3), dtype=bool)


def sphere_footprint(radius: float) -> np.ndarray:
    """A ball of `radius` voxels (``distance <= radius``) in a box of odd size, centred.

    The same voxels as cryoCAT's ``spherical_mask(2 r + 2, radius=r)``.

    Examples
    --------
    >>> int(sphere_footprint(2).sum()), sphere_footprint(2).shape
    (33, (5, 5, 5))
    """
    if not np.isfinite(radius) or radius < 0:
        raise InputError(f"template_radius must be a non-negative number, got {radius}")
    half = int(np.floor(radius))
    grid = np.arange(-half, half + 1, dtype=float)
    zz, yy, xx = np.meshgrid(grid, grid, grid, indexing="ij")
    return np.sqrt(zz**2 + yy**2 + xx**2) <= radius


def rotate_template_mask(mask: np.ndarray, rotation_matrix: np.ndarray, order: int = 3) -> np.ndarray:
    """Rotate a binary mask (indexed ``[z, y, x]``) about voxel ``shape // 2``; hard-edged result.

    Parameters
    ----------
    mask : ndarray of bool or 0/1
        The template mask in the reference orientation.
    rotation_matrix : ndarray, shape (3, 3)
        The rotation acting on (x, y, z) vectors (``Rotation.as_matrix()``),
        which turns the reference into the particle's orientation.
    order : int
        Spline order of the interpolation (3 as cryoCAT); the result is the
        interpolated values ``>= 0.5``.

    Returns
    -------
    ndarray of bool, same shape as `mask`

    Examples
    --------
    >>> m = np.zeros((5, 5, 5), bool); m[2, 2, 2:] = True          # a rod along +x
    >>> quarter = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]])     # 90 degrees about z
    >>> np.argwhere(rotate_template_mask(m, quarter))[:, 1].tolist() # now along +y
    [2, 3, 4]
    """
    flip = np.eye(3)[::-1]  # (x, y, z) <-> (z, y, x)
    matrix = flip @ np.asarray(rotation_matrix, dtype=float).T @ flip
    centre = np.array(mask.shape) // 2
    offset = centre - matrix @ centre
    rotated = ndimage.affine_transform(
        np.asarray(mask, dtype=np.float64), matrix, offset=offset, order=order, mode="constant", cval=0.0
    )
    return rotated >= 0.5


@attrs.frozen
class Footprint:
    """A boolean footprint cropped to its nonzero box, and the index placed on the peak."""

    mask: np.ndarray
    centre: tuple[int, int, int]

    @classmethod
    def cropped(cls, mask: np.ndarray, centre: np.ndarray) -> Footprint:
        nz = np.argwhere(mask)
        if len(nz) == 0:
            return cls(mask, tuple(int(c) for c in centre))
        lo, hi = nz.min(axis=0), nz.max(axis=0) + 1
        # keep the centre inside the box so that windows are always defined
        lo, hi = np.minimum(lo, centre), np.maximum(hi, np.asarray(centre) + 1)
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        return cls(np.ascontiguousarray(mask[box]), tuple(int(c) for c in np.asarray(centre) - lo))

    def window(self, voxel: tuple[int, int, int], shape: tuple[int, ...]):
        """(map slices, footprint slices, centre inside the window) for a peak at `voxel`."""
        start = np.asarray(voxel) - self.centre
        stop = start + self.mask.shape
        lo, hi = np.maximum(start, 0), np.minimum(stop, shape)
        win = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
        cut = tuple(slice(int(a), int(b)) for a, b in zip(lo - start, hi - start))
        centre = tuple(int(v - a) for v, a in zip(voxel, lo))
        return win, cut, centre


def reach(ball: np.ndarray) -> np.ndarray:
    """Offsets at which two copies of the symmetric footprint `ball` overlap (``ball (+) ball``)."""
    from scipy.signal import fftconvolve  # scipy.signal loads only when a selection runs

    return fftconvolve(ball.astype(np.float32), ball.astype(np.float32), mode="full") > 0.5


def block(
    blocked: np.ndarray, voxel: tuple[int, ...], win: tuple[slice, ...], placed: np.ndarray,
    ball: np.ndarray, reach: np.ndarray,
) -> None:
    """Mark in `blocked` the voxels whose footprint `ball` would touch `placed` (at `win`)."""
    r = ball.shape[0] // 2
    if placed.shape == ball.shape:  # not clipped by the map's faces: the precomputed reach
        footprint = Footprint(reach, (2 * r,) * 3)
        box, cut, _ = footprint.window(voxel, blocked.shape)
        blocked[box] |= reach[cut]
        return
    lo = [max(w.start - r, 0) for w in win]
    hi = [min(w.stop + r, n) for w, n in zip(win, blocked.shape)]
    local = np.zeros(tuple(b - a for a, b in zip(lo, hi)), dtype=np.float32)
    local[tuple(slice(w.start - a, w.stop - a) for w, a in zip(win, lo))] = placed
    from scipy.signal import fftconvolve

    grown = fftconvolve(local, ball.astype(np.float32), mode="same") > 0.5
    blocked[tuple(slice(a, b) for a, b in zip(lo, hi))] |= grown


def component_size(mask: np.ndarray, centre: tuple[int, int, int], minimum: int) -> int:
    """Voxels of the 26-connected component of `mask` holding `centre` (0 if outside).

    Returns early (with a value below `minimum`) when the whole mask is too small.
    """
    if not mask[centre]:
        return 0
    total = int(np.count_nonzero(mask))
    if total < minimum:
        return total
    labels, _ = ndimage.label(mask, structure=_FULL)
    return int(np.count_nonzero(labels == labels[centre]))
