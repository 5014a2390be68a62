"""The peak of a single-peak scores map, and the 1D profiles and 2D central slices through it.

cryoCAT's ``create_starting_parameters_1D`` / ``_2D`` counterparts. cryoCAT
works on maps transposed to ``[x, y, z]``; cryotm keeps ``data[z, y, x]``, so
positions here are ``(z, y, x)`` indices (named ``peak_zyx``) and every slice
keeps the map's axis order (rows before columns as they are in ``data``).
"""

from __future__ import annotations

import attrs
import numpy as np

from ..errors import InputError
from ..maps import ScoresMap

__all__ = ["PeakProfiles", "CentralSlices", "find_peak", "peak_profiles", "central_slices", "sphere_mask"]


def _data(scores: ScoresMap | np.ndarray) -> tuple[np.ndarray, str | None]:
    if isinstance(scores, ScoresMap):
        return scores.data, scores.source
    data = np.asarray(scores)
    if data.ndim != 3:
        raise InputError(f"expected a 3D map, got {data.ndim}D of shape {data.shape}")
    return data, None


def sphere_mask(shape: tuple[int, int, int], radius: float) -> np.ndarray:
    """Voxels within `radius` of the map centre ``(nz // 2, ny // 2, nx // 2)`` (cryoCAT's ``spherical_mask``)."""
    centre = [n // 2 for n in shape]
    zz, yy, xx = np.ogrid[tuple(slice(0, n) for n in shape)]
    r2 = (zz - centre[0]) ** 2 + (yy - centre[1]) ** 2 + (xx - centre[2]) ** 2
    return np.sqrt(r2) <= radius


def find_peak(
    scores: ScoresMap | np.ndarray, peak_tolerance: float = 20, allow_border: bool = False
) -> tuple[tuple[int, int, int], float]:
    """The highest voxel within `peak_tolerance` of the map centre, and the map's maximum.

    As in cryoCAT, the position is searched inside the sphere (radius
    `peak_tolerance` voxels around ``(nz // 2, ny // 2, nx // 2)``) while the
    returned height is the maximum of the whole map. Among equal values the
    voxel cryoCAT would find first (smallest x, then y, then z) is chosen.

    Parameters
    ----------
    scores : ScoresMap or ndarray
        A 3D map indexed ``[z, y, x]``.
    peak_tolerance : float
        Radius of the search sphere, in voxels.
    allow_border : bool
        Accept a peak on a face of the map (its profiles are then one-sided).

    Returns
    -------
    peak_zyx : (int, int, int)
        Index of the peak, ``(z, y, x)``.
    peak_height : float
        The map's maximum.

    Raises
    ------
    InputError
        NaN or infinite scores, a map with no positive score, or (unless
        `allow_border`) a peak on the border of the map.

    Examples
    --------
    >>> data = np.zeros((9, 11, 13), dtype=np.float32)
    >>> data[4, 6, 5] = 1.0
    >>> find_peak(data)
    ((4, 6, 5), 1.0)
    """
    data, source = _data(scores)
    if not peak_tolerance >= 0:
        raise InputError(f"the peak tolerance must be 0 or more voxels, got {peak_tolerance}", source)
    height = data.max()
    if not np.isfinite(height):
        raise InputError(f"the map holds a non-finite value ({height})", source)
    inside = sphere_mask(data.shape, peak_tolerance)
    best = data[inside].max()
    if not best > 0:
        raise InputError(
            f"no positive score within {peak_tolerance} voxels of the map centre (highest {best}): no peak to evaluate",
            source,
        )
    zyx = np.argwhere(inside & (data == best))
    z, y, x = (int(v) for v in zyx[np.lexsort((zyx[:, 0], zyx[:, 1], zyx[:, 2]))[0]])
    if not allow_border and any(c in (0, n - 1) for c, n in zip((z, y, x), data.shape)):
        raise InputError(
            f"the peak (x={x}, y={y}, z={z}) lies on the border of the {data.shape} (z, y, x) map; "
            "its shape cannot be measured",
            source,
        )
    return (z, y, x), float(height)


@attrs.frozen
class PeakProfiles:
    """1D profiles through the peak along each axis (cryoCAT's ``create_starting_parameters_1D``).

    Attributes
    ----------
    peak_zyx : (int, int, int)
        Index of the peak, ``(z, y, x)``.
    peak_height : float
        The map's maximum.
    x, y, z : ndarray
        ``data[z0, y0, :]``, ``data[z0, :, x0]``, ``data[:, y0, x0]``: the
        profile along each axis (lengths ``nx``, ``ny``, ``nz``, so a
        non-cubic map is fine).
    """

    peak_zyx: tuple[int, int, int]
    peak_height: float
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray

    def by_axis(self) -> dict[str, np.ndarray]:
        """``{"x": ..., "y": ..., "z": ...}``."""
        return {"x": self.x, "y": self.y, "z": self.z}

    def peak_index(self, axis: str) -> int:
        """Position of the peak along `axis` (``"x"``, ``"y"`` or ``"z"``)."""
        return self.peak_zyx["zyx".index(axis)]


def peak_profiles(
    scores: ScoresMap | np.ndarray,
    peak_tolerance: float = 20,
    peak_zyx: tuple[int, int, int] | None = None,
    allow_border: bool = False,
) -> PeakProfiles:
    """The 1D profiles through the peak (found with :func:`find_peak` unless given).

    Examples
    --------
    >>> data = np.zeros((9, 11, 13), dtype=np.float32)
    >>> data[4, 6, 5] = 1.0
    >>> p = peak_profiles(data)
    >>> p.x.shape, p.y.shape, p.z.shape, float(p.x[5])
    ((13,), (11,), (9,), 1.0)
    """
    data, _ = _data(scores)
    if peak_zyx is None:
        peak_zyx, height = find_peak(scores, peak_tolerance, allow_border)
    else:
        peak_zyx = tuple(int(v) for v in peak_zyx)
        height = float(data.max())
    z, y, x = peak_zyx
    return PeakProfiles(
        peak_zyx=peak_zyx,
        peak_height=height,
        x=np.array(data[z, y, :]),
        y=np.array(data[z, :, x]),
        z=np.array(data[:, y, x]),
    )


@attrs.frozen
class CentralSlices:
    """The three orthogonal slices through the peak (cryoCAT's ``create_starting_parameters_2D``).

    Attributes
    ----------
    peak_zyx : (int, int, int)
        Index of the peak, ``(z, y, x)``.
    peak_height : float
        The map's maximum (or the value at a given peak).
    xy : ndarray, shape (ny, nx)
        ``data[z0]``: the plane at the peak's z, rows y, columns x.
    yz : ndarray, shape (nz, ny)
        ``data[:, :, x0]``: the plane at the peak's x, rows z, columns y.
    xz : ndarray, shape (nz, nx)
        ``data[:, y0, :]``: the plane at the peak's y, rows z, columns x.

    Notes
    -----
    cryoCAT stacks its planes into one ``(n, n, 3)`` array, which only works
    for cubic maps, and its planes are the transposes of these (``[x, y]``,
    ``[y, z]``, ``[x, z]``).
    """

    peak_zyx: tuple[int, int, int]
    peak_height: float
    xy: np.ndarray
    yz: np.ndarray
    xz: np.ndarray

    def by_plane(self) -> dict[str, np.ndarray]:
        """``{"xy": ..., "yz": ..., "xz": ...}``."""
        return {"xy": self.xy, "yz": self.yz, "xz": self.xz}


def central_slices(
    scores: ScoresMap | np.ndarray,
    peak_tolerance: float = 20,
    peak_zyx: tuple[int, int, int] | None = None,
    allow_border: bool = False,
) -> CentralSlices:
    """The XY, YZ and XZ slices through the peak (found with :func:`find_peak` unless given).

    With a given `peak_zyx` the height is the value there (cryoCAT takes it
    from its sphere-masked map, which gives 0 outside the sphere).

    Examples
    --------
    >>> data = np.zeros((9, 11, 13), dtype=np.float32)
    >>> data[4, 6, 5] = 1.0
    >>> s = central_slices(data)
    >>> s.xy.shape, s.yz.shape, s.xz.shape
    ((11, 13), (9, 11), (9, 13))
    """
    data, _ = _data(scores)
    if peak_zyx is None:
        peak_zyx, height = find_peak(scores, peak_tolerance, allow_border)
    else:
        peak_zyx = tuple(int(v) for v in peak_zyx)
        height = float(data[peak_zyx])
    z, y, x = peak_zyx
    return CentralSlices(
        peak_zyx=peak_zyx,
        peak_height=height,
        xy=np.array(data[z, :, :]),
        yz=np.array(data[:, :, x]),
        xz=np.array(data[:, y, :]),
    )
