"""Picking: from scores, angle map and angle list to particles.

:class:`PeakPicker` is the extraction engine (cryoCAT's
``scores_extract_particles``, also as :func:`extract_particles` with
cryoCAT's signature): threshold, candidates, greedy suppression,
orientations. :mod:`cryotm.picking.select` holds the automatic,
angle-consistent selection (cryoCAT's ``select_peaks``) and its filter of
the angular distance maps (:func:`filter_distance_maps`, cryoCAT's
``filter_dist_maps``).
"""

from .candidates import Candidates, cryocat_order, find_candidates
from .clusters import region_sizes
from .extract import extract_particles
from .picker import PeakPicker
from .result import PickResult, particles_at
from .select import PeakSelection, PeakSelector, filter_distance_maps, select_peaks
from .suppression import greedy_suppression

__all__ = [
    "PeakPicker",
    "PickResult",
    "extract_particles",
    "PeakSelector",
    "PeakSelection",
    "select_peaks",
    "filter_distance_maps",
    "Candidates",
    "find_candidates",
    "cryocat_order",
    "greedy_suppression",
    "region_sizes",
    "particles_at",
]
