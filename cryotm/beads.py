"""Gold beads: find them in the tomogram and mask them out before picking.

Gold fiducials are the classic false peaks of template matching: a masked
normalised cross-correlation measures shape, not density, and a small dense
ball correlates with any template about as well as a particle does. On the
realistic benchmark scenes (``benchmarks/quality.py``) the threshold keeps
nearly every bead. The picker's shape filter (:mod:`cryotm.picking.shape_filter`)
drops those whose peak is broader than the particles', which is most beads
for an elongated template but none for a compact one whose own correlation
peak is as broad as a bead's. The tomogram tells them apart whatever the
template: a bead is the densest object in it, by far.

:func:`find_gold_beads` smooths the tomogram at the bead's scale, measures
every voxel in robust standard deviations of the smoothed volume (median and
median absolute deviation, which the beads do not move) and takes each
connected region beyond `min_contrast` as one spot, at its most extreme
voxel. The beads are the spots above the largest break in density between
one spot and the next, if that break is at least a factor `separation`:
there is no fixed density that tells gold from protein in every tomogram,
but gold always stands apart from it. :func:`bead_exclusion_mask` turns the beads into a mask for
``cryotm extract --mask`` (zero within a radius of each bead).

Density sign: in a reconstruction as it comes out of the tilt series, dense
matter is dark (low values); many pipelines invert it. ``polarity="auto"``
takes the tail of the voxel values that reaches farther from the median,
which on a tomogram with gold is the beads'; name it (``"dark"`` or
``"bright"``) when the tomogram may hold no bead.
"""

from __future__ import annotations

import attrs
import numpy as np
from scipy import ndimage

from .errors import InputError

__all__ = ["POLARITIES", "GoldBeads", "find_gold_beads", "bead_exclusion_mask"]

#: Which voxel values are dense: ``auto`` (the farther-reaching tail), ``dark`` (low) or ``bright`` (high).
POLARITIES: tuple[str, ...] = ("auto", "dark", "bright")


@attrs.frozen
class GoldBeads:
    """Beads found in a tomogram.

    Attributes
    ----------
    positions : ndarray, shape (N, 3)
        0-based x, y, z of each bead (its most extreme smoothed voxel).
    contrast : ndarray, shape (N,)
        Each bead's smoothed density in robust standard deviations from the
        median (positive: denser).
    polarity : str
        ``"dark"`` or ``"bright"``: the sign taken as dense.
    next_contrast : float
        The densest spot that is not a bead (farther than twice the bead
        radius from every bead), in the same units: the weakest bead stands
        at least ``separation`` times above it.
    """

    positions: np.ndarray
    contrast: np.ndarray
    polarity: str
    next_contrast: float

    def __len__(self) -> int:
        return len(self.positions)


def _robust_scale(volume: np.ndarray, most: int = 1 << 22) -> tuple[float, float]:
    """Median and normal-scaled median absolute deviation, from a regular subsample of about `most` voxels."""
    from scipy.stats import median_abs_deviation

    from .maps._access import regular_sample

    sample = regular_sample(volume, most)
    return float(np.median(sample)), float(median_abs_deviation(sample, scale="normal"))


def find_gold_beads(
    tomogram: np.ndarray,
    bead_radius: float,
    min_contrast: float = 10.0,
    separation: float = 2.0,
    polarity: str = "auto",
) -> GoldBeads:
    """Find gold beads: the densest spots of the tomogram, when they stand well apart from the rest.

    Parameters
    ----------
    tomogram : ndarray, shape (nz, ny, nx)
        The reconstruction the scores map was searched in (indexed
        ``[z, y, x]``; a memory-mapped array is read whole, once).
    bead_radius : float
        The beads' radius in voxels (a 10 nm bead at 13.6 Å per voxel: 3.7).
        The tomogram is smoothed with a Gaussian of half this width.
    min_contrast : float
        Spots are considered from this many robust standard deviations of
        the smoothed density up.
    separation : float
        The beads are the spots above the largest ratio between one spot's
        density and the next lower one's (the densest spot outside them
        counts as the last), when that ratio is at least `separation`: gold
        is many times denser than protein. Without such a break no spot is
        taken for a bead.
    polarity : {'auto', 'dark', 'bright'}
        Which values are dense (see the module notes).

    Returns
    -------
    GoldBeads

    Raises
    ------
    InputError
        Not a 3D volume, a flat volume, or a bad parameter.

    Examples
    --------
    >>> volume = np.random.default_rng(0).normal(size=(32, 32, 32)).astype(np.float32)
    >>> volume[10:13, 20:23, 5:8] -= 60  # a dark (dense) bead around x=6, y=21, z=11
    >>> beads = find_gold_beads(volume, bead_radius=1.5)
    >>> beads.positions.tolist(), beads.polarity
    ([[6.0, 21.0, 11.0]], 'dark')
    """
    volume = np.asarray(tomogram)
    if volume.ndim != 3:
        raise InputError(f"a tomogram must be a 3D volume, got {volume.ndim} dimensions")
    if not (np.isfinite(bead_radius) and bead_radius > 0):
        raise InputError(f"the bead radius must be a positive number of voxels, got {bead_radius}")
    if not (np.isfinite(min_contrast) and min_contrast > 0):
        raise InputError(f"the minimum bead contrast must be positive, got {min_contrast}")
    if not (np.isfinite(separation) and separation > 1):
        raise InputError(f"the separation of beads from other density must be a factor above 1, got {separation}")
    if polarity not in POLARITIES:
        raise InputError(f"polarity must be one of {', '.join(POLARITIES)}, got {polarity!r}")
    smooth = ndimage.gaussian_filter(volume.astype(np.float32, copy=False), sigma=max(bead_radius / 2, 0.5))
    if not np.isfinite(smooth).all():
        raise InputError("the tomogram holds NaN or inf values")
    median, spread = _robust_scale(smooth)
    if not spread > 0:
        raise InputError("the tomogram is flat: no bead can stand out of it")
    if polarity == "auto":
        polarity = "dark" if median - float(smooth.min()) > float(smooth.max()) - median else "bright"
    contrast = (smooth - np.float32(median)) * np.float32((-1.0 if polarity == "dark" else 1.0) / spread)
    del smooth
    regions, n = ndimage.label(contrast >= min_contrast)
    boxes = ndimage.find_objects(regions)
    zyx, values = np.zeros((n, 3)), np.zeros(n)
    for label, box in enumerate(boxes, start=1):  # each spot's densest voxel, within its own bounding box
        piece = np.where(regions[box] == label, contrast[box], -np.inf)
        at = np.unravel_index(int(np.argmax(piece)), piece.shape)
        zyx[label - 1] = [b.start + a for b, a in zip(box, at)]
        values[label - 1] = float(piece[at])
    # the densest voxel away from every spot (beyond twice the bead radius around its region: not its fringe)
    reach = max(1, int(np.ceil(2 * bead_radius)))
    for box in boxes:
        contrast[tuple(slice(max(b.start - reach, 0), b.stop + reach) for b in box)] = -np.inf
    rest = float(contrast.max())
    order = np.argsort(-values, kind="stable")
    zyx, values = zyx[order], values[order]
    ladder = np.append(values, max(rest, 1e-12))
    ratios = ladder[:-1] / np.maximum(ladder[1:], 1e-12)
    n_beads = int(np.argmax(ratios)) + 1 if len(ratios) and ratios.max() >= separation else 0
    return GoldBeads(
        positions=zyx[:n_beads, ::-1].copy(), contrast=values[:n_beads], polarity=polarity,
        next_contrast=float(ladder[n_beads]) if n_beads < len(values) else rest,
    )


def bead_exclusion_mask(shape: tuple[int, int, int], positions: np.ndarray, radius: float) -> np.ndarray:
    """A tomogram mask: 1 everywhere except within `radius` voxels of each bead (0).

    Parameters
    ----------
    shape : (nz, ny, nx)
        The maps' shape.
    positions : ndarray, shape (N, 3)
        0-based x, y, z of the beads.
    radius : float
        Voxels around each bead where no particle is picked: the bead's
        radius plus a particle's (a particle's centre cannot come closer).

    Returns
    -------
    ndarray of float32, shape `shape`

    Examples
    --------
    >>> mask = bead_exclusion_mask((9, 9, 9), np.array([[4.0, 4.0, 4.0]]), radius=2)
    >>> int(mask.sum()), float(mask[4, 4, 4]), float(mask[4, 4, 7])
    (696, 0.0, 1.0)
    """
    if not (np.isfinite(radius) and radius >= 0):
        raise InputError(f"the exclusion radius must be a non-negative number of voxels, got {radius}")
    mask = np.ones(tuple(int(n) for n in shape), dtype=np.float32)
    reach = int(np.ceil(radius))
    grid = np.indices((2 * reach + 1,) * 3) - reach
    for x, y, z in np.asarray(positions, dtype=np.float64).reshape(-1, 3):
        centre = np.round([z, y, x]).astype(int)
        lo = centre - reach
        box = tuple(slice(max(c, 0), min(c + 2 * reach + 1, n)) for c, n in zip(lo, mask.shape))
        offsets = tuple(slice(b.start - c, b.stop - c) for b, c in zip(box, lo))
        distance2 = sum((g[offsets] + (c - p)) ** 2 for g, c, p in zip(grid, centre, (z, y, x)))
        mask[box][distance2 <= radius**2] = 0.0
    return mask
