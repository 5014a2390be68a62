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
import types
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from ..errors import CryotmError

__all__ = ["jsonable", "class_path", "import_class", "import_allowed", "describe", "parameters_of", "ALLOW_IMPORT_ENV"]


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


#: Set to ``1`` to let config files and records name classes from any importable module.
ALLOW_IMPORT_ENV = "CRYOTM_ALLOW_IMPORT"


def import_allowed(allow_import: bool | None = None) -> bool:
    """Whether classes of modules outside cryotm and its installed plugins may be imported.

    `allow_import` decides when given; otherwise the environment variable
    ``CRYOTM_ALLOW_IMPORT`` (``1``, ``true`` or ``yes``) does.
    """
    if allow_import is not None:
        return bool(allow_import)
    return os.environ.get(ALLOW_IMPORT_ENV, "").strip().lower() in ("1", "true", "yes")


def _trusted_packages() -> set[str]:
    """Top-level packages that may be imported without opt-in: cryotm and its installed plugins."""
    from ..plugins import get_plugin_manager

    packages = {"cryotm"}
    for plugin in get_plugin_manager().get_plugins():
        module = plugin.__name__ if isinstance(plugin, types.ModuleType) else type(plugin).__module__
        packages.add(module.partition(".")[0])
    return packages


def _split_path(path: str) -> tuple[str, str]:
    if not isinstance(path, str) or not path.strip():
        raise CryotmError(f"a class must be named as 'module:ClassName', got {path!r}")
    module_name, sep, qualname = path.partition(":")
    if not sep:
        module_name, _, qualname = path.rpartition(".")
    if not module_name or not qualname:
        raise CryotmError(f"a class must be named as 'module:ClassName', got {path!r}")
    return module_name, qualname


def import_class(
    path: str,
    base: type | tuple[type, ...] | Callable[[type], bool] | None = None,
    *,
    what: str = "part",
    allow_import: bool | None = None,
) -> type:
    """Import the class ``module:QualName`` (or ``module.QualName``) named in a config or record.

    The trust model: a config file is data, so the classes it may name are
    limited. Classes of cryotm and of installed cryotm plugins are always
    allowed; any other module is imported (which runs its code) only with
    `allow_import` (the command line's ``--allow-import``) or the environment
    variable ``CRYOTM_ALLOW_IMPORT=1``. Whatever is found must be a class and
    pass `base` (a subclass of it, or a test function returning True) before
    anything of it is called.

    Parameters
    ----------
    path : str
        ``"my_lab.rules:MyRule"``.
    base : type, tuple of types or callable, optional
        What the class must be: for example
        :class:`~cryotm.thresholds.ThresholdStrategy` for a threshold.
    what : str
        The part's role, for messages ("threshold", "writer", ...).
    allow_import : bool, optional
        Allow modules outside cryotm and its plugins (default: the environment variable).

    Raises
    ------
    CryotmError
        If the module is not allowed, cannot be imported, or the attribute is
        not a class of the expected kind.

    Examples
    --------
    >>> import_class("cryotm.thresholds:SigmaThreshold").name
    'sigma'
    >>> import_class("subprocess:Popen")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cryotm.errors.CryotmError: the config names class 'subprocess:Popen' of module 'subprocess', outside cryotm ...
    """
    module_name, qualname = _split_path(path)
    allowed = import_allowed(allow_import)
    trusted = _trusted_packages()
    if module_name.partition(".")[0] not in trusted and not allowed:
        raise CryotmError(
            f"the config names class {path!r} of module {module_name!r}, outside cryotm and its installed plugins; "
            f"importing it would run its code: if you trust this file, pass --allow-import "
            f"(or set {ALLOW_IMPORT_ENV}=1)"
        )
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise CryotmError(f"cannot import class {path!r}: {exc}") from None
    if not isinstance(obj, type):
        raise CryotmError(f"{path!r} is not a class")
    if str(getattr(obj, "__module__", "")).partition(".")[0] not in trusted and not allowed:
        raise CryotmError(f"{path!r} is a class of module {obj.__module__!r}, outside cryotm and its installed "
                          f"plugins; refused without --allow-import (or {ALLOW_IMPORT_ENV}=1)")
    if base is not None:
        ok = issubclass(obj, base) if isinstance(base, (type, tuple)) else bool(base(obj))
        if not ok:
            expected = getattr(base, "__name__", None) or (
                " or ".join(b.__name__ for b in base) if isinstance(base, tuple) else "the expected kind"
            )
            raise CryotmError(f"{path!r} is not a {what} class (expected a subclass of {expected}); refused")
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
