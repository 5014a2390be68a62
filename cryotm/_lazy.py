"""Modules and names loaded on first use, so that a command that never touches them does not wait for them.

``cryotm extract`` writing an EM motive list needs neither pandas nor
starfile, yet the modules of every built-in format are imported when the
plugin manager is built (it checks what each plugin contributes). A module
that uses pandas throughout says ``pd = lazy_module("pandas")`` instead of
``import pandas as pd``: the name is bound at once, the package is executed
at the first attribute access (Python's own :class:`importlib.util.LazyLoader`).
A package whose public names live in heavy modules (``cryotm``,
``cryotm.picking``) imports each on first use (:func:`lazy_attributes`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["lazy_module", "lazy_attributes"]


def lazy_attributes(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package whose public `names` are imported on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : mapping
        Public name -> the module (relative to `package`) that defines it.
    namespace : dict
        The package's ``globals()``: a name, once imported, is kept there.

    Examples
    --------
    In a package's ``__init__.py``::

        __getattr__, __dir__ = lazy_attributes(__name__, {"PeakPicker": ".picker"}, globals())
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__


def lazy_module(name: str) -> ModuleType:
    """The module `name`, executed when one of its attributes is first used.

    An already imported module is returned as it is. The parents of a
    submodule are imported at once (``scipy.ndimage`` imports ``scipy``, which
    is light; ``scipy.spatial.transform`` would import all of ``scipy.spatial``:
    import such names inside the functions that use them).

    Examples
    --------
    >>> json = lazy_module("json")
    >>> json.dumps([1])
    '[1]'
    """
    import importlib.util

    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
