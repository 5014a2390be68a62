"""Doctests of the docs register example plugins: give each page a fresh plugin manager."""

import pytest

from cryotm.plugins import reset_plugin_manager


@pytest.fixture(autouse=True)
def _fresh_plugin_manager():
    reset_plugin_manager()
    yield
    reset_plugin_manager()
