"""Shared fixtures: synthetic scenes with planted peaks and a clean plugin manager."""

from __future__ import annotations

import pytest

from cryotm import make_scene
from cryotm.plugins import reset_plugin_manager


@pytest.fixture
def scene():
    """A small scene (48 x 56 x 64 voxels, 12 planted peaks, 100 angles, 0-based angle map)."""
    return make_scene(shape=(48, 56, 64), n_peaks=12, n_angles=100, seed=3, min_distance=14)


@pytest.fixture
def fresh_plugins():
    """A plugin manager rebuilt before and after the test (for tests that register plugins)."""
    reset_plugin_manager()
    yield
    reset_plugin_manager()

