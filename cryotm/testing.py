"""Helpers for testing cryotm and cryotm plugins."""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = ["cryocat_or_skip", "call_oracle", "Pandas2ToNumeric"]


def cryocat_or_skip() -> ModuleType:
    """Import cryoCAT's ``tmana`` for a parity test, or skip the test when cryoCAT is not installed.

    Install the oracle with ``pip install "cryotm[parity]"``.
    """
    import pytest

    return pytest.importorskip("cryocat.tmana")


def call_oracle(function, *args, **kwargs):
    """Call a cryoCAT function for a parity test; skip the test where cryoCAT itself is known to break.

    cryoCAT 0.7.1's ellipsoid fit (``geom.fit_ellipsoid``) multiplies the
    radii in place by the signs of ``np.linalg.eig``'s eigenvalues, which
    numpy 2.5 returns as complex numbers: the call raises a casting error.
    There the comparison cannot be made, and the test is skipped with that
    reason (with numpy < 2.5, as in CI on Python 3.11, it runs).
    """
    import numpy as np
    import pytest

    try:
        return function(*args, **kwargs)
    except TypeError as exc:
        known = "Cannot cast ufunc 'multiply' output from dtype('complex128')" in str(exc)
        if known and np.lib.NumpyVersion(np.__version__) >= "2.5.0":
            pytest.skip("cryoCAT 0.7.1's ellipsoid fit fails under numpy >= 2.5 (eig returns complex values)")
        raise


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
