"""``emmotl``: the TOM/AV3 motive list, a 20 x N float32 EM file (as cryoCAT reads and writes it).

Layout: an EM file (see :mod:`cryotm.maps.em`) of dimensions nx = 20,
ny = N, nz = 1, x fastest, so each particle's 20 values are contiguous and
the file reads as an array ``[1, N, 20]`` (cryoCAT's ``emfile.read(...)[0]``
is the N x 20 table). The rows of the motive list (1-based, as in TOM):

=====  ==================  ==========================================
row    cryoCAT column      cryotm
=====  ==================  ==========================================
1      score               score
2, 3   geom1, geom2        extra columns ``geom1``, ``geom2`` if any
4      subtomo_id          subtomo_id
5      tomo_id             tomo_id
6      object_id           object_id
7      subtomo_mean        extra column ``subtomo_mean`` if any
8-10   x, y, z             x + 1, y + 1, z + 1 (**1-based** voxels)
11-13  shift_x..z          shift_x..z (voxels)
14-16  geom3..geom5        extra columns if any
17     phi                 phi     (extrinsic zxz, degrees)
18     psi                 psi
19     theta               theta
20     class               class
=====  ==================  ==========================================

The pixel size, when known, is stored in the EM header (as for maps).
Values are float32: positions keep about 7 significant digits.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._lazy import lazy_module
from ..errors import InputError
from ..maps.em import read_em, read_em_dims, write_em
from ..particles import ParticleList
from .base import MotlReader, MotlWriter

pd = lazy_module("pandas")

__all__ = ["EmMotlWriter", "EmMotlReader", "EM_MOTL_ROWS", "to_em_array", "from_em_array"]

#: 0-based row of each motive-list field in the 20-row array.
EM_MOTL_ROWS: dict[str, int] = {
    "score": 0,
    "geom1": 1,
    "geom2": 2,
    "subtomo_id": 3,
    "tomo_id": 4,
    "object_id": 5,
    "subtomo_mean": 6,
    "x": 7,
    "y": 8,
    "z": 9,
    "shift_x": 10,
    "shift_y": 11,
    "shift_z": 12,
    "geom3": 13,
    "geom4": 14,
    "geom5": 15,
    "phi": 16,
    "psi": 17,
    "theta": 18,
    "class": 19,
}
_POSITION = ("x", "y", "z")
_EXTRA = ("geom1", "geom2", "subtomo_mean", "geom3", "geom4", "geom5")


def to_em_array(particles: ParticleList) -> np.ndarray:
    """The (N, 20) float32 motive-list table of `particles` (1-based positions).

    Examples
    --------
    >>> plist = ParticleList.from_arrays([[0.0, 1.0, 2.0]], orientations=[[10, 20, 30]], scores=[0.5])
    >>> row = to_em_array(plist)[0]
    >>> row[[0, 7, 8, 9, 16, 17, 18]].tolist()
    [0.5, 1.0, 2.0, 3.0, 10.0, 30.0, 20.0]
    """
    present = set(particles.column_names)
    table = np.zeros((len(particles), 20), dtype=np.float64)
    for column, row in EM_MOTL_ROWS.items():
        if column in present:
            values = particles.column(column)
            if values.dtype.kind not in "biuf":  # text and objects: numbers where they are, else NaN
                values = pd.to_numeric(values, errors="coerce")
            table[:, row] = np.asarray(values, dtype=np.float64)
    for column in _POSITION:
        table[:, EM_MOTL_ROWS[column]] += 1.0
    if not np.isfinite(table).all():
        raise InputError("the particle list has non-numeric or non-finite values; an EM motive list cannot hold them")
    return table.astype(np.float32)


def from_em_array(table: np.ndarray, **metadata) -> ParticleList:
    """A :class:`ParticleList` from an (N, 20) motive-list table (1-based positions)."""
    table = np.asarray(table, dtype=np.float64).reshape(-1, 20)
    frame = pd.DataFrame({column: table[:, row] for column, row in EM_MOTL_ROWS.items()})
    for column in _POSITION:
        frame[column] -= 1.0
    for column in ("subtomo_id", "tomo_id", "object_id", "class"):
        frame[column] = np.rint(frame[column])  # made whole numbers, range-checked, by ParticleList
    frame = frame.drop(columns=[c for c in _EXTRA if not frame[c].any()])
    return ParticleList(frame, **metadata)


class EmMotlWriter(MotlWriter):
    """Write the TOM/AV3 EM motive list (20 x N float32, 1-based positions).

    Examples
    --------
    A particle at the 0-based voxel (x, y, z) = (4, 5, 6) is stored at
    rows 8-10 as 5, 6, 7; its Euler triple (phi, theta, psi) as rows
    17, 18, 19 = phi, psi, theta.
    """

    name = "emmotl"
    extensions = (".em",)
    description = "TOM/AV3 EM motive list (20 x N, 1-based positions; cryoCAT, STOPGAP, AV3)"

    def kept_columns(self, particles: ParticleList) -> set[str]:
        return set(_EXTRA)

    def write_file(self, particles: ParticleList, path: Path) -> None:
        table = to_em_array(particles)
        write_em(path, table[np.newaxis], pixel_size=particles.pixel_size, overwrite=True)


def _dims(path: Path) -> tuple[int, int, int] | None:
    try:
        return read_em_dims(path)
    except (OSError, InputError):
        return None


class EmMotlReader(MotlReader):
    """Read a TOM/AV3 EM motive list into 0-based positions."""

    name = "emmotl"
    extensions = (".em",)
    description = EmMotlWriter.description

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if Path(path).suffix.lower() not in cls.extensions:
            return False
        dims = _dims(Path(path))
        return dims is not None and dims[0] == 20 and dims[2] == 1

    def read(self, path: str | os.PathLike) -> ParticleList:
        path = Path(path)
        if not path.is_file():
            raise InputError("no such file", path)
        dims = _dims(path)
        if dims is None:
            raise InputError("not an EM file", path)
        if dims[0] != 20 or dims[2] != 1:
            raise InputError(
                f"not an EM motive list: dimensions {dims[0]} x {dims[1]} x {dims[2]}, expected 20 x N x 1", path
            )
        if dims[1] == 0:
            return ParticleList.empty()
        data, pixel_size = read_em(path)
        return from_em_array(data[0], pixel_size=pixel_size)
