"""cryotm-copick against a real copick project on the local file system (copick's own configuration and API)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

copick = pytest.importorskip("copick", reason="cryotm-copick needs copick (pip install copick)")
pytest.importorskip("zarr", reason="copick projects store maps as OME-Zarr (pip install zarr)")

from copick.models import PickableObject  # noqa: E402
from copick.util.formats import copick_to_em_transform, em_to_copick_transform  # noqa: E402

from cryotm import ParticleList, make_scene  # noqa: E402
from cryotm.cli import main  # noqa: E402
from cryotm.errors import InputError  # noqa: E402
from cryotm.formats import read_particles, reader_class, write_particles  # noqa: E402
from cryotm.picking import PeakPicker  # noqa: E402
from cryotm_copick import parse_target  # noqa: E402

PIXEL = 10.0


def new_project(folder: Path, runs=("TS_01", "TS_02")) -> Path:
    """A copick project made by copick itself: its configuration, overlay folder and runs."""
    config = folder / "config.json"
    objects = [
        PickableObject(name="ribosome", is_particle=True, label=1, color=[0, 255, 0, 255], radius=120.0),
        PickableObject(name="apoferritin", is_particle=True, label=2, color=[255, 0, 0, 255], radius=60.0),
    ]
    root = copick.new_config(str(config), str(folder / "overlay"), pickable_objects=objects)
    for name in runs:
        root.new_run(name).new_voxel_spacing(PIXEL)
    return config


def target(config: Path, **keys) -> str:
    query = "&".join(f"{k}={v}" for k, v in keys.items())
    return f"copick://{config}?{query}"


def rotation_error_degrees(a: Rotation, b: Rotation) -> np.ndarray:
    return np.degrees((a.inv() * b).magnitude())


@pytest.fixture
def demo(tmp_path) -> ParticleList:
    """The particles of ``cryotm demo`` (a small scene), read from its EM motive list."""
    assert main(["demo", str(tmp_path / "demo"), "--size", "48", "--peaks", "8", "--seed", "3"]) == 0
    particles = read_particles(tmp_path / "demo" / "particles.em")
    assert len(particles) >= 5
    data = particles.data.copy()
    data[["shift_x", "shift_y", "shift_z"]] = np.random.default_rng(0).uniform(-1, 1, (len(data), 3))
    return particles.with_data(data)


def test_demo_picks_into_a_copick_project_and_back(demo, tmp_path, capsys):
    config = new_project(tmp_path / "project")
    out = target(config, run="TS_01", object="ribosome", user="cryotm", session="0")
    assert main(["convert", str(tmp_path / "demo" / "particles.em"), out, "--pixel-size", str(PIXEL)]) == 0
    write_particles(demo, out, pixel_size=PIXEL, overwrite=True)  # with shifts

    # copick's own API on a fresh root
    run = copick.from_file(str(config)).get_run("TS_01")
    (picks,) = run.get_picks(object_name="ribosome", user_id="cryotm", session_id="0")
    points, transforms = picks.numpy()
    np.testing.assert_allclose(points / PIXEL, demo.positions, atol=1e-3)
    np.testing.assert_allclose(transforms[:, :3, 3] / PIXEL, demo.shifts, atol=1e-3)
    np.testing.assert_allclose(picks.full_positions() / PIXEL, demo.positions + demo.shifts, atol=1e-3)
    assert rotation_error_degrees(Rotation.from_matrix(transforms[:, :3, :3]), demo.orientations).max() < 1e-3
    np.testing.assert_allclose(picks.scores(), demo.scores)
    assert picks.meta.run_name == "TS_01" and picks.meta.unit == "angstrom"
    assert picks.meta.voxel_spacing == PIXEL
    # copick's TOM/EM conversion gives cryotm's (phi, theta, psi) and 0-based voxel positions
    positions, euler, shifts = copick_to_em_transform(points, transforms, PIXEL, return_shifts=True)
    np.testing.assert_allclose(positions, demo.positions, atol=1e-3)
    np.testing.assert_allclose(shifts, demo.shifts, atol=1e-3)
    assert rotation_error_degrees(Rotation.from_euler("zxz", euler, degrees=True), demo.orientations).max() < 1e-3

    # and cryotm's reader
    back = read_particles(out)
    assert reader_class(out).name == "copick"
    np.testing.assert_allclose(back.positions, demo.positions, atol=1e-3)
    np.testing.assert_allclose(back.shifts, demo.shifts, atol=1e-3)
    assert rotation_error_degrees(back.orientations, demo.orientations).max() < 1e-3
    np.testing.assert_allclose(back.scores, demo.scores)
    assert back.pixel_size == PIXEL and back.experiment_id == "TS_01"


def test_copick_picks_made_by_copick_are_read_with_their_orientation(tmp_path):
    config = new_project(tmp_path / "project")
    euler = np.array([[30.0, 40.0, 50.0], [-120.0, 100.0, 10.0]])
    located, transforms = em_to_copick_transform(np.array([[5.0, 6.0, 7.0], [20.0, 21.0, 22.0]]), euler, PIXEL)
    run = copick.from_file(str(config)).get_run("TS_02")
    picks = run.new_picks("apoferritin", "7", "someone")
    picks.from_numpy(located, transforms, scores=np.array([0.3, 0.9]))
    back = read_particles(target(config, run="TS_02", object="apoferritin", user="someone", session="7"))
    np.testing.assert_allclose(back.positions, [[5, 6, 7], [20, 21, 22]], atol=1e-9)
    np.testing.assert_allclose(back.euler_angles, euler, atol=1e-9)  # extrinsic zxz, as cryotm's own
    np.testing.assert_allclose(back.scores, [0.3, 0.9])


def test_a_rotation_turns_the_reference_x_axis_as_cryotm_says(tmp_path):
    """phi = 90 turns the reference's x axis onto the tomogram's y axis, in copick's matrix too."""
    config = new_project(tmp_path / "project")
    plist = ParticleList.from_arrays([[1, 2, 3]], orientations=[[90, 0, 0]], experiment_id="TS_01")
    write_particles(plist, target(config, object="ribosome"), pixel_size=PIXEL)
    (picks,) = copick.from_file(str(config)).get_run("TS_01").get_picks(object_name="ribosome")
    matrix = picks.points[0].transformation
    np.testing.assert_allclose(matrix @ [1, 0, 0, 0], [0, 1, 0, 0], atol=1e-12)


def test_a_list_of_several_tomograms_goes_run_by_run(tmp_path):
    config = new_project(tmp_path / "project")
    a = ParticleList.from_arrays([[1, 2, 3]], scores=[0.1], experiment_id="TS_01")
    b = ParticleList.from_arrays([[4, 5, 6], [7, 8, 9]], scores=[0.2, 0.3], experiment_id="TS_02")
    write_particles(ParticleList.concat([a, b]), target(config, object="ribosome"), pixel_size=PIXEL)
    root = copick.from_file(str(config))
    assert [len(root.get_run(n).get_picks(object_name="ribosome")[0].points) for n in ("TS_01", "TS_02")] == [1, 2]
    both = read_particles(target(config, object="ribosome"))
    assert both.data["tomo_name"].tolist() == ["TS_01", "TS_02", "TS_02"]
    assert both.data["tomo_id"].tolist() == [1, 2, 2]
    np.testing.assert_allclose(both.positions, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    # cryotm merge into the project: each list's tomogram into its run
    write_particles(a, tmp_path / "a.csv")
    write_particles(b, tmp_path / "b.csv")
    merged_target = target(config, object="apoferritin", session="2")
    lists = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    assert main(["merge", *lists, "-o", merged_target, "--pixel-size", "10"]) == 0
    again = read_particles(merged_target)
    assert again.data["tomo_name"].tolist() == ["TS_01", "TS_02", "TS_02"]
    np.testing.assert_allclose(again.scores, [0.1, 0.2, 0.3])


def test_picks_file_is_copicks_own_model(tmp_path):
    plist = ParticleList.from_arrays([[1.5, 2, 3]], orientations=[[10, 20, 30]], scores=[0.7], experiment_id="TS_09")
    path = tmp_path / "picks.json"
    write_particles(plist, path, object="ribosome", pixel_size=4.0)
    model = copick.models.CopickPicksFile(**json.loads(path.read_text()))
    names = (model.pickable_object_name, model.user_id, model.session_id, model.run_name)
    assert names == ("ribosome", "cryotm", "0", "TS_09")
    assert model.points[0].location.x == pytest.approx(6.0)
    assert reader_class(path).name == "copick"
    back = read_particles(path)
    assert back.pixel_size == 4.0 and back.experiment_id == "TS_09"
    np.testing.assert_allclose(back.euler_angles, [[10, 20, 30]], atol=1e-9)


def test_errors_name_the_problem(tmp_path, capsys):
    config = new_project(tmp_path / "project")
    plist = ParticleList.from_arrays([[1, 2, 3]], experiment_id="TS_01")
    with pytest.raises(InputError, match="no pickable object 'ribosme'.*known: ribosome, apoferritin"):
        write_particles(plist, target(config, object="ribosme"), pixel_size=PIXEL)
    with pytest.raises(InputError, match="no run 'TS_07' in the copick project"):
        write_particles(plist, target(config, run="TS_07", object="ribosome"), pixel_size=PIXEL)
    with pytest.raises(InputError, match="needs a pixel size"):
        write_particles(plist, target(config, object="ribosome"))
    with pytest.raises(InputError, match="copick user 'my_user' holds '_'"):
        write_particles(plist, target(config, object="ribosome", user="my_user"), pixel_size=PIXEL)
    with pytest.raises(InputError, match="unknown key 'colour'"):
        parse_target(target(config, colour="red"))
    write_particles(plist, target(config, object="ribosome"), pixel_size=PIXEL)
    source = tmp_path / "p.em"
    write_particles(plist, source)
    # the command line refuses before any work, in one line
    out = target(config, run="TS_01", object="ribosome")
    assert main(["convert", str(source), out, "--pixel-size", "10"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already has picks of 'ribosome' by 'cryotm' in session '0'" in err[0]
    assert main(["convert", str(source), out, "--pixel-size", "10", "--overwrite"]) == 0
    assert main(["convert", target(config, run="TS_02", object="ribosome"), str(tmp_path / "x.em")]) == 1
    assert "no picks of 'ribosome' in run 'TS_02'" in capsys.readouterr().err


def test_a_project_not_on_the_local_file_system_goes_through_copicks_store(tmp_path):
    """An fsspec memory:// overlay: copick's own store() writes the picks (no local file to rename into)."""
    config = tmp_path / "memory.json"
    objects = [PickableObject(name="ribosome", is_particle=True, label=1).model_dump()]
    config.write_text(json.dumps({"config_type": "filesystem", "name": "m", "pickable_objects": objects,
                                  "overlay_root": f"memory:///{tmp_path.name}", "overlay_fs_args": {}}))
    copick.from_file(str(config)).new_run("TS_01")
    plist = ParticleList.from_arrays([[1, 2, 3]], orientations=[[10, 20, 30]], scores=[0.4], experiment_id="TS_01")
    write_particles(plist, target(config, object="ribosome"), pixel_size=5.0)
    (picks,) = copick.from_file(str(config)).get_run("TS_01").get_picks(object_name="ribosome")
    np.testing.assert_allclose(picks.numpy()[0], [[5, 10, 15]])
    np.testing.assert_allclose(read_particles(target(config, object="ribosome")).euler_angles, [[10, 20, 30]])
    with pytest.raises(InputError, match="already has picks"):
        write_particles(plist, target(config, object="ribosome"), pixel_size=5.0)


def test_cryotm_plugins_lists_it():
    result = subprocess.run([sys.executable, "-m", "cryotm", "plugins"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    block = result.stdout.split("copick ", 1)[1].split("\n\n")[0]
    assert "writer: copick" in block and "reader: copick" in block and "batch source: copick" in block


# -- extract and batch over a project's runs ----------------------------------------------------
def add_maps(root, run_name: str, scores: np.ndarray, angles: np.ndarray) -> None:
    """Store template-matching maps as tomograms of a run, with copick's own writer (OME-Zarr)."""
    spacing = root.get_run(run_name).get_voxel_spacing(PIXEL)
    spacing.new_tomogram("tm-scores").from_numpy(scores, levels=2)
    spacing.new_tomogram("tm-angles").from_numpy(angles, levels=1, dtype=np.int32)


def test_extract_writes_into_a_run(tmp_path, capsys):
    scene = make_scene(shape=(32, 40, 48), n_peaks=4, n_angles=30, seed=2, min_distance=12)
    paths = scene.write(tmp_path / "maps")
    config = new_project(tmp_path / "project")
    out = target(config, run="TS_01", object="ribosome", session="3")
    args = ["extract", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "--diameter", "10",
            "--threshold", "0.2", "-o", out]
    assert main(args) == 0
    expected = PeakPicker(particle_diameter=10, threshold=0.2).pick(scene.scores, scene.angle_map, scene.angles)
    (picks,) = copick.from_file(str(config)).get_run("TS_01").get_picks(object_name="ribosome", session_id="3")
    np.testing.assert_allclose(picks.numpy()[0] / PIXEL, expected.positions, atol=1e-3)
    assert main(args) == 1  # exists: refused before extracting
    assert "pass --overwrite" in capsys.readouterr().err


def test_batch_over_a_copick_project(tmp_path, capsys):
    config = new_project(tmp_path / "project", runs=("TS_01", "TS_02", "TS_03", "TS_04"))
    root = copick.from_file(str(config))
    scenes = {}
    for seed, name in enumerate(("TS_01", "TS_02", "TS_03")):
        scene = make_scene(shape=(32, 32, 32), n_peaks=3, n_angles=20, seed=seed, min_distance=12)
        scenes[name] = scene
        angles = scene.angle_map if name != "TS_03" else scene.angle_map[:-2]  # broken: the maps' shapes differ
        add_maps(root, name, scene.scores, angles)
    angle_list = scenes["TS_01"].write(tmp_path / "one")["angle_list"]  # one list for the batch (20 angles each)
    source = f"copick://{config}?scores=tm-scores&angles=tm-angles"
    status = main([
        "batch", source, "--angle-list", str(angle_list), "--diameter", "10", "--threshold", "0.2",
        "-o", str(tmp_path / "out"), "--format", "copick", "-O", f"config={config}", "-O", "object=ribosome",
        "--progress", "off", "--no-merged",
    ])
    captured = capsys.readouterr()
    assert status == 1
    assert "FAILED TS_03:" in captured.out and "angle map has shape" in captured.out
    assert "left out: TS_04" in captured.err
    fresh = copick.from_file(str(config))
    for name in ("TS_01", "TS_02"):
        scene = scenes[name]
        picker = PeakPicker(particle_diameter=10, threshold=0.2)
        expected = picker.pick(scene.scores, scene.angle_map, scenes["TS_01"].angles)
        (picks,) = fresh.get_run(name).get_picks(object_name="ribosome", user_id="cryotm", session_id="0")
        np.testing.assert_allclose(picks.numpy()[0] / PIXEL, expected.positions, atol=1e-3)
        np.testing.assert_allclose(picks.scores(), expected.scores, rtol=1e-6)
        assert (tmp_path / "out" / f"{name}.json").is_file()
    assert fresh.get_run("TS_03").get_picks() == [] and fresh.get_run("TS_04").get_picks() == []
