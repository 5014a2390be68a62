"""Checks of :class:`~cryotm.picking.PeakPicker`'s parameters (attrs validators), each naming the parameter."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from ..errors import CryotmError
from .subvoxel import SUBVOXEL_METHODS


def positive_number(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None and attribute.name != "particle_diameter":
        return
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CryotmError(f"{attribute.name} must be a number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise CryotmError(f"{attribute.name} must be a positive number, got {value!r}")


def count(minimum: int) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise CryotmError(f"{attribute.name} must be a whole number >= {minimum}, got {value!r}")

    return check


def margin(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    values = np.atleast_1d(np.asarray(value))
    if values.ndim != 1 or values.size not in (1, 3) or values.dtype.kind not in "iu" or np.any(values < 0):
        raise CryotmError(f"edge_margin must be a whole number >= 0 (or three, x, y, z), got {value!r}")


def one_of(*choices: Any, none: bool = False) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if (value is None and none) or value in choices:
            return
        raise CryotmError(f"{attribute.name} must be one of {', '.join(map(repr, choices))}, got {value!r}")

    return check


def index_base(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and value not in (0, 1):
        raise CryotmError(f"index_base (angles_numbering) must be 0 or 1, got {value!r}")


mask_mode = one_of("product", "inside")
angles_order = one_of("zxz", "zzx")
subvoxel = one_of(*SUBVOXEL_METHODS, none=True)
tophat_connectivity = one_of(1, 2, 3)
