"""``dynamo``: a Dynamo table (``.tbl``), 35 space-separated numeric columns per particle.

The columns cryotm fills (1-based numbering as in Dynamo's ``dthelp``); the
others are 0, except 2 and 3 (aligned, averaged) which are 1:

======  ========  ===============================================
column  name      value
======  ========  ===============================================
1       tag       subtomo_id
4-6     dx dy dz  shift_x, shift_y, shift_z (voxels)
7       tdrot     -psi
8       tilt      -theta
9       narot     -phi
10      cc        score
20      tomo      tomo_id
21      reg       object_id
22      class     class
24-26   x y z     x + 1, y + 1, z + 1 (**1-based** voxels, as in MATLAB)
======  ========  ===============================================

The angle mapping (tdrot, tilt, narot) = (-psi, -theta, -phi) is the one of
the design notes, of cryoCAT and of Dynamo's own ``dynamo__motl2table``.
Dynamo's matrix (``dynamo_euler2matrix``: ``Rz(narot) Rx(tilt) Rz(tdrot)``,
i.e. ``Rotation.from_euler("zxz", [tdrot, tilt, narot])``) is then the
inverse of cryotm's ``R = Rotation.from_euler("zxz", [phi, theta, psi])``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from .._lazy import lazy_module
from ..errors import InputError
from ..particles import ParticleList
from .base import MotlReader, MotlWriter

pd = lazy_module("pandas")

__all__ = ["DynamoWriter", "DynamoReader", "DYNAMO_COLUMNS", "N_COLUMNS"]

N_COLUMNS = 35
#: 1-based Dynamo column -> (cryotm column, sign, offset).
DYNAMO_COLUMNS: dict[int, tuple[str, float, float]] = {
    1: ("subtomo_id", 1.0, 0.0),
    4: ("shift_x", 1.0, 0.0),
    5: ("shift_y", 1.0, 0.0),
    6: ("shift_z", 1.0, 0.0),
    7: ("psi", -1.0, 0.0),
    8: ("theta", -1.0, 0.0),
    9: ("phi", -1.0, 0.0),
    10: ("score", 1.0, 0.0),
    20: ("tomo_id", 1.0, 0.0),
    21: ("object_id", 1.0, 0.0),
    22: ("class", 1.0, 0.0),
    24: ("x", 1.0, 1.0),
    25: ("y", 1.0, 1.0),
    26: ("z", 1.0, 1.0),
}
_INTEGER_COLUMNS = (1, 2, 3, 20, 21, 22)


def to_dynamo_frame(particles: ParticleList) -> pd.DataFrame:
    """The 35-column Dynamo table of `particles` (columns numbered 1..35).

    Examples
    --------
    >>> plist = ParticleList.from_arrays([[0.0, 1.0, 2.0]], orientations=[[10, 20, 30]])
    >>> to_dynamo_frame(plist)[[7, 8, 9, 24, 25, 26]].values.tolist()
    [[-30.0, -20.0, -10.0, 1.0, 2.0, 3.0]]
    """
    n = len(particles)
    frame = pd.DataFrame({c: np.zeros(n) for c in range(1, N_COLUMNS + 1)})
    frame[2] = 1.0
    frame[3] = 1.0
    for column, (source, sign, offset) in DYNAMO_COLUMNS.items():
        frame[column] = sign * particles.data[source].to_numpy(dtype=np.float64) + offset
    for column in _INTEGER_COLUMNS:
        frame[column] = np.rint(frame[column]).astype(np.int64)
    return frame


class DynamoWriter(MotlWriter):
    """Write a Dynamo table (``.tbl``; 1-based positions; tdrot, tilt, narot = -psi, -theta, -phi)."""

    name = "dynamo"
    extensions = (".tbl",)
    description = "Dynamo table (.tbl, 35 columns; 1-based positions)"

    def write_file(self, particles: ParticleList, path: Path) -> None:
        # pandas writes floats at full (shortest round-trip) precision
        to_dynamo_frame(particles).to_csv(path, sep=" ", header=False, index=False, lineterminator="\n")


class DynamoReader(MotlReader):
    """Read a Dynamo table into 0-based positions."""

    name = "dynamo"
    extensions = (".tbl",)
    description = DynamoWriter.description

    def read(self, path: str | os.PathLike) -> ParticleList:
        path = Path(path)
        if not path.is_file():
            raise InputError("no such file", path)
        text = path.read_text(errors="replace")
        if not text.strip():
            return ParticleList.empty()
        try:
            table = pd.read_csv(io.StringIO(text), sep=r"\s+", header=None, comment="%", dtype=np.float64)
        except (ValueError, pd.errors.ParserError) as exc:
            raise InputError(f"cannot read as a Dynamo table: {exc}", path) from None
        if table.shape[1] < 26:
            raise InputError(f"a Dynamo table needs at least 26 columns, found {table.shape[1]}", path)
        if table.isna().any().any():
            raise InputError("a Dynamo table must hold numbers in every column", path)
        frame = pd.DataFrame(
            {
                source: sign * (table[column - 1].to_numpy() - offset)
                for column, (source, sign, offset) in DYNAMO_COLUMNS.items()
            }
        )
        return ParticleList(frame)  # ids are rounded and range-checked there
