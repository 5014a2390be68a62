"""Volume file formats, chosen by file extension through the plugin hook.

A map format is a class with a ``name``, the ``extensions`` it handles and
two class methods, ``read(path, mmap) -> (data, pixel_size)`` and
``write(path, data, pixel_size, overwrite)``. The built-ins are MRC (through
mrcfile) and TOM/EM; plugins add others with the ``cryotm_map_formats`` hook.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import ClassVar

import mrcfile
import numpy as np

from .._atomic import atomic_path
from ..errors import CryotmWarning, InputError
from .em import read_em, write_em

__all__ = [
    "MapFormat",
    "MrcFormat",
    "EmFormat",
    "map_format_for",
    "read_map",
    "write_map",
    "plausible_pixel_size",
    "PLAUSIBLE_PIXEL_SIZE",
]


class MapFormat:
    """Base class of a volume file format (subclass it in a plugin)."""

    #: The name users may give to force the format.
    name: ClassVar[str] = ""
    #: File extensions (lower case, with the dot) this format reads and writes.
    extensions: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def read(cls, path: Path, mmap: bool = False) -> tuple[np.ndarray, float | None]:
        """Return the voxels indexed ``[z, y, x]`` and the pixel size in Å (or None)."""
        raise NotImplementedError

    @classmethod
    def write(
        cls, path: Path, data: np.ndarray, pixel_size: float | None = None, overwrite: bool = False
    ) -> None:
        """Write `data` (indexed ``[z, y, x]``) atomically to `path`."""
        raise NotImplementedError


_MRC_DTYPES = (np.int8, np.int16, np.uint16, np.float32, np.float16, np.uint8, np.complex64)


class MrcFormat(MapFormat):
    """MRC2014 through :mod:`mrcfile`; ``.rec``, ``.st``, ``.ali`` and ``.map`` too."""

    name = "mrc"
    extensions = (".mrc", ".rec", ".map", ".st", ".ali", ".mrcs")

    @classmethod
    def read(cls, path: Path, mmap: bool = False) -> tuple[np.ndarray, float | None]:
        """Read strictly; a header other programs write loosely is read permissively, with a warning.

        STOPGAP stamps ``'D   '`` as machine stamp, older pytom files lack the
        map id (``'MAP '``): mrcfile's permissive mode reads them (as pytom-match-pick
        does), and the warning names the file and the problem. A header
        without data is still refused.
        """
        opener = mrcfile.mmap if mmap else mrcfile.open
        try:
            with opener(path, mode="r", permissive=False) as mrc:
                data = mrc.data
                voxel = float(mrc.voxel_size.x)
        except ValueError as strict:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    with opener(path, mode="r", permissive=True) as mrc:
                        data = mrc.data
                        voxel = float(mrc.voxel_size.x)
                except (ValueError, OSError) as exc:
                    raise InputError(f"not a valid MRC file: {exc}", path) from None
                except OverflowError:
                    raise InputError("not a valid MRC file: its header gives a negative or impossible size",
                                     path) from None
            problems = list(dict.fromkeys(str(w.message) for w in caught)) or [str(strict)]
            if data is None or data.size == 0:
                raise InputError(f"MRC file holds no data ({'; '.join(problems)})", path)
            warnings.warn(
                f"{os.fspath(path)}: not a strictly valid MRC file ({'; '.join(problems)}); read permissively",
                CryotmWarning,
                stacklevel=3,
            )
        except OverflowError:  # header sizes (nx, ny, nz) negative or too large to map
            raise InputError("not a valid MRC file: its header gives a negative or impossible size", path) from None
        if data is None:
            raise InputError("MRC file holds no data", path)
        if not mmap:
            data = np.asarray(data)
        # the file handle is closed; an mmap stays valid through numpy's own reference
        return data, (voxel if voxel > 0 else None)

    @classmethod
    def write(
        cls, path: Path, data: np.ndarray, pixel_size: float | None = None, overwrite: bool = False
    ) -> None:
        data = np.asarray(data)
        if data.dtype == bool:
            data = data.astype(np.int8)
        elif data.dtype == np.int32 or data.dtype == np.int64:
            if data.size and (data.min() < -32768 or data.max() > 32767):
                data = data.astype(np.float32)
            else:
                data = data.astype(np.int16)
        elif data.dtype not in _MRC_DTYPES:
            data = data.astype(np.float32)
        with atomic_path(path, overwrite=overwrite) as tmp:
            with mrcfile.new(tmp, overwrite=True) as mrc:
                mrc.set_data(np.ascontiguousarray(data))
                if pixel_size is not None:
                    mrc.voxel_size = pixel_size


class EmFormat(MapFormat):
    """The TOM/EM format (see :mod:`cryotm.maps.em`)."""

    name = "em"
    extensions = (".em",)

    @classmethod
    def read(cls, path: Path, mmap: bool = False) -> tuple[np.ndarray, float | None]:
        return read_em(path, mmap=mmap)

    @classmethod
    def write(
        cls, path: Path, data: np.ndarray, pixel_size: float | None = None, overwrite: bool = False
    ) -> None:
        write_em(path, data, pixel_size=pixel_size, overwrite=overwrite)


def _extension(path: Path) -> str:
    # IMOD-style numbered backups such as map.mrc.1 keep the format of map.mrc
    name = re.sub(r"\.\d+$", "", path.name.lower())
    return Path(name).suffix


def map_format_for(path: str | os.PathLike, format_name: str | None = None) -> type[MapFormat]:
    """Return the map format for `path` (by extension) or named `format_name`.

    Raises
    ------
    InputError
        If the extension (or name) belongs to no registered map format.
    """
    from ..plugins import contributions

    formats = [item.obj for item in contributions("cryotm_map_formats").values()]
    path = Path(path)
    if format_name is not None:
        for fmt in formats:
            if fmt.name == format_name:
                return fmt
        known = ", ".join(sorted(f.name for f in formats))
        raise InputError(f"unknown map format {format_name!r} (known: {known})", path)
    ext = _extension(path)
    for fmt in formats:
        if ext in fmt.extensions:
            return fmt
    known = ", ".join(sorted(e for f in formats for e in f.extensions))
    raise InputError(f"unknown map file extension {ext or '(none)'!r} (known: {known})", path)


def read_map(
    path: str | os.PathLike, mmap: bool = False, format_name: str | None = None
) -> tuple[np.ndarray, float | None]:
    """Read a volume file.

    Parameters
    ----------
    path : str or path-like
        ``.mrc``/``.rec``/``.map``/``.st``/``.ali``, ``.em``, or a plugin's format.
    mmap : bool
        Memory-map the voxels (a 2 GB map is not copied into memory).
    format_name : str, optional
        Force a format instead of choosing by extension.

    Returns
    -------
    data : ndarray, shape (nz, ny, nx)
        Indexed ``data[z, y, x]``, as mrcfile returns it (never transposed).
    pixel_size : float or None
        Voxel size in Å from the header, or None if the header has none.

    Raises
    ------
    InputError
        If the file is missing, unreadable, or not 3D.
    """
    path = Path(path)
    fmt = map_format_for(path, format_name)
    if not path.exists():  # a file, or a folder for formats such as OME-Zarr
        raise InputError("no such file", path)
    try:
        data, pixel_size = fmt.read(path, mmap=mmap)
    except InputError:
        raise
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read as {fmt.name}: {exc}", path) from None
    if data.ndim == 2:
        data = data[np.newaxis]
    if data.ndim != 3:
        raise InputError(f"expected a 3D map, got {data.ndim}D of shape {data.shape}", path)
    return data, plausible_pixel_size(pixel_size, path)


#: Pixel sizes outside this range (Å) are taken for header junk or a unit mistake.
PLAUSIBLE_PIXEL_SIZE: tuple[float, float] = (0.1, 1000.0)


def plausible_pixel_size(pixel_size: float | None, source: str | os.PathLike | None = None) -> float | None:
    """`pixel_size`, or None with a warning if it is outside 0.1-1000 Å (a damaged header or a unit mistake).

    Examples
    --------
    >>> plausible_pixel_size(7.84)
    7.84
    """
    low, high = PLAUSIBLE_PIXEL_SIZE
    if pixel_size is None or low <= pixel_size <= high:
        return pixel_size
    warnings.warn(
        f"{os.fspath(source) if source is not None else '<array>'}: implausible pixel size {pixel_size:g} Å in the "
        f"header (expected {low:g}-{high:g} Å), ignored: give the right one with --pixel-size",
        CryotmWarning,
        stacklevel=3,
    )
    return None


def write_map(
    path: str | os.PathLike,
    data: np.ndarray,
    pixel_size: float | None = None,
    overwrite: bool = False,
    format_name: str | None = None,
) -> None:
    """Write a volume (indexed ``[z, y, x]``) by its file extension, atomically.

    Parameters
    ----------
    path : str or path-like
        Output file; its extension chooses the format unless `format_name` is given.
    data : ndarray
        The voxels, indexed ``data[z, y, x]``.
    pixel_size : float, optional
        Voxel size in Å, stored in the header.
    overwrite : bool
        Replace an existing file (otherwise an existing file is an error).
    format_name : str, optional
        Force a format instead of choosing by extension.
    """
    path = Path(path)
    fmt = map_format_for(path, format_name)
    fmt.write(path, np.asarray(data), pixel_size=pixel_size, overwrite=overwrite)
