"""cryotm-copick: particle picks in copick projects (format ``copick``) and batches over a project's runs.

The names below load on first use: the plugin registers without pandas or scipy.
"""

from importlib import import_module

__version__ = "0.1.0"
__all__ = ["CopickTarget", "parse_target", "to_copick", "from_copick", "__version__"]
_WHERE = {"from_copick": ".picks", "to_copick": ".picks", "CopickTarget": ".target", "parse_target": ".target"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
