"""pyTME results read by cryotm: files pyTME really wrote (tests/data/real/pytme), and pickles that must be refused.

The real files are pyTME's own search of a simulated tomogram with three copies of an
asymmetric template at known positions and rotations (truth.json; see
tests/data/real/SOURCES.md): cryotm must put its picks on them (position within one
voxel, orientation within the 20 degree angular step). pyTME itself is not needed.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cryotm.cli import main
from cryotm.errors import InputError
from cryotm.formats import read_particles
from cryotm.peers import job_program, read_jobs, read_pytme_result
from cryotm.peers.pytme import RestrictedUnpickler, load_pytme_result
from cryotm.picking import PeakPicker
from cryotm.pipeline import Pipeline, TomogramInputs, read_record, record_path_for

REAL = Path(__file__).parent / "data" / "real" / "pytme"
TRUTH = json.loads((REAL / "truth.json").read_text())


@pytest.fixture
def pickle_result(tmp_path):
    """The .pickle.gz pyTME wrote, decompressed: pyTME's plain .pickle bytes."""
    path = tmp_path / "result.pickle"
    path.write_bytes(gzip.decompress((REAL / "result.pickle.gz").read_bytes()))
    return path


def _errors(particles):
    """Per planted particle: distance to the nearest of the 3 best picks, and the angle between orientations."""
    picks = particles.data.nlargest(len(TRUTH["particles"]), "score")
    out = []
    for planted in TRUTH["particles"]:
        where = np.array([planted["x"], planted["y"], planted["z"]])
        distance = np.linalg.norm(picks[["x", "y", "z"]].to_numpy(float) - where, axis=1)
        best = picks.iloc[int(np.argmin(distance))]
        found = Rotation.from_euler("zxz", best[["phi", "theta", "psi"]].to_numpy(float), degrees=True)
        truth = Rotation.from_euler("zxz", [planted["phi"], planted["theta"], planted["psi"]], degrees=True)
        out.append((distance.min(), np.degrees((found.inv() * truth).magnitude())))
    return np.array(out)


@pytest.mark.parametrize("name", ["result.pickle.gz", "result.hdf5", "plain"])
def test_pytme_search_read_by_cryotm_recovers_the_planted_particles(name, pickle_result):
    if name == "result.hdf5":
        pytest.importorskip("h5py")
    path = pickle_result if name == "plain" else REAL / name
    assert job_program(path) == "pytme"
    (job,) = read_jobs(path)
    inputs = job.inputs
    assert job.program == "pytme" and inputs.result_format == "pytme" and inputs.pixel_size == 10.0
    shape = (TRUTH["shape"],) * 3
    assert inputs.read_scores().shape == shape and inputs.read_angles().shape == shape
    assert len(inputs.read_angle_list()) == 648
    particles = Pipeline(PeakPicker(particle_diameter=8), threshold="sigma:3").run(inputs).particles
    errors = _errors(particles)
    assert np.all(errors[:, 0] <= 1.0), errors
    assert np.all(errors[:, 1] < TRUTH["step"]), errors


def test_pickle_and_hdf5_of_one_search_agree():
    pytest.importorskip("h5py")
    a = load_pytme_result(REAL / "result.pickle.gz")
    b = load_pytme_result(REAL / "result.hdf5")
    # two runs of one search: the same rotations, scores equal to float rounding of the FFTs
    np.testing.assert_array_equal(a.angles, b.angles)
    np.testing.assert_allclose(a.scores, b.scores, rtol=0, atol=1e-5)
    assert np.mean(a.rotation_index == b.rotation_index) > 0.99
    # pyTME's arrays are [x, y, z]: the best voxel of the first planted particle, read as [z, y, x]
    planted = TRUTH["particles"][0]
    z, y, x = int(planted["z"]), int(planted["y"]), int(planted["x"])
    window = a.scores[z - 1 : z + 2, y - 1 : y + 2, x - 1 : x + 2]
    assert window.max() == a.scores[z, y, x]


class _WritesAFile:
    """Unpickling this would create `path` (builtins.open runs with mode 'w')."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_that_would_write_a_file_is_refused_without_running_it(tmp_path, pickle_result):
    victim = tmp_path / "written_by_the_pickle"
    evil = tmp_path / "evil.pickle"
    # the real result's items, then one more item that would create a file when loaded
    evil.write_bytes(pickle_result.read_bytes() + pickle.dumps(_WritesAFile(victim)))
    with pytest.raises(InputError, match=r"refused to unpickle (io|builtins)\.open") as info:
        read_pytme_result(evil)
    assert str(evil) in str(info.value)
    assert not victim.exists()
    # a gzipped one, and an HDF5 whose rotation table is such a pickle
    gz = tmp_path / "evil.pickle.gz"
    gz.write_bytes(gzip.compress(evil.read_bytes()))
    with pytest.raises(InputError, match="refused to unpickle"):
        read_jobs(gz)
    assert not victim.exists()
    # the control: a plain pickle.load of that item does write the file
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_WritesAFile(control))).close()
    assert control.exists()


def test_an_hdf5_whose_pickled_item_would_write_a_file_is_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    victim = tmp_path / "written_by_the_pickle"
    evil = tmp_path / "evil.hdf5"
    shutil.copy(REAL / "result.hdf5", evil)
    with h5py.File(evil, "r+") as handle:
        del handle["item_3/data"]
        handle["item_3"].create_dataset("data", data=np.void(pickle.dumps(_WritesAFile(victim))))
    with pytest.raises(InputError, match=r"refused to unpickle (io|builtins)\.open") as info:
        load_pytme_result(evil)
    assert str(evil) in str(info.value) and not victim.exists()


def test_restricted_unpickler_builds_arrays_dtypes_and_containers_only(tmp_path):
    import io

    value = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "b": (np.float32(1.5), np.dtype("<f8"), {1, 2})}
    loaded = RestrictedUnpickler(io.BytesIO(pickle.dumps(value))).load()
    np.testing.assert_array_equal(loaded["a"], value["a"])
    assert loaded["b"][0] == np.float32(1.5) and loaded["b"][1] == np.dtype("<f8") and loaded["b"][2] == {1, 2}
    for forbidden in (os.system, Path("x"), shutil.rmtree):
        with pytest.raises(InputError, match="refused to unpickle"):
            RestrictedUnpickler(io.BytesIO(pickle.dumps(forbidden)), tmp_path / "f.pickle").load()


def test_truncated_or_foreign_files_get_one_line(tmp_path):
    cut = tmp_path / "cut.pickle"
    cut.write_bytes(gzip.decompress((REAL / "result.pickle.gz").read_bytes())[:5000])
    with pytest.raises(InputError, match="cut.pickle"):
        read_pytme_result(cut)
    lonely = tmp_path / "lonely.pickle"
    lonely.write_bytes(pickle.dumps(np.zeros((4, 4, 4))))
    with pytest.raises(InputError, match="not a pyTME template-matching result"):
        read_pytme_result(lonely)
    with pytest.raises(InputError, match="--angle-list applies to pytom-match-pick"):
        read_jobs(REAL / "result.pickle.gz", angle_list=tmp_path / "a.csv")


def test_extract_job_on_a_pytme_result_writes_particles_and_a_record(tmp_path, capsys):
    out = tmp_path / "picks.star"
    code = main(["extract-job", os.fspath(REAL / "result.pickle.gz"), "-o", os.fspath(out),
                 "--diameter", "8", "--threshold", "sigma:3", "--format", "relion5"])
    assert code == 0
    assert "(pytme)" in capsys.readouterr().out
    particles = read_particles(out, pixel_size=10.0, tomogram_shape=(30, 30, 30))
    errors = _errors(particles)  # through RELION 5's angles and centred coordinates and back
    assert np.all(errors[:, 0] <= 1.0) and np.all(errors[:, 1] < TRUTH["step"]), errors
    record = read_record(record_path_for(out))
    inputs = TomogramInputs.from_description(record["inputs"])
    assert inputs.result_format == "pytme" and inputs.read_scores().shape == (30, 30, 30)


def test_maps_kept_as_memory_map_references_beside_the_result(tmp_path):
    # pyTME's write_pickle stores a np.memmap as ("np.memmap", shape, dtype, file) and moves the file beside it
    real = load_pytme_result(REAL / "result.pickle.gz")
    xyz_scores = np.ascontiguousarray(real.scores.transpose(2, 1, 0))
    xyz_index = np.ascontiguousarray(real.rotation_index.transpose(2, 1, 0))
    xyz_scores.tofile(tmp_path / "scores.mm")
    xyz_index.tofile(tmp_path / "rotations.mm")
    from scipy.spatial.transform import Rotation as R

    matrices = R.from_euler("zxz", real.angles, degrees=True).as_matrix().transpose(0, 2, 1).astype(np.float32)
    table = dict(enumerate(matrices))
    items = [
        ("np.memmap", xyz_scores.shape, xyz_scores.dtype, "/elsewhere/scores.mm"),  # moved: found by name
        np.zeros(3, dtype=int),
        ("np.memmap", xyz_index.shape, xyz_index.dtype, os.fspath(tmp_path / "rotations.mm")),
        table,
        np.array([0.0]),
        (np.zeros(3), np.zeros(3), np.full(3, 12.5), None),
    ]
    path = tmp_path / "big.pickle"
    with path.open("wb") as handle:
        for item in items:
            pickle.dump(item, handle)
    (job,) = read_jobs(path)
    assert job.inputs.pixel_size == 12.5
    np.testing.assert_array_equal(job.inputs.read_scores().data, real.scores)
    np.testing.assert_array_equal(job.inputs.read_angles().data, real.rotation_index)
    read_back = R.from_euler("zxz", job.inputs.read_angle_list().angles, degrees=True)
    assert np.degrees((read_back.inv() * R.from_euler("zxz", real.angles, degrees=True)).magnitude()).max() < 1e-3
    (tmp_path / "scores.mm").unlink()
    moved = tmp_path / "moved.pickle"  # another file: not the one read (and kept) above
    shutil.copy(path, moved)
    with pytest.raises(InputError, match="scores.mm, which is not there"):
        read_jobs(moved)
