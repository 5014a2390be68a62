"""Shape filter: drop peaks broader than the particles' (gold beads, membranes).

Every particle's peak in a template-matching map has nearly the same shape:
the template's correlation with itself, scaled by the particle's contrast.
Around a peak of height ``h`` above the map's background, the mean score on
the shell at `radius` voxels is therefore about ``ratio * h``, the same
``ratio`` for every particle, give or take the noise (whose size does not
depend on ``h``). Membranes and gold beads correlate with the template into
peaks of another shape: a sheet's peak is broad across the membrane's plane,
and a bead's, the template's own shape blurred over every rotation, is
broader than a particle's for most templates (for a template of a few compact
blobs, the benchmarks' ``blobs``, it is not: those beads stay).

The filter learns ``ratio`` from the highest half of the kept peaks (which
are particles when particles are the most common strong peaks, as in a
tomogram searched for them) and drops a peak when its shell's mean exceeds
``ratio * h`` by more than `tolerance` times the robust spread (1.4826 x the
median absolute deviation) of the same difference among those reference
peaks, and at least :data:`SPREAD_FLOOR` of their median height. Narrower
peaks are kept: junk is broad, and particles' peaks vary in width with their
contrast and their neighbours. It runs on at least :data:`MIN_PEAKS` peaks;
a peak whose shell is mostly outside the map or the mask is kept.

The highest half is particles when the threshold rule expects few noise
peaks among those it keeps: the picker's default (``shape_filter=None``)
runs the filter when the rule declares its expected noise count
(``calibrated``, ``far``) and it is at most a quarter of the peaks;
``shape_filter=True`` (``--shape-filter``) always, ``False``
(``--no-shape-filter``) never. cryoCAT's signatures
(:func:`~cryotm.picking.extract_particles`, ``select_peaks`` with
``placement="cryocat"``) do not run it. Figures: the benchmarks page.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import CryotmWarning, format_source

__all__ = ["MIN_PEAKS", "SPREAD_FLOOR", "WARN_FRACTION", "few_noise_peaks", "shape_outliers", "shell_radius"]

#: Fewest peaks the filter judges (fewer: all kept); also the smallest reference.
MIN_PEAKS = 10
#: Smallest spread, as a fraction of the reference peaks' median height (noiseless maps).
SPREAD_FLOOR = 0.02
#: Dropping more than this fraction of the peaks draws a warning (on the benchmarks' scenes: at most 0.12).
WARN_FRACTION = 0.2


def few_noise_peaks(expected_noise: Any, n_peaks: int) -> bool:
    """Whether a rule expecting `expected_noise` noise peaks leaves the highest half of `n_peaks` to particles.

    True when the rule declares a number (its ``n_false_positives``) of at
    most a quarter of the peaks: the default shape filter runs then.

    Examples
    --------
    >>> few_noise_peaks(1.0, 30), few_noise_peaks(10, 30), few_noise_peaks(None, 30)
    (True, False, False)
    """
    if isinstance(expected_noise, bool) or not isinstance(expected_noise, (int, float, np.number)):
        return False
    return bool(np.isfinite(expected_noise)) and float(expected_noise) <= n_peaks / 4


def shell_radius(particle_diameter: float) -> int:
    """The shell's radius for particles of `particle_diameter` voxels: a sixth of it, at least 1.

    Examples
    --------
    >>> shell_radius(16.4), shell_radius(30), shell_radius(4)
    (3, 5, 1)
    """
    return max(1, int(round(float(particle_diameter) / 6)))


def _shell_offsets(radius: int) -> np.ndarray:
    """(dz, dy, dx) of the voxels whose distance from the centre rounds to `radius`."""
    span = np.arange(-radius - 1, radius + 2)
    grid = np.stack(np.meshgrid(span, span, span, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid[np.rint(np.sqrt(np.sum(grid**2, axis=1))).astype(int) == radius]


def shape_outliers(
    data: np.ndarray,
    zyx: tuple[np.ndarray, np.ndarray, np.ndarray],
    radius: int,
    tolerance: float,
    background: float,
    mask: np.ndarray | None = None,
    source: Any = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Which peaks are broader than the highest half's.

    Parameters
    ----------
    data : ndarray
        The scores map, ``[z, y, x]``.
    zyx : tuple of three int arrays
        The peaks (their maxima), in any order.
    radius : int
        Radius of the shell, in voxels (:func:`shell_radius`).
    tolerance : float
        Largest distance from the reference shape kept, in robust spreads.
    background : float
        The map's background level (its median), which heights are measured from.
    mask : ndarray, optional
        Voxels outside it (zero) do not count in a shell's mean.
    source : path or str, optional
        The scores map's file, named in the warning given when more than
        :data:`WARN_FRACTION` of the peaks are dropped (the highest half may
        then not be particles alone, or the particles' peaks may differ).

    Returns
    -------
    keep : ndarray of bool
        False for the peaks broader than the reference by more than `tolerance`.
    details : dict
        ``radius``, ``tolerance``, ``ratio`` (the reference shell-to-peak
        ratio), ``spread`` (score units) and ``n_reference``. Empty when
        fewer than :data:`MIN_PEAKS` peaks could be judged.

    Examples
    --------
    Twelve copies of one peak and one broader peak (a bead, say):

    >>> z, y, x = np.mgrid[:9, :9, :9] - 4
    >>> narrow, broad = np.exp(-(x**2 + y**2 + z**2) / 8.0), np.exp(-(x**2 + y**2 + z**2) / 18.0)
    >>> m = np.zeros((9, 9, 9 * 13), dtype=np.float32)
    >>> for i in range(13):
    ...     m[:, :, 9 * i : 9 * i + 9] = (broad if i == 12 else narrow) * (1 + i / 20)
    >>> at = (np.full(13, 4), np.full(13, 4), 9 * np.arange(13) + 4)
    >>> keep, details = shape_outliers(m, at, radius=2, tolerance=6, background=0.0)
    >>> keep.tolist()[-3:], details["n_reference"]
    ([True, True, False], 10)
    """
    centres = np.stack([np.asarray(c, dtype=np.int64).reshape(-1) for c in zyx], axis=1)
    keep = np.ones(len(centres), dtype=bool)
    if len(centres) < MIN_PEAKS:
        return keep, {}
    offsets = _shell_offsets(int(radius))
    shape = np.asarray(data.shape)
    where = centres[:, None, :] + offsets[None, :, :]
    valid = np.all((where >= 0) & (where < shape), axis=2)
    where = np.clip(where, 0, shape - 1)
    values = np.asarray(data[where[..., 0], where[..., 1], where[..., 2]], dtype=np.float64)
    if mask is not None:
        valid &= np.asarray(mask)[where[..., 0], where[..., 1], where[..., 2]] != 0
    counts = valid.sum(axis=1)
    judged = counts >= len(offsets) / 2
    if np.count_nonzero(judged) < MIN_PEAKS:
        return keep, {}
    heights = np.asarray(data[tuple(centres.T)], dtype=np.float64) - background
    shells = np.where(valid, values, 0.0).sum(axis=1) / np.maximum(counts, 1) - background
    rows = np.flatnonzero(judged & (heights > 0))
    if len(rows) < MIN_PEAKS:
        return keep, {}
    reference = rows[np.argsort(-heights[rows], kind="stable")][: max(MIN_PEAKS, len(rows) // 2)]
    ratio = float(np.median(shells[reference] / heights[reference]))
    departure = shells - ratio * heights
    centre = float(np.median(departure[reference]))
    spread = 1.4826 * float(np.median(np.abs(departure[reference] - centre)))
    spread = max(spread, SPREAD_FLOOR * float(np.median(heights[reference])))
    distance = (departure - centre) / spread
    keep = ~judged | (distance <= float(tolerance))
    dropped = int(np.count_nonzero(~keep))
    if dropped > WARN_FRACTION * len(keep):
        warnings.warn(
            f"{format_source(source)}: the shape filter dropped {dropped} of {len(keep)} peaks as broader than the "
            "highest half's; if they are particles (a mixed sample, a template that fits some less well), keep "
            "them with --no-shape-filter (shape_filter=False)",
            CryotmWarning,
            stacklevel=2,
        )
    details = {
        "radius": int(radius), "tolerance": float(tolerance), "ratio": ratio, "spread": spread,
        "n_reference": int(len(reference)),
    }
    return keep, details
