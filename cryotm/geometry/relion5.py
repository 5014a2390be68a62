"""RELION 5 tilt-series alignments: tomograms star file and per-tilt-series star files.

RELION 5 keeps one row per tilt image in each tilt series' star file
(``data_<name>``), and the tomogram's size and pixel size in the tomograms
star file (``data_global``, column ``rlnTomoTiltSeriesStarFile`` pointing to
the former). ``Tomogram::setProjectionMatrix`` (``src/jaz/tomography/tomogram.cpp``)
builds each tilt's projection matrix as ``s1 * s2 * r2 * r1 * r0 * s0``:

==========================  ==========================================================
RELION label                cryotypes ProjectionModel
==========================  ==========================================================
rlnTomoXTilt                rotation_x (degrees)
rlnTomoYTilt                rotation_y (degrees; the tilt angle)
rlnTomoZRot                 rotation_z (degrees)
rlnTomoXShiftAngst          dx = value / rlnTomoTiltSeriesPixelSize (pixels)
rlnTomoYShiftAngst          dy = value / rlnTomoTiltSeriesPixelSize (pixels)
rlnTomoSize{X,Y,Z}          tomogram size in tilt-series pixels; centre ``int(size / 2)``
==========================  ==========================================================

so the model is cryotypes' own, unchanged. The tilt images' size is not in
either file (RELION reads it from the image stack): give ``tilt_image_shape``,
else the tomogram's x, y size is assumed (what RELION 5's reconstruction
uses by default), and the alignment's ``notes`` say so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import attrs
import numpy as np

from .._atomic import atomic_path
from .._lazy import lazy_module
from ..errors import InputError
from ..formats._star import particle_block, read_star, scan_star, write_star
from ..formats._tomograms import read_tomograms
from .alignment import TiltSeriesAlignment, make_projection_model
from .readers import AlignmentReader

pd = lazy_module("pandas")
# cryotypes.projectionmodel imports pandas: it is imported inside the function that uses it

__all__ = ["Relion5AlignmentReader", "write_relion5_tilt_series", "write_relion5_tomograms", "ALIGNMENT_LABELS"]

#: The per-tilt labels of an aligned RELION 5 tilt series, in ProjectionModel order.
ALIGNMENT_LABELS: tuple[str, ...] = (
    "rlnTomoXTilt",
    "rlnTomoYTilt",
    "rlnTomoZRot",
    "rlnTomoXShiftAngst",
    "rlnTomoYShiftAngst",
)


def _resolve(entry: str, tomograms_path: Path) -> Path:
    """Where a ``rlnTomoTiltSeriesStarFile`` entry is: relative to the project folder, or next to the file."""
    candidate = Path(entry)
    if candidate.is_absolute():
        return candidate
    folder = tomograms_path.resolve().parent
    for base in (Path.cwd(), folder, *folder.parents):
        if (base / candidate).is_file():
            return base / candidate
    for guess in (folder / "tilt_series" / candidate.name, folder / candidate.name):
        if guess.is_file():
            return guess
    return folder / candidate


def _tilt_series_frame(path: Path) -> tuple[str, pd.DataFrame]:
    blocks = read_star(path)
    name, block = next(iter(blocks.items()))
    return name, particle_block(blocks, (name,), path)


def _alignment_from_frame(
    name: str,
    frame: pd.DataFrame,
    pixel_size: float | None,
    size_xyz: tuple[float, float, float] | None,
    tilt_image_shape: tuple[int, int] | None,
    source: Path,
) -> TiltSeriesAlignment:
    missing = [label for label in ALIGNMENT_LABELS if label not in frame.columns]
    if missing:
        nominal = " (it has only the nominal tilt angles: not aligned yet?)" if (
            "rlnTomoNominalStageTiltAngle" in frame.columns
        ) else ""
        raise InputError(f"tilt series {name!r} lacks {', '.join(missing)}{nominal}", source)
    if not pixel_size:
        raise InputError(
            f"tilt series {name!r}: the shifts are in Å and no pixel size is known; give the tomograms star "
            "file (tomograms= / --tomograms) or pixel_size=",
            source,
        )
    values = frame[list(ALIGNMENT_LABELS)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    model = make_projection_model(
        rotation_x=values[:, 0],
        rotation_y=values[:, 1],
        rotation_z=values[:, 2],
        dx=values[:, 3] / pixel_size,
        dy=values[:, 4] / pixel_size,
        experiment_id=name,
        pixel_spacing=pixel_size,
        source=os.fspath(source),
    )
    notes: tuple[str, ...] = ()
    if tilt_image_shape is None and size_xyz is not None:
        tilt_image_shape = (int(round(size_xyz[1])), int(round(size_xyz[0])))
        notes = (f"tilt images assumed to be {tilt_image_shape[1]} x {tilt_image_shape[0]} pixels (the "
                 "tomogram's x, y size; give tilt_image_shape / --tilt-image-shape if not)",)
    tomogram_shape = None if size_xyz is None else tuple(int(round(v)) for v in size_xyz[::-1])
    return TiltSeriesAlignment(
        model,
        tilt_image_shape=tilt_image_shape,
        tomogram_shape=tomogram_shape,
        tilt_angles=values[:, 1],
        name=name,
        source=os.fspath(source),
        program="relion5",
        notes=notes,
    )


class _TiltSeriesOfTomograms(Mapping):
    """``{name: alignment}`` of a tomograms star file, each tilt series read when first asked for."""

    def __init__(self, path: Path, table: pd.DataFrame, tilt_image_shape: tuple[int, int] | None) -> None:
        self.path = path
        self.tomograms = read_tomograms(path)
        self.files = dict(zip(table["rlnTomoName"].astype(str), table["rlnTomoTiltSeriesStarFile"].astype(str)))
        self.tilt_image_shape = tilt_image_shape
        self._cache: dict[str, TiltSeriesAlignment] = {}

    def __getitem__(self, name: str) -> TiltSeriesAlignment:
        if name not in self._cache:
            tomogram = self.tomograms[name]  # KeyError for an unknown name, as a Mapping should
            star = _resolve(self.files[name], self.path)
            if not star.is_file():
                raise InputError(f"the tilt-series star file of {name!r} ({self.files[name]}) is missing", self.path)
            _, frame = _tilt_series_frame(star)
            self._cache[name] = _alignment_from_frame(
                name, frame, tomogram.tilt_series_pixel_size, tomogram.size_xyz, self.tilt_image_shape, star
            )
        return self._cache[name]

    def __contains__(self, name: object) -> bool:
        return name in self.files  # without reading (or failing on) the tilt series' file

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)


@attrs.define
class Relion5AlignmentReader(AlignmentReader):
    """RELION 5: a tomograms star file (every tilt series it lists) or one tilt series' star file.

    Parameters
    ----------
    tilt_image_shape : (ny, nx), optional
        Size of the tilt images (default: the tomogram's y, x size).
    tomograms : path, optional
        For a lone tilt-series star file: the tomograms star file that gives
        its tomogram size and pixel size.
    pixel_size : float, optional
        Å per tilt-series pixel, for a lone tilt-series star file without `tomograms`.
    """

    name = "relion5"
    extensions = (".star",)
    description = "RELION 5 tomograms.star / tilt-series star (rlnTomoXTilt, YTilt, ZRot, X/YShiftAngst)"

    tilt_image_shape: tuple[int, int] | None = None
    tomograms: str | None = None
    pixel_size: float | None = None

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if Path(path).suffix.lower() != ".star":
            return False
        labels = {label for block in scan_star(path).values() for label in block}
        return "rlnTomoTiltSeriesStarFile" in labels or bool(
            labels & {"rlnTomoYTilt", "rlnTomoNominalStageTiltAngle", "rlnTomoZRot"}
        )

    def read(self, path: str | os.PathLike) -> Mapping[str, TiltSeriesAlignment]:
        path = Path(path)
        image_shape = None if self.tilt_image_shape is None else tuple(int(v) for v in self.tilt_image_shape)
        blocks = read_star(path)
        if "global" in blocks:
            table = particle_block(blocks, ("global",), path)
            if "rlnTomoTiltSeriesStarFile" in table.columns:
                return _TiltSeriesOfTomograms(path, table, image_shape)  # type: ignore[arg-type]
        name, frame = _tilt_series_frame(path)
        pixel_size, size = self.pixel_size, None
        if self.tomograms is not None:
            tomograms = read_tomograms(self.tomograms)
            if name not in tomograms:
                raise InputError(f"no tomogram {name!r} (the tilt series of {path}) in this tomograms star file",
                                 self.tomograms)
            pixel_size = pixel_size or tomograms[name].tilt_series_pixel_size
            size = tomograms[name].size_xyz
        return {name: _alignment_from_frame(name, frame, pixel_size, size, image_shape, path)}  # type: ignore[arg-type]


def write_relion5_tilt_series(
    alignment: TiltSeriesAlignment, path: str | os.PathLike, overwrite: bool = False
) -> None:
    """Write `alignment` as a RELION 5 tilt-series star file (``data_<name>``), atomically.

    The shifts are written in Å (``dx * pixel_size``); the tilt angles as
    stated go to ``rlnTomoNominalStageTiltAngle``. Read it back with
    :func:`~cryotm.geometry.read_alignment` and ``pixel_size=`` (or with a
    tomograms star file from :func:`write_relion5_tomograms`).
    """
    from cryotypes.projectionmodel import ProjectionModelDataLabels as PMDL

    model = alignment.model
    pixel = alignment.pixel_size
    frame = pd.DataFrame(
        {
            "rlnTomoNominalStageTiltAngle": alignment.angles,
            "rlnTomoXTilt": model[PMDL.ROTATION_X].to_numpy(float),
            "rlnTomoYTilt": model[PMDL.ROTATION_Y].to_numpy(float),
            "rlnTomoZRot": model[PMDL.ROTATION_Z].to_numpy(float),
            "rlnTomoXShiftAngst": model[PMDL.SHIFT_X].to_numpy(float) * pixel,
            "rlnTomoYShiftAngst": model[PMDL.SHIFT_Y].to_numpy(float) * pixel,
        }
    )
    with atomic_path(path, overwrite=overwrite) as tmp:
        write_star({alignment.name or "tilt_series": frame}, tmp)


def write_relion5_tomograms(
    alignments: Mapping[str, TiltSeriesAlignment],
    tilt_series_files: Mapping[str, str | os.PathLike],
    path: str | os.PathLike,
    overwrite: bool = False,
) -> None:
    """Write a RELION 5 tomograms star file listing `alignments` (their sizes and pixel sizes).

    Raises
    ------
    InputError
        If an alignment does not know its tomogram's size.
    """
    rows = []
    for name, alignment in alignments.items():
        if alignment.tomogram_shape is None:
            raise InputError(f"tilt series {name!r}: its tomogram's size is unknown, cannot write it", path)
        nz, ny, nx = alignment.tomogram_shape
        rows.append(
            {
                "rlnTomoName": name,
                "rlnTomoTiltSeriesStarFile": os.fspath(tilt_series_files[name]),
                "rlnTomoTiltSeriesPixelSize": alignment.pixel_size,
                "rlnTomoTomogramBinning": 1.0,
                "rlnTomoSizeX": nx,
                "rlnTomoSizeY": ny,
                "rlnTomoSizeZ": nz,
            }
        )
    with atomic_path(path, overwrite=overwrite) as tmp:
        write_star({"global": pd.DataFrame(rows)}, tmp)
