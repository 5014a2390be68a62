"""The tophat filter: keep only sharp peaks (pytom-match-pick's ``--tophat-filter``).

A particle leaves a sharp peak in the scores map; gold beads, membranes and
carbon edges leave broad ridges and blobs whose maximum scores high too. The
white tophat transform (the map minus its grey opening with a small cross)
keeps what is narrower than the cross and flattens what is broader, so a
sharp peak's voxel keeps a large tophat value and a broad peak's maximum a
small one.

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
from scipy import ndimage, special

from ..errors import InputError

__all__ = ["TophatCutoff", "white_tophat", "tophat_cutoff"]


def _structure(connectivity: int) -> np.ndarray:
    if connectivity not in (1, 2, 3):
        raise InputError(f"tophat connectivity must be 1, 2 or 3, got {connectivity!r}")
    return ndimage.generate_binary_structure(3, connectivity)


def white_tophat(data: np.ndarray, connectivity: int = 1, slab_voxels: int = 1 << 22) -> np.ndarray:
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
    structure = _structure(connectivity)
    nz, ny, nx = data.shape
    out = np.empty(data.shape, dtype=np.float32)
    step = max(1, int(slab_voxels) // max(ny * nx, 1))
    halo = 2  # erosion then dilation, one voxel each
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
    value = mean + sigma * np.sqrt(2) * float(special.erfcinv(2 * n_false_positives / n_background))
    return TophatCutoff(float(value), mean, sigma, float(n_background), float(n_false_positives), int(bins))
