"""Describe the parts of a pipeline as plain data, and build them back.

A part (threshold strategy, picker, filter, writer) is described as::

    {"name": "far", "class": "cryotm.thresholds.far:FarThreshold", "parameters": {...}}

``name`` is the registered name (when there is one), ``class`` the import
path that rebuilds the very same class (a user's subclass included) and
``parameters`` its attrs fields. Values are made JSON-friendly (numpy
scalars become Python numbers, tuples lists, paths strings).
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from ..errors import CryotmError

__all__ = ["jsonable", "class_path", "import_class", "describe", "parameters_of"]


def jsonable(value: Any) -> Any:
    """`value` as JSON-compatible data (dicts, lists, str, numbers, bool, None).

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"``.
    """
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if attrs.has(type(value)):
        return describe(value)
    return repr(value)


def class_path(cls: type) -> str:
    """``module:QualName`` of a class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def import_class(path: str) -> type:
    """Import ``module:QualName`` (or ``module.QualName``).

    Raises
    ------
    CryotmError
        If the module or class cannot be found.
    """
    module_name, sep, qualname = path.partition(":")
    if not sep:
        module_name, _, qualname = path.rpartition(".")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise CryotmError(f"cannot import class {path!r}: {exc}") from None
    if not isinstance(obj, type):
        raise CryotmError(f"{path!r} is not a class")
    return obj


def parameters_of(obj: Any) -> dict[str, Any]:
    """The init parameters of an attrs object (fields with ``init=True``), JSON-friendly."""
    if not attrs.has(type(obj)):
        return {}
    return {
        field.name: jsonable(getattr(obj, field.name))
        for field in attrs.fields(type(obj))
        if field.init
    }


def describe(obj: Any) -> dict[str, Any]:
    """``{"name", "class", "parameters"}`` of a pipeline part."""
    cls = type(obj)
    return {
        "name": getattr(cls, "name", "") or "",
        "class": class_path(cls),
        "parameters": parameters_of(obj),
    }
