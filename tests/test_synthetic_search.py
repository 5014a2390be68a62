"""The realistic search-scene generator: a real masked NCC search over an angle list, with known truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation

from cryotm.errors import CryotmError, InputError
from cryotm.synthetic import (
    builtin_template,
    make_search_scene,
    masked_ncc_search,
    rotate_volume,
    spherical_mask,
    uniform_rotations,
)


@pytest.mark.parametrize("template", ["blobs", "hook"])
def test_noiseless_search_recovers_every_particle_at_its_voxel_and_row(template):
    scene = make_search_scene(
        shape=(48, 48, 48), n_particles=4, n_angles=60, seed=3, snr=None, on_grid=True, template=template
    )
    truth = scene.truth.data
    z, y, x = (truth[c].to_numpy().astype(int) for c in "zyx")
    assert np.array_equal(truth[["x", "y", "z"]].to_numpy(), np.column_stack([x, y, z]))  # on voxel centres
    # the maximum of the scores around each particle is at the particle's voxel, with its row
    local_max = ndimage.maximum_filter(scene.scores, size=9)
    assert np.array_equal(scene.scores[z, y, x], local_max[z, y, x])
    assert np.array_equal(scene.angle_map[z, y, x].astype(int), truth["angle_row"].to_numpy())
    assert np.all(scene.scores[z, y, x] > 0.99)
    assert np.all(truth["angle_error"] == 0)


def test_noiseless_continuous_rotations_are_found_near_the_nearest_listed_rotation():
    scene = make_search_scene(shape=(48, 48, 48), n_particles=4, n_angles=300, seed=3, snr=None, subvoxel=False)
    truth = scene.truth.data
    z, y, x = (truth[c].to_numpy().astype(int) for c in "zyx")
    found = scene.angles.rotations(scene.angle_map[z, y, x].astype(int))
    planted = Rotation.from_euler("zxz", truth[["phi", "theta", "psi"]].to_numpy(), degrees=True)
    error = np.degrees((found.inv() * planted).magnitude())
    # the rotation found is at most a little farther than the nearest listed one (300 rotations: ~20 degrees)
    assert np.all(error <= truth["angle_error"].to_numpy() + 15)
    assert np.all(scene.scores[z, y, x] > 0.85)


def test_masked_ncc_equals_the_direct_normalised_correlation():
    rng = np.random.default_rng(0)
    tomogram = rng.standard_normal((20, 22, 24)).astype(np.float32)
    template = builtin_template("blobs", size=12)
    rotation = Rotation.from_euler("zxz", [[30, 50, 70]], degrees=True)
    result = masked_ncc_search(tomogram, template, rotation, workers=1)
    mask = spherical_mask(12) > 0
    reference = rotate_volume(template, rotation[0])[mask]
    reference = (reference - reference.mean()) / reference.std()
    for z, y, x in [(0, 0, 0), (10, 11, 12), (19, 3, 23), (5, 20, 1)]:
        # the 12**3 box whose centre voxel (6, 6, 6) sits at (z, y, x), periodic
        box = tomogram[np.ix_(*[(np.arange(12) - 6 + c) % n for c, n in zip((z, y, x), tomogram.shape)])]
        patch = box[mask]
        expected = np.mean((patch - patch.mean()) * reference) / patch.std()
        assert result.scores[z, y, x] == pytest.approx(expected, abs=1e-5)
    assert result.n_angles == 1 and result.n_voxels == tomogram.size
    assert result.mean == pytest.approx(float(result.scores.mean()), abs=1e-6)
    assert result.std == pytest.approx(float(result.scores.std()), rel=1e-4)


def test_scenes_are_deterministic_per_seed():
    kwargs = dict(shape=(48, 48, 48), n_particles=3, n_angles=30, snr=(5, 8), gold=1, membranes=1, tilt_range=60)
    a = make_search_scene(seed=5, **kwargs)
    b = make_search_scene(seed=5, **kwargs)
    c = make_search_scene(seed=6, **kwargs)
    assert np.array_equal(a.scores, b.scores) and np.array_equal(a.angle_map, b.angle_map)
    assert a.truth.data.equals(b.truth.data) and a.statistics == b.statistics
    assert not np.array_equal(a.scores, c.scores)


def test_particles_score_about_their_requested_snr():
    scene = make_search_scene(shape=(64, 64, 64), n_particles=8, n_angles=200, seed=1, snr=(5, 8))
    truth = scene.truth.data
    local_max = ndimage.maximum_filter(scene.scores, size=5)
    z, y, x = (np.round(truth[c].to_numpy()).astype(int) for c in "zyx")
    achieved = local_max[z, y, x] / scene.statistics.std
    assert np.median(achieved / truth["snr"].to_numpy()) == pytest.approx(1.0, abs=0.2)
    assert scene.statistics.n_angles == 200 and scene.statistics.n_voxels == 64**3


def test_noise_only_scene_has_an_empty_truth_and_statistics_of_the_whole_search():
    scene = make_search_scene(shape=(40, 40, 40), n_particles=0, n_angles=20, seed=2)
    assert len(scene.truth) == 0
    assert abs(scene.statistics.mean) < scene.statistics.std
    assert scene.scores.dtype == np.float32 and scene.scores.shape == (40, 40, 40)


def test_write_gives_the_scene_files_and_the_search_statistics(tmp_path):
    scene = make_search_scene(shape=(48, 48, 48), n_particles=2, n_angles=20, seed=2, index_base=1, gold=1, membranes=1)
    paths = scene.write(tmp_path)
    assert {p.name for p in paths.values()} == {
        "scores.mrc", "angles.mrc", "angles.csv", "truth.csv", "statistics.json", "distractors.json"
    }
    distractors = json.loads(paths["distractors"].read_text())
    np.testing.assert_allclose(distractors["gold"], scene.gold)  # the bead, x, y, z
    assert len(distractors["gold"]) == 1 and len(distractors["membranes"]) == 1
    assert distractors["membranes"][0]["normal"] == pytest.approx(scene.membranes[0]["normal"])
    record = json.loads(paths["statistics"].read_text())
    assert record["std"] == pytest.approx(scene.statistics.std)
    assert record["n_angles"] == 20 and record["search_space"] == 20 * 48**3
    assert scene.angle_map.min() >= 1  # index base 1
    with pytest.raises(CryotmError):
        scene.write(tmp_path)  # no overwrite


def test_user_template_from_an_mrc_file(tmp_path):
    from cryotm.maps import write_map

    path = tmp_path / "template.mrc"
    write_map(path, builtin_template("hook", size=20), pixel_size=10.0)
    scene = make_search_scene(shape=(48, 48, 48), n_particles=2, n_angles=20, seed=0, template=path)
    assert scene.template.shape == (20, 20, 20)
    write_map(tmp_path / "flat.mrc", np.zeros((8, 9, 10), np.float32), pixel_size=10.0)
    with pytest.raises(InputError, match="cubic"):
        make_search_scene(shape=(40, 40, 40), template=tmp_path / "flat.mrc")
    with pytest.raises(CryotmError, match="larger shape"):
        make_search_scene(shape=(40, 40, 40), n_particles=10, n_angles=5)
    with pytest.raises(InputError, match="unknown template"):
        make_search_scene(shape=(40, 40, 40), template="sphere")


def test_uniform_rotations_cover_the_rotation_group_evenly():
    listed = uniform_rotations(500)
    probes = Rotation.random(2000, random_state=0)
    nearest = np.array([np.min((listed.inv() * probes[i]).magnitude()) for i in range(len(probes))])
    random_list = Rotation.random(500, random_state=1)
    nearest_random = np.array([np.min((random_list.inv() * probes[i]).magnitude()) for i in range(len(probes))])
    # an even cover leaves no large hole: its worst gap is well below that of random rotations
    assert np.degrees(nearest.max()) < 0.8 * np.degrees(nearest_random.max())


def test_demo_realistic_writes_a_searched_scene_and_its_statistics(tmp_path, capsys):
    from cryotm.cli import main

    assert main(["demo", str(tmp_path / "demo"), "--size", "64", "--peaks", "5", "--realistic"]) == 0
    out = capsys.readouterr().out
    record = json.loads((tmp_path / "demo" / "statistics.json").read_text())
    assert record["n_angles"] == 1000 and record["n_voxels"] == 64**3
    assert "against the planted truth: " in out and "reference particles" in out
    assert (tmp_path / "demo" / "particles.star").is_file()
    # at the demo's signal (--snr 8 14 by default) the picks' orientations are the planted ones, to the list's step
    median = float(out.split("median angular error ")[1].split(" deg")[0])
    assert median < 25.0, out


def test_demo_snr_must_be_an_ordered_positive_range(tmp_path, capsys):
    from cryotm.cli import main

    assert main(["demo", str(tmp_path / "demo"), "--realistic", "--snr", "9", "5"]) == 1
    err = capsys.readouterr().err.strip()
    assert "--snr must be two numbers" in err and "\n" not in err
    assert not (tmp_path / "demo" / "scores.mrc").exists()
