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
import warnings
from pathlib import Path

import attrs
import numpy as np

from .._lazy import lazy_module
from ..errors import CryotmWarning, InputError
from ..particles import ParticleList
from . import _relion
from ._star import particle_block, read_star, scan_star, write_star
from .base import MotlReader, MotlWriter

pd = lazy_module("pandas")

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
    score_label : str, optional
        Label of the score column (default: the one of the file the list was
        read from, else ``rlnAutopickFigureOfMerit``).
    image_name : str
        Template of ``rlnImageName`` (fields ``tomo_name``, ``tomo_id``,
        ``subtomo_id``) for particles without one of their own.
    """

    name = "relion30"
    extensions = (".star",)
    description = "RELION 3.0 particle star file (data_ block; 0-based coordinates)"

    score_label: str | None = None
    image_name: str = DEFAULT_IMAGE_NAME

    def kept_columns(self, particles: ParticleList) -> set[str]:
        return relion_kept(particles, drop=_relion.SUBTOMO_ANGLES) | {"pixel_size"}  # rlnPixelSize per particle

    def write_file(self, particles: ParticleList, path: Path) -> None:
        label = _relion.score_label_for(particles, self.score_label)
        columns = micrograph_columns(particles, self.image_name, _ORIGINS, 1.0, label)
        sizes = particles.pixel_sizes()
        if sizes is not None:
            columns["rlnPixelSize"] = _relion.keep_raw(particles, "rlnPixelSize", sizes)
            detector = particles.data.get("rlnDetectorPixelSize")
            magnification = particles.data.get("rlnMagnification")
            if detector is not None and magnification is not None:
                raw = pd.to_numeric(detector, errors="coerce") * 1e4 / pd.to_numeric(magnification, errors="coerce")
                same = np.abs(raw.to_numpy(dtype=np.float64) - sizes) <= 1e-6 * sizes
                columns["rlnDetectorPixelSize"] = np.where(same, detector.to_numpy(), sizes)
                columns["rlnMagnification"] = np.where(same, magnification.to_numpy(), 10000.0)
            else:
                columns["rlnDetectorPixelSize"] = sizes
                columns["rlnMagnification"] = np.full(len(particles), 10000.0)
        columns.update(_relion.extra_columns(particles, columns, drop=_relion.SUBTOMO_ANGLES))
        write_star({"": _relion.particle_table(particles, columns)}, path)


def relion_kept(particles: ParticleList, drop=()) -> set[str]:
    """Extra columns a RELION writer carries: every ``rln*`` label (but `drop`) and ``tomo_name``."""
    return {
        c for c in particles.data.columns if isinstance(c, str) and c.startswith("rln") and c not in set(drop)
    } | {"tomo_name"}


@attrs.define
class Relion30Reader(MotlReader):
    """Read a RELION 3.0 particle star file.

    Parameters
    ----------
    score_label : str, optional
        Label of the score column (default: the first of
        :data:`~cryotm.formats._relion.SCORE_LABELS` present).
    coordinates : {'auto', 'voxels', 'fractions'}
        ``rlnCoordinate{X,Y,Z}`` in voxels, or in fractions (0-1) of the
        tomogram's size as WarpTools' template matching writes them
        (``matching.star``: ``position / volume size``, with
        ``rlnMicrographName`` ``*.tomostar``). ``auto`` takes fractions for
        such a file, with a warning.
    tomogram_shape : tuple of int, optional
        ``(nz, ny, nx)`` of the tomogram, needed to turn fractions into voxels.
    """

    name = "relion30"
    extensions = (".star",)
    description = Relion30Writer.description

    score_label: str | None = None
    coordinates: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "voxels", "fractions")))
    tomogram_shape: tuple[int, int, int] | None = attrs.field(
        default=None, converter=lambda v: None if v is None else tuple(int(s) for s in v)
    )

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if Path(path).suffix.lower() not in cls.extensions:
            return False
        blocks = scan_star(path)
        labels = [label for name in blocks if name != "optics" for label in blocks[name]]
        return "optics" not in blocks and "rlnCoordinateX" in labels

    def read(self, path: str | os.PathLike) -> ParticleList:
        blocks = read_star(path, as_text=True)
        table = particle_block(blocks, ("", "particles", "images", *_other_blocks(blocks)), path)
        tomo_label = "rlnMicrographName"
        if "rlnTomoName" in table.columns:  # TOMOMAN writes RELION 3.0 lists with rlnTomoName
            tomo_label = "rlnTomoName"
        frame, experiment_id = micrograph_frame(table, path, _ORIGINS, 1.0, self.score_label, tomo_label)
        if self.coordinates == "fractions" or (self.coordinates == "auto" and warptools_matching(table)):
            frame[["x", "y", "z"]] = self._from_fractions(frame[["x", "y", "z"]].to_numpy(), path)
        sizes = _pixel_sizes_30(table)
        pixel_size = _single(sizes)
        if sizes is not None and pixel_size is None:  # particles of different pixel sizes
            frame["pixel_size"] = sizes
        return ParticleList(
            frame, pixel_size=pixel_size, experiment_id=experiment_id, blocks=_kept_blocks(blocks, table)
        )


    def _from_fractions(self, fractions: np.ndarray, path: str | os.PathLike) -> np.ndarray:
        if self.tomogram_shape is None:
            raise InputError(
                "a WarpTools template-matching list: its coordinates are fractions (0-1) of the tomogram's size; "
                "give the size (--tomogram-size X Y Z / tomogram_shape=), or read them as voxels with "
                "--option coordinates=voxels",
                path,
            )
        if self.coordinates == "auto":
            warnings.warn(
                f"{os.fspath(path)}: read as a WarpTools template-matching list: coordinates are fractions of the "
                f"tomogram's size, multiplied by {' x '.join(map(str, self.tomogram_shape[::-1]))} (x y z)",
                CryotmWarning,
                stacklevel=4,
            )
        return fractions * np.asarray(self.tomogram_shape[::-1], dtype=np.float64)


def warptools_matching(table: pd.DataFrame) -> bool:
    """True for a WarpTools template-matching list: ``*.tomostar`` names, every coordinate within 0-1."""
    labels = ("rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ")
    if "rlnMicrographName" not in table.columns or not all(label in table.columns for label in labels):
        return False
    if not len(table) or not table["rlnMicrographName"].astype(str).str.endswith(".tomostar").all():
        return False
    values = table[list(labels)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return bool(np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all())


def _other_blocks(blocks: dict) -> tuple[str, ...]:
    return tuple(name for name in blocks if name not in ("", "particles", "images", "optics"))


def _kept_blocks(blocks: dict, table: pd.DataFrame) -> dict:
    """Blocks other than the particles and the optics (kept for writing back)."""
    out = {}
    for name, block in blocks.items():
        if name in ("optics", "particles", "", "images") or block is table:
            continue
        out[name] = block
    return out


def _single(sizes: np.ndarray | None) -> float | None:
    """The one pixel size of every particle, or None."""
    if sizes is None or not len(sizes):
        return None
    first = float(sizes[0])
    return first if np.allclose(sizes, first, rtol=1e-9, atol=0) else None


def micrograph_columns(
    particles: ParticleList, image_name: str, origin_labels: tuple[str, str, str], scale, score_label: str
) -> dict[str, object]:
    """The particle columns of RELION 3.0 and 3.1: names, 0-based coordinates, origins, angles, class, score.

    The origins are ``-shift * scale`` (1 for RELION 3.0's voxels, the pixel
    size(s) for 3.1's Å). Names, coordinates and origins read from a file
    are written back as they were where the particle has not changed.
    """
    names, _ = _relion.names_and_ids(particles)
    data = particles.data
    columns: dict[str, object] = {"rlnMicrographName": names}
    if "rlnTomoName" in data.columns:  # TOMOMAN's RELION 3.0 lists name tomograms so
        columns["rlnTomoName"] = names
    columns.update({
        "rlnImageName": _relion.raw_names(particles, "rlnImageName", image_names(particles, image_name)),
    })
    for axis, label in zip("xyz", ("rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ")):
        columns[label] = _relion.keep_raw(particles, label, data[axis].to_numpy())
    columns.update(_relion.pose_columns(particles, scale, origin_labels, subtomogram=False))
    columns.update(_relion.common_columns(particles, score_label))
    return columns


def micrograph_frame(
    table: pd.DataFrame,
    path: str | os.PathLike,
    origin_labels: tuple[str, str, str],
    pixel_size,
    score_label: str | None,
    tomo_label: str = "rlnMicrographName",
) -> tuple[pd.DataFrame, str]:
    """The cryotm frame and experiment id of a RELION 3.0/3.1 particle table (origins in units of `pixel_size`).

    `pixel_size` may be one value or one per particle (RELION 3.1 optics
    groups; 1 for RELION 3.0's origins in voxels); None if unknown.
    """
    positions = _coordinates(table, path)
    origins = _origins(table, origin_labels, pixel_size, path)
    return _relion.frame_from_relion(
        table, path, positions, origins, tomo_label, "rlnImageName", score_label
    )


def _coordinates(table: pd.DataFrame, path: str | os.PathLike, scale=1.0) -> np.ndarray:
    labels = ("rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ")
    missing = [label for label in labels if label not in table.columns]
    if missing:
        raise InputError(f"RELION particle list lacks {', '.join(missing)}", path)
    values = table[list(labels)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0]) + 1
        raise InputError(f"particle {row} has a non-numeric or non-finite coordinate", path)
    return values / np.reshape(np.asarray(scale, dtype=np.float64), (-1, 1))


def _origins(table: pd.DataFrame, labels: tuple[str, str, str], pixel_size, path: str | os.PathLike) -> np.ndarray:
    """Origins in voxels from columns in units of `pixel_size` (one, or one per particle; zeros where absent).

    Raises
    ------
    InputError
        If the table has origin columns but no pixel size is known, or an
        origin is not a finite number.
    """
    present = any(label in table.columns for label in labels)
    sizes = None if pixel_size is None else np.asarray(pixel_size, dtype=np.float64)
    if present and (sizes is None or not (sizes > 0).all()):
        raise InputError(
            "origins in Å but no pixel size (rlnImagePixelSize) in the optics block "
            "(give --pixel-size / pixel_size=)",
            path,
        )
    if not all(label in table.columns for label in labels):
        return np.zeros((len(table), 3))
    values = table[list(labels)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0]) + 1
        raise InputError(f"particle {row} has a non-numeric or non-finite origin", path)
    return values / np.reshape(sizes, (-1, 1))


def _pixel_sizes_30(table: pd.DataFrame) -> np.ndarray | None:
    """Per-particle pixel size from RELION 3.0's ``rlnPixelSize`` or detector pixel and magnification."""
    if not len(table):
        return None
    if "rlnPixelSize" in table.columns:
        values = pd.to_numeric(table["rlnPixelSize"], errors="coerce").to_numpy(dtype=np.float64)
    elif {"rlnDetectorPixelSize", "rlnMagnification"} <= set(table.columns):
        detector = pd.to_numeric(table["rlnDetectorPixelSize"], errors="coerce").to_numpy(dtype=np.float64)
        magnification = pd.to_numeric(table["rlnMagnification"], errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = detector * 1e4 / magnification
    else:
        return None
    return values if np.isfinite(values).all() and (values > 0).all() else None


def _pixel_size_30(table: pd.DataFrame) -> float | None:
    """The pixel size of RELION 3.0's per-particle columns if all particles share one."""
    return _single(_pixel_sizes_30(table))
