"""The tophat filter: drop candidates on peaks broader than a particle's.

A particle leaves a peak in the scores map about as wide as the template's
autocorrelation; gold beads, membranes and carbon edges leave broad ridges
and halos whose maximum scores high too. The white tophat transform (the map
minus its grey opening with a structuring element) keeps what is narrower
than the element and flattens what is broader.

Two modes (:class:`~cryotm.picking.PeakPicker`'s ``tophat_mode``):

``"particle"`` (the default)
    The element is a ball of radius ``particle_diameter / 4``, and a
    candidate is kept if its tophat value is at least ``tophat_fraction``
    (0.35) of its peak's height above the map's median
    (:func:`tophat_fractions`). The fraction measures the peak's width, not
    its height, so it keeps weak and strong particles alike: for a Gaussian
    peak of standard deviation ``s``, the tophat under a ball of radius ``R``
    is ``1 - exp(-2 R**2 / s**2)`` of its height, and 0.35 keeps peaks up to
    ``s = 0.54 d`` - broader than any template's autocorrelation peak, while
    a gold bead's or a membrane's halo spreads over the whole template. On
    the benchmark's scenes (``benchmarks/quality_picking.py``) the broadest
    particle peaks (a low-pass template) reach 0.38, gold halos 0.2-0.46.
``"pytom"``
    pytom-match-pick's filter: the 3 x 3 x 3 element of
    ``tophat_connectivity`` (a cross by default) and a cut-off fitted to the
    tophat histogram (below). It keeps only peaks one or two voxels wide and
    drops every particle whose own peak is broader (low-pass or large
    templates).

The cut-off on the tophat values is found as pytom-match-pick finds it
(Chaillet et al. 2023): the histogram of the tophat map, whose background is
close to a Gaussian on a log scale, is fitted with a Gaussian over its bulk
(from the third bin up to where the second derivative of the log-histogram
first turns from negative to positive), and the cut-off is where that
Gaussian expects `n_false_positives` voxels above it (Rickgauer et al.
2017's ``erfc`` formula). One difference: the number of background voxels
the fit describes is the area under the fitted Gaussian divided by the bin
width (pytom-match-pick divides the amplitude by ``sigma * sqrt(2 pi)``,
which is not a count).

The transform is computed slab by slab (a slab plus two planes on each side
gives exactly the whole-map transform), in float32; :func:`white_tophat`
keeps one float32 copy of the map.
"""

from __future__ import annotations

import attrs
import numpy as np

from ..errors import InputError

__all__ = [
    "TOPHAT_MODES", "TophatCutoff", "white_tophat", "tophat_cutoff", "tophat_fractions", "ball", "narrow_peaks",
    "local_tophat",
]

#: The tophat modes of :class:`~cryotm.picking.PeakPicker` (``tophat_mode``).
TOPHAT_MODES: tuple[str, ...] = ("particle", "pytom")


def _structure(connectivity: int) -> np.ndarray:
    if connectivity not in (1, 2, 3):
        raise InputError(f"tophat connectivity must be 1, 2 or 3, got {connectivity!r}")
    from scipy import ndimage  # scipy.ndimage and scipy.special: where a tophat runs, not with the picker

    return ndimage.generate_binary_structure(3, connectivity)


def ball(radius: float) -> np.ndarray:
    """The voxels within `radius` of the centre of an odd box (at least the centre voxel).

    Examples
    --------
    >>> int(ball(1).sum()), int(ball(1.5).sum()), ball(2).shape
    (7, 19, (5, 5, 5))
    """
    if not (np.isfinite(radius) and radius > 0):
        raise InputError(f"tophat radius must be a positive number of voxels, got {radius!r}")
    half = int(np.floor(radius))
    grid = np.arange(-half, half + 1)
    zz, yy, xx = np.meshgrid(grid, grid, grid, indexing="ij")
    return zz**2 + yy**2 + xx**2 <= radius**2


def white_tophat(
    data: np.ndarray, connectivity: int = 1, slab_voxels: int = 1 << 22, radius: float | None = None
) -> np.ndarray:
    """The white tophat transform of a 3D map (scipy's), computed slab by slab, as float32.

    Parameters
    ----------
    data : ndarray, shape (nz, ny, nx)
        The scores map (a memmap is read slab by slab).
    connectivity : {1, 2, 3}
        Structuring element: the 3 x 3 x 3 neighbourhood with this
        connectivity (1: the 6 face neighbours, as pytom-match-pick).
    slab_voxels : int
        Voxels transformed at a time (rounded to whole planes).
    radius : float, optional
        Use a ball of this radius (voxels, :func:`ball`) as the element
        instead of the 3 x 3 x 3 one.

    Returns
    -------
    ndarray of float32, same shape
        Identical to ``scipy.ndimage.white_tophat`` of the float32 map.

    Examples
    --------
    >>> m = np.zeros((7, 7, 7), np.float32); m[3, 3, 5] = 1.0; m[:, :, :3] = 0.5
    >>> t = white_tophat(m)
    >>> float(t[3, 3, 5]), float(t[3, 3, 1])   # the spike stays, the thick slab goes
    (1.0, 0.0)
    """
    from scipy import ndimage

    structure = _structure(connectivity) if radius is None else ball(radius)
    nz, ny, nx = data.shape
    out = np.empty(data.shape, dtype=np.float32)
    step = max(1, int(slab_voxels) // max(ny * nx, 1))
    halo = 2 * (structure.shape[0] // 2)  # erosion then dilation, half the element each
    for z0 in range(0, nz, step):
        z1 = min(z0 + step, nz)
        a, b = max(z0 - halo, 0), min(z1 + halo, nz)
        piece = np.asarray(data[a:b], dtype=np.float32)
        out[z0:z1] = ndimage.white_tophat(piece, footprint=structure)[z0 - a : z0 - a + (z1 - z0)]
    return out


@attrs.frozen
class TophatCutoff:
    """The cut-off on tophat values and the fit it comes from.

    Attributes
    ----------
    value : float
        Voxels with a tophat value strictly above it are sharp peaks.
    mean, sigma : float
        The background Gaussian fitted to the tophat histogram.
    n_background : float
        Voxels the fitted Gaussian describes (its area over the bin width).
    n_false_positives : float
        Background voxels expected above the cut-off.
    bins : int
        Histogram bins.
    """

    value: float
    mean: float
    sigma: float
    n_background: float
    n_false_positives: float
    bins: int

    def details(self) -> dict[str, float]:
        """The fit as plain numbers (for reports and records)."""
        return {name: float(v) for name, v in attrs.asdict(self).items()}


def _gaussian(x: np.ndarray, amplitude: float, mean: float, sigma: float) -> np.ndarray:
    return amplitude * np.exp(-((x - mean) ** 2) / (2 * sigma**2))


def _log_gaussian(x: np.ndarray, amplitude: float, mean: float, sigma: float) -> np.ndarray:
    return np.log(np.abs(amplitude)) - (x - mean) ** 2 / (2 * sigma**2)


def tophat_cutoff(
    tophat: np.ndarray, n_false_positives: float = 1.0, bins: int = 50, source: str | None = None
) -> TophatCutoff:
    """The tophat value above which `n_false_positives` background voxels are expected.

    Parameters
    ----------
    tophat : ndarray
        The tophat map (:func:`white_tophat`), or any sample of its values.
    n_false_positives : float
        Background voxels allowed above the cut-off.
    bins : int
        Histogram bins (pytom-match-pick's default 50).
    source : str, optional
        The scores map's file, for error messages.

    Raises
    ------
    InputError
        When the histogram has no usable background (a constant or nearly
        empty map) or the fit fails.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> values = np.abs(rng.normal(0, 1, 200_000)).astype(np.float32)
    >>> cut = tophat_cutoff(values, n_false_positives=1)
    >>> 3.5 < cut.value < 5.5
    True
    """
    if not (np.isfinite(n_false_positives) and n_false_positives > 0):
        raise InputError(f"tophat n_false_positives must be a positive number, got {n_false_positives!r}")
    counts, edges = np.histogram(np.asarray(tophat).reshape(-1), bins=int(bins))
    width = float(edges[1] - edges[0])
    centres = (edges[:-1] + edges[1:]) / 2
    # the first two bins hold the flat regions' zeros (far more than a Gaussian would)
    x, y = centres[2:], counts[2:].astype(np.float64)
    with np.errstate(divide="ignore"):
        log_y = np.where(y > 0, np.log(np.maximum(y, 1)), 0.0)
    curvature = np.gradient(np.gradient(log_y))[2:]
    turns = np.flatnonzero((curvature[:-1] < 0) & (curvature[1:] >= 0))
    stop = (int(turns[0]) + 3) if len(turns) else len(x)  # up to and including the turn
    x_fit, y_fit = x[:stop], y[:stop]
    keep = y_fit > 0
    x_fit, y_fit = x_fit[keep], y_fit[keep]
    if len(x_fit) < 3 or width <= 0:
        raise InputError(
            "tophat filter: the tophat histogram has no background to fit (a constant or nearly empty map)", source
        )
    guess = (float(y_fit.max()), 0.0, float(np.std(tophat)) or width)
    from scipy import optimize  # scipy.optimize (and scipy.stats) load only for the tophat fit

    try:
        rough, _ = optimize.curve_fit(_gaussian, x_fit, y_fit, p0=guess, maxfev=5000)
        fine, _ = optimize.curve_fit(_log_gaussian, x_fit, np.log(y_fit), p0=rough, maxfev=5000)
    except (RuntimeError, ValueError, optimize.OptimizeWarning) as exc:
        raise InputError(f"tophat filter: the Gaussian fit to the tophat histogram failed ({exc})", source) from None
    amplitude, mean, sigma = abs(float(fine[0])), float(fine[1]), abs(float(fine[2]))
    n_background = amplitude * sigma * np.sqrt(2 * np.pi) / width
    if not (np.isfinite(n_background) and sigma > 0 and n_background > n_false_positives):
        raise InputError(f"tophat filter: the fitted background is degenerate (sigma {sigma:g})", source)
    # Rickgauer et al. 2017: n_fp / N = erfc(theta / (sigma sqrt 2)) / 2
    from scipy import special

    value = mean + sigma * np.sqrt(2) * float(special.erfcinv(2 * n_false_positives / n_background))
    return TophatCutoff(float(value), mean, sigma, float(n_background), float(n_false_positives), int(bins))


def tophat_fractions(
    tophat: np.ndarray, scores: np.ndarray, background: float
) -> np.ndarray:
    """Each candidate's tophat value as a fraction of its height above `background`.

    Parameters
    ----------
    tophat, scores : ndarray
        Tophat values and scores at the candidates.
    background : float
        The scores map's background level (its median).

    Returns
    -------
    ndarray of float64
        ``tophat / (scores - background)``; 0 where the score is not above
        the background.

    Examples
    --------
    >>> tophat_fractions(np.array([0.2, 0.5]), np.array([1.0, 1.0]), 0.0).tolist()
    [0.2, 0.5]
    """
    height = np.asarray(scores, dtype=np.float64) - float(background)
    values = np.asarray(tophat, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(height > 0, values / np.where(height > 0, height, 1.0), 0.0)


def narrow_peaks(
    data: np.ndarray,
    zyx: tuple[np.ndarray, np.ndarray, np.ndarray],
    particle_diameter: float,
    fraction: float = 0.35,
    mask: np.ndarray | None = None,
    slab_voxels: int = 1 << 22,
) -> tuple[np.ndarray, dict[str, object]]:
    """The ``"particle"`` tophat filter: which candidates sit on peaks no broader than a particle's.

    Parameters
    ----------
    data : ndarray, shape (nz, ny, nx)
        The scores map.
    zyx : three int arrays
        The candidates' voxels.
    particle_diameter : float
        Voxels; the element is a ball of a quarter of it.
    fraction : float
        Smallest tophat value kept, as a fraction of the height above the median.
    mask : ndarray, optional
        Nonzero voxels make the median (the whole map otherwise).
    slab_voxels : int
        Voxels transformed at a time when the whole map is transformed;
        with few candidates the transform is computed around each one
        instead (:func:`local_tophat`, the same values).

    Returns
    -------
    keep : ndarray of bool
        One per candidate.
    details : dict
        ``mode``, ``radius``, ``background`` (the median) and ``fraction``.
    """
    radius = float(particle_diameter) / 4
    element = max(radius, 1.0)
    box = (2 * int(np.floor(element)) + 1) ** 3  # a candidate's cost, in voxels of the whole-map transform
    if len(zyx[0]) * box < data.size:
        values = local_tophat(data, zyx, element)
    else:
        values = white_tophat(data, slab_voxels=slab_voxels, radius=element)[zyx]
    background = background_level(data, mask)
    keep = tophat_fractions(values, np.asarray(data[zyx]), background) >= fraction
    return keep, {"mode": "particle", "radius": radius, "background": background, "fraction": float(fraction)}


def local_tophat(
    data: np.ndarray, zyx: tuple[np.ndarray, np.ndarray, np.ndarray], radius: float, batch_values: int = 1 << 23
) -> np.ndarray:
    """The white tophat under a ball of `radius` at a few voxels, each from a box around it.

    The opening at a voxel depends on the map within twice the element's
    half-size, so a box of that reach (reflected at the map's faces, as
    scipy's ``mode="reflect"``) gives exactly the whole-map value of
    :func:`white_tophat` (``radius=``) at a cost per voxel, not per map. The
    boxes are taken and eroded many at a time (`batch_values` box voxels):
    22,297 candidates of a 512**3 map in 3 s (a loop over them took 28 s).

    Examples
    --------
    >>> m = np.random.default_rng(0).normal(size=(20, 20, 20)).astype(np.float32)
    >>> at = (np.array([0, 9, 19]), np.array([3, 9, 19]), np.array([17, 9, 0]))
    >>> bool(np.array_equal(local_tophat(m, at, 2.5), white_tophat(m, radius=2.5)[at]))
    True
    """
    element = ball(radius)
    half = element.shape[0] // 2
    offsets = np.argwhere(element) - half
    shape = data.shape
    centres = np.stack([np.asarray(c, dtype=np.int64) for c in zyx], axis=1).reshape(-1, 3)
    out = np.empty(len(centres), dtype=np.float32)
    side, inner = 4 * half + 1, 2 * half + 1
    span = np.arange(-2 * half, 2 * half + 1)
    per_batch = max(1, int(batch_values) // side**3)
    for start in range(0, len(centres), per_batch):
        c = centres[start : start + per_batch]
        z, y, x = (_reflect(c[:, axis, None] + span[None, :], shape[axis]) for axis in range(3))
        box = np.asarray(data[z[:, :, None, None], y[:, None, :, None], x[:, None, None, :]], dtype=np.float32)
        # the erosion at every position of the centre's ball (the box's inner cube), then its maximum there
        erosion = np.full((len(c), inner, inner, inner), np.inf, dtype=np.float32)
        for dz, dy, dx in offsets:
            np.minimum(erosion, box[:, half + dz : half + dz + inner, half + dy : half + dy + inner,
                                    half + dx : half + dx + inner], out=erosion)
        out[start : start + len(c)] = box[:, 2 * half, 2 * half, 2 * half] - erosion[:, element].max(axis=1)
    return out


def _reflect(index: np.ndarray, n: int) -> np.ndarray:
    """Indices past a face folded back as scipy.ndimage's ``mode="reflect"`` (d c b a | a b c d | d c ...)."""
    index = np.mod(index, 2 * n)
    return np.where(index >= n, 2 * n - index - 1, index)


def background_level(data: np.ndarray, mask: np.ndarray | None, most: int = 1 << 22) -> float:
    """The map's background: its median (inside `mask`), on a regular subsample of at most about `most` voxels."""
    from ..maps._access import regular_sample

    return float(np.median(regular_sample(data, most, mask)))
