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
from collections.abc import Iterator

import numpy as np

from ..errors import InputError

__all__ = ["flat_pieces", "check_finite", "raise_non_finite", "values_at", "whole_indices", "regular_sample"]


def regular_sample(data: np.ndarray, most: int = 1 << 24, mask: np.ndarray | None = None) -> np.ndarray:
    """Every n-th voxel along each axis, n chosen to keep about `most` voxels; float64, flat.

    With `mask`, only the sampled voxels where it is nonzero (all of them if
    none is). Robust statistics of a large map (its median, its spread) from
    this sample read a fraction of the map.

    Examples
    --------
    >>> regular_sample(np.arange(64.0).reshape(4, 4, 4), most=8).tolist()
    [0.0, 2.0, 8.0, 10.0, 32.0, 34.0, 40.0, 42.0]
    """
    stride = max(1, int(np.ceil((data.size / most) ** (1 / 3))))
    sample = np.asarray(data[::stride, ::stride, ::stride], dtype=np.float64)
    if mask is not None:
        inside = np.asarray(mask[::stride, ::stride, ::stride]) != 0
        if inside.any():
            return sample[inside]
    return sample.ravel()


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


def flat_pieces(data: np.ndarray, size: int = 1 << 20) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(flat_start, piece)``: 1D C-contiguous pieces of `data` holding every element once.

    A C-contiguous array is cut into views of `size` elements; any other array
    is copied slab by slab along its first axis, so a transposed or
    memory-mapped map never needs a full copy. `flat_start` is the C-order
    index of the piece's first element.

    Examples
    --------
    >>> [(start, piece.tolist()) for start, piece in flat_pieces(np.arange(6).reshape(2, 3).T, size=3)]
    [(0, [0, 3]), (2, [1, 4]), (4, [2, 5])]
    """
    if data.flags.c_contiguous:
        flat = data.reshape(-1)
        for start in range(0, flat.size, size):
            yield start, flat[start : start + size]
        return
    if data.ndim <= 1:
        yield 0, np.ascontiguousarray(data).reshape(-1)
        return
    per_slab = max(1, int(np.prod(data.shape[1:])))
    step = max(1, size // per_slab)
    for start in range(0, data.shape[0], step):
        yield start * per_slab, np.ascontiguousarray(data[start : start + step]).reshape(-1)


def check_finite(
    data: np.ndarray, source: str | None, what: str = "scores map", slab_voxels: int = 1 << 20
) -> None:
    """Raise :class:`InputError` at the first NaN/inf of `data`, reading it slab by slab."""
    if data.dtype.kind not in "fc":
        return
    for start, piece in flat_pieces(data, slab_voxels):
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
    nz, ny, nx = data.shape
    # as numpy indexing does: negative indices count from the end, others must lie inside
    z, y, x = (np.where(v < 0, v + n, v) for v, n in ((z, nz), (y, ny), (x, nx)))
    if min(z.min(), y.min(), x.min()) < 0 or z.max() >= nz or y.max() >= ny or x.max() >= nx:
        raise IndexError(f"an index lies outside the map of shape {data.shape}")
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


def whole_indices(
    values: np.ndarray, source: str | None, zyx: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Angle-map `values` as int64 indices; float values must be whole numbers (within 1e-3).

    The one check of angle-map values in cryotm (:meth:`cryotm.maps.AngleMap.indices_at`,
    :func:`cryotm.angles.distance_maps.angle_rows`).

    Parameters
    ----------
    values : ndarray
        Values read from an angle map (any shape).
    source : str, optional
        The angle map's file, for the error message.
    zyx : (ndarray, ndarray, ndarray), optional
        The voxels the (1D) `values` were read at, named in the error message.

    Raises
    ------
    InputError
        For a value that is not a whole number (NaN and inf included).

    Examples
    --------
    >>> whole_indices(np.array([1.0, 2.0000001]), None).tolist()
    [1, 2]
    """
    values = np.asarray(values)
    if values.dtype.kind == "f":
        rounded = np.rint(values)
        bad = ~np.isfinite(values) | (np.abs(values - rounded) > 1e-3)
        if bad.any():
            i = int(np.argmax(bad.ravel()))
            where = "" if zyx is None else f" at z={zyx[0][i]}, y={zyx[1][i]}, x={zyx[2][i]}"
            raise InputError(f"angle map holds {values.ravel()[i]}{where}, not an angle index", source)
        values = rounded
    return values.astype(np.int64)
