"""A real template-matching search: masked normalised cross-correlation over an angle list.

The fast local correlation function (FLCF; Roseman 2003) as STOPGAP and
pytom-match-pick compute it: for a template rotated by each rotation of the
list, masked by a ball, set to zero mean and unit standard deviation inside
the ball, the score at a voxel is its correlation with the tomogram divided
by the tomogram's standard deviation under the ball centred there. The ball
makes the local mean and standard deviation the same for every rotation, so
they are computed once (two FFT correlations); each rotation then costs one
forward and one inverse real FFT of the tomogram's size. The scores map is
the maximum over rotations, the angle map the row of the rotation that gave
it, and the search statistics are the mean and standard deviation of the
scores over every voxel and rotation (what pytom-match-pick records in its
job file, ``job_stats``).
"""

from __future__ import annotations

import os
from typing import Callable

import attrs
import numpy as np
import scipy.fft
from scipy.spatial.transform import Rotation

from ..errors import CryotmError
from .templates import rotate_volume, spherical_mask

__all__ = ["SearchResult", "masked_ncc_search", "default_workers"]


def default_workers() -> int:
    """FFT threads: the cores this process may use, at most 2 (the machine is shared)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


@attrs.frozen
class SearchResult:
    """The maps and statistics of a search.

    Attributes
    ----------
    scores : ndarray, float32
        Maximum over rotations of the masked normalised cross-correlation.
    angle_rows : ndarray, int32
        Row (0-based) of the rotation that gave each voxel's maximum.
    mean, std : float
        Mean and standard deviation of the scores over every voxel and rotation.
    n_angles, n_voxels : int
        Rotations and voxels searched (``search_space = n_angles * n_voxels``).
    """

    scores: np.ndarray
    angle_rows: np.ndarray
    mean: float
    std: float
    n_angles: int
    n_voxels: int

    @property
    def search_space(self) -> int:
        """Voxels x rotations."""
        return self.n_angles * self.n_voxels


def _embed(small: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`small` in a zero volume of `shape`, its centre voxel (``size // 2``) at the origin (wrapped)."""
    out = np.zeros(shape, dtype=np.float32)
    index = [(np.arange(n) - n // 2) % s for n, s in zip(small.shape, shape)]
    out[np.ix_(*index)] = small
    return out


def masked_ncc_search(
    tomogram: np.ndarray,
    template: np.ndarray,
    rotations: Rotation,
    mask: np.ndarray | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SearchResult:
    """Search `tomogram` for `template` at every rotation (masked normalised cross-correlation).

    Parameters
    ----------
    tomogram : ndarray, shape (nz, ny, nx)
        The volume, indexed ``[z, y, x]`` (treated as periodic).
    template : ndarray, shape (b, b, b)
        The reference, centred on voxel ``b // 2``.
    rotations : scipy.spatial.transform.Rotation
        The rotations searched (row ``i`` of the angle map means rotation ``i``).
    mask : ndarray, shape (b, b, b), optional
        The template mask (default: :func:`~cryotm.synthetic.templates.spherical_mask`);
        it must be rotation-invariant (a ball) for the local statistics to hold for
        every rotation.
    workers : int, optional
        FFT threads (default :func:`default_workers`).
    progress : callable, optional
        ``progress(done, total)`` after each rotation.

    Returns
    -------
    SearchResult
        Voxels where the tomogram is flat under the ball (standard deviation
        zero, e.g. a noiseless empty region) score 0.
    """
    tomogram = np.asarray(tomogram, dtype=np.float32)
    template = np.asarray(template, dtype=np.float32)
    if tomogram.ndim != 3 or template.ndim != 3 or len(set(template.shape)) != 1:
        raise CryotmError(f"need a 3D tomogram and a cubic template, got {tomogram.shape} and {template.shape}")
    if any(b > s for b, s in zip(template.shape, tomogram.shape)):
        raise CryotmError(f"the template {template.shape} is larger than the tomogram {tomogram.shape}")
    mask = spherical_mask(template.shape[0]) if mask is None else np.asarray(mask, dtype=np.float32)
    workers = default_workers() if workers is None else int(workers)
    shape = tomogram.shape
    n = float(mask.sum())

    fft_tomogram = scipy.fft.rfftn(tomogram, workers=workers)
    fft_mask = np.conj(scipy.fft.rfftn(_embed(mask, shape), workers=workers))
    local_mean = scipy.fft.irfftn(fft_tomogram * fft_mask, s=shape, workers=workers) / np.float32(n)
    local_square = scipy.fft.irfftn(
        scipy.fft.rfftn(tomogram * tomogram, workers=workers) * fft_mask, s=shape, workers=workers
    ) / np.float32(n)
    variance = local_square - local_mean * local_mean
    del local_mean, local_square, fft_mask
    floor = np.float32(1e-6) * max(float(variance.max()), np.finfo(np.float32).tiny)
    scale = np.zeros(shape, dtype=np.float32)
    flat = variance > floor
    scale[flat] = np.float32(1.0 / n) / np.sqrt(variance[flat])
    del variance, flat

    scores = np.full(shape, -np.inf, dtype=np.float32)
    rows = np.zeros(shape, dtype=np.int32)
    better = np.empty(shape, dtype=bool)
    total = total_square = 0.0
    inside = mask > 0
    count = len(rotations)
    for i in range(count):
        rotated = rotate_volume(template, rotations[i])
        values = rotated[inside]
        rotated[inside] = values - values.mean()
        rotated[~inside] = 0.0
        norm = float(np.sqrt(np.sum(rotated[inside].astype(np.float64) ** 2) / n))
        if norm == 0:
            raise CryotmError("the template is flat inside its mask")
        rotated /= np.float32(norm)
        product = np.conj(scipy.fft.rfftn(_embed(rotated, shape), workers=workers))
        product *= fft_tomogram
        correlation = scipy.fft.irfftn(product, s=shape, workers=workers)
        correlation *= scale
        total += float(correlation.sum(dtype=np.float64))
        total_square += float(np.einsum("i,i->", correlation.ravel(), correlation.ravel(), dtype=np.float64))
        np.greater(correlation, scores, out=better)
        np.copyto(scores, correlation, where=better)
        np.copyto(rows, i, where=better)
        if progress is not None:
            progress(i + 1, count)
    trials = float(count) * float(tomogram.size)
    mean = total / trials
    std = float(np.sqrt(max(total_square / trials - mean * mean, 0.0)))
    return SearchResult(
        scores=scores, angle_rows=rows, mean=mean, std=std, n_angles=count, n_voxels=int(tomogram.size)
    )
