"""``gauss``: mean height of Gaussians fitted to profiles through a peak (cryoCAT's ``compute_gaussian_threshold``).

Meant for peak-shape maps (a template matched against itself or a
subtomogram), where it measures the height of the central peak; cryoCAT's
``evaluate_scores_map`` then thresholds at that height minus one standard
deviation of the map (see :func:`cryotm.peakshape.evaluate_peak_shape`).
"""

from __future__ import annotations

import attrs
import numpy as np

from ..errors import InputError
from .base import ThresholdResult, ThresholdStrategy, _checked_mask, as_array, source_of

__all__ = ["GaussThreshold", "fit_gaussian_profile"]


def fit_gaussian_profile(profile: np.ndarray, peak_index: int, axis: str = "", source: str | None = None) -> dict:
    """Fit an lmfit ``GaussianModel`` to a 1D profile, its centre held within +-1 voxel of `peak_index`.

    The profile is placed at x = 0, 1, ..., n - 1 (voxel indices; cryoCAT
    uses ``linspace(0, n, n)``, which stretches the axis by n / (n - 1) and
    moves its +-1 window off the peak by up to half a voxel; the fitted height
    does not depend on the stretch).

    Returns
    -------
    dict
        ``height``, ``center``, ``sigma``, ``amplitude``, ``fwhm`` and
        ``redchi`` of the fit.

    Raises
    ------
    InputError
        If the fit fails, gives a non-finite or non-positive height, or a
        height that does not describe the peak (outside half to twice the
        profile's value at `peak_index`: the profile is not a peak).
    """
    y = np.asarray(profile, dtype=np.float64)
    x = np.arange(y.size, dtype=np.float64)
    if y.size < 4:
        raise InputError(f"the {axis} profile has only {y.size} voxels; too short for a Gaussian fit", source)
    from lmfit.models import GaussianModel  # lmfit (and scipy.stats) load only for a fit

    model = GaussianModel()
    params = model.guess(y, x=x)
    params["amplitude"].min = 0
    params["sigma"].min = 0
    params["center"].min = peak_index - 1
    params["center"].max = peak_index + 1
    try:
        out = model.fit(y, params, x=x)
    except (ValueError, TypeError) as exc:  # lmfit raises ValueError on NaN in the model
        raise InputError(f"the Gaussian fit to the {axis} profile failed: {exc}", source) from None
    fitted = {name: float(out.params[name].value) for name in ("height", "center", "sigma", "amplitude", "fwhm")}
    fitted["redchi"] = float(out.redchi) if out.redchi is not None else float("nan")
    if not out.success or not np.isfinite(fitted["height"]) or not fitted["height"] > 0 or not fitted["sigma"] > 0:
        raise InputError(
            f"the Gaussian fit to the {axis} profile through the peak failed "
            f"(height {fitted['height']}, sigma {fitted['sigma']}): the map has no Gaussian peak there",
            source,
        )
    at_peak = float(y[peak_index])
    if not 0.5 * at_peak <= fitted["height"] <= 2.0 * at_peak:
        raise InputError(
            f"the Gaussian fitted to the {axis} profile has height {fitted['height']:.4g} but the profile is "
            f"{at_peak:.4g} at the peak: the profile through the peak is not Gaussian-shaped",
            source,
        )
    return fitted


@attrs.define
class GaussThreshold(ThresholdStrategy):
    """The mean height of Gaussians fitted to the x, y and z profiles through the peak.

    The peak is the highest voxel within `peak_tolerance` voxels of the map
    centre (:func:`cryotm.peakshape.find_peak`); each profile through it gets
    an lmfit ``GaussianModel`` with the centre bounded to +-1 voxel of the
    peak, amplitude and sigma >= 0.

    Parameters
    ----------
    peak_tolerance : float
        Radius of the sphere around the map centre where the peak is searched
        (cryoCAT: 20).

    Notes
    -----
    With a mask, the map is multiplied by it first. ``details`` holds
    ``peak_zyx`` and, per axis, the fitted ``height``, ``center``,
    ``sigma``, ``amplitude``, ``fwhm`` (``fits``) and the profiles.

    Examples
    --------
    >>> z, y, x = np.mgrid[:32, :34, :36]
    >>> peak = 0.8 * np.exp(-((z - 16) ** 2 + (y - 17) ** 2 + (x - 18) ** 2) / (2 * 2.0**2))
    >>> round(GaussThreshold().compute(peak.astype(np.float32)), 3)
    0.8
    """

    name = "gauss"
    primary_parameter = "peak_tolerance"
    description = "mean height of Gaussians fitted to the profiles through the central peak (peak shapes)"

    peak_tolerance: float = 20.0

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        from ..peakshape.profiles import peak_profiles

        source = source_of(scores)
        data = as_array(scores)
        if mask is not None:
            data = data * _checked_mask(data, mask, source)
        profiles = peak_profiles(data if mask is not None else scores, peak_tolerance=self.peak_tolerance)
        fits = {
            axis: fit_gaussian_profile(profile, profiles.peak_index(axis), axis, source)
            for axis, profile in profiles.by_axis().items()
        }
        heights = [fits[axis]["height"] for axis in ("x", "y", "z")]
        return ThresholdResult(
            value=float(np.mean(heights)),
            strategy=self.name,
            details={
                "peak_zyx": profiles.peak_zyx,
                "peak_height": profiles.peak_height,
                "fits": fits,
                "profiles": profiles.by_axis(),
            },
        )
