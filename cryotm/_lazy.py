"""Modules loaded on first use, so that a command that never touches them does not wait for them.

``cryotm extract`` writing an EM motive list needs neither pandas nor
starfile, yet the modules of every built-in format are imported when the
plugin manager is built (it checks what each plugin contributes). A module
that uses pandas throughout says ``pd = lazy_module("pandas")`` instead of
``import pandas as pd``: the name is bound at once, the package is executed
at the first attribute access (Python's own :class:`importlib.util.LazyLoader`).
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

__all__ = ["lazy_module"]


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
