"""cryotm: analysis of cryo-electron tomography template-matching results.

From a scores map, an angle map and an angle list, cryotm finds the
particles, orients them and writes them in the format the next program
needs; it also evaluates peak shapes and builds angular-distance maps.
Thresholds, labelers and file formats are plugins (see :mod:`cryotm.hookspecs`).

The public names below are imported on first use (``import cryotm`` itself
loads neither numpy nor pandas nor scipy).
"""

from ._lazy import lazy_attributes
from ._version import __version__

#: public name -> the module that defines it
_LAZY: dict[str, str] = {
    "hookimpl": ".plugins",
    "get_plugin_manager": ".plugins",
    "CryotmError": ".errors",
    "InputError": ".errors",
    "PluginError": ".errors",
    "ScoresMap": ".maps",
    "AngleMap": ".maps",
    "MaskMap": ".maps",
    "read_map": ".maps",
    "write_map": ".maps",
    "AngleList": ".angles",
    "ParticleList": ".particles",
    "make_scene": ".synthetic",
}

__all__ = ["__version__", *_LAZY]
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
