"""Helpers for testing cryotm and cryotm plugins."""

from __future__ import annotations

from types import ModuleType

__all__ = ["cryocat_or_skip"]


def cryocat_or_skip() -> ModuleType:
    """Import cryoCAT's ``tmana`` for a parity test, or skip the test when cryoCAT is not installed.

    Install the oracle with ``pip install "cryotm[parity]"``.
    """
    import pytest

    return pytest.importorskip("cryocat.tmana")
