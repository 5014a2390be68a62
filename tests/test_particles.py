"""The particle list: columns, orientations and the cryotypes PoseSet round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
from cryotypes.poseset import PoseSet, validate_poseset
from scipy.spatial.transform import Rotation

from cryotm import ParticleList
from cryotm.particles import CORE_COLUMNS


def _particles(n=5, seed=0):
    rng = np.random.default_rng(seed)
    rotations = Rotation.random(n, random_state=seed)
    plist = ParticleList.from_arrays(
        rng.uniform(0, 100, size=(n, 3)),
        orientations=rotations,
        scores=rng.random(n),
        shifts=rng.normal(size=(n, 3)),
        tomo_id=7,
        pixel_size=6.8,
        experiment_id="TS_007",
    )
    return plist, rotations


def test_core_columns_first_and_extras_kept():
    frame = pd.DataFrame({"x": [1.0], "y": [2.0], "z": [3.0], "my_note": ["keep"]})
    plist = ParticleList(frame)
    assert tuple(plist.data.columns[: len(CORE_COLUMNS)]) == CORE_COLUMNS
    assert plist.data["my_note"].tolist() == ["keep"]
    assert plist.data["class"].tolist() == [1] and plist.data["object_id"].tolist() == [1]


def test_orientations_match_the_given_rotations():
    plist, rotations = _particles()
    relative = plist.orientations * rotations.inv()
    assert np.all(np.degrees(relative.magnitude()) < 1e-8)
    assert plist.data["subtomo_id"].tolist() == [1, 2, 3, 4, 5]


def test_poseset_round_trip():
    plist, rotations = _particles(8, seed=2)
    poses = plist.to_poseset()
    validate_poseset(poses)
    assert isinstance(poses, PoseSet)
    np.testing.assert_array_equal(poses.position, plist.positions)
    np.testing.assert_array_equal(poses.shift, plist.shifts)
    assert poses.experiment_id == "TS_007" and poses.pixel_spacing == 6.8
    # the PoseSet's rotation turns the reference into the tomogram: same as ours
    assert np.all(np.degrees((poses.orientation * rotations.inv()).magnitude()) < 1e-8)

    back = ParticleList.from_poseset(poses, tomo_id=7)
    np.testing.assert_allclose(back.positions, plist.positions)
    np.testing.assert_allclose(back.shifts, plist.shifts)
    assert np.all(np.degrees((back.orientations * plist.orientations.inv()).magnitude()) < 1e-8)
    assert back.experiment_id == "TS_007" and back.pixel_size == 6.8


def test_empty_list_is_valid():
    empty = ParticleList.empty(pixel_size=5.0)
    assert len(empty) == 0
    assert empty.positions.shape == (0, 3)
    assert len(empty.orientations) == 0
    assert empty.to_poseset().position.shape == (0, 3)


def test_concat_renumbers_and_keeps_tomogram_names():
    a, _ = _particles(3)
    b, _ = _particles(2, seed=1)
    b = b.copy()
    b.experiment_id = "001"
    joined = ParticleList.concat([a, b])
    assert joined.data["subtomo_id"].tolist() == [1, 2, 3, 4, 5]
    assert joined.tomogram_names().tolist() == ["TS_007"] * 3 + ["001"] * 2


def test_bad_column_values_are_input_errors():
    import pytest

    from cryotm import InputError

    with pytest.raises(InputError, match="particle column 'tomo_id' must hold whole numbers"):
        ParticleList(pd.DataFrame({"x": [1.0], "tomo_id": [np.nan]}))
    with pytest.raises(InputError, match="particle column 'x' holds a non-number: 'abc'"):
        ParticleList(pd.DataFrame({"x": ["abc"]}))
