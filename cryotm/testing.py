"""Helpers for testing cryotm and cryotm plugins."""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = ["cryocat_or_skip", "Pandas2ToNumeric"]


def cryocat_or_skip() -> ModuleType:
    """Import cryoCAT's ``tmana`` for a parity test, or skip the test when cryoCAT is not installed.

    Install the oracle with ``pip install "cryotm[parity]"``.
    """
    import pytest

    return pytest.importorskip("cryocat.tmana")


class Pandas2ToNumeric:
    """pandas with ``to_numeric(errors="ignore")`` as pandas 2 had it (return the input if it fails).

    cryoCAT's STAR reader (``cryocat.starfileio``) calls
    ``pd.to_numeric(..., errors="ignore")``, which pandas 3 removed; put an
    instance in its place (``cryocat.starfileio.pd = Pandas2ToNumeric()``) to
    run cryoCAT's reads as an oracle. Every other attribute is pandas' own.

    Examples
    --------
    >>> shim = Pandas2ToNumeric()
    >>> shim.to_numeric(["1", "a"], errors="ignore")
    ['1', 'a']
    >>> shim.to_numeric(["1", "2"]).tolist(), shim.DataFrame.__name__
    ([1, 2], 'DataFrame')
    """

    def __getattr__(self, name: str) -> Any:
        import pandas as pd

        return getattr(pd, name)

    @staticmethod
    def to_numeric(arg: Any, errors: str = "raise", **kwargs: Any) -> Any:
        import pandas as pd

        if errors == "ignore":
            try:
                return pd.to_numeric(arg, **kwargs)
            except (ValueError, TypeError):
                return arg
        return pd.to_numeric(arg, errors=errors, **kwargs)
