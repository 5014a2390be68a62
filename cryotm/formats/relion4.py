"""``relion4``: a RELION 4 tomography particle list (``rlnTomoName``, unbinned coordinates).

==========================  ==================================================
label                       value
==========================  ==================================================
rlnTomoName                 tomogram name (kept as a string)
rlnTomoParticleName         ``{tomo_name}/{subtomo_id}``
rlnCoordinate{X,Y,Z}        x, y, z times ``binning``: unbinned tilt-series
                            pixels counted **from 0** (voxel i of a tomogram
                            binned by B sits at i * B, as RELION reconstructs)
rlnOrigin{X,Y,Z}Angst       -shift * pixel_size
rlnAngleRot/Tilt/Psi        90 - phi, theta, -psi - 90 (see :mod:`._relion`)
rlnClassNumber              class
rlnAutopickFigureOfMerit    score (option ``score_label``)
rlnOpticsGroup              1
==========================  ==================================================

The optics block has one group with ``rlnTomoTiltSeriesPixelSize`` =
pixel_size / binning, ``rlnTomoSubtomogramBinning`` = binning and
``rlnImagePixelSize`` = pixel_size, where pixel_size is that of the tomogram
the positions were picked in (required). The reader takes the pixel size the
user gives (``pixel_size=``, ``--pixel-size``: that of the tomogram binned by
``binning``), else ``rlnTomoTiltSeriesPixelSize`` times the binning, else
``rlnImagePixelSize``.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import numpy as np
import pandas as pd

from ..errors import InputError
from ..particles import ParticleList
from . import _relion
from ._star import particle_block, read_star, scan_star, write_star
from .base import MotlReader, MotlWriter
from .relion30 import _coordinates, _origins

__all__ = ["Relion4Writer", "Relion4Reader", "particle_names", "tomo_pixel_size"]

_ORIGINS_ANGST = ("rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst")


def _positive(instance, attribute, value) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def particle_names(particles: ParticleList) -> list[str]:
    """RELION 4/5 ``rlnTomoParticleName``: ``{tomo_name}/{subtomo_id}``."""
    names, ids = _relion.names_and_ids(particles)
    return [f"{n}/{int(i)}" for n, i in zip(names, ids)]


def tomo_particles_block(particles: ParticleList, score_label: str) -> dict[str, object]:
    """The columns RELION 4 and 5 share (everything but the coordinates)."""
    pixel_size = float(particles.pixel_size)
    names, _ = _relion.names_and_ids(particles)
    data = particles.data
    columns: dict[str, object] = {
        "rlnTomoName": names,
        "rlnTomoParticleName": particle_names(particles),
        "rlnOriginXAngst": 0.0 - data["shift_x"].to_numpy() * pixel_size,
        "rlnOriginYAngst": 0.0 - data["shift_y"].to_numpy() * pixel_size,
        "rlnOriginZAngst": 0.0 - data["shift_z"].to_numpy() * pixel_size,
    }
    columns.update(_relion.common_columns(particles, score_label))
    columns["rlnOpticsGroup"] = np.ones(len(particles), dtype=np.int64)
    return columns


def tomo_pixel_size(blocks: dict, binning: float) -> float | None:
    """Pixel size of the tomogram binned by `binning`, from the optics block."""
    tilt_series = _relion.optics_value(blocks, "rlnTomoTiltSeriesPixelSize")
    if tilt_series:
        return tilt_series * binning
    return _relion.optics_value(blocks, "rlnImagePixelSize")


def file_binning(blocks: dict, binning: float | None) -> float:
    """`binning` if given, else the optics' ``rlnTomoSubtomogramBinning``, else 1."""
    if binning is not None:
        return float(binning)
    return _relion.optics_value(blocks, "rlnTomoSubtomogramBinning") or 1.0


@attrs.define
class Relion4Writer(MotlWriter):
    """Write a RELION 4 tomography particle star file.

    Parameters
    ----------
    binning : float
        Binning of the tomogram the positions refer to, relative to the
        tilt series (coordinates are written multiplied by it).
    score_label : str
        Label of the score column.
    """

    name = "relion4"
    extensions = (".star",)
    description = "RELION 4 tomography star file (rlnTomoName; unbinned 0-based coordinates)"
    requires_pixel_size = True

    binning: float = attrs.field(default=1.0, converter=float, validator=_positive)
    score_label: str = _relion.DEFAULT_SCORE_LABEL

    def write_file(self, particles: ParticleList, path: Path) -> None:
        data = particles.data
        columns: dict[str, object] = {
            "rlnCoordinateX": data["x"].to_numpy() * self.binning,
            "rlnCoordinateY": data["y"].to_numpy() * self.binning,
            "rlnCoordinateZ": data["z"].to_numpy() * self.binning,
        }
        columns.update(tomo_particles_block(particles, self.score_label))
        columns.update(_relion.extra_columns(particles, columns))
        optics = _relion.optics_block(float(particles.pixel_size), self.binning, tomo=True)
        write_star({"optics": optics, "particles": pd.DataFrame(columns)}, path)


@attrs.define
class Relion4Reader(MotlReader):
    """Read a RELION 4 tomography particle star file into positions binned by `binning`.

    Parameters
    ----------
    pixel_size : float, optional
        Voxel size in Å of that tomogram, used to turn the origins (Å) into
        voxel shifts; overrides the file's (default: from the optics block,
        ``rlnTomoTiltSeriesPixelSize`` times the binning, else
        ``rlnImagePixelSize``; an error if neither is there and the file has
        origins).
    binning : float, optional
        Binning of the tomogram the positions should refer to (default: the
        optics' ``rlnTomoSubtomogramBinning``, else 1).
    score_label : str, optional
        Label of the score column (default: the first known one present).
    """

    name = "relion4"
    extensions = (".star",)
    description = Relion4Writer.description

    pixel_size: float | None = attrs.field(default=None, validator=_positive)
    binning: float | None = attrs.field(default=None, validator=_positive)
    score_label: str | None = None

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if Path(path).suffix.lower() not in cls.extensions:
            return False
        labels = scan_star(path).get("particles", [])
        return "rlnTomoName" in labels and "rlnCoordinateX" in labels

    def read(self, path: str | os.PathLike) -> ParticleList:
        blocks = read_star(path)
        table = particle_block(blocks, ("particles",), path)
        binning = file_binning(blocks, self.binning)
        pixel_size = self.pixel_size or tomo_pixel_size(blocks, binning)
        positions = _coordinates(table, path, scale=binning)
        shifts = -_origins(table, _ORIGINS_ANGST, pixel_size, path)
        frame, experiment_id = _relion.frame_from_relion(
            table, path, positions, shifts, "rlnTomoName", "rlnTomoParticleName", self.score_label
        )
        return ParticleList(frame, pixel_size=pixel_size, experiment_id=experiment_id)
