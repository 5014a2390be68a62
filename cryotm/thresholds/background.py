"""A robust estimate of the background of a scores map: a Gaussian fitted to the core of its histogram.

Particles put a heavy right tail on the distribution of template-matching
scores, which inflates the plain standard deviation. The background's mean
and width are better measured on the core of the histogram, where the noise
dominates: a first guess from quantiles of an evenly strided sample (median
and the left half-width, which the particles do not reach), then an lmfit
``GaussianModel`` fitted to the histogram counts between ``mu - 4 sigma`` and
``mu + 1.5 sigma``: first of the sample, then, re-centred on that fit, of
every value.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from ..errors import InputError
from ._chunks import flat_chunks

__all__ = ["BackgroundFit", "estimate_background"]

_SAMPLE = 2_000_000
_ONE_SIGMA_QUANTILE = 0.15865525393145707  # Phi(-1)


@attrs.frozen
class BackgroundFit:
    """The fitted background of a scores distribution.

    Attributes
    ----------
    mean, std : float
        Centre and width of the fitted Gaussian.
    amplitude : float
        Number of values the fitted Gaussian accounts for (its area in counts).
    bin_edges, counts : ndarray
        The histogram the Gaussian was fitted to (for plots).
    fit_range : (float, float)
        The score range the fit used.
    plain_mean, plain_std : float
        Mean and standard deviation of the values (of an evenly strided
        sample of at most two million), for comparison.
    n_values : int
        Number of values described.
    """

    mean: float
    std: float
    amplitude: float
    bin_edges: np.ndarray
    counts: np.ndarray
    fit_range: tuple[float, float]
    plain_mean: float
    plain_std: float
    n_values: int

    def as_details(self) -> dict[str, Any]:
        """The fields as a plain dict (for :class:`~cryotm.thresholds.ThresholdResult` details)."""
        return {
            "background_mean": self.mean,
            "background_std": self.std,
            "background_amplitude": self.amplitude,
            "histogram_edges": self.bin_edges,
            "histogram_counts": self.counts,
            "fit_range": self.fit_range,
            "plain_mean": self.plain_mean,
            "plain_std": self.plain_std,
        }


def _histogram(values: np.ndarray, lo: float, hi: float, bins: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Histogram of every value in [lo, hi] (one pass, in chunks); None if a value is not finite."""
    counts = np.zeros(bins, dtype=np.int64)
    for chunk in flat_chunks(values):
        if not (np.isfinite(chunk.max()) and np.isfinite(chunk.min())):
            return None
        counts += np.histogram(chunk, bins=bins, range=(lo, hi))[0]
    return counts, np.linspace(lo, hi, bins + 1)


def estimate_background(
    values: np.ndarray,
    fit_range: tuple[float, float] = (-4.0, 1.5),
    bins_per_sigma: int = 20,
    source: str | None = None,
) -> BackgroundFit:
    """Fit a Gaussian to the core of the histogram of `values`.

    Parameters
    ----------
    values : ndarray
        The scores (any shape; memory-mapped arrays are read in chunks).
    fit_range : (float, float)
        The fitted part of the histogram, in units of the background's sigma
        around its mean (left, right). The right end stays close to the mean
        so that particles do not enter the fit.
    bins_per_sigma : int
        Histogram resolution.
    source : str, optional
        The file the scores came from, for error messages.

    Returns
    -------
    BackgroundFit

    Raises
    ------
    InputError
        Too few values, non-finite values, constant scores, or a fit that did
        not converge to a positive width.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.normal(0.0, 0.03, size=200_000)
    >>> fit = estimate_background(noise)
    >>> abs(fit.std - 0.03) < 0.001
    True
    """
    values = np.asarray(values)
    if values.size < 100:
        raise InputError(f"only {values.size} scores: too few to estimate the background", source)
    step = max(1, values.size // _SAMPLE)
    sample = values.reshape(-1)[::step].astype(np.float64)
    if not np.isfinite(sample).all():
        raise InputError("the scores hold a non-finite value; cannot estimate the background", source)
    q_low, median = np.quantile(sample, [_ONE_SIGMA_QUANTILE, 0.5])
    mu, sigma = float(median), float(median - q_low)
    if not sigma > 0:
        q1, q3 = np.quantile(sample, [0.25, 0.75])
        sigma = float(q3 - q1) / 1.349
    if not sigma > 0:
        raise InputError(
            f"the scores are (almost) constant around {mu}; there is no background distribution to fit", source
        )
    left, right = fit_range
    if not left < 0 < right:
        raise InputError(f"fit_range must bracket the mean, got {fit_range}")

    from lmfit.models import GaussianModel  # lmfit (and scipy.stats) load only for a fit

    model = GaussianModel()
    amplitude = float("nan")
    counts = edges = None
    # first on the sample, then on every value
    for data in (sample, values):
        lo, hi = mu - 6.0 * sigma, mu + 6.0 * sigma
        bins = int(round(12 * bins_per_sigma))
        histogram = _histogram(data, lo, hi, bins)
        if histogram is None:
            raise InputError("the scores hold a non-finite value; cannot estimate the background", source)
        counts, edges = histogram
        centres = 0.5 * (edges[:-1] + edges[1:])
        core = (centres >= mu + left * sigma) & (centres <= mu + right * sigma)
        x, y = centres[core], counts[core].astype(np.float64)
        if np.count_nonzero(y) < 5:
            raise InputError("the histogram's core holds too few filled bins to fit the background", source)
        width = edges[1] - edges[0]
        params = model.make_params(amplitude=float(y.max()) * sigma * np.sqrt(2 * np.pi), center=mu, sigma=sigma)
        params["sigma"].min = 0.0
        params["amplitude"].min = 0.0
        result = model.fit(y, params, x=x, weights=1.0 / np.sqrt(np.maximum(y, 1.0)))
        new_mu = float(result.params["center"].value)
        new_sigma = float(result.params["sigma"].value)
        if not (result.success and np.isfinite(new_mu) and np.isfinite(new_sigma) and new_sigma > width / 4):
            raise InputError(
                f"the Gaussian fit to the background did not converge (centre {new_mu}, sigma {new_sigma}); "
                "give the search statistics (mean, std) instead",
                source,
            )
        mu, sigma = new_mu, new_sigma
        amplitude = float(result.params["amplitude"].value / width)
    return BackgroundFit(
        mean=mu,
        std=sigma,
        amplitude=amplitude,
        bin_edges=edges,
        counts=counts,
        fit_range=(mu + left * sigma, mu + right * sigma),
        plain_mean=float(sample.mean()),
        plain_std=float(sample.std()),
        n_values=int(values.size),
    )
