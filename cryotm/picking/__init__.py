"""Picking: from scores, angle map and angle list to particles.

:class:`PeakPicker` is the extraction engine (cryoCAT's
``scores_extract_particles``, also as :func:`extract_particles` with
cryoCAT's signature): threshold, candidates, greedy suppression,
orientations. :mod:`cryotm.picking.select` holds the automatic,
angle-consistent selection (cryoCAT's ``select_peaks``) and its filter of
the angular distance maps (:func:`filter_distance_maps`, cryoCAT's
``filter_dist_maps``).
"""

from .._lazy import lazy_attributes

#: public name -> the module that defines it (loaded on first use: ``cryotm extract``
#: needs the picker, not the selection and its scipy.ndimage)
_LAZY: dict[str, str] = {
    "PeakPicker": ".picker",
    "PickResult": ".result",
    "extract_particles": ".extract",
    "PeakSelector": ".select",
    "PeakSelection": ".select",
    "select_peaks": ".select",
    "filter_distance_maps": ".select",
    "Candidates": ".candidates",
    "find_candidates": ".candidates",
    "cryocat_order": ".candidates",
    "greedy_suppression": ".suppression",
    "region_sizes": ".clusters",
    "particles_at": ".result",
}

__all__ = list(_LAZY)
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
