"""What one tomogram's template-matching run left behind: the inputs of a pipeline run."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import attrs

from ..angles import AngleList
from ..errors import InputError
from ..maps import AngleMap, MaskMap, ScoresMap
from ..thresholds import SearchStatistics

__all__ = ["TomogramInputs", "file_facts", "ANGLE_LIST_FORMATS", "RESULT_FORMATS"]

#: How an angle-list file may be written (see :class:`TomogramInputs`).
ANGLE_LIST_FORMATS: tuple[str, ...] = ("csv", "pytom", "pytom-sorted")

#: Peers' single-file results that hold scores, angle indices and rotations (read by :mod:`cryotm.peers`).
RESULT_FORMATS: tuple[str, ...] = ("pytme",)


def _optional_path(value: Any) -> Path | None:
    return None if value is None or value == "" else Path(value)


#: Largest tomogram number (int32, what RELION, STOPGAP and Dynamo readers hold).
MAX_TOMO_ID = 2**31 - 1


def _optional_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"pixel_size must be a number (Angstrom), got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise InputError(f"pixel_size must be a positive number (Angstrom), got {value!r}")
    return number


def _tomo_id(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputError(f"tomo_id must be a whole number, got {value!r}") from None
    if not 0 <= number <= MAX_TOMO_ID:
        raise InputError(f"tomo_id must be between 0 and {MAX_TOMO_ID}, got {value!r}")
    return number


def _offset(value: Any) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in (value if value is not None else (0, 0, 0)))
    except (TypeError, ValueError):
        raise InputError(f"an offset needs three numbers (x, y, z), got {value!r}") from None
    if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values):
        raise InputError(f"an offset needs three numbers >= 0 (x, y, z), got {value!r}")
    return values  # type: ignore[return-value]


def _shape(value: Any) -> tuple[int, int, int] | None:
    if value is None:
        return None
    try:
        values = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"a tomogram shape needs three whole numbers (z, y, x), got {value!r}") from None
    if len(values) != 3 or min(values) < 1:
        raise InputError(f"a tomogram shape needs three positive numbers (z, y, x), got {value!r}")
    return values  # type: ignore[return-value]


@attrs.frozen
class TomogramInputs:
    """The files of one tomogram's template-matching result and how to read them.

    Parameters
    ----------
    name : str
        Tomogram name (used for output file names and ``rlnTomoName``).
    scores, angles : path
        Scores map and angle-index map.
    angle_list : path
        The angle list (CSV, degrees).
    mask : path, optional
        Tomogram mask (nonzero = search here).
    pixel_size : float, optional
        Voxel size in Å; overrides the maps' headers.
    tomo_id : int
        Tomogram number written into the particle list.
    angles_order : {'zxz', 'zzx'}
        Column order of the angle list file.
    index_base : {0, 1}
        Angle-map value of the first angle-list row (0: GAPSTOP, pytom; 1: STOPGAP).
    angle_list_format : {'csv', 'pytom', 'pytom-sorted'}
        ``csv``: degrees, comma separated (cryoCAT, STOPGAP, GAPSTOP);
        ``pytom``: pytom-match-pick's text list (radians, space separated),
        ``pytom-sorted``: the same, sorted as pytom-match-pick > 0.3.0 sorts it
        before searching.
    statistics : SearchStatistics, optional
        What the matching program knew of its search (feeds the ``far`` threshold).
    offset : (x, y, z)
        Added to picked positions: where voxel 0 of the maps lies in the
        tomogram (pytom-match-pick searches a sub-region).
    tomogram_shape : (nz, ny, nx), optional
        Shape of the whole tomogram when the maps cover part of it.
    source : str, optional
        The table or job file these inputs came from (for messages).
    result_format : {'pytme'}, optional
        The maps and the angle list are one peer's result file (``scores``,
        ``angles`` and ``angle_list`` all name it), read by
        :func:`cryotm.peers.read_result_part`.
    template_shape : (nz, ny, nx), optional
        pyTME results: the template's box; an even one moves each pick by
        :func:`cryotm.peers.pytme_centre.centre_correction`.
    """

    name: str
    scores: Path = attrs.field(converter=Path)
    angles: Path = attrs.field(converter=Path)
    angle_list: Path = attrs.field(converter=Path)
    mask: Path | None = attrs.field(default=None, converter=_optional_path)
    pixel_size: float | None = attrs.field(default=None, converter=_optional_float)
    tomo_id: int = attrs.field(default=1, converter=_tomo_id)
    angles_order: str = "zxz"
    index_base: int = attrs.field(default=0, converter=int)
    angle_list_format: str = "csv"
    statistics: SearchStatistics | None = None
    offset: tuple[float, float, float] = attrs.field(default=(0.0, 0.0, 0.0), converter=_offset)
    tomogram_shape: tuple[int, int, int] | None = attrs.field(default=None, converter=_shape)
    source: str | None = None
    result_format: str | None = None
    template_shape: tuple[int, int, int] | None = attrs.field(default=None, converter=_shape)

    def __attrs_post_init__(self) -> None:
        if self.angles_order not in ("zxz", "zzx"):
            raise InputError(f"angles_order must be zxz or zzx, got {self.angles_order!r}", self.source)
        if self.index_base not in (0, 1):
            raise InputError(f"index_base must be 0 or 1, got {self.index_base}", self.source)
        if self.angle_list_format not in ANGLE_LIST_FORMATS:
            raise InputError(
                f"angle_list_format must be one of {', '.join(ANGLE_LIST_FORMATS)}, got {self.angle_list_format!r}",
                self.source,
            )
        if self.result_format is not None and self.result_format not in RESULT_FORMATS:
            raise InputError(
                f"result_format must be one of {', '.join(RESULT_FORMATS)}, got {self.result_format!r}", self.source
            )

    # -- reading ------------------------------------------------------------------------
    def files(self) -> dict[str, Path]:
        """The input files by role (``scores``, ``angles``, ``angle_list``, ``mask``)."""
        found = {"scores": self.scores, "angles": self.angles, "angle_list": self.angle_list}
        if self.mask is not None:
            found["mask"] = self.mask
        return found

    def check_files(self) -> None:
        """Raise :class:`InputError` naming the first input file that does not exist."""
        labels = {"scores": "scores map", "angles": "angle map", "angle_list": "angle list", "mask": "mask"}
        for role, path in self.files().items():
            if not path.exists():  # a file, or a folder (an OME-Zarr map)
                raise InputError(f"{labels[role]} file not found", path)

    def read_scores(self, mmap: bool = True) -> ScoresMap:
        if self.result_format is not None:
            from ..peers import read_result_part

            return read_result_part(self, "scores")
        return ScoresMap.read(self.scores, mmap=mmap, pixel_size=self.pixel_size, experiment_id=self.name)

    def read_angles(self, mmap: bool = True) -> AngleMap:
        if self.result_format is not None:
            from ..peers import read_result_part

            return read_result_part(self, "angles")
        return AngleMap.read(self.angles, mmap=mmap, pixel_size=self.pixel_size, experiment_id=self.name)

    def read_mask(self, shape: tuple[int, int, int] | None = None) -> MaskMap | None:
        """The tomogram mask, or None.

        A mask of the whole tomogram (:attr:`tomogram_shape`) is cropped to the
        maps' region (:attr:`offset`, map `shape`) when the maps cover part of it.
        """
        if self.mask is None:
            return None
        mask = MaskMap.read(self.mask, mmap=True, pixel_size=self.pixel_size, experiment_id=self.name)
        if shape is not None and mask.shape != tuple(shape) and mask.shape == self.tomogram_shape:
            x0, y0, z0 = (int(round(v)) for v in self.offset)
            nz, ny, nx = shape
            crop = mask.data[z0 : z0 + nz, y0 : y0 + ny, x0 : x0 + nx]
            if crop.shape == tuple(shape):
                mask = MaskMap(crop, pixel_size=mask.pixel_size, experiment_id=self.name, source=mask.source)
        return mask

    def read_angle_list(self) -> AngleList:
        if self.result_format is not None:
            from ..peers import read_result_part

            return read_result_part(self, "angle_list")
        if self.angle_list_format == "csv":
            return AngleList.read(self.angle_list, order=self.angles_order, index_base=self.index_base)  # type: ignore[arg-type]
        from ..peers.pytom_match_pick import read_pytom_angle_list

        return read_pytom_angle_list(
            self.angle_list, sort=self.angle_list_format == "pytom-sorted", index_base=self.index_base
        )

    # -- recording ----------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """The inputs as plain data (absolute paths), with each file's size and modification time."""
        from .serialize import jsonable

        data = {
            field.name: getattr(self, field.name)
            for field in attrs.fields(type(self))
            if field.name not in ("statistics",)
        }
        for role in ("scores", "angles", "angle_list", "mask"):
            if data[role] is not None:
                data[role] = os.path.abspath(data[role])
        data["statistics"] = attrs.asdict(self.statistics) if self.statistics is not None else None
        data["files"] = {role: file_facts(path) for role, path in self.files().items()}
        return jsonable(data)

    @classmethod
    def from_description(cls, data: dict[str, Any]) -> TomogramInputs:
        """Rebuild inputs from :meth:`describe`'s output (file facts are ignored)."""
        kwargs = {k: v for k, v in data.items() if k != "files"}
        if kwargs.get("statistics") is not None:
            kwargs["statistics"] = SearchStatistics(**kwargs["statistics"])
        return cls(**kwargs)


def file_facts(path: str | os.PathLike) -> dict[str, Any]:
    """``{"path", "size", "mtime_ns"}`` of a file (size None when it is missing).

    A folder (an OME-Zarr map) counts the bytes of every file in it and the
    latest modification time among them, so rewriting one chunk changes its facts.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return {"path": os.fspath(path), "size": None, "mtime_ns": None}
    size, mtime = stat.st_size, stat.st_mtime_ns
    if path.is_dir():
        for folder, _, names in os.walk(path):
            for name in names:
                inner = os.stat(os.path.join(folder, name))
                size, mtime = size + inner.st_size, max(mtime, inner.st_mtime_ns)
    return {"path": os.path.abspath(path), "size": size, "mtime_ns": mtime}
