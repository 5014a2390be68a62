"""RELION 5 tomograms star files: each tomogram's size and pixel size, by name.

RELION 5 keeps the size of every tomogram in a tomograms star file (``data_global``):

==============================  ==================================================
label                           value
==============================  ==================================================
rlnTomoName                     tomogram name (kept as a string: ``001``)
rlnTomoSize{X,Y,Z}              size in unbinned tilt-series pixels
rlnTomoTiltSeriesPixelSize      Å per unbinned tilt-series pixel
rlnTomoTomogramBinning          binning of the reconstructed tomogram (1 if absent:
                                WarpTools writes its sizes in pixels of
                                ``rlnTomoTiltSeriesPixelSize`` and no binning)
==============================  ==================================================

Positions in voxels of pixel size ``P`` refer to a tomogram of
``size * rlnTomoTiltSeriesPixelSize / P`` voxels along each axis (that is
``size / rlnTomoTomogramBinning`` for the reconstructed tomogram, whose pixel
size is ``rlnTomoTiltSeriesPixelSize * rlnTomoTomogramBinning``), so that the
RELION centre ``n / 2`` is the same point in Å whatever the binning.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs
import numpy as np

from .._lazy import lazy_module
from ..errors import InputError
from ._star import particle_block, read_star

pd = lazy_module("pandas")

__all__ = ["Tomogram", "read_tomograms", "tomograms_for"]

_SIZES = ("rlnTomoSizeX", "rlnTomoSizeY", "rlnTomoSizeZ")
_REQUIRED = ("rlnTomoName", *_SIZES, "rlnTomoTiltSeriesPixelSize")
_BINNING = "rlnTomoTomogramBinning"


@attrs.frozen
class Tomogram:
    """One row of a tomograms star file.

    Attributes
    ----------
    size_xyz : tuple of float
        Size in unbinned tilt-series pixels (x, y, z).
    tilt_series_pixel_size : float
        Å per unbinned pixel.
    binning : float
        Binning of the reconstructed tomogram.

    Examples
    --------
    >>> tomo = Tomogram((4000.0, 4000.0, 2000.0), 2.5, 4.0)
    >>> tomo.pixel_size
    10.0
    >>> tomo.shape(), tomo.shape(5.0)
    ((500.0, 1000.0, 1000.0), (1000.0, 2000.0, 2000.0))
    """

    size_xyz: tuple[float, float, float]
    tilt_series_pixel_size: float
    binning: float

    @property
    def pixel_size(self) -> float:
        """Voxel size in Å of the reconstructed tomogram."""
        return self.tilt_series_pixel_size * self.binning

    def shape(self, pixel_size: float | None = None) -> tuple[float, float, float]:
        """(nz, ny, nx) in voxels of `pixel_size` Å (default: the reconstructed tomogram's)."""
        scale = self.tilt_series_pixel_size / (pixel_size or self.pixel_size)
        x, y, z = (s * scale for s in self.size_xyz)
        return (z, y, x)


def read_tomograms(path: str | os.PathLike) -> dict[str, Tomogram]:
    """``{name: Tomogram}`` from a RELION 5 tomograms star file (block ``data_global``).

    Raises
    ------
    InputError
        If the file lacks the block or a label, a value is not a positive
        number, or a name appears twice.
    """
    blocks = read_star(path)
    table = particle_block(blocks, ("global",), path)
    missing = [label for label in _REQUIRED if label not in table.columns]
    if missing:
        raise InputError(f"tomograms star file lacks {', '.join(missing)}", path)
    if _BINNING not in table.columns:
        table = table.assign(**{_BINNING: 1.0})
    names = table["rlnTomoName"].astype(str).tolist()
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError(f"tomogram {duplicated[0]!r} is listed more than once", path)
    values = table[[*_REQUIRED[1:], _BINNING]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(values > 0).all(axis=1)
    if bad.any():
        raise InputError(f"tomogram {names[int(np.flatnonzero(bad)[0])]!r}: sizes, pixel size and "
                         "binning must be positive numbers", path)
    return {name: Tomogram(tuple(row[:3]), float(row[3]), float(row[4])) for name, row in zip(names, values)}


def tomograms_for(
    names: Sequence[str], tomograms: dict[str, Tomogram], path: str | os.PathLike
) -> list[Tomogram]:
    """The tomogram of each particle, by name.

    Raises
    ------
    InputError
        Naming the first tomogram that `path` (the tomograms file) lacks.
    """
    missing = sorted({str(n) for n in names} - set(tomograms))
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InputError(f"no tomogram {missing[0]!r}{more} in this tomograms star file", path)
    return [tomograms[str(n)] for n in names]
