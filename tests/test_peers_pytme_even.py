"""pyTME results of an even-sized template: the rotation-centre correction (tests/data/real/pytme/even).

pyTME rotates a template about ``(size - 1) / 2``; cryotm's particle centre is
voxel ``size // 2``. For an even box the score maximum of a particle rotated by
``R`` lies ``(I - R) h`` from the planted centre (``h`` half a voxel per even
axis). The real file is pyTME's own search of three planted copies of a 12^3
template (truth.json; see tests/data/real/SOURCES.md); pyTME itself is not needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation

from cryotm.cli import main
from cryotm.errors import CryotmWarning, InputError
from cryotm.formats import read_particles
from cryotm.peers import read_jobs, read_pytme_result
from cryotm.peers.pytme import load_pytme_result
from cryotm.peers.pytme_centre import centre_correction, template_shape_of
from cryotm.picking import PeakPicker
from cryotm.pipeline import Pipeline

EVEN = Path(__file__).parent / "data" / "real" / "pytme" / "even"
ODD = EVEN.parent
TRUTH = json.loads((EVEN / "truth.json").read_text())


def _errors(particles):
    """Per planted particle: distance to the nearest pick, and the angle between orientations."""
    picks = particles.data
    out = []
    for planted in TRUTH["particles"]:
        distance = np.linalg.norm(picks[["x", "y", "z"]].to_numpy(float) - [planted[k] for k in "xyz"], axis=1)
        best = picks.iloc[int(np.argmin(distance))]
        found = Rotation.from_euler("zxz", best[["phi", "theta", "psi"]].to_numpy(float), degrees=True)
        truth = Rotation.from_euler("zxz", [planted["phi"], planted["theta"], planted["psi"]], degrees=True)
        out.append((distance.min(), np.degrees((found.inv() * truth).magnitude())))
    return np.array(out)


def _pick(job):
    return Pipeline(PeakPicker(particle_diameter=8), threshold="sigma:3").run(job.inputs).particles


@pytest.fixture
def alone(tmp_path):
    """The result without its template file anywhere (the run's template path is a deleted temporary folder)."""
    path = tmp_path / "result.pickle.gz"
    shutil.copy(EVEN / "result.pickle.gz", path)
    return path


def test_the_template_beside_the_result_gives_the_box_and_positions_within_one_voxel():
    result = load_pytme_result(EVEN / "result.pickle.gz")
    assert Path(result.template).name == "template.mrc" and not Path(result.template).exists()
    assert template_shape_of(EVEN / "result.pickle.gz", result) == (12, 12, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the box is known: no warning
        job = read_pytme_result(EVEN / "result.pickle.gz")
    assert job.inputs.template_shape == (12, 12, 12)
    errors = _errors(_pick(job))
    assert np.all(errors[:, 0] <= 1.0), errors
    assert np.all(errors[:, 1] < TRUTH["step"]), errors


def test_without_the_correction_positions_are_more_than_a_voxel_off(alone):
    with pytest.warns(CryotmWarning, match=r"cannot tell the template's box .*--template-size"):
        job = read_pytme_result(alone)
    assert job.inputs.template_shape is None
    raw = _errors(_pick(job))
    assert raw[:, 0].max() > 1.2, raw  # measured 1.41: the score maxima, where pyTME's rotation centre lies
    corrected = _errors(_pick(read_pytme_result(alone, template_shape=12)))
    assert np.all(corrected[:, 0] <= 1.0) and np.all(corrected[:, 0] < raw[:, 0]), (raw, corrected)
    # an odd box claimed for it changes nothing (and the correction needs the box, not a guess)
    odd = _errors(_pick(read_pytme_result(alone, template_shape=(13, 13, 13))))
    np.testing.assert_allclose(odd[:, 0], raw[:, 0])


def test_odd_template_result_is_not_moved():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        job = read_pytme_result(ODD / "result.pickle.gz")  # its template.mrc (13^3) lies beside it
    assert job.inputs.template_shape == (13, 13, 13)


def test_centre_correction_on_hand_made_rotations():
    cube = (4, 4, 4)  # h = (0.5, 0.5, 0.5)
    angles = np.array([
        [0.0, 0.0, 0.0],  # identity: no move
        [90.0, 0.0, 0.0],  # z quarter turn: (x, y) -> (-y, x); R h - h = (-1, 0, 0)
        [0.0, 180.0, 0.0],  # x half turn: (x, y, z) -> (x, -y, -z); R h - h = (0, -1, -1)
    ])
    expected = [[0, 0, 0], [-1, 0, 0], [0, -1, -1]]
    np.testing.assert_allclose(centre_correction(angles, cube), expected, atol=1e-12)
    # only even axes move: nz odd (13) -> h = (0.5, 0.5, 0)
    np.testing.assert_allclose(centre_correction(angles, (13, 12, 12)), [[0, 0, 0], [-1, 0, 0], [0, -1, 0]],
                               atol=1e-12)
    np.testing.assert_array_equal(centre_correction(angles, (5, 7, 9)), np.zeros((3, 3)))
    # independently: rotate a box with a blob on voxel size // 2 about (size - 1) / 2 as pyTME does
    # (scipy, [z, y, x]); the blob moves by the correction
    size = 16
    zyx = np.indices((size,) * 3) - size // 2
    box = np.exp(-(zyx**2).sum(axis=0) / (2 * 1.2**2))
    for row in Rotation.random(5, random_state=3).as_euler("zxz", degrees=True):
        matrix_xyz = Rotation.from_euler("zxz", row, degrees=True).as_matrix()
        flip = np.eye(3)[::-1]
        inverse_zyx = flip @ matrix_xyz.T @ flip
        centre = np.full(3, (size - 1) / 2)
        rotated = ndimage.affine_transform(box, inverse_zyx, offset=centre - inverse_zyx @ centre, order=1)
        where_zyx = np.array(ndimage.center_of_mass(rotated))
        moved_xyz = where_zyx[::-1] - size // 2  # the centre voxel's displacement in the rotated box
        np.testing.assert_allclose(moved_xyz, centre_correction(row[None], (size,) * 3)[0], atol=0.05)


def test_extract_job_template_size(alone, tmp_path, capsys):
    out = tmp_path / "picks.star"
    code = main(["extract-job", os.fspath(alone), "-o", os.fspath(out), "--diameter", "8", "--threshold",
                 "sigma:3", "--format", "relion5", "--template-size", "12"])
    assert code == 0
    errors = _errors(read_particles(out, pixel_size=10.0, tomogram_shape=(TRUTH["shape"],) * 3))
    assert np.all(errors[:, 0] <= 1.0), errors
    assert main(["extract-job", os.fspath(alone), "-o", os.fspath(tmp_path / "b.star"),
                 "--template-size", "12", "12"]) == 1
    assert "--template-size takes N or X Y Z" in capsys.readouterr().err


def test_bad_template_shape_and_non_pytme_job(alone, tmp_path):
    with pytest.raises(InputError, match="template shape needs one or three"):
        read_pytme_result(alone, template_shape=(12, 12))
    job = tmp_path / "tomo_job.json"
    job.write_text("{}")
    with pytest.raises(InputError):
        read_jobs(job, template_shape=12)


def _batch_picks(folder, out, *extra):
    code = main(["batch", os.fspath(folder), "-o", os.fspath(out), "--diameter", "8", "--threshold", "sigma:3",
                 "--format", "relion5", "--progress", "off", *extra])
    assert code == 0
    (picks,) = [p for p in out.glob("*.star") if p.name != "merged.star"]
    return read_particles(picks, pixel_size=10.0, tomogram_shape=(TRUTH["shape"],) * 3)


def test_batch_template_size_corrects_pytme_results_as_extract_job_does(alone, tmp_path, capsys):
    raw = _errors(_batch_picks(alone.parent, tmp_path / "raw"))
    assert re.search(r"cryotm: warning: .*cannot tell the template's box .*--template-size of extract-job and batch",
                     capsys.readouterr().err)
    assert raw[:, 0].max() > 1.2, raw  # without the box: the score maxima, up to 1.41 voxels off
    corrected = _errors(_batch_picks(alone.parent, tmp_path / "fixed", "--template-size", "12"))
    assert "warning" not in capsys.readouterr().err  # the box is given: no warning
    assert np.all(corrected[:, 0] <= 1.0), corrected
    # X Y Z as in extract-job; a wrong count is one line
    xyz = _errors(_batch_picks(alone.parent, tmp_path / "xyz", "--template-size", "12", "12", "12"))
    np.testing.assert_allclose(xyz, corrected)
    assert main(["batch", os.fspath(alone.parent), "-o", os.fspath(tmp_path / "bad"), "--diameter", "8",
                 "--template-size", "12", "12"]) == 1
    assert "--template-size takes N or X Y Z" in capsys.readouterr().err


def test_batch_template_size_goes_to_the_pytme_results_only(alone, tmp_path):
    from cryotm import make_scene
    from cryotm.batch import read_tasks
    from cryotm.maps import write_map

    folder = tmp_path / "mixed"  # a pytom-match-pick job (the least its reader needs) beside the pyTME result
    (folder / "out").mkdir(parents=True)
    scene = make_scene(shape=(24, 24, 24), n_peaks=1, n_angles=10, seed=3)
    write_map(folder / "out" / "tomo7_scores.mrc", scene.scores, pixel_size=10.0)
    write_map(folder / "out" / "tomo7_angles.mrc", scene.angle_map.astype(np.float32), pixel_size=10.0)
    np.savetxt(folder / "angles.txt", np.radians(scene.angles.angles))
    (folder / "tomo7_job.json").write_text(json.dumps({
        "output_dir": "out", "tomo_id": "tomo7", "rotation_file": "angles.txt", "n_rotations": 10,
        "voxel_size": 10.0, "tomo_shape": [24, 24, 24], "pytom_tm_version_number": "0.3.0", "job_stats": None,
    }))
    shutil.copy(alone, folder / "result.pickle.gz")
    found = read_tasks(folder, template_shape=(12, 12, 14))  # (nz, ny, nx)
    shapes = {job.program: job.inputs.template_shape for job in found.jobs}
    assert shapes == {"pytom-match-pick": None, "pytme": (12, 12, 14)}, shapes
    with pytest.raises(InputError, match="--template-size applies to pyTME results only"):
        read_tasks(folder / "tomo7_job.json", template_shape=12)
    paths = scene.write(tmp_path / "maps")
    with pytest.raises(InputError, match="--template-size applies to pyTME results only"):
        read_tasks(os.fspath(paths["scores"].parent / "scores*.mrc"), template_shape=12)
