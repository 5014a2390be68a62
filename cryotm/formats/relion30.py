"""``relion30``: a RELION 3.0 subtomogram particle list (one ``data_`` block, no optics).

==========================  ==================================================
label                       value
==========================  ==================================================
rlnMicrographName           tomogram name (kept as a string)
rlnImageName                ``image_name`` template, by default
                            ``{tomo_name}_{subtomo_id:06d}.mrc``
rlnCoordinate{X,Y,Z}        x, y, z: voxels counted **from 0**
rlnOrigin{X,Y,Z}            -shift_x, -shift_y, -shift_z (voxels)
rlnAngleRot/Tilt/Psi        90 - phi, theta, -psi - 90 (see :mod:`._relion`)
rlnClassNumber              class
rlnAutopickFigureOfMerit    score (the label is the option ``score_label``)
rlnPixelSize,               the pixel size in Å (if known), as 3.0 wants it:
rlnDetectorPixelSize,       detector pixel = pixel size, magnification 10000
rlnMagnification
==========================  ==================================================
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

__all__ = ["Relion30Writer", "Relion30Reader", "image_names"]

DEFAULT_IMAGE_NAME = "{tomo_name}_{subtomo_id:06d}.mrc"
_ORIGINS = ("rlnOriginX", "rlnOriginY", "rlnOriginZ")


def image_names(particles: ParticleList, template: str) -> list[str]:
    """``rlnImageName`` of each particle from a template with ``{tomo_name}``, ``{tomo_id}``, ``{subtomo_id}``.

    Examples
    --------
    >>> plist = ParticleList.from_arrays([[0, 0, 0]], experiment_id="TS_01")
    >>> image_names(plist, "{tomo_name}/{subtomo_id:04d}.mrc")
    ['TS_01/0001.mrc']
    """
    names, ids = _relion.names_and_ids(particles)
    tomo_ids = particles.data["tomo_id"].to_numpy()
    try:
        return [
            template.format(tomo_name=n, subtomo_id=int(i), tomo_id=int(t))
            for n, i, t in zip(names, ids, tomo_ids)
        ]
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(f"bad image_name template {template!r}: {exc}") from None


@attrs.define
class Relion30Writer(MotlWriter):
    """Write a RELION 3.0 particle star file (0-based coordinates, origins in voxels).

    Parameters
    ----------
    score_label : str
        Label of the score column.
    image_name : str
        Template of ``rlnImageName`` (fields ``tomo_name``, ``tomo_id``, ``subtomo_id``).
    """

    name = "relion30"
    extensions = (".star",)
    description = "RELION 3.0 particle star file (data_ block; 0-based coordinates)"

    score_label: str = _relion.DEFAULT_SCORE_LABEL
    image_name: str = DEFAULT_IMAGE_NAME

    def write_file(self, particles: ParticleList, path: Path) -> None:
        columns = micrograph_columns(particles, self.image_name, _ORIGINS, 1.0, self.score_label)
        if particles.pixel_size:
            columns["rlnPixelSize"] = np.full(len(particles), particles.pixel_size)
            columns["rlnDetectorPixelSize"] = np.full(len(particles), particles.pixel_size)
            columns["rlnMagnification"] = np.full(len(particles), 10000.0)
        columns.update(_relion.extra_columns(particles, columns))
        write_star({"": pd.DataFrame(columns)}, path)


@attrs.define
class Relion30Reader(MotlReader):
    """Read a RELION 3.0 particle star file.

    Parameters
    ----------
    score_label : str, optional
        Label of the score column (default: the first of
        :data:`~cryotm.formats._relion.SCORE_LABELS` present).
    """

    name = "relion30"
    extensions = (".star",)
    description = Relion30Writer.description

    score_label: str | None = None

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if Path(path).suffix.lower() not in cls.extensions:
            return False
        blocks = scan_star(path)
        labels = blocks.get("", []) + blocks.get("particles", [])
        return "optics" not in blocks and "rlnCoordinateX" in labels and "rlnTomoName" not in labels

    def read(self, path: str | os.PathLike) -> ParticleList:
        blocks = read_star(path)
        table = particle_block(blocks, ("", "particles", "images"), path)
        frame, experiment_id = micrograph_frame(table, path, _ORIGINS, 1.0, self.score_label)
        return ParticleList(frame, pixel_size=_pixel_size_30(table), experiment_id=experiment_id)


def micrograph_columns(
    particles: ParticleList, image_name: str, origin_labels: tuple[str, str, str], scale: float, score_label: str
) -> dict[str, object]:
    """The particle columns of RELION 3.0 and 3.1: names, 0-based coordinates, origins, angles, class, score.

    The origins are ``-shift * scale`` (1 for RELION 3.0's voxels, the pixel
    size for 3.1's Å).
    """
    names, _ = _relion.names_and_ids(particles)
    data = particles.data
    columns: dict[str, object] = {
        "rlnMicrographName": names,
        "rlnImageName": image_names(particles, image_name),
        "rlnCoordinateX": data["x"].to_numpy(),
        "rlnCoordinateY": data["y"].to_numpy(),
        "rlnCoordinateZ": data["z"].to_numpy(),
    }
    for label, axis in zip(origin_labels, ("shift_x", "shift_y", "shift_z")):
        columns[label] = 0.0 - data[axis].to_numpy() * scale
    columns.update(_relion.common_columns(particles, score_label))
    return columns


def micrograph_frame(
    table: pd.DataFrame,
    path: str | os.PathLike,
    origin_labels: tuple[str, str, str],
    pixel_size: float | None,
    score_label: str | None,
) -> tuple[pd.DataFrame, str]:
    """The cryotm frame and experiment id of a RELION 3.0/3.1 particle table (origins in units of `pixel_size`)."""
    positions = _coordinates(table, path)
    shifts = -_origins(table, origin_labels, pixel_size, path)
    return _relion.frame_from_relion(
        table, path, positions, shifts, "rlnMicrographName", "rlnImageName", score_label
    )


def _coordinates(table: pd.DataFrame, path: str | os.PathLike, scale: float = 1.0) -> np.ndarray:
    labels = ("rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ")
    missing = [label for label in labels if label not in table.columns]
    if missing:
        raise InputError(f"RELION particle list lacks {', '.join(missing)}", path)
    values = table[list(labels)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        raise InputError("non-numeric particle coordinates", path)
    return values / scale


def _origins(
    table: pd.DataFrame, labels: tuple[str, str, str], pixel_size: float | None, path: str | os.PathLike
) -> np.ndarray:
    """Origins in voxels from columns in units of `pixel_size` (zeros where the columns are absent).

    Raises
    ------
    InputError
        If the table has origin columns but no pixel size is known.
    """
    if not pixel_size and any(label in table.columns for label in labels):
        raise InputError(
            "origins in Å but no pixel size (rlnImagePixelSize) in the optics block "
            "(give --pixel-size / pixel_size=)",
            path,
        )
    if not all(label in table.columns for label in labels):
        return np.zeros((len(table), 3))
    values = table[list(labels)].apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
    return values / pixel_size


def _pixel_size_30(table: pd.DataFrame) -> float | None:
    if "rlnPixelSize" in table.columns and len(table):
        return float(table["rlnPixelSize"].iloc[0])
    if {"rlnDetectorPixelSize", "rlnMagnification"} <= set(table.columns) and len(table):
        return float(table["rlnDetectorPixelSize"].iloc[0]) * 1e4 / float(table["rlnMagnification"].iloc[0])
    return None
