"""The TOM/EM volume format (``.em``), read and written by cryotm itself.

Layout: a 512-byte header followed by the raw voxels, x fastest, so the data
read into a C-ordered array of shape ``(nz, ny, nx)`` is indexed
``data[z, y, x]`` exactly as mrcfile returns MRC data.

=========  ========  ==============================================================
offset     type      meaning
=========  ========  ==============================================================
0          int8      machine coding: 6 = PC (little-endian); 0, 3, 5 = big-endian
1, 2       int8      unused (0)
3          int8      data type: 1 int8, 2 int16, 4 int32, 5 float32, 9 float64
4          3 int32   nx, ny, nz
16         80 B      comment
96         40 int32  parameters; index 6 is the object pixel size in nm x 1000
256        256 B     user data
=========  ========  ==============================================================
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from ..errors import CryotmWarning, InputError

__all__ = ["read_em", "read_em_dims", "write_em", "EM_DTYPES"]

HEADER_SIZE = 512
#: EM data-type code -> numpy dtype (without byte order)
EM_DTYPES: dict[int, str] = {1: "i1", 2: "i2", 4: "i4", 5: "f4", 9: "f8"}
_CODES = {np.dtype(v): k for k, v in EM_DTYPES.items()}
_LITTLE = {1, 6}
_BIG = {0, 2, 3, 5}
_PIXEL_PARAM = 6


def _header_dtype(endian: str) -> np.dtype:
    return np.dtype(
        [
            ("machine", "i1"),
            ("unused", "i1", 2),
            ("dtype", "i1"),
            ("dims", f"{endian}i4", 3),
            ("comment", "S80"),
            ("params", f"{endian}i4", 40),
            ("user", "V256"),
        ]
    )


def read_em(path: str | os.PathLike, mmap: bool = False) -> tuple[np.ndarray, float | None]:
    """Read an EM file.

    Parameters
    ----------
    path : str or path-like
        The ``.em`` file.
    mmap : bool
        Memory-map the voxels instead of reading them.

    Returns
    -------
    data : ndarray, shape (nz, ny, nx)
        The voxels, indexed ``data[z, y, x]``, in native byte order unless
        memory-mapped.
    pixel_size : float or None
        Pixel size in Å if the header stores one, else None.

    Raises
    ------
    InputError
        If the file is too short, has an unknown machine or data type code,
        or its size does not match its header.
    """
    path = Path(path)
    header, endian = _read_header(path)
    code = int(header["dtype"])
    if code not in EM_DTYPES:
        raise InputError(f"unsupported EM data type code {code} (known: {sorted(EM_DTYPES)})", path)
    nx, ny, nz = (int(v) for v in header["dims"])
    if min(nx, ny, nz) < 1:
        raise InputError(f"invalid EM dimensions {nx} x {ny} x {nz}", path)
    dtype = np.dtype(endian + EM_DTYPES[code])
    expected = HEADER_SIZE + nx * ny * nz * dtype.itemsize
    size = path.stat().st_size
    if size < expected:
        raise InputError(
            f"truncated EM file: header says {nx} x {ny} x {nz} {dtype.name} "
            f"({expected} bytes) but the file has {size} bytes",
            path,
        )
    shape = (nz, ny, nx)
    if mmap:
        data = np.memmap(path, dtype=dtype, mode="r", offset=HEADER_SIZE, shape=shape)
    else:
        data = np.fromfile(path, dtype=dtype, count=nx * ny * nz, offset=HEADER_SIZE)
        data = data.reshape(shape).astype(dtype.newbyteorder("="), copy=False)
    pixel = int(header["params"][_PIXEL_PARAM])
    pixel_size = pixel / 1000.0 * 10.0 if pixel > 0 else None  # nm x 1000 -> Å
    return data, pixel_size


def _read_header(path: Path) -> tuple[np.void, str]:
    """The parsed 512-byte header of an EM file and its byte order ('<' or '>')."""
    with open(path, "rb") as handle:
        raw = handle.read(HEADER_SIZE)
    if len(raw) < HEADER_SIZE:
        raise InputError(f"not an EM file: {len(raw)} bytes, shorter than the 512-byte header", path)
    machine = raw[0]
    if machine in _LITTLE:
        endian = "<"
    elif machine in _BIG:
        endian = ">"
    else:
        raise InputError(f"not an EM file: unknown machine code {machine} in byte 0", path)
    return np.frombuffer(raw, dtype=_header_dtype(endian), count=1)[0], endian


def read_em_dims(path: str | os.PathLike) -> tuple[int, int, int]:
    """The dimensions ``(nx, ny, nz)`` in the header of an EM file, without reading its data.

    Raises
    ------
    InputError
        If the file is not an EM file.
    """
    header, _ = _read_header(Path(path))
    nx, ny, nz = (int(v) for v in header["dims"])
    return nx, ny, nz


def write_em(
    path: str | os.PathLike,
    data: np.ndarray,
    pixel_size: float | None = None,
    overwrite: bool = False,
) -> None:
    """Write a 3D array (indexed ``data[z, y, x]``) as a little-endian EM file.

    Parameters
    ----------
    path : str or path-like
        Output file; written atomically.
    data : ndarray
        2D or 3D (an axis may be empty: a motive list of no particle is
        20 x 0 x 1); dtype int8, int16, int32, float32 or float64 (bool and
        uint8 are stored as int8, uint8 above 127 as int16, other types
        as float32).
    pixel_size : float, optional
        Pixel size in Å, stored in the header (nm x 1000).
    overwrite : bool
        Replace an existing file.
    """
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[np.newaxis]
    if data.ndim != 3:
        raise InputError(f"EM files hold 2D or 3D data, got {data.ndim}D", path)
    if data.dtype == bool or (data.dtype == np.uint8 and not (data.size and data.max() > 127)):
        data = data.astype(np.int8)
    elif data.dtype == np.uint8:
        data = data.astype(np.int16)  # int8 would wrap 128..255 to negative values
    elif np.dtype(data.dtype.newbyteorder("=")) not in _CODES:
        data = data.astype(np.float32)
    native = data.dtype.newbyteorder("=")
    header = np.zeros(1, dtype=_header_dtype("<"))
    header["machine"] = 6
    header["dtype"] = _CODES[np.dtype(native)]
    nz, ny, nx = data.shape
    header["dims"] = (nx, ny, nz)
    if pixel_size is not None and pixel_size > 0:
        stored = int(round(pixel_size / 10.0 * 1000))
        header["params"][0, _PIXEL_PARAM] = stored
        if abs(stored / 100.0 - pixel_size) > 1e-9 * pixel_size:
            warnings.warn(
                f"{os.fspath(path)}: the EM header holds the pixel size to 0.01 Å: {pixel_size!r} Å is written "
                f"as {stored / 100.0:g} Å",
                CryotmWarning,
                stacklevel=2,
            )
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(header.tobytes())
            np.ascontiguousarray(data, dtype=np.dtype(native).newbyteorder("<")).tofile(handle)
