"""``relion5``: a RELION 5 tomography particle list (centred coordinates in Å).

As :mod:`.relion4`, except that positions are
``rlnCenteredCoordinate{X,Y,Z}Angst``, relative to the tomogram's centre:

    rlnCenteredCoordinateXAngst = (x - c(nx)) * pixel_size      (same for y, z)
    x = rlnCenteredCoordinateXAngst / pixel_size + c(nx)

with x the 0-based voxel position in a tomogram of nx voxels along x and
pixel_size its voxel size in Å, and the centre

* ``centre="relion"`` (default): c(n) = n / 2, as RELION 5's C++ code puts
  the tomogram centre (and as cryoCAT converts);
* ``centre="pytom"``: c(n) = n / 2 - 1, as pytom-match-pick writes them.

The tomogram shape is therefore needed both to write and to read (RELION
keeps it in its tomograms star file, not in the particle list); a tomogram
of 200 x 400 x 400 voxels (z, y, x) at 10 Å has its RELION centre at voxel
(x, y, z) = (200, 200, 100), so a particle at voxel (210, 190, 100) is at
(100, -100, 0) Å.

A list of many tomograms of different sizes (a merged list, whose
``tomo_name`` column names each particle's tomogram) takes the shapes from a
RELION 5 tomograms star file instead: option ``tomograms`` (``--tomograms
STAR``) of both the writer and the reader, matched by tomogram name; see
:mod:`._tomograms` for how its unbinned sizes become shapes. It also gives the
pixel size when neither the list (writer) nor the user and the optics block
(reader) do. Without it, one shape serves every particle.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import attrs
import numpy as np

from .._lazy import lazy_module
from ..errors import InputError
from ..particles import ParticleList
from . import _relion
from ._star import particle_block, read_star, scan_star, write_star
from ._tomograms import read_tomograms, tomograms_for
from .base import MotlReader, MotlWriter
from .relion4 import (
    _ORIGINS_ANGST,
    _positive,
    file_binning,
    tomo_list,
    tomo_particles_block,
    tomo_pixel_sizes,
)
from .relion30 import _origins, relion_kept

pd = lazy_module("pandas")

__all__ = ["Relion5Writer", "Relion5Reader", "CENTRES", "tomogram_centre", "per_tomogram"]

CENTRES = ("relion", "pytom")
_CENTRED = ("rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst")


def tomogram_centre(tomogram_shape: tuple[float, float, float] | np.ndarray, centre: str = "relion") -> np.ndarray:
    """The centre (x, y, z), in 0-based voxels, of a tomogram of shape (nz, ny, nx).

    `tomogram_shape` may also be an (N, 3) array of shapes (one per
    particle); the result is then (N, 3).

    Examples
    --------
    >>> tomogram_centre((200, 400, 400)).tolist()
    [200.0, 200.0, 100.0]
    >>> tomogram_centre((200, 400, 400), centre="pytom").tolist()
    [199.0, 199.0, 99.0]
    """
    if centre not in CENTRES:
        raise InputError(f"unknown centre {centre!r} (known: {', '.join(CENTRES)})")
    size_xyz = np.asarray(tomogram_shape, dtype=np.float64)[..., ::-1]
    return size_xyz / 2.0 - (1.0 if centre == "pytom" else 0.0)


def _check_centre(instance, attribute, value) -> None:
    if value not in CENTRES:
        raise ValueError(f"centre must be one of {', '.join(CENTRES)}, got {value!r}")


def _path_or_none(value):
    return None if value is None else os.fspath(value)


def per_tomogram(
    names, tomograms: str | os.PathLike, pixel_size, centre: str
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) pixel sizes and (N, 3) centres (x, y, z voxels) of each particle's tomogram, by name.

    `pixel_size` (Å, of the voxels the positions count; one value or one
    per particle) defaults to that of the reconstructed tomograms in the
    file, which must then agree.

    Raises
    ------
    InputError
        A name the tomograms file lacks, or no single pixel size.
    """
    found = tomograms_for(names, read_tomograms(tomograms), tomograms)
    if pixel_size is not None and np.ndim(pixel_size) and len(found):
        sizes = np.asarray(pixel_size, dtype=np.float64)
        shapes = np.array([t.shape(p) for t, p in zip(found, sizes)], dtype=np.float64).reshape(-1, 3)
        return sizes, tomogram_centre(shapes, centre)
    if pixel_size is not None and np.ndim(pixel_size):
        pixel_size = float(pixel_size[0]) if len(pixel_size) else None
    if not pixel_size:
        sizes = sorted({t.pixel_size for t in found})
        if len(sizes) != 1:
            raise InputError(
                "no pixel size: give --pixel-size / pixel_size= (the tomograms' differ: "
                f"{', '.join(f'{s:g}' for s in sizes)} Å)" if sizes else "no particles and no pixel size",
                tomograms,
            )
        pixel_size = sizes[0]
    shapes = np.array([t.shape(pixel_size) for t in found], dtype=np.float64).reshape(-1, 3)
    return np.full(len(found), float(pixel_size)), tomogram_centre(shapes, centre)


@attrs.define
class Relion5Writer(MotlWriter):
    """Write a RELION 5 tomography particle star file (needs pixel size and tomogram shape(s)).

    Parameters
    ----------
    binning : float, optional
        Binning of the tomogram the positions refer to, relative to the tilt
        series (written to the optics block); default: the list's own, else 1.
    centre : {'relion', 'pytom'}
        Definition of the tomogram centre (see the module documentation).
    score_label : str, optional
        Label of the score column (default: the file's, else
        ``rlnAutopickFigureOfMerit``).
    tomograms : str or path-like, optional
        A RELION 5 tomograms star file giving each particle's tomogram shape
        by name (instead of the list's single ``tomogram_shape``), and the
        pixel size if the list has none.
    """

    name = "relion5"
    extensions = (".star",)
    description = "RELION 5 tomography star file (rlnCenteredCoordinate{X,Y,Z}Angst)"
    requires_pixel_size = True
    requires_tomogram_shape = True

    binning: float | None = attrs.field(default=None, converter=attrs.converters.optional(float),
                                        validator=_positive)
    centre: Literal["relion", "pytom"] = attrs.field(default="relion", validator=_check_centre)
    score_label: str | None = None
    tomograms: str | None = attrs.field(default=None, converter=_path_or_none)

    def check(self, particles: ParticleList, path: str | os.PathLike | None = None) -> None:
        if self.tomograms is None:
            super().check(particles, path)

    def kept_columns(self, particles: ParticleList) -> set[str]:
        return relion_kept(particles) | {"pixel_size"}

    def write_file(self, particles: ParticleList, path: Path) -> None:
        if self.tomograms is None:
            sizes = _relion.particle_pixel_sizes(particles)
            centre = tomogram_centre(particles.tomogram_shape, self.centre)
        else:
            sizes, centre = per_tomogram(
                particles.tomogram_names(), self.tomograms, particles.pixel_sizes(), self.centre
            )
            if particles.pixel_sizes() is None:
                particles = attrs.evolve(particles, pixel_size=float(sizes[0]) if len(sizes) else None)
        centred = (particles.positions - centre) * sizes[:, None]
        columns: dict[str, object] = {
            label: _relion.keep_raw(particles, label, centred[:, i]) for i, label in enumerate(_CENTRED)
        }
        shared, optics = tomo_particles_block(particles, self.score_label, self.binning)
        columns.update(shared)
        columns.update(_relion.extra_columns(particles, columns))
        write_star({**particles.blocks, "optics": optics, "particles": _relion.particle_table(particles, columns)}, path)


@attrs.define
class Relion5Reader(MotlReader):
    """Read a RELION 5 tomography particle star file into 0-based voxel positions.

    Parameters
    ----------
    tomogram_shape : tuple of int
        ``(nz, ny, nx)`` of the tomogram the positions should refer to
        (required unless `tomograms` is given).
    pixel_size : float, optional
        Its voxel size in Å (default: from each particle's optics group,
        ``rlnTomoTiltSeriesPixelSize`` times the binning; without optics, as
        pytom-match-pick writes, ``rlnDetectorPixelSize``).
    binning : float, optional
        Binning of that tomogram (default: ``rlnTomoSubtomogramBinning``, else 1).
    centre : {'relion', 'pytom'}
        Definition of the tomogram centre.
    score_label : str, optional
        Label of the score column (default: the first known one present).
    tomograms : str or path-like, optional
        A RELION 5 tomograms star file giving each particle's tomogram shape
        by ``rlnTomoName`` (overrides `tomogram_shape`), and the pixel size
        if neither `pixel_size` nor the optics block gives one.
    """

    name = "relion5"
    extensions = (".star",)
    description = Relion5Writer.description

    tomogram_shape: tuple[int, int, int] | None = attrs.field(
        default=None, converter=lambda v: None if v is None else tuple(int(s) for s in v)
    )
    pixel_size: float | None = attrs.field(default=None, validator=_positive)
    binning: float | None = attrs.field(default=None, validator=_positive)
    centre: Literal["relion", "pytom"] = attrs.field(default="relion", validator=_check_centre)
    score_label: str | None = None
    tomograms: str | None = attrs.field(default=None, converter=_path_or_none)

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if Path(path).suffix.lower() not in cls.extensions:
            return False
        blocks = scan_star(path)
        # RELION writes data_particles; pytom-match-pick's RELION 5 lists have one data_ block
        return _CENTRED[0] in blocks.get("particles", []) + blocks.get("", [])

    def read(self, path: str | os.PathLike) -> ParticleList:
        if self.tomogram_shape is None and self.tomograms is None:
            raise InputError(
                "reading RELION 5 centred coordinates needs the tomogram's shape "
                "(give --tomogram-shape Z Y X / --tomogram-size X Y Z / tomogram_shape=, "
                "or a tomograms star file: --tomograms STAR / tomograms=)",
                path,
            )
        blocks = read_star(path, as_text=True)
        table = particle_block(blocks, ("particles", ""), path)
        binning = file_binning(blocks, self.binning)
        sizes = tomo_pixel_sizes(blocks, table, path, self.pixel_size, self.binning)
        if sizes is None and "rlnDetectorPixelSize" in table.columns:  # pytom-match-pick: no optics block
            sizes = pd.to_numeric(table["rlnDetectorPixelSize"], errors="coerce").to_numpy(dtype=np.float64)
        if self.tomograms is not None:
            if "rlnTomoName" not in table.columns:
                raise InputError("matching particles to --tomograms needs rlnTomoName", path)
            names = table["rlnTomoName"].astype(str).tolist()
            sizes, centres = per_tomogram(names, self.tomograms, sizes, self.centre)
        elif sizes is not None:
            centres = tomogram_centre(self.tomogram_shape, self.centre)
        if sizes is None or not (np.isfinite(sizes).all() and (sizes > 0).all()):
            raise InputError("no pixel size in the optics block (give --pixel-size / pixel_size=)", path)
        missing = [label for label in _CENTRED if label not in table.columns]
        if missing:
            raise InputError(f"RELION 5 particle list lacks {', '.join(missing)}", path)
        centred = table[list(_CENTRED)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(centred).all():
            row = int(np.flatnonzero(~np.isfinite(centred).all(axis=1))[0]) + 1
            raise InputError(f"particle {row} has a non-numeric or non-finite centred coordinate", path)
        positions = centred / sizes[:, None] + centres
        origins = _origins(table, _ORIGINS_ANGST, sizes, path)
        frame, experiment_id = _relion.frame_from_relion(
            table, path, positions, origins, "rlnTomoName", "rlnTomoParticleName", self.score_label,
            subtomogram=True,
        )
        return tomo_list(frame, blocks, table, sizes, binning, experiment_id, tomogram_shape=self.tomogram_shape)
