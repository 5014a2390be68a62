"""Peers' outputs as input: pytom-match-pick job files, STOPGAP and GAPSTOP parameter files.

The fixtures are written by hand from the published formats (pytom-match-pick's
TMJob.write_to_json fields; STOPGAP's tm_param.star and template list; GAPSTOP's
tm_params.star), around synthetic scenes whose truth is known.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import starfile

from cryotm import make_scene
from cryotm.cli import main
from cryotm.comparison import compare_particles
from cryotm.errors import InputError
from cryotm.formats import read_particles
from cryotm.maps import write_map
from cryotm.peers import (
    job_program,
    read_gapstop_params,
    read_jobs,
    read_pytom_job,
    read_stopgap_params,
)
from cryotm.pipeline import Pipeline, read_record, record_path_for
from cryotm.thresholds.far import false_alarm_cutoff

SHAPE = (40, 48, 56)
STD = 0.03


def _picker():
    from cryotm.picking import PeakPicker

    return PeakPicker(particle_diameter=10)


def _pytom_job(folder, scene, *, origin=(0, 0, 0), tomo_shape=None, rotation_file="angles.txt", version="0.7.0"):
    """A pytom-match-pick output folder: maps, its angle list (radians, unsorted in the file) and the job JSON."""
    out = folder / "out"
    out.mkdir(parents=True)
    radians = np.radians(scene.angles.angles)
    perm = np.random.default_rng(5).permutation(len(radians))
    in_file = radians[perm]
    np.savetxt(folder / "angles.txt", in_file, fmt="%.12f", delimiter=" ")
    order = np.lexsort(in_file.T[::-1])  # pytom > 0.3.0 sorts the list before searching
    sorted_rows = perm[order]  # scene row of each sorted entry
    position = np.empty(len(radians), dtype=np.int64)
    position[sorted_rows] = np.arange(len(radians))
    write_map(out / "tomo7_scores.mrc", scene.scores, pixel_size=10.0)
    write_map(out / "tomo7_angles.mrc", position[scene.angle_map.astype(np.int64)].astype(np.float32), pixel_size=10.0)
    nz, ny, nx = SHAPE
    n_rot = len(radians)
    job = {
        "mask": "/data/mask.mrc",
        "mask_is_spherical": True,
        "output_dir": "out",
        "tomogram": "/data/tomo7.mrc",
        "template": "/data/template.mrc",
        "tomo_id": "tomo7",
        "tomo_shape": list(tomo_shape) if tomo_shape else [nx, ny, nz],
        "template_shape": [16, 16, 16],
        "voxel_size": 10.0,
        "search_x": [origin[0], origin[0] + nx],
        "search_y": [origin[1], origin[1] + ny],
        "search_z": [origin[2], origin[2] + nz],
        "tomogram_mask": None,
        "whole_start": None,
        "sub_start": [0, 0, 0],
        "sub_step": [nx, ny, nz],
        "start_slice": 0,
        "steps_slice": 1,
        "rotational_symmetry": 1,
        "particle_diameter": 100.0,
        "rotation_file": rotation_file,
        "n_rotations": n_rot,
        "tilt_angles": [-60.0, 60.0],
        "tilt_weighting": False,
        "low_pass": None,
        "high_pass": None,
        "job_key": "0",
        "leader": None,
        "job_stats": {"search_space": nx * ny * nz * n_rot, "variance": STD**2, "std": STD},
        "log_level": 20,
        "pytom_tm_version_number": version,
        "output_dtype": "float32",
    }
    path = folder / "tomo7_job.json"
    path.write_text(json.dumps(job, indent=4))
    return path


@pytest.fixture
def pytom_scene():
    return make_scene(shape=SHAPE, n_peaks=6, n_angles=80, seed=21, min_distance=12, noise_std=STD)


def test_pytom_job_gives_maps_sorted_radian_angles_and_statistics(pytom_scene, tmp_path):
    path = _pytom_job(tmp_path, pytom_scene)
    assert job_program(path) == "pytom-match-pick"
    job = read_pytom_job(path)
    inputs = job.inputs
    assert inputs.name == "tomo7" and inputs.index_base == 0 and inputs.pixel_size == 10.0
    assert inputs.scores == tmp_path / "out" / "tomo7_scores.mrc"
    assert job.particle_diameter == pytest.approx(10.0)
    stats = inputs.statistics
    assert stats.std == STD and stats.mean == 0.0 and stats.n_angles == 80
    assert stats.n_voxels * stats.n_angles == int(np.prod(SHAPE)) * 80

    result = Pipeline(_picker(), threshold="far").run(inputs)
    expected = false_alarm_cutoff(0.0, STD, float(np.prod(SHAPE)) * 80, 1.0)
    assert result.threshold.value == pytest.approx(expected)
    assert result.threshold.details["estimate"] == "statistics"
    comparison = compare_particles(result.particles, pytom_scene.truth, tolerance=1.5)
    assert comparison.recall == 1.0
    assert np.max(comparison.angular_errors) < 1e-4


def test_pytom_search_region_offsets_positions_and_old_versions_do_not_sort(pytom_scene, tmp_path):
    path = _pytom_job(tmp_path, pytom_scene, origin=(5, 6, 7), tomo_shape=(80, 70, 60))
    inputs = read_pytom_job(path).inputs
    assert inputs.offset == (5.0, 6.0, 7.0) and inputs.tomogram_shape == (60, 70, 80)
    particles = Pipeline(_picker()).run(inputs).particles
    shifted = pytom_scene.truth.copy()
    shifted.data[["x", "y", "z"]] += [5, 6, 7]
    assert compare_particles(particles, shifted, tolerance=1.5).recall == 1.0
    assert particles.tomogram_shape == (60, 70, 80)

    job = json.loads(path.read_text())
    job["pytom_tm_version_number"] = "0.3.0"
    path.write_text(json.dumps(job))
    assert read_pytom_job(path).inputs.angle_list_format == "pytom"


def test_pytom_increment_list_of_another_length_asks_for_the_list(pytom_scene, tmp_path):
    pytest.importorskip("healpix")
    path = _pytom_job(tmp_path, pytom_scene, rotation_file=7.0)  # 50544 generated rotations, n_rotations 80
    with pytest.raises(InputError, match="50544 rotations but the job's n_rotations is 80.*--angle-list"):
        read_pytom_job(path)
    csv = tmp_path / "list.csv"
    pytom_scene.angles.write(csv)
    job = read_pytom_job(path, angle_list=tmp_path / "angles.txt")
    assert job.inputs.angle_list_format == "pytom-sorted"
    job = read_pytom_job(path, angle_list=csv)
    assert job.inputs.angle_list_format == "csv"


def test_pytom_job_that_moved_finds_its_maps_beside_it(pytom_scene, tmp_path):
    path = _pytom_job(tmp_path, pytom_scene)
    job = json.loads(path.read_text())
    job["output_dir"] = "/gone/elsewhere"
    path.write_text(json.dumps(job))
    for name in ("tomo7_scores.mrc", "tomo7_angles.mrc"):
        os.replace(tmp_path / "out" / name, tmp_path / name)
    assert read_pytom_job(path).inputs.scores == tmp_path / "tomo7_scores.mrc"
    os.remove(tmp_path / "tomo7_angles.mrc")
    with pytest.raises(InputError, match="angle map not found"):
        read_pytom_job(path)


def _stopgap_project(root, scenes):
    """A STOPGAP template-matching folder: params/, lists/, maps/ (EM maps, 1-based, zzx list)."""
    for sub in ("params", "lists", "maps"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rows = []
    for tomo_num, scene in scenes.items():
        write_map(root / "maps" / f"smap_{tomo_num}.em", scene.scores)
        write_map(root / "maps" / f"omap_{tomo_num}.em", scene.angle_map)
        rows.append(
            {
                "completed_p_tm": 0, "completed_f_tm": 0, "rootdir": os.fspath(root) + "/", "tempdir": "temp",
                "commdir": "comm", "listdir": "lists", "tmpldir": "tmpl", "maskdir": "masks", "mapdir": "maps",
                "metadir": "meta", "tomo_name": f"tomo{tomo_num}.rec", "tomo_num": tomo_num, "tomo_mask_name": "none",
                "wedgelist_name": "wedgelist.star", "tlist_name": "tlist.star", "tilelist_name": "none",
                "smap_name": "smap", "omap_name": "omap", "tmap_name": "tmap", "lp_rad": 12, "lp_sigma": 3,
                "hp_rad": 1, "hp_sigma": 2, "binning": 8, "tilesize": 256, "calc_exp": 0, "calc_ctf": 0,
                "apply_laplacian": 0, "noise_corr": 1,
            }
        )
    starfile.write({"stopgap_tm_parameters": pd.DataFrame(rows)}, root / "params" / "tm_param.star")
    tlist = pd.DataFrame([{"tmpl_name": "ref.mrc", "mask_name": "mask.mrc", "symmetry": "C1", "anglist_name": "anglist.csv"}])
    starfile.write({"sg_tm_template_list": tlist}, root / "lists" / "tlist.star")
    # one template list for every tomogram: the first scene's angles (the test checks that tomogram)
    next(iter(scenes.values())).angles.write(root / "lists" / "anglist.csv", order="zzx")
    return root / "params" / "tm_param.star"


def test_stopgap_params_use_one_based_zzx_angles(tmp_path):
    scenes = {
        3: make_scene(shape=SHAPE, n_peaks=5, n_angles=50, seed=31, min_distance=12, index_base=1),
        4: make_scene(shape=SHAPE, n_peaks=5, n_angles=50, seed=32, min_distance=12, index_base=1),
    }
    path = _stopgap_project(tmp_path / "tm", scenes)
    assert job_program(path) == "stopgap"
    jobs = read_stopgap_params(path)
    assert [j.inputs.tomo_id for j in jobs] == [3, 4]
    assert [j.inputs.name for j in jobs] == ["tomo3", "tomo4"]
    assert all(j.inputs.index_base == 1 and j.inputs.angles_order == "zzx" for j in jobs)
    particles = Pipeline(_picker(), threshold="sigma:3").run(jobs[0].inputs).particles
    comparison = compare_particles(particles, scenes[3].truth, tolerance=1.5)
    assert comparison.recall == 1.0 and np.max(comparison.angular_errors) < 1e-4
    assert set(particles.data["tomo_id"]) == {3}


def test_stopgap_folder_that_moved_is_found_from_the_param_file(tmp_path):
    scene = make_scene(shape=SHAPE, n_peaks=4, n_angles=30, seed=33, min_distance=12, index_base=1)
    _stopgap_project(tmp_path / "old", {1: scene})
    os.replace(tmp_path / "old", tmp_path / "new")
    (job,) = read_stopgap_params(tmp_path / "new" / "params" / "tm_param.star")
    assert job.inputs.scores == tmp_path / "new" / "maps" / "smap_1.em"
    os.remove(tmp_path / "new" / "lists" / "anglist.csv")
    with pytest.raises(InputError, match="angle list anglist.csv not found"):
        read_stopgap_params(tmp_path / "new" / "params" / "tm_param.star")


def _gapstop_project(root, scene, order="zxz", symmetry="C1"):
    (root / "results").mkdir(parents=True)
    write_map(root / "results" / "scores_0_1.em", scene.scores)
    write_map(root / "results" / "angles_0_1.em", scene.angle_map)
    scene.angles.write(root / "angles_10_C1.txt", order=order)
    row = {
        "rootdir": os.fspath(root) + "/", "outputdir": "results/", "vol_ext": ".em", "tomo_name": "TS_01.mrc",
        "tomo_num": 1, "wedgelist_name": "wedges.star", "tmpl_name": "../reference.mrc", "mask_name": "../mask.mrc",
        "symmetry": symmetry, "anglist_order": order, "anglist_name": "angles_10_C1.txt", "smap_name": "scores",
        "omap_name": "angles", "lp_rad": 20.0, "hp_rad": 1.0, "binning": 8, "tiling": "new",
    }
    path = root / "tm_params.star"
    starfile.write({"TS_01": pd.DataFrame([row])}, path)
    return path


@pytest.mark.parametrize("order", ["zxz", "zzx"])
def test_gapstop_params_use_zero_based_angles_in_their_order(tmp_path, order):
    scene = make_scene(shape=SHAPE, n_peaks=5, n_angles=40, seed=41, min_distance=12)
    path = _gapstop_project(tmp_path / "TS_01", scene, order)
    assert job_program(path) == "gapstop"
    (job,) = read_gapstop_params(path)
    assert job.inputs.index_base == 0 and job.inputs.angles_order == order and job.inputs.name == "TS_01"
    particles = Pipeline(_picker(), threshold="sigma:3").run(job.inputs).particles
    comparison = compare_particles(particles, scene.truth, tolerance=1.5)
    assert comparison.recall == 1.0 and np.max(comparison.angular_errors) < 1e-4


def test_extract_job_command_for_each_program(pytom_scene, tmp_path, capsys):
    pytom = _pytom_job(tmp_path / "pytom", pytom_scene)
    assert main(["extract-job", os.fspath(pytom), "-o", os.fspath(tmp_path / "pytom.star"), "--format", "relion5"]) == 0
    out = capsys.readouterr()
    assert "particle diameter from the job file: 10 voxels" in out.err
    assert "(pytom-match-pick)" in out.out and "(calibrated)" in out.out  # the default rule
    record = read_record(record_path_for(tmp_path / "pytom.star"))
    assert record["inputs"]["statistics"]["std"] == STD
    back = read_particles(tmp_path / "pytom.star", format="relion5", tomogram_shape=SHAPE, pixel_size=10.0)
    assert compare_particles(back, pytom_scene.truth, tolerance=1.5).recall == 1.0

    scene = make_scene(shape=SHAPE, n_peaks=4, n_angles=30, seed=34, min_distance=12, index_base=1)
    stopgap = _stopgap_project(tmp_path / "sg", {1: scene, 2: scene})
    assert main(["extract-job", os.fspath(stopgap), "-o", os.fspath(tmp_path / "sg_out"), "--diameter", "10",
                 "--threshold", "sigma:3", "--format", "stopgap"]) == 0
    assert sorted(p.name for p in (tmp_path / "sg_out").glob("*.star")) == ["tomo1.star", "tomo2.star"]
    capsys.readouterr()

    gapstop = _gapstop_project(tmp_path / "gs", make_scene(shape=SHAPE, n_peaks=4, n_angles=30, seed=35, min_distance=12))
    assert main(["extract-job", os.fspath(gapstop), "-o", os.fspath(tmp_path / "gs.em"), "--diameter", "10",
                 "--threshold", "sigma:3", "--format", "emmotl"]) == 0
    assert main(["extract-job", os.fspath(gapstop), "-o", os.fspath(tmp_path / "gs.em"), "--diameter", "10"]) == 1
    assert "exists" in capsys.readouterr().err


def test_batch_over_peer_job_files(pytom_scene, tmp_path):
    from cryotm.batch import run_batch, tasks_from_glob

    for i in range(2):
        _pytom_job(tmp_path / f"job{i}", pytom_scene)
    tasks = tasks_from_glob(os.fspath(tmp_path / "job0" / "*_job.json"))
    assert [t.name for t in tasks] == ["tomo7"] and tasks[0].statistics.std == STD
    summary = run_batch(Pipeline(_picker(), writer="stopgap"), tasks, tmp_path / "out", progress="off")
    assert summary.ok


def test_unknown_job_files_are_refused(tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(InputError, match="not a job file cryotm knows"):
        read_jobs(other)
    with pytest.raises(InputError, match="no such job file"):
        read_jobs(tmp_path / "missing.json")
    broken = tmp_path / "broken_job.json"
    broken.write_text("{not json")
    with pytest.raises(InputError, match="invalid JSON"):
        read_pytom_job(broken)


def _star_lines(path):
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


def test_batch_and_extract_job_apply_the_jobs_symmetry_alike(tmp_path, capsys):
    scene = make_scene(shape=SHAPE, n_peaks=5, n_angles=40, seed=42, min_distance=12)
    path = _gapstop_project(tmp_path / "gs", scene, symmetry="C4")
    common = ["--diameter", "10", "--threshold", "sigma:3", "--format", "stopgap"]
    assert main(["extract-job", os.fspath(path), "-o", os.fspath(tmp_path / "one.star"), *common]) == 0
    assert "symmetry from the job file: c4 (seed 0)" in capsys.readouterr().err
    single = read_record(record_path_for(tmp_path / "one.star"))
    assert single["pipeline"]["picker"]["parameters"]["symmetry"] == "c4"
    assert single["pipeline"]["picker"]["parameters"]["seed"] == 0

    table = tmp_path / "tomos.csv"
    table.write_text(f"name,job\nTS_01,{path}\n")
    for source, out in ((path, "from_job"), (table, "from_table")):
        assert main(["batch", os.fspath(source), "-o", os.fspath(tmp_path / out), "--progress", "off", *common]) == 0
        record = read_record(record_path_for(tmp_path / out / "TS_01.star"))
        assert record["pipeline"] == single["pipeline"]
        assert _star_lines(tmp_path / out / "TS_01.star") == _star_lines(tmp_path / "one.star")

    picks = read_particles(tmp_path / "one.star", format="stopgap")
    assert compare_particles(picks, scene.truth, tolerance=1.5, symmetry=4).recall == 1.0
    assert np.max(compare_particles(picks, scene.truth, tolerance=1.5, symmetry=4).angular_errors) < 1e-3
    assert np.max(compare_particles(picks, scene.truth, tolerance=1.5).angular_errors) > 45  # turned by k*90


def test_the_users_symmetry_wins_and_a_non_cyclic_one_must_be_replaced(tmp_path, capsys):
    scene = make_scene(shape=SHAPE, n_peaks=4, n_angles=30, seed=43, min_distance=12)
    path = _gapstop_project(tmp_path / "gs", scene, symmetry="D2")
    common = ["--diameter", "10", "--threshold", "sigma:3", "--format", "emmotl"]
    assert main(["extract-job", os.fspath(path), "-o", os.fspath(tmp_path / "a.em"), *common]) == 1
    assert main(["batch", os.fspath(path), "-o", os.fspath(tmp_path / "b"), *common]) == 1
    for message in capsys.readouterr().err.strip().splitlines():
        assert "'d2' is not cyclic" in message and "--symmetry c1" in message
    assert main(["extract-job", os.fspath(path), "-o", os.fspath(tmp_path / "a.em"), *common, "--symmetry", "c1"]) == 0
    record = read_record(record_path_for(tmp_path / "a.em"))
    assert record["pipeline"]["picker"]["parameters"]["symmetry"] == "c1"
    assert record["pipeline"]["picker"]["parameters"]["seed"] is None


def test_batch_takes_the_particle_diameter_of_pytom_jobs(pytom_scene, tmp_path, capsys):
    for i in range(2):
        _pytom_job(tmp_path / f"job{i}", pytom_scene)
    first = tmp_path / "job0" / "tomo7_job.json"
    assert main(["batch", os.fspath(first), "-o", os.fspath(tmp_path / "out"), "--progress", "off"]) == 0
    assert "particle diameter from the job file: 10 voxels" in capsys.readouterr().err
    assert main(["extract-job", os.fspath(first), "-o", os.fspath(tmp_path / "tomo7.star")]) == 0
    batch_record = read_record(record_path_for(tmp_path / "out" / "tomo7.star"))
    assert batch_record["pipeline"] == read_record(record_path_for(tmp_path / "tomo7.star"))["pipeline"]
    assert batch_record["pipeline"]["picker"]["parameters"]["particle_diameter"] == 10

    second = tmp_path / "job1" / "tomo7_job.json"
    job = json.loads(second.read_text())
    job["particle_diameter"] = 120.0
    second.write_text(json.dumps(job))
    table = tmp_path / "tomos.csv"
    table.write_text(f"name,job\nA,{first}\nB,{second}\n")
    capsys.readouterr()
    assert main(["batch", os.fspath(table), "-o", os.fspath(tmp_path / "two"), "--progress", "off"]) == 1
    err = capsys.readouterr().err
    assert "different particle diameters (10 voxels for A; 12 voxels for B)" in err and "--diameter" in err
    assert main(["batch", os.fspath(table), "-o", os.fspath(tmp_path / "two"), "--progress", "off",
                 "--diameter", "11"]) == 0
    record = read_record(record_path_for(tmp_path / "two" / "B.star"))
    assert record["pipeline"]["picker"]["parameters"]["particle_diameter"] == 11
