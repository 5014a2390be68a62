"""What ``cryotm extract`` loads: only what the chosen threshold and format need (the figures: benchmarks/startup.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cryotm import ParticleList, make_scene
from cryotm._lazy import lazy_module
from cryotm.angles import AngleList
from cryotm.formats import read_particles

ROOT = Path(__file__).resolve().parents[1]

#: modules an EM or STOPGAP list of a sigma-threshold pick does not need
HEAVY = ("pandas", "starfile", "scipy.spatial", "scipy.ndimage", "scipy.sparse", "scipy.special",
         "cryotypes.projectionmodel", "lmfit", "skimage")


def _loaded_after(argv: list[str], tmp_path: Path) -> list[str]:
    """The HEAVY modules a fresh ``cryotm`` process has executed after running `argv`."""
    code = (
        "import sys\n"
        "from cryotm.cli import main\n"
        f"assert main({argv!r}) == 0\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted(m for m in heavy if m in sys.modules and type(sys.modules[m]).__name__ != '_LazyModule'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "", "CRYOTM_DISABLE_PLUGIN_AUTOLOAD": "1"})
    return eval(done.stdout.strip().splitlines()[-1])  # a list of names printed by the child


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory):
    scene = make_scene(shape=(32, 40, 48), n_peaks=4, n_angles=30, seed=3, min_distance=10)
    return scene.write(tmp_path_factory.mktemp("scene") / "t")


@pytest.mark.parametrize("output", ["picks.em", "picks.star"])
def test_extract_to_em_or_stopgap_loads_no_pandas_scipy_spatial_or_ndimage(scene_files, tmp_path, output):
    argv = ["extract", str(scene_files["scores"]), str(scene_files["angles"]), str(scene_files["angle_list"]),
            "-d", "8", "-t", "sigma:3", "-o", str(tmp_path / output), "-q"]
    if output.endswith(".star"):
        argv += ["-f", "stopgap"]
    loaded = _loaded_after(argv, tmp_path)
    if output.endswith(".em"):
        assert loaded == []
    else:  # STOPGAP's star file is written by starfile, through pandas
        assert "pandas" in loaded and "scipy.spatial" not in loaded and "scipy.ndimage" not in loaded
    assert len(read_particles(tmp_path / output)) > 0


def test_a_picked_list_makes_its_dataframe_on_first_use_with_normalised_columns():
    plist = ParticleList.from_arrays([[1, 2, 3], [4, 5, 6]], orientations=[[10, 20, 30], [0, 0, 0]],
                                     scores=[0.5, 0.25], tomo_id=2.6)
    assert plist.column_names[:4] == ["score", "subtomo_id", "tomo_id", "object_id"]
    assert plist.column("tomo_id").tolist() == [3, 3] and plist.column("tomo_id").dtype == np.int64
    assert plist.positions.tolist() == [[1, 2, 3], [4, 5, 6]] and len(plist) == 2
    frame = plist.data  # made now, with the dtypes a DataFrame-built list has
    built = ParticleList(frame.copy())
    assert list(frame.columns) == list(built.data.columns)
    assert [str(t) for t in frame.dtypes] == [str(t) for t in built.data.dtypes]
    assert plist.data is frame  # made once
    frame.loc[0, "score"] = 0.75  # the DataFrame is the list's own from now on
    assert plist.scores.tolist() == [0.75, 0.25] and plist.column("score").tolist() == [0.75, 0.25]


def test_an_angle_list_reads_the_same_with_or_without_pandas(tmp_path):
    rng = np.random.default_rng(5)
    values = rng.uniform(-360, 360, (50, 3))
    plain, spaced = tmp_path / "plain.csv", tmp_path / "spaced.csv"
    np.savetxt(plain, values, delimiter=",", fmt="%.17g")  # read with numpy
    np.savetxt(spaced, values, delimiter=" ", fmt="%.17g")  # another separator: read with pandas
    assert np.array_equal(AngleList.read(plain).angles, values)
    assert np.array_equal(AngleList.read(spaced).angles, values)
    (tmp_path / "header.csv").write_text("phi,theta,psi\n1,2,3\n")
    with pytest.raises(Exception, match="numbers only"):
        AngleList.read(tmp_path / "header.csv")


def test_lazy_module_loads_on_first_attribute():
    assert lazy_module("json").dumps([1]) == "[1]"  # already imported: returned as it is
    with pytest.raises(ModuleNotFoundError):
        lazy_module("cryotm_no_such_module")
