"""The picker's threshold step: a strategy evaluated where the picker reads the map anyway.

A strategy is always evaluated through its own :meth:`~cryotm.thresholds.ThresholdStrategy.evaluate`
unless it *declares a capability* the picker can use to save a pass over
the map. Two capabilities exist:

``threshold_from_moments(mean, std, n_voxels, source)``
    The threshold follows from the map's mean and standard deviation
    (``ddof=1``, in the map's dtype). The picker computes them while it
    streams the map and collects the candidates in the same pass
    (:class:`~cryotm.thresholds.SigmaThreshold` declares it).
``threshold_without_scores()``
    The threshold needs no scores at all (:class:`~cryotm.thresholds.ManualThreshold`).

A capability counts only when the class that defines it is the class that
defines :meth:`evaluate` (and :meth:`compute`) or a subclass of it: a
research subclass that overrides ``evaluate`` but inherits the capability
is evaluated through its own ``evaluate``, never silently through the
parent's shortcut (:func:`declared`). No strategy is recognised by its class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from .._threads import Background, processors
from ..errors import CryotmError
from ..maps import MaskMap, ScoresMap
from ..thresholds import SearchStatistics, ThresholdResult, ThresholdStrategy
from ..thresholds._moments import StreamingMoments
from ._access import check_finite, raise_non_finite
from .candidates import CandidateCollector, Candidates, ProgressCallback

if TYPE_CHECKING:
    from ..angles import AngleList
    from .picker import PeakPicker

__all__ = [
    "ThresholdOutcome", "declared", "evaluate_for_picking", "threshold_for_pick", "product_map", "MOMENTS",
    "WITHOUT_SCORES",
]

#: Name of the capability "the threshold follows from the map's mean and std".
MOMENTS = "threshold_from_moments"
#: Name of the capability "the threshold needs no scores".
WITHOUT_SCORES = "threshold_without_scores"


def _owner(cls: type, name: str) -> type | None:
    """The class in `cls`'s MRO whose own namespace defines `name`."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass
    return None


def declared(strategy: Any, capability: str) -> Callable[..., Any] | None:
    """The strategy's `capability` method, if it declares one that its evaluation honours.

    The capability is honoured only when it is defined by the class that
    defines the strategy's ``evaluate`` and ``compute`` or by a subclass of
    it; otherwise (a subclass that overrides ``evaluate`` and inherits the
    capability) None, and the picker calls ``evaluate``.

    Examples
    --------
    >>> from cryotm.thresholds import SigmaThreshold
    >>> declared(SigmaThreshold(3), MOMENTS) is not None
    True
    >>> class Shell(SigmaThreshold):
    ...     def evaluate(self, scores, mask=None, statistics=None):
    ...         return super().evaluate(scores, mask, statistics)
    >>> declared(Shell(3), MOMENTS) is None
    True
    """
    method = getattr(strategy, capability, None)
    if not callable(method):
        return None
    cls = type(strategy)
    owner = _owner(cls, capability)
    if owner is None:  # set on the instance: trust it only if nothing evaluates differently
        return method
    for name in ("evaluate", "compute"):
        other = _owner(cls, name)
        if other is not None and other is not owner and not issubclass(owner, other):
            return None
    return method


@attrs.frozen
class ThresholdOutcome:
    """A threshold, the value candidates are compared with, and what its computation left.

    Attributes
    ----------
    result : ThresholdResult
        The threshold and its details.
    value : float or numpy scalar
        The value candidates are compared with (a float32 threshold stays
        float32, as cryoCAT compares it).
    unchecked : bool
        True when the scores have not been checked for NaN/inf yet (the
        candidate pass must check them).
    candidates : Candidates, optional
        Collected during the threshold's own pass, when that was possible.
    """

    result: ThresholdResult
    value: Any
    unchecked: bool
    candidates: Candidates | None = None


def evaluate_for_picking(
    strategy: ThresholdStrategy,
    scores: ScoresMap,
    mask: MaskMap | None,
    mask_mode: str,
    statistics: SearchStatistics,
    verify: bool,
    edge_margin: Any = 0,
    slab_voxels: int = 1 << 20,
    progress: ProgressCallback | None = None,
    candidate_limit: int | None = None,
) -> ThresholdOutcome:
    """Evaluate `strategy` for a pick, using the capabilities it declares.

    Parameters
    ----------
    strategy : ThresholdStrategy
        The rule.
    scores : ScoresMap
        The scores map.
    mask : MaskMap, optional
        Tomogram mask; `mask_mode` ``"product"`` multiplies the scores by it
        first, ``"inside"`` evaluates the rule inside it.
    statistics : SearchStatistics
        What the search knew (``far`` needs the number of rotations).
    verify : bool
        Check the scores for NaN/inf on the way (they have not been yet).
    edge_margin, slab_voxels
        As for :func:`~cryotm.picking.find_candidates` (for candidates
        collected in the threshold's pass).
    progress : callable, optional
        ``progress("threshold", fraction)``.
    candidate_limit : int, optional
        Candidates collected in the threshold's pass beyond this number are
        refused (see :class:`~cryotm.picking.candidates.CandidateCollector`).
    """
    fixed = declared(strategy, WITHOUT_SCORES)
    if fixed is not None:
        result = fixed()
        return ThresholdOutcome(result, result.value, verify)
    product = mask is not None and mask_mode == "product"
    from_moments = declared(strategy, MOMENTS)
    if from_moments is not None and (mask is None or product):
        outcome = _from_moments(
            scores, from_moments, mask.data if product else None, verify, progress, edge_margin, candidate_limit
        )
        if outcome is not None:
            return outcome
        # a degenerate map: let the strategy say what is wrong
    if verify:
        check_finite(scores.data, scores.source)
    if mask is None:
        result = strategy.evaluate(scores, statistics=statistics)
    elif product:
        result = strategy.evaluate(product_map(scores, mask, slab_voxels), statistics=statistics)
    else:
        result = strategy.evaluate(scores, mask=mask.as_bool(), statistics=statistics)
    return ThresholdOutcome(result, result.value, False)


def threshold_for_pick(
    picker: PeakPicker,
    scores: ScoresMap,
    angle_list: AngleList | None,
    mask: MaskMap | None,
    threshold: str | float | ThresholdStrategy | None,
    statistics: SearchStatistics | None,
    verify: bool,
    progress: ProgressCallback | None = None,
) -> ThresholdOutcome:
    """`picker`'s threshold step: its rule (or `threshold`) evaluated on `scores`, as :func:`evaluate_for_picking`.

    cryoCAT's direct ``scores_threshold`` is compared as given; the number
    of rotations defaults to `angle_list`'s length; a rule that models the
    suppression (``with_particle_diameter``) gets the picker's radius.
    """
    if threshold is None and picker.scores_threshold is not None:
        value = picker.scores_threshold  # compared as given (cryoCAT's direct threshold)
        return ThresholdOutcome(ThresholdResult(float(value), "manual", {"value": float(value)}), value, verify)
    n_angles = len(angle_list) if angle_list is not None else None
    if statistics is None:
        statistics = SearchStatistics(n_angles=n_angles)
    elif statistics.n_angles is None and n_angles is not None:
        statistics = attrs.evolve(statistics, n_angles=n_angles)
    strategy = picker.strategy(threshold)
    if callable(getattr(strategy, "with_particle_diameter", None)):  # a rule that models the suppression
        strategy = strategy.with_particle_diameter(picker.suppression_radius)
    return evaluate_for_picking(
        strategy, scores, mask, picker.mask_mode, statistics, verify,
        edge_margin=picker.edge_margin, slab_voxels=picker.slab_voxels, progress=progress,
        candidate_limit=picker.candidate_limit(),
    )


def _from_moments(
    scores: ScoresMap,
    from_moments: Callable[..., ThresholdResult],
    factor: np.ndarray | None,
    verify: bool,
    progress: ProgressCallback | None,
    edge_margin: Any,
    candidate_limit: int | None,
) -> ThresholdOutcome | None:
    """Mean and std in two streaming passes (bit for bit numpy's), and the candidates on the way."""
    moments = StreamingMoments(scores.data, factor)

    def inspect(values: np.ndarray, start: int, total: np.generic) -> None:
        if not np.isfinite(total):
            raise_non_finite(values, start, scores.shape, scores.source)

    report = None if progress is None else (lambda fraction: progress("threshold", fraction))
    mean, rough_std = moments.first_pass(visit=inspect if verify else None, progress=report)
    collector = None
    if moments.streaming and np.isfinite(mean) and np.isfinite(rough_std):
        # a guess of the threshold from the rough std, a little below: if it was too far off
        # after all, the candidates are searched in a pass of their own
        try:
            guess = from_moments(mean, mean.dtype.type(rough_std), int(scores.data.size), scores.source).value
        except CryotmError:  # e.g. a rough std of 0: no guess, the candidates get their own pass
            guess = None
        if guess is not None and np.isfinite(guess):
            spread = abs(guess - float(mean))
            low = guess - 0.02 * spread - 1e-6 * abs(float(mean))
            collector = CandidateCollector(low, scores.shape, edge_margin, limit=candidate_limit)
    if collector is not None and processors() > 1:
        # on two processors the collector reads the map in a second thread, in large slabs, while this
        # one sums the squared deviations
        gathering = Background(_collect, moments, collector)
        std = moments.second_pass(1, progress=report)
        gathering.result()
    else:
        std = moments.second_pass(1, visit=collector, progress=report)
    if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
        return None
    result = from_moments(mean, std, int(scores.data.size), scores.source)
    # compare in the map's dtype when the rule's value is exactly a value of that dtype
    value: Any = result.value
    typed = mean.dtype.type(value)
    if float(typed) == float(value):
        value = typed
    candidates = collector.candidates(value) if collector is not None and collector.covers(value) else None
    return ThresholdOutcome(result, value, False, candidates)


def _collect(moments: StreamingMoments, collector: CandidateCollector, slab: int = 1 << 20) -> None:
    """Hand `moments`' values to `collector` in slabs, in order (the pieces the second pass would hand it)."""
    for start in range(0, moments.n, slab):
        collector(moments.piece(start, min(start + slab, moments.n)), start)


def product_map(scores: ScoresMap, mask: MaskMap, slab_voxels: int) -> ScoresMap:
    """``scores * mask`` as a new map (for threshold rules that need the whole product)."""
    data = scores.data
    dtype = np.result_type(data.dtype, mask.data.dtype)
    product = np.empty(data.shape, dtype=dtype)
    step = max(1, slab_voxels // max(1, data.shape[1] * data.shape[2]))
    for z0 in range(0, data.shape[0], step):
        np.multiply(data[z0 : z0 + step], mask.data[z0 : z0 + step], out=product[z0 : z0 + step])
    return ScoresMap(product, pixel_size=scores.pixel_size, experiment_id=scores.experiment_id, source=scores.source)
