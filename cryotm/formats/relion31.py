"""``relion31``: a RELION 3.1 subtomogram particle list (``data_optics`` + ``data_particles``).

As :mod:`.relion30`, except that the pixel size lives in the optics block
(``rlnImagePixelSize``, one group, ``rlnImageDimensionality`` 3) and the
origins are in Å: ``rlnOrigin{X,Y,Z}Angst = -shift * pixel_size``. A pixel
size is therefore required: the reader takes the one the user gives
(``pixel_size=``, ``--pixel-size``), else the optics block's, else RELION 3.0's
``rlnPixelSize`` / ``rlnDetectorPixelSize``. Coordinates
``rlnCoordinate{X,Y,Z}`` are voxels counted from 0.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import numpy as np
import pandas as pd

from ..particles import ParticleList
from . import _relion
from ._star import particle_block, read_star, scan_star, write_star
from .base import MotlReader, MotlWriter
from .relion30 import DEFAULT_IMAGE_NAME, _pixel_size_30, micrograph_columns, micrograph_frame
from .relion4 import _positive

__all__ = ["Relion31Writer", "Relion31Reader"]

_ORIGINS_ANGST = ("rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst")


@attrs.define
class Relion31Writer(MotlWriter):
    """Write a RELION 3.1 particle star file with an optics block (needs the pixel size).

    Parameters
    ----------
    score_label : str
        Label of the score column.
    image_name : str
        Template of ``rlnImageName`` (fields ``tomo_name``, ``tomo_id``, ``subtomo_id``).
    """

    name = "relion31"
    extensions = (".star",)
    description = "RELION 3.1 particle star file (optics block; 0-based coordinates, origins in Å)"
    requires_pixel_size = True

    score_label: str = _relion.DEFAULT_SCORE_LABEL
    image_name: str = DEFAULT_IMAGE_NAME

    def write_file(self, particles: ParticleList, path: Path) -> None:
        pixel_size = float(particles.pixel_size)
        columns = micrograph_columns(particles, self.image_name, _ORIGINS_ANGST, pixel_size, self.score_label)
        columns["rlnOpticsGroup"] = np.ones(len(particles), dtype=np.int64)
        columns.update(_relion.extra_columns(particles, columns))
        write_star({"optics": _relion.optics_block(pixel_size), "particles": pd.DataFrame(columns)}, path)


@attrs.define
class Relion31Reader(MotlReader):
    """Read a RELION 3.1 particle star file (pixel size from the optics block unless given).

    Parameters
    ----------
    pixel_size : float, optional
        Voxel size in Å of the tomogram the coordinates refer to, used to
        turn the origins (Å) into voxel shifts; overrides the file's
        (default: the optics block's ``rlnImagePixelSize``, else the
        particles' ``rlnPixelSize``; an error if neither is there and the
        file has origins).
    score_label : str, optional
        Label of the score column (default: the first known one present).
    """

    name = "relion31"
    extensions = (".star",)
    description = Relion31Writer.description

    pixel_size: float | None = attrs.field(default=None, validator=_positive)
    score_label: str | None = None

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if Path(path).suffix.lower() not in cls.extensions:
            return False
        blocks = scan_star(path)
        labels = blocks.get("particles", [])
        return "optics" in blocks and "rlnCoordinateX" in labels and "rlnTomoName" not in labels

    def read(self, path: str | os.PathLike) -> ParticleList:
        blocks = read_star(path)
        table = particle_block(blocks, ("particles",), path)
        file_pixel_size = _relion.optics_value(blocks, "rlnImagePixelSize") or _pixel_size_30(table)
        pixel_size = self.pixel_size or file_pixel_size
        frame, experiment_id = micrograph_frame(table, path, _ORIGINS_ANGST, pixel_size, self.score_label)
        return ParticleList(frame, pixel_size=pixel_size, experiment_id=experiment_id)
