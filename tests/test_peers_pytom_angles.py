"""pytom-match-pick's increment-generated angle lists, regenerated as each version searched them.

The reference lists (tests/data/pytom_angle_lists.*) were written once by
pytom-match-pick's own ``pytom_tm.angles.get_angle_list`` (versions 0.7.11, 0.9.0
and 0.14.0; see tests/data/SOURCES.md); pytom-match-pick is not needed here.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from cryotm import make_scene
from cryotm.comparison import compare_particles
from cryotm.errors import CryotmError, InputError
from cryotm.maps import write_map
from cryotm.peers import read_jobs, read_pytom_job
from cryotm.peers.pytom_angles import generate_pytom_angles, reduce_pytom_angles
from cryotm.picking import PeakPicker
from cryotm.pipeline import Pipeline

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "pytom_angle_lists.json").read_text())["cases"]

healpix = pytest.importorskip("healpix", reason="the optional healpix package (cryotm[pytom]) is not installed")


@pytest.mark.parametrize("case", sorted(REFERENCE))
def test_generated_list_equals_pytom_match_picks(case):
    version, increment, symmetry = case.split("/")
    facts = REFERENCE[case]
    values = generate_pytom_angles(float(increment), int(symmetry), version)
    assert len(values) == facts["count"]
    np.testing.assert_allclose(values[:3], facts["first"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(values[-1], facts["last"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(values.sum(axis=0), facts["sum"], rtol=1e-12)
    with np.load(DATA / "pytom_angle_lists.npz") as full:
        key = case.replace("/", "_")
        if key in full.files:
            np.testing.assert_array_equal(values, full[key])


@pytest.mark.parametrize("increment", [7.0, 10.0, 20.0, 45.0, 60.0])
def test_counts_follow_the_published_rule(increment):
    # smallest nside with 12 nside^2 >= 4 pi / increment^2, times ceil(360 / increment) steps of z2
    needed = 4 * math.pi / math.radians(increment) ** 2
    nside = math.ceil(math.sqrt(needed / 12))
    n = 12 * nside**2 * math.ceil(360 / increment)
    assert len(generate_pytom_angles(increment, 1, "0.14.0")) == n
    assert len(generate_pytom_angles(increment, 1, "0.9.0")) == n


def test_versions_differ_where_pytom_match_pick_changed():
    new = generate_pytom_angles(30.0, 1, "0.14.0")
    old = generate_pytom_angles(30.0, 1, "0.9.0")
    # healpix gives z1 < 0 for some pixels; 0.13.1 on maps it into [0, 2 pi) (and so sorts it last)
    assert old[0, 0] < 0 and new[:, 0].min() >= 0
    assert set(map(tuple, np.round(np.mod(old, 2 * np.pi), 9))) == set(map(tuple, np.round(new, 9)))
    # symmetry: z2 < 2 pi / N in 0.7.x, z1 < 2 pi / N from 0.8.0 on
    assert np.all(generate_pytom_angles(30.0, 3, "0.7.11")[:, 2] < 2 * np.pi / 3)
    assert np.all(generate_pytom_angles(30.0, 3, "0.13.2")[:, 0] < 2 * np.pi / 3)
    with pytest.raises(InputError, match="0.7.0"):
        generate_pytom_angles(30.0, 1, "0.6.0")


def test_file_lists_are_reduced_as_each_version_did():
    rows = np.array([[3.0, 1.0, 0.5], [0.5, 1.0, 3.5], [0.1, 2.0, 0.2], [4.0, 0.5, 1.0]])
    # sorted: (0.1, 2, 0.2), (0.5, 1, 3.5), (3, 1, 0.5), (4, 0.5, 1); C2 keeps angles below pi
    first, second, third, fourth = [0.1, 2.0, 0.2], [0.5, 1.0, 3.5], [3.0, 1.0, 0.5], [4.0, 0.5, 1.0]
    np.testing.assert_array_equal(reduce_pytom_angles(rows, 2, "0.6.0"), [first, second])  # ceil(4 / 2) rows
    np.testing.assert_array_equal(reduce_pytom_angles(rows, 2, "0.7.0"), [first, third, fourth])  # on z2
    np.testing.assert_array_equal(reduce_pytom_angles(rows, 2, "0.8.0"), [first, second, third])  # on z1
    np.testing.assert_array_equal(reduce_pytom_angles(rows, 1, "0.3.0", sort=False), rows)


def _increment_job(folder, scene, increment, n_rotations, version="0.14.0", symmetry=1):
    write_map(folder / "tomo3_scores.mrc", scene.scores, pixel_size=10.0, overwrite=True)
    write_map(folder / "tomo3_angles.mrc", scene.angle_map, pixel_size=10.0, overwrite=True)
    nz, ny, nx = scene.scores.shape
    job = {
        "tomogram": "/data/tomo3.mrc", "tomo_id": "tomo3", "output_dir": ".", "voxel_size": 10.0,
        "rotation_file": increment, "rotational_symmetry": symmetry, "n_rotations": n_rotations,
        "pytom_tm_version_number": version, "particle_diameter": 100.0, "tomo_shape": [nx, ny, nz],
        "job_stats": {"search_space": nx * ny * nz * n_rotations, "variance": 0.0009, "std": 0.03},
    }
    path = folder / "tomo3_job.json"
    path.write_text(json.dumps(job))
    return path


def test_increment_job_is_extracted_with_pytom_match_picks_own_list(tmp_path):
    # 60 degrees, c1: 72 rotations; the scene's angle map indexes them
    scene = make_scene(shape=(40, 48, 56), n_peaks=5, n_angles=72, seed=4, min_distance=12)
    path = _increment_job(tmp_path, scene, 60.0, 72)
    (job,) = read_jobs(path)
    assert job.inputs.angle_list == path and job.inputs.angle_list_format == "pytom-sorted"
    particles = Pipeline(PeakPicker(**job.picker_parameters())).run(job.inputs).particles
    with np.load(DATA / "pytom_angle_lists.npz") as full:
        pytom_list = np.degrees(full["0.14.0_60_1"])  # written by pytom-match-pick itself
    truth = scene.truth.copy()
    truth.data[["phi", "theta", "psi"]] = pytom_list[truth.data["angle_row"].to_numpy()]
    comparison = compare_particles(particles, truth, tolerance=1.5)
    assert comparison.recall == 1.0
    assert np.max(comparison.angular_errors) < 1e-6


def test_increment_job_with_the_wrong_count_names_n_rotations(tmp_path):
    scene = make_scene(shape=(24, 24, 24), n_peaks=1, n_angles=72, seed=0)
    path = _increment_job(tmp_path, scene, 60.0, 80)
    with pytest.raises(InputError, match="72 rotations but the job's n_rotations is 80") as info:
        read_pytom_job(path)
    assert str(path) in str(info.value)
    # 0.9.0 with C6: z1 < 60 degrees keeps 18 rows (3 pixels, one with z1 < 0), 0.7.11 keeps 12
    assert len(read_pytom_job(_increment_job(tmp_path, scene, 60.0, 18, "0.9.0", 6)).inputs.read_angle_list()) == 18
    assert len(read_pytom_job(_increment_job(tmp_path, scene, 60.0, 12, "0.7.11", 6)).inputs.read_angle_list()) == 12


def test_without_healpix_one_line_says_what_to_install(tmp_path, monkeypatch):
    scene = make_scene(shape=(24, 24, 24), n_peaks=1, n_angles=72, seed=0)
    path = _increment_job(tmp_path, scene, 60.0, 72)
    monkeypatch.setitem(sys.modules, "healpix", None)
    with pytest.raises(CryotmError, match=r"healpix package: pip install 'cryotm\[pytom\]'") as info:
        read_pytom_job(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_batch_over_a_folder_runs_a_pytom_increment_job_and_a_pytme_result(tmp_path, capsys):
    import gzip
    import os

    from cryotm.cli import main
    from cryotm.formats import read_particles
    from cryotm.peers import job_program

    folder = tmp_path / "results"
    folder.mkdir()
    scene = make_scene(shape=(40, 48, 56), n_peaks=5, n_angles=72, seed=4, min_distance=12)
    _increment_job(folder, scene, 60.0, 72)  # plus its two maps, which the folder run must leave alone
    real = Path(__file__).parent / "data" / "real" / "pytme"
    (folder / "run2.pickle").write_bytes(gzip.decompress((real / "result.pickle.gz").read_bytes()))
    assert job_program(folder / "run2.pickle") == "pytme"
    out = tmp_path / "picks"
    code = main(["batch", os.fspath(folder), "-o", os.fspath(out), "--diameter", "8", "--threshold", "sigma:3",
                 "--format", "stopgap", "--no-merged"])
    captured = capsys.readouterr()
    assert code == 0, captured
    assert "2 tomograms" in captured.err
    pytom = read_particles(out / "tomo3.star")
    with np.load(DATA / "pytom_angle_lists.npz") as full:
        pytom_list = np.degrees(full["0.14.0_60_1"])
    truth = scene.truth.copy()
    truth.data[["phi", "theta", "psi"]] = pytom_list[truth.data["angle_row"].to_numpy()]
    truth.data["tomo_id"] = pytom.data["tomo_id"].iloc[0]
    comparison = compare_particles(pytom, truth, tolerance=1.5)
    assert comparison.recall == 1.0 and np.max(comparison.angular_errors) < 1e-3
    pytme = read_particles(out / "run2.star")
    planted = json.loads((real / "truth.json").read_text())["particles"]
    best = pytme.data.nlargest(3, "score")[["x", "y", "z"]].to_numpy(float)
    for particle in planted:
        assert np.min(np.linalg.norm(best - [particle["x"], particle["y"], particle["z"]], axis=1)) <= 1.0
    assert set(pytme.data["tomo_id"]) != set(pytom.data["tomo_id"])
