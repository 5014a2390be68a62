"""Walk a large (possibly memory-mapped) array in flat, contiguous chunks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["flat_chunks", "CHUNK_VOXELS"]

#: Voxels per chunk: small enough that temporaries stay in the tens of MB.
CHUNK_VOXELS = 1 << 20


def flat_chunks(data: np.ndarray, size: int = CHUNK_VOXELS) -> Iterator[np.ndarray]:
    """Yield 1D C-contiguous pieces of `data` that together hold every element once.

    A C-contiguous array is cut into views of `size` elements; any other array
    is copied slab by slab along its first axis, so a transposed or
    memory-mapped map never needs a full copy.
    """
    if data.flags.c_contiguous:
        flat = data.reshape(-1)
        for start in range(0, flat.size, size):
            yield flat[start : start + size]
        return
    if data.ndim <= 1:
        yield np.ascontiguousarray(data).reshape(-1)
        return
    per_slab = max(1, int(np.prod(data.shape[1:])))
    step = max(1, size // per_slab)
    for start in range(0, data.shape[0], step):
        yield np.ascontiguousarray(data[start : start + step]).reshape(-1)
