"""Peak-shape evaluation: profiles and slices through a single peak, and its labeled shape."""

from .evaluate import CRYOCAT_STD_OFFSETS, PeakShapeResult, evaluate_peak_shape
from .profiles import CentralSlices, PeakProfiles, central_slices, find_peak, peak_profiles, sphere_mask

__all__ = [
    "PeakProfiles",
    "CentralSlices",
    "find_peak",
    "peak_profiles",
    "central_slices",
    "sphere_mask",
    "evaluate_peak_shape",
    "PeakShapeResult",
    "CRYOCAT_STD_OFFSETS",
]
