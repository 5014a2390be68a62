"""The picker's filters: which candidates and which peaks a pick keeps besides the threshold and suppression.

:class:`~cryotm.picking.PeakPicker` runs them as two of its steps, with
its own options (see its parameters):

- :func:`filter_candidates` (step 3, before suppression): ``cluster_size``
  drops candidates whose 26-connected region above the threshold is
  smaller (:func:`~cryotm.picking.clusters.region_sizes`); ``tophat`` with
  ``tophat_mode="pytom"`` is pytom-match-pick's tophat filter
  (:func:`~cryotm.picking.tophat.white_tophat`,
  :func:`~cryotm.picking.tophat.tophat_cutoff`; ``tophat_connectivity``,
  ``tophat_false_positives``, ``tophat_bins``);
- :func:`filter_peaks` (step 4b, after suppression, on each kept peak at
  its maximum): ``tophat`` in the default ``"particle"`` mode
  (:func:`~cryotm.picking.tophat.narrow_peaks`, ``tophat_fraction``), then
  ``shape_filter`` (:func:`~cryotm.picking.shape_filter.shape_outliers`,
  ``shape_tolerance``; reported as ``peak_shape``; by default only when the
  threshold rule expects at most a quarter of the peaks to be noise), then
  ``side_peaks`` (:func:`~cryotm.picking.sidepeaks.side_peaks`,
  ``side_peak_distance``, ``side_peak_fraction``).

Each returns what it kept and a report per filter that ran (``dropped``
and its parameters), which ends up in
:attr:`~cryotm.picking.PickResult.filters`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .candidates import Candidates
from .clusters import region_sizes
from .shape_filter import MIN_PEAKS, few_noise_peaks, shape_outliers, shell_radius
from .tophat import background_level, narrow_peaks, tophat_cutoff, white_tophat

if TYPE_CHECKING:
    from ..maps import MaskMap, ScoresMap
    from .picker import PeakPicker

__all__ = ["filter_candidates", "filter_peaks"]

Report = dict[str, dict[str, Any]]


def filter_candidates(
    picker: PeakPicker, candidates: Candidates, scores: ScoresMap, mask: MaskMap | None = None
) -> tuple[Candidates, Report]:
    """The candidates `picker`'s ``cluster_size`` and pytom-mode ``tophat`` keep, and what each dropped."""
    report: Report = {}
    if picker.cluster_size is not None and picker.cluster_size > 1 and len(candidates):
        keep = region_sizes(candidates) >= picker.cluster_size
        report["cluster_size"] = {"dropped": int(np.count_nonzero(~keep)), "minimum": picker.cluster_size}
        candidates = candidates.take(keep)
    if picker.tophat and len(candidates) and picker.tophat_mode == "pytom":
        transform = white_tophat(scores.data, picker.tophat_connectivity, slab_voxels=4 * picker.slab_voxels)
        values = transform if mask is None else transform[np.asarray(mask.data) != 0]
        cut = tophat_cutoff(values, picker.tophat_false_positives, picker.tophat_bins, scores.source)
        keep = transform[candidates.z, candidates.y, candidates.x] > cut.value
        del transform, values
        report["tophat"] = {"dropped": int(np.count_nonzero(~keep)), "mode": "pytom", **cut.details()}
        candidates = candidates.take(keep)
    return candidates, report


def filter_peaks(
    picker: PeakPicker, candidates: Candidates, rows: np.ndarray, scores: ScoresMap, mask: MaskMap | None = None
) -> tuple[np.ndarray, Report]:
    """The `rows` of suppressed peaks `picker`'s particle-mode ``tophat``, ``shape_filter`` and ``side_peaks`` keep."""
    report: Report = {}
    if picker.tophat and picker.tophat_mode == "particle" and len(rows):
        keep, details = narrow_peaks(
            scores.data, (candidates.z[rows], candidates.y[rows], candidates.x[rows]),
            float(picker.particle_diameter), float(picker.tophat_fraction), None if mask is None else mask.data,
            4 * picker.slab_voxels,
        )
        rows = rows[keep]
        report["tophat"] = {"dropped": int(np.count_nonzero(~keep)), **details}
    if len(rows) >= MIN_PEAKS and _shape_filter_on(picker, candidates, len(rows)):
        mask_data = None if mask is None else mask.data
        keep, details = shape_outliers(
            scores.data, (candidates.z[rows], candidates.y[rows], candidates.x[rows]),
            shell_radius(picker.particle_diameter), float(picker.shape_tolerance),
            background_level(scores.data, mask_data), mask_data, scores.source,
        )
        if details:
            rows = rows[keep]
            report["peak_shape"] = {"dropped": int(np.count_nonzero(~keep)), **details}
    if picker.side_peaks and len(rows):
        from .sidepeaks import side_peaks  # scipy.spatial: only when the filter is on

        distance = float(picker.side_peak_distance) * float(picker.particle_diameter)
        drop = side_peaks(
            np.column_stack([candidates.x[rows], candidates.y[rows], candidates.z[rows]]),
            candidates.scores[rows], distance, float(picker.side_peak_fraction),
        )
        rows = rows[~drop]
        report["side_peaks"] = {"dropped": int(np.count_nonzero(drop)), "distance": distance,
                                "fraction": float(picker.side_peak_fraction)}
    return rows, report


def _shape_filter_on(picker: PeakPicker, candidates: Candidates, n_peaks: int) -> bool:
    """`picker`'s ``shape_filter``; when None, whether the rule expects at most a quarter of the peaks to be noise.

    The filter takes the highest half of the peaks for particles: true when
    few noise peaks are expected among them (``calibrated``, ``far``), not
    when a low cut-off keeps noise peaks by the dozen (``sigma:3`` on a
    sparse tomogram), whose shape then becomes the reference.
    """
    if picker.shape_filter is not None:
        return bool(picker.shape_filter)
    return few_noise_peaks(candidates.expected_noise, n_peaks)
