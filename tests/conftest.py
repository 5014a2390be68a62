"""Shared fixtures: synthetic scenes with planted peaks, a clean plugin manager, maps written for the CLI."""

from __future__ import annotations

import pytest

from cryotm import make_scene
from cryotm.maps import write_map
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



@pytest.fixture
def extract_command(tmp_path):
    """A function writing (scores, angle map, angle list) into ``tmp_path``; it returns ``extract``'s first arguments.

    ``["extract", SCORES, ANGLES, ANGLE_LIST]`` for the files written (``s.mrc``, ``a.mrc``, ``angles.csv``).
    """

    def write(scores, angle_map, angles) -> list[str]:
        write_map(tmp_path / "s.mrc", scores)
        write_map(tmp_path / "a.mrc", angle_map)
        angles.write(tmp_path / "angles.csv")
        return ["extract", str(tmp_path / "s.mrc"), str(tmp_path / "a.mrc"), str(tmp_path / "angles.csv")]

    return write
