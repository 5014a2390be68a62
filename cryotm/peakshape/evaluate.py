"""Peak-shape evaluation: threshold a single-peak scores map and label the peak (cryoCAT's ``evaluate_scores_map``).

Used to judge a template's specificity: match the template against itself
(or a subtomogram) and look at the shape of the central peak. A threshold
strategy (any registered one) sets the level, a labeler (``ellipsoid``,
``plane``, ``central`` or a plugin) labels the peak's shape and measures it.

As cryoCAT, the threshold is shifted by the map's standard deviation for two
strategies: ``triangle`` + 1 std and ``gauss`` - 1 std
(:data:`CRYOCAT_STD_OFFSETS`); pass ``std_offset`` to choose another shift.
"""

from __future__ import annotations

import os
import warnings

import attrs
import numpy as np

from ..errors import CryotmWarning, InputError, format_source
from ..labeling import AxisSizes, Labeler, Labeling, get_labeler
from ..maps import ScoresMap
from ..thresholds import ThresholdResult, ThresholdStrategy, get_threshold_strategy
from .profiles import find_peak

__all__ = ["CRYOCAT_STD_OFFSETS", "PeakShapeResult", "evaluate_peak_shape"]

#: Multiples of the map's standard deviation that cryoCAT adds to a strategy's value.
CRYOCAT_STD_OFFSETS: dict[str, float] = {"triangle": 1.0, "gauss": -1.0}


@attrs.frozen(eq=False)
class PeakShapeResult:
    """The outcome of :func:`evaluate_peak_shape`.

    Attributes
    ----------
    labeled_map : ndarray, shape (nz, ny, nx)
        The scores inside the label, 0 elsewhere (cryoCAT's ``labeled_map``).
    label_mask : ndarray of bool
        The label itself.
    sizes : AxisSizes
        Size of the peak along x, y, z in voxels (fields ``x``, ``y``, ``z``,
        in this order; what is measured depends on the labeler).
    peak_height : float
        The map's maximum.
    peak_zyx : (int, int, int)
        Index of the peak, ``(z, y, x)``.
    threshold : float
        The level used: the strategy's value + ``std_offset`` * std(map).
    threshold_result : ThresholdResult
        The strategy's value and what it saw.
    std_offset : float
        Multiples of the map's standard deviation added to the strategy's value.
    thresholded_map : ndarray
        The scores above `threshold`, 0 elsewhere. (For the ellipsoid label
        cryoCAT returns the binary component here instead; it is
        ``labeling.component``.)
    surface : ndarray of bool or None
        The marching-cubes surface (ellipsoid labeler), else None.
    labeling : Labeling
        Everything the labeler found (component, fitted parameters, ...).
    labeler : str
        The labeler's name.
    """

    labeled_map: np.ndarray
    label_mask: np.ndarray
    sizes: AxisSizes
    peak_height: float
    peak_zyx: tuple[int, int, int]
    threshold: float
    threshold_result: ThresholdResult
    std_offset: float
    thresholded_map: np.ndarray
    surface: np.ndarray | None
    labeling: Labeling
    labeler: str

    @property
    def touches_border(self) -> bool:
        """True if the peak's component reaches the map border (the sizes may be cut short)."""
        return self.labeling.touches_border

    @property
    def peak_xyz(self) -> tuple[int, int, int]:
        """The peak's position as 0-based ``(x, y, z)`` voxels."""
        z, y, x = self.peak_zyx
        return (x, y, z)


def evaluate_peak_shape(
    scores: ScoresMap | np.ndarray | str | os.PathLike,
    threshold: str | float | ThresholdStrategy = "gauss",
    labeler: str | Labeler = "plane",
    peak_tolerance: float | None = None,
    std_offset: float | None = None,
) -> PeakShapeResult:
    """Threshold a single-peak scores map and label the peak's shape.

    Parameters
    ----------
    scores : ScoresMap, ndarray or path
        The map, indexed ``[z, y, x]``.
    threshold : str, float or ThresholdStrategy
        A strategy spec (``"gauss"``, ``"triangle"``, ``"hard"``,
        ``"sigma:3"``, ``0.2``, a plugin's name, ...). cryoCAT's default is
        ``gauss``.
    labeler : str or Labeler
        ``"plane"`` (cryoCAT's default), ``"ellipsoid"``, ``"central"`` or a
        plugin's name.
    peak_tolerance : float, optional
        The peak is the highest voxel within this many voxels of the map
        centre. A strategy that searches the peak itself (``gauss``) is
        given the same radius, so that it measures the peak that is
        labeled. Default: the strategy's own ``peak_tolerance`` (``gauss:10``),
        else 20.
    std_offset : float, optional
        Multiples of the map's standard deviation added to the strategy's
        value; by default cryoCAT's (:data:`CRYOCAT_STD_OFFSETS`, 0 for
        other strategies).

    Returns
    -------
    PeakShapeResult

    Raises
    ------
    InputError
        NaN in the map, no positive peak, a peak on the map border, a failed
        fit, or a threshold at or above the peak.

    Examples
    --------
    >>> zz, yy, xx = np.mgrid[:40, :40, :40]
    >>> peak = np.exp(-((xx - 20) ** 2 / 18 + (yy - 20) ** 2 / 8 + (zz - 20) ** 2 / 32)).astype(np.float32)
    >>> result = evaluate_peak_shape(peak, threshold="hard", labeler="central")
    >>> result.sizes
    AxisSizes(x=7.0, y=5.0, z=9.0)
    """
    scores_map = ScoresMap.coerce(scores)
    data = scores_map.data
    strategy = get_threshold_strategy(threshold)
    chosen = get_labeler(labeler)
    if attrs.has(type(strategy)) and "peak_tolerance" in attrs.fields_dict(type(strategy)):
        if peak_tolerance is None:
            peak_tolerance = strategy.peak_tolerance
        elif strategy.peak_tolerance != peak_tolerance:
            strategy = attrs.evolve(strategy, peak_tolerance=peak_tolerance)
    if peak_tolerance is None:
        peak_tolerance = 20
    peak_zyx, peak_height = find_peak(scores_map, peak_tolerance)
    result = strategy.evaluate(scores_map)
    offset = CRYOCAT_STD_OFFSETS.get(strategy.name, 0.0) if std_offset is None else float(std_offset)
    level = result.value + offset * float(np.std(data)) if offset else result.value
    if not level < peak_height:
        raise InputError(
            f"the threshold {level:.6g} ({strategy.spec()}{f' {offset:+g} std' if offset else ''}) is not below "
            f"the peak height {peak_height:.6g}: nothing to label",
            scores_map.source,
        )
    above = data > level
    try:
        labeling = chosen.label(above, peak_zyx)
    except InputError as exc:
        if exc.source is not None or scores_map.source is None:
            raise
        raise InputError(exc.problem, scores_map.source) from None  # a labeler sees no file: name it
    _check_resolved(labeling.sizes, level, strategy.spec(), offset, scores_map.source)
    mask = np.asarray(labeling.mask, dtype=bool)
    return PeakShapeResult(
        labeled_map=np.where(mask, data, 0).astype(data.dtype, copy=False),
        label_mask=mask,
        sizes=AxisSizes(*labeling.sizes),
        peak_height=peak_height,
        peak_zyx=peak_zyx,
        threshold=float(level),
        threshold_result=result,
        std_offset=offset,
        thresholded_map=np.where(above, data, 0).astype(data.dtype, copy=False),
        surface=labeling.surface,
        labeling=labeling,
        labeler=chosen.name,
    )




def _check_resolved(
    sizes: tuple[float, float, float], level: float, spec: str, offset: float, source: str | None
) -> None:
    """Refuse sizes that are all zero; warn about sizes below one voxel (the threshold is too near the peak).

    A component of one voxel has no second moments, so moment-based labelers
    (``plane``) give 0: that is not a size, it is a threshold that leaves only
    the peak voxel.
    """
    used = f"{spec}{f' {offset:+g} std' if offset else ''}"
    if all(float(v) <= 0 for v in sizes):
        raise InputError(
            f"the peak is a single voxel above the threshold {level:.6g} ({used}): its size cannot be measured; "
            "choose a lower threshold (for example -t triangle, -t hard or -t sigma:3)", source,
        )
    thin = [axis for axis, value in zip("xyz", sizes) if float(value) < 1]
    if thin:
        warnings.warn(
            f"{format_source(source)}: the peak is less than one voxel wide along {', '.join(thin)} above the "
            f"threshold {level:.6g} ({used}): sizes below one voxel are not resolved; a lower threshold "
            "(-t triangle, -t hard or -t sigma:3) measures more of the peak", CryotmWarning, stacklevel=3,
        )
