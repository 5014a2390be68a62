"""Synthetic template-matching results with known truth (tests, benchmarks, docs, ``cryotm demo``).

- :func:`make_scene`: painted Gaussian peaks on correlated noise (fast; the
  easy case).
- :func:`make_search_scene`: a simulated tomogram searched with a real masked
  normalised cross-correlation over an angle list (realistic scores and angle
  maps; seconds to a minute).
"""

from .rotations import uniform_angle_list, uniform_rotations
from .scene import SyntheticScene, make_scene
from .search import SearchResult, masked_ncc_search
from .search_scene import SearchScene, make_search_scene, wedge_mask
from .templates import BUILTIN_TEMPLATES, builtin_template, load_template, rotate_volume, spherical_mask

__all__ = [
    "SyntheticScene",
    "make_scene",
    "SearchScene",
    "make_search_scene",
    "SearchResult",
    "masked_ncc_search",
    "uniform_rotations",
    "uniform_angle_list",
    "BUILTIN_TEMPLATES",
    "builtin_template",
    "load_template",
    "rotate_volume",
    "spherical_mask",
    "wedge_mask",
]
