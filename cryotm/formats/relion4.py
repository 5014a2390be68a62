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
rlnOpticsGroup              the particle's optics group
==========================  ==================================================

RELION 4.0.x adds 1 to these coordinates internally but also starts its
tomograms at 1; RELION 5 does neither: the same file means the same voxel in
both, and no version needs a correction (docs: conventions, "RELION 4.0's
internal +1").

A list read from a RELION file keeps its optics groups, binning, particle
names and every other column; the writer writes them back (see
:mod:`._relion`). A new list gets one optics group with ``rlnTomoTiltSeriesPixelSize`` =
pixel_size / binning, ``rlnTomoSubtomogramBinning`` = binning (the list's
own binning unless the option ``binning`` is given) and
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

from .._lazy import lazy_module
from ..particles import ParticleList
from . import _relion
from ._star import particle_block, read_star, scan_star, write_star
from .base import MotlReader, MotlWriter
from .relion30 import _coordinates, _kept_blocks, _origins, _single, relion_kept

pd = lazy_module("pandas")

__all__ = ["Relion4Writer", "Relion4Reader", "particle_names", "tomo_pixel_size"]

_ORIGINS_ANGST = ("rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst")
_COORDINATES = ("rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ")


def _positive(instance, attribute, value) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def particle_names(particles: ParticleList) -> list[str]:
    """RELION 4/5 ``rlnTomoParticleName``: the list's own, else ``{tomo_name}/{subtomo_id}``."""
    names, ids = _relion.names_and_ids(particles)
    generated = [f"{n}/{int(i)}" for n, i in zip(names, ids)]
    return _relion.raw_names(particles, "rlnTomoParticleName", generated)


def tomo_particles_block(particles: ParticleList, score_label: str | None, binning: float | None = None):
    """The columns RELION 4 and 5 share (everything but the coordinates) and the optics block.

    Returns ``(columns, optics)``.
    """
    sizes = _relion.particle_pixel_sizes(particles)
    names, _ = _relion.names_and_ids(particles)
    columns: dict[str, object] = {
        "rlnTomoName": names,
        "rlnTomoParticleName": particle_names(particles),
    }
    columns.update(_relion.pose_columns(particles, sizes, _ORIGINS_ANGST, subtomogram=True))
    columns.update(_relion.common_columns(particles, _relion.score_label_for(particles, score_label)))
    optics, groups = _relion.optics_table(particles, tomo=True, binning=binning)
    columns["rlnOpticsGroup"] = _relion.keep_raw(particles, "rlnOpticsGroup", groups)
    return columns, optics


def tomo_pixel_size(blocks: dict, binning: float) -> float | None:
    """Pixel size of the tomogram binned by `binning`, from the first optics group."""
    tilt_series = _relion.optics_value(blocks, "rlnTomoTiltSeriesPixelSize")
    if tilt_series:
        return tilt_series * binning
    return _relion.optics_value(blocks, "rlnImagePixelSize")


def file_binning(blocks: dict, binning: float | None) -> float:
    """`binning` if given, else the optics' ``rlnTomoSubtomogramBinning``, else 1."""
    if binning is not None:
        return float(binning)
    return _relion.optics_value(blocks, "rlnTomoSubtomogramBinning") or 1.0


def tomo_pixel_sizes(
    blocks: dict, table: pd.DataFrame, path: str | os.PathLike, pixel_size: float | None, binning: float | None
) -> np.ndarray | None:
    """Each particle's pixel size: `pixel_size` if given, else its optics group's (tilt series x binning)."""
    if pixel_size:
        return np.full(len(table), float(pixel_size))
    optics = _relion.optics_of(blocks)
    return _relion.pixel_sizes_by_group(table, optics, path, binning)


def tomo_list(
    frame: pd.DataFrame, blocks: dict, table: pd.DataFrame, sizes: np.ndarray | None, binning: float,
    experiment_id: str, **metadata
) -> ParticleList:
    """The :class:`ParticleList` of a RELION 4/5 file: its pixel size(s), binning, optics and other blocks."""
    pixel_size = _single(sizes)
    if sizes is not None and pixel_size is None:
        frame["pixel_size"] = sizes
    return ParticleList(
        frame, pixel_size=pixel_size, experiment_id=experiment_id, binning=binning,
        optics=_relion.optics_of(blocks), blocks=_kept_blocks(blocks, table), **metadata,
    )


@attrs.define
class Relion4Writer(MotlWriter):
    """Write a RELION 4 tomography particle star file.

    Parameters
    ----------
    binning : float, optional
        Binning of the tomogram the positions refer to, relative to the
        tilt series (coordinates are written multiplied by it); default: the
        list's own (kept from the file it was read from), else 1.
    score_label : str, optional
        Label of the score column (default: the file's, else
        ``rlnAutopickFigureOfMerit``).
    """

    name = "relion4"
    extensions = (".star",)
    description = "RELION 4 tomography star file (rlnTomoName; unbinned 0-based coordinates)"
    requires_pixel_size = True

    binning: float | None = attrs.field(default=None, converter=attrs.converters.optional(float),
                                        validator=_positive)
    score_label: str | None = None

    def kept_columns(self, particles: ParticleList) -> set[str]:
        return relion_kept(particles) | {"pixel_size"}

    def write_file(self, particles: ParticleList, path: Path) -> None:
        binning = self.binning or particles.binning or 1.0
        data = particles.data
        columns: dict[str, object] = {}
        for axis, label in zip("xyz", _COORDINATES):
            columns[label] = _relion.keep_raw(particles, label, data[axis].to_numpy() * binning)
        shared, optics = tomo_particles_block(particles, self.score_label, binning)
        columns.update(shared)
        columns.update(_relion.extra_columns(particles, columns))
        write_star({**particles.blocks, "optics": optics, "particles": _relion.particle_table(particles, columns)}, path)


@attrs.define
class Relion4Reader(MotlReader):
    """Read a RELION 4 tomography particle star file into positions binned by `binning`.

    Parameters
    ----------
    pixel_size : float, optional
        Voxel size in Å of that tomogram, used to turn the origins (Å) into
        voxel shifts; overrides the file's (default: each particle's optics
        group's ``rlnTomoTiltSeriesPixelSize`` times the binning, else
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
        blocks = read_star(path, as_text=True)
        table = particle_block(blocks, ("particles",), path)
        binning = file_binning(blocks, self.binning)
        sizes = tomo_pixel_sizes(blocks, table, path, self.pixel_size, self.binning)
        positions = _coordinates(table, path, scale=binning)
        origins = _origins(table, _ORIGINS_ANGST, sizes, path)
        frame, experiment_id = _relion.frame_from_relion(
            table, path, positions, origins, "rlnTomoName", "rlnTomoParticleName", self.score_label,
            subtomogram=True,
        )
        return tomo_list(frame, blocks, table, sizes, binning, experiment_id)
