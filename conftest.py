"""Root pytest configuration: docstring examples that need an optional extra skip without it."""

from __future__ import annotations

import importlib.util

import pytest

#: module of the package -> the optional module its docstring examples need
_DOCTEST_NEEDS = {"cryotm.maps.zarr": "zarr"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not isinstance(item, pytest.DoctestItem):
            continue
        for prefix, needed in _DOCTEST_NEEDS.items():
            if item.name.startswith(prefix + ".") and importlib.util.find_spec(needed) is None:
                item.add_marker(pytest.mark.skip(reason=f"{prefix}'s examples need {needed} (pip install 'cryotm[{needed}]')"))
