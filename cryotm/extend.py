"""Everything a plugin author needs, in one module.

The hooks are in :mod:`cryotm.hookspecs`; this module gathers the base classes
a plugin subclasses, the helpers cryotm's own built-ins use, and the errors
of the exception contract (:mod:`cryotm.errors`). Anything here is public and
kept stable; anything with a leading underscore elsewhere is not.

Base classes
    :class:`ThresholdStrategy` (with :class:`ThresholdResult`,
    :class:`SearchStatistics`), :class:`Labeler` (with :class:`Labeling`,
    :class:`AxisSizes`), :class:`MotlWriter`, :class:`MotlReader`,
    :class:`MapFormat`.
Writing files
    :func:`atomic_path` (write to a temporary file, rename into place) and
    :func:`check_writable` (refuse to overwrite unless asked).
The voxels a strategy sees
    :func:`as_array`, :func:`source_of`, :func:`checked_mask`,
    :func:`masked_values`.
Voxel access
    :func:`central_component` and :func:`touches_border` (labelers),
    :func:`particles_at` (voxels of a scores map -> a particle list).
Errors
    :class:`CryotmError`, :class:`InputError` (a bad file),
    :class:`ParameterError` (a bad parameter), :class:`PluginError`.

Examples
--------
>>> import numpy as np
>>> from cryotm.extend import masked_values, touches_border
>>> mask = np.zeros((1, 1, 3)); mask[0, 0, 2] = 1
>>> masked_values(np.array([[[1.0, 2.0, 3.0]]]), mask).tolist()
[3.0]
>>> touches_border(np.ones((3, 3, 3), dtype=bool))
True
"""

from __future__ import annotations

from ._atomic import atomic_path, check_writable
from .errors import CryotmError, InputError, ParameterError, PluginError
from .formats.base import MotlReader, MotlWriter
from .labeling.base import AxisSizes, Labeler, Labeling, central_component, touches_border
from .maps.formats import MapFormat
from .picking import particles_at
from .plugins import hookimpl
from .thresholds.base import (
    SearchStatistics,
    ThresholdResult,
    ThresholdStrategy,
    as_array,
    checked_mask,
    masked_values,
    source_of,
)

__all__ = [
    "hookimpl",
    "ThresholdStrategy",
    "ThresholdResult",
    "SearchStatistics",
    "Labeler",
    "Labeling",
    "AxisSizes",
    "MotlWriter",
    "MotlReader",
    "MapFormat",
    "atomic_path",
    "check_writable",
    "as_array",
    "source_of",
    "checked_mask",
    "masked_values",
    "central_component",
    "touches_border",
    "particles_at",
    "CryotmError",
    "InputError",
    "ParameterError",
    "PluginError",
]
