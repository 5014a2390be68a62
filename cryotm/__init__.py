"""cryotm: analysis of cryo-electron tomography template-matching results.

From a scores map, an angle map and an angle list, cryotm finds the
particles, orients them and writes them in the format the next program
needs; it also evaluates peak shapes and builds angular-distance maps.
Thresholds, labelers and file formats are plugins (see :mod:`cryotm.hookspecs`).
"""

from ._version import __version__
from .angles import AngleList
from .errors import CryotmError, InputError, PluginError
from .maps import AngleMap, MaskMap, ScoresMap, read_map, write_map
from .particles import ParticleList
from .plugins import get_plugin_manager, hookimpl
from .synthetic import make_scene

__all__ = [
    "__version__",
    "hookimpl",
    "get_plugin_manager",
    "CryotmError",
    "InputError",
    "PluginError",
    "ScoresMap",
    "AngleMap",
    "MaskMap",
    "read_map",
    "write_map",
    "AngleList",
    "ParticleList",
    "make_scene",
]
