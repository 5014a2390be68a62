"""Reading maps without loading them: slab-wise finiteness checks and single-voxel reads.

Two facts about memory-mapped maps shape this module:

- Checking a map for NaN/inf must not make a full-size boolean copy of it:
  :func:`check_finite` sums slabs (a sum is finite unless a value is not)
  and looks closer only where a sum is not finite.
- Touching one voxel of a memory-mapped file maps a whole block of it (64 kB
  and more on recent kernels, whatever ``madvise`` says), so reading an
  angle map at 20 000 picked voxels through the mapping makes the whole map
  resident. :func:`values_at` reads those voxels with ``pread`` instead.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError

__all__ = ["check_finite", "raise_non_finite", "values_at"]


def raise_non_finite(
    values: np.ndarray, flat_start: int, shape: tuple[int, ...], source: str | None, what: str = "scores map"
) -> None:
    """Raise :class:`InputError` naming the first NaN/inf of `values` (flat, starting at `flat_start`)."""
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.argmax(bad))
        z, y, x = np.unravel_index(flat_start + first, shape)
        raise InputError(
            f"{what} has a non-finite value ({values[first]}) at z={z}, y={y}, x={x}", source
        )


def check_finite(
    data: np.ndarray, source: str | None, what: str = "scores map", slab_voxels: int = 1 << 20
) -> None:
    """Raise :class:`InputError` at the first NaN/inf of `data`, reading it slab by slab."""
    if data.dtype.kind not in "fc":
        return
    flat = data.reshape(-1) if data.flags.c_contiguous else None
    if flat is None:
        step = max(1, slab_voxels // max(1, data.shape[1] * data.shape[2]))
        for z0 in range(0, data.shape[0], step):
            slab = np.ascontiguousarray(data[z0 : z0 + step]).reshape(-1)
            if not np.isfinite(np.add.reduce(slab)):
                raise_non_finite(slab, z0 * data.shape[1] * data.shape[2], data.shape, source, what)
        return
    for start in range(0, flat.size, slab_voxels):
        piece = flat[start : start + slab_voxels]
        # a sum is finite unless a value is NaN/inf (or it overflows: then look closer)
        if not np.isfinite(np.add.reduce(piece)):
            raise_non_finite(piece, start, data.shape, source, what)


def _file_backing(data: np.ndarray) -> tuple[str, int] | None:
    """``(file, byte offset)`` of a C-contiguous memory-mapped array, else None."""
    if not isinstance(data, np.memmap) or not data.flags.c_contiguous:
        return None
    filename = getattr(data, "filename", None)
    offset = getattr(data, "offset", None)
    if filename is None or offset is None or not os.path.isfile(filename):
        return None
    # a view into the memmap starts further in: find where this array begins
    base = data
    while isinstance(base.base, np.memmap):
        base = base.base
    start = data.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return os.fspath(filename), int(offset) + int(start)


def values_at(data: np.ndarray, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``data[z, y, x]``, read with ``pread`` when `data` is a memory-mapped file.

    Examples
    --------
    >>> data = np.arange(24).reshape(2, 3, 4)
    >>> values_at(data, np.array([1]), np.array([2]), np.array([3])).tolist()
    [23]
    """
    z, y, x = (np.asarray(v, dtype=np.int64) for v in (z, y, x))
    backing = _file_backing(data)
    if backing is None or z.size == 0:
        return np.asarray(data[z, y, x])
    filename, offset = backing
    _, ny, nx = data.shape
    item = data.dtype.itemsize
    linear = (z * ny + y) * nx + x
    order = np.argsort(linear)
    positions = (offset + linear[order] * item).tolist()
    fd = os.open(filename, os.O_RDONLY)
    try:
        pread = os.pread
        raw = b"".join([pread(fd, item, p) for p in positions])
    finally:
        os.close(fd)
    if len(raw) != item * len(positions):
        raise InputError("the map file is shorter than its header says", filename)
    values = np.empty(len(positions), dtype=data.dtype)
    values[order] = np.frombuffer(raw, dtype=data.dtype)
    return values
