"""Walk a large (possibly memory-mapped) array in flat, contiguous chunks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..maps._access import flat_pieces

__all__ = ["flat_chunks", "CHUNK_VOXELS"]

#: Voxels per chunk: small enough that temporaries stay in the tens of MB.
CHUNK_VOXELS = 1 << 20


def flat_chunks(data: np.ndarray, size: int = CHUNK_VOXELS) -> Iterator[np.ndarray]:
    """Yield 1D C-contiguous pieces of `data` that together hold every element once.

    The pieces of :func:`cryotm.maps._access.flat_pieces`, without their offsets:
    views of a C-contiguous array, slab-wise copies of any other, so a
    transposed or memory-mapped map never needs a full copy.
    """
    for _, piece in flat_pieces(data, size):
        yield piece
