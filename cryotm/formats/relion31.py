"""``relion31``: a RELION 3.1 subtomogram particle list (``data_optics`` + ``data_particles``).

As :mod:`.relion30`, except that the pixel size lives in the optics block
(``rlnImagePixelSize``, ``rlnImageDimensionality`` 3) and the origins are in
Å: ``rlnOrigin{X,Y,Z}Angst = -shift * pixel_size``, with the pixel size of
each particle's optics group (``rlnOpticsGroup``): a list of several groups
of different pixel sizes keeps each particle's in a ``pixel_size`` column
and is written back with its own groups. A pixel
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

from ..particles import ParticleList
from . import _relion
from ._star import particle_block, read_star, scan_star, write_star
from .base import MotlReader, MotlWriter
from .relion30 import (
    DEFAULT_IMAGE_NAME,
    _kept_blocks,
    _pixel_sizes_30,
    _single,
    micrograph_columns,
    micrograph_frame,
    relion_kept,
)
from .relion4 import _positive

__all__ = ["Relion31Writer", "Relion31Reader"]

_ORIGINS_ANGST = ("rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst")


@attrs.define
class Relion31Writer(MotlWriter):
    """Write a RELION 3.1 particle star file with an optics block (needs the pixel size).

    Parameters
    ----------
    score_label : str, optional
        Label of the score column (default: the one of the file the list was
        read from, else ``rlnAutopickFigureOfMerit``).
    image_name : str
        Template of ``rlnImageName`` (fields ``tomo_name``, ``tomo_id``,
        ``subtomo_id``) for particles without one of their own.
    """

    name = "relion31"
    extensions = (".star",)
    description = "RELION 3.1 particle star file (optics block; 0-based coordinates, origins in Å)"
    requires_pixel_size = True

    score_label: str | None = None
    image_name: str = DEFAULT_IMAGE_NAME

    def kept_columns(self, particles: ParticleList) -> set[str]:
        return relion_kept(particles, drop=_relion.SUBTOMO_ANGLES) | {"pixel_size"}

    def write_file(self, particles: ParticleList, path: Path) -> None:
        sizes = _relion.particle_pixel_sizes(particles)
        label = _relion.score_label_for(particles, self.score_label)
        columns = micrograph_columns(particles, self.image_name, _ORIGINS_ANGST, sizes, label)
        optics, groups = _relion.optics_table(particles, tomo=False)
        columns["rlnOpticsGroup"] = _relion.keep_raw(particles, "rlnOpticsGroup", groups)
        columns.update(_relion.extra_columns(particles, columns, drop=_relion.SUBTOMO_ANGLES))
        blocks = {**particles.blocks, "optics": optics, "particles": _relion.particle_table(particles, columns)}
        write_star(blocks, path)


@attrs.define
class Relion31Reader(MotlReader):
    """Read a RELION 3.1 particle star file (pixel sizes from the optics groups unless given).

    Parameters
    ----------
    pixel_size : float, optional
        Voxel size in Å of the tomogram the coordinates refer to, used to
        turn the origins (Å) into voxel shifts; overrides the file's
        (default: each particle's optics group's ``rlnImagePixelSize``, else
        the particles' ``rlnPixelSize``; an error if neither is there and the
        file has origins). Particles of optics groups with different pixel
        sizes keep them in a ``pixel_size`` column.
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
        blocks = read_star(path, as_text=True)
        table = particle_block(blocks, ("particles",), path)
        optics = _relion.optics_of(blocks)
        if self.pixel_size:
            sizes = np.full(len(table), float(self.pixel_size))
        else:
            sizes = _relion.pixel_sizes_by_group(table, optics, path)
            if sizes is None or not np.isfinite(sizes).all():
                sizes = _pixel_sizes_30(table)
        frame, experiment_id = micrograph_frame(table, path, _ORIGINS_ANGST, sizes, self.score_label)
        pixel_size = _single(sizes)
        if sizes is not None and pixel_size is None:  # optics groups of different pixel sizes
            frame["pixel_size"] = sizes
        return ParticleList(
            frame, pixel_size=pixel_size, experiment_id=experiment_id, optics=optics,
            blocks=_kept_blocks(blocks, table),
        )
