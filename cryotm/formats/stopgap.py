"""``stopgap``: the STOPGAP motive list, a STAR file with one ``data_stopgap_motivelist`` loop.

Columns, in STOPGAP's order, and what cryotm puts there:

===========  ==============================================================
column       value
===========  ==============================================================
motl_idx     subtomo_id (as cryoCAT writes it)
tomo_num     tomo_id
object       object_id
subtomo_num  subtomo_id
halfset      the ``halfset`` column if the list has one, else ``A`` for
             even and ``B`` for odd subtomo_id (cryoCAT's rule)
orig_x..z    x + 1, y + 1, z + 1 (**1-based** voxels)
score        score
x_shift..z   shift_x..z (voxels)
phi psi the  phi, psi, theta (extrinsic zxz, degrees; note the order)
class        class
===========  ==============================================================
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._lazy import lazy_module
from ..errors import InputError
from ..particles import ParticleList
from ._star import particle_block, read_star, scan_star, write_star
from .base import MotlReader, MotlWriter

pd = lazy_module("pandas")

__all__ = ["StopgapWriter", "StopgapReader", "STOPGAP_COLUMNS", "BLOCK"]

BLOCK = "stopgap_motivelist"

#: STOPGAP column -> cryotm column (positions get the 1-based offset on top).
STOPGAP_COLUMNS: dict[str, str] = {
    "motl_idx": "subtomo_id",
    "tomo_num": "tomo_id",
    "object": "object_id",
    "subtomo_num": "subtomo_id",
    "halfset": "halfset",
    "orig_x": "x",
    "orig_y": "y",
    "orig_z": "z",
    "score": "score",
    "x_shift": "shift_x",
    "y_shift": "shift_y",
    "z_shift": "shift_z",
    "phi": "phi",
    "psi": "psi",
    "the": "theta",
    "class": "class",
}
_OFFSET = {"orig_x": 1.0, "orig_y": 1.0, "orig_z": 1.0}


def to_stopgap_frame(particles: ParticleList) -> pd.DataFrame:
    """The STOPGAP motive-list table of `particles`.

    Examples
    --------
    >>> plist = ParticleList.from_arrays([[0.0, 1.0, 2.0]], orientations=[[10, 20, 30]])
    >>> to_stopgap_frame(plist)[["orig_x", "orig_y", "orig_z", "phi", "psi", "the", "halfset"]].values.tolist()
    [[1.0, 2.0, 3.0, 10.0, 30.0, 20.0, 'B']]
    """
    data = particles.data
    frame = pd.DataFrame(index=range(len(data)))
    for column, source in STOPGAP_COLUMNS.items():
        if column == "halfset":
            if "halfset" in data.columns:
                frame[column] = data["halfset"].astype(str).to_numpy()
            else:
                frame[column] = np.where(data["subtomo_id"].to_numpy() % 2 == 0, "A", "B")
        else:
            frame[column] = data[source].to_numpy() + _OFFSET.get(column, 0)
    return frame


class StopgapWriter(MotlWriter):
    """Write a STOPGAP motive list (``.star``, 1-based positions, angles phi psi the)."""

    name = "stopgap"
    extensions = (".star",)
    description = "STOPGAP motive list star file (data_stopgap_motivelist; 1-based positions)"

    def kept_columns(self, particles: ParticleList) -> set[str]:
        return {"halfset"}

    def write_file(self, particles: ParticleList, path: Path) -> None:
        write_star({BLOCK: to_stopgap_frame(particles)}, path)


class StopgapReader(MotlReader):
    """Read a STOPGAP motive list into 0-based positions."""

    name = "stopgap"
    extensions = (".star",)
    description = StopgapWriter.description

    @classmethod
    def sniff(cls, path: Path) -> bool:
        return Path(path).suffix.lower() in cls.extensions and BLOCK in scan_star(path)

    def read(self, path: str | os.PathLike) -> ParticleList:
        table = particle_block(read_star(path), (BLOCK,), path)
        missing = [c for c in STOPGAP_COLUMNS if c not in table.columns and c not in ("motl_idx", "halfset")]
        if missing:
            raise InputError(f"STOPGAP motive list lacks column(s) {', '.join(missing)}", path)
        frame = pd.DataFrame(index=range(len(table)))
        for column, target in STOPGAP_COLUMNS.items():
            if column in ("motl_idx",) or column not in table.columns:
                continue
            if column == "halfset":
                frame["halfset"] = table[column].astype(str).to_numpy()
                continue
            values = pd.to_numeric(table[column], errors="coerce")
            if values.isna().any():
                raise InputError(f"column {column!r} holds non-numeric values", path)
            frame[target] = values.to_numpy(dtype=np.float64) - _OFFSET.get(column, 0)
        return ParticleList(frame)
