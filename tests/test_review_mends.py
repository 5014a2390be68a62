"""Bugs found in review of formats, peers, report and the command line: each test failed before its fix."""

from __future__ import annotations

import json
import os

import pytest

from cryotm.cli import main
from cryotm.errors import CryotmError, InputError
from cryotm.formats import write_particles

pytest.importorskip("matplotlib")


def test_compare_keeps_an_existing_json_file_unless_overwrite(scene, tmp_path, capsys):
    truth = tmp_path / "truth.csv"
    write_particles(scene.truth, truth)
    target = tmp_path / "figures.json"
    target.write_text("keep me\n")
    args = ["compare", os.fspath(truth), os.fspath(truth), "--tolerance", "1", "--json", os.fspath(target)]
    assert main(args) == 1
    assert "output exists" in capsys.readouterr().err
    assert target.read_text() == "keep me\n"
    assert main([*args, "--overwrite"]) == 0
    assert json.loads(target.read_text())["matched"] == len(scene.truth)


def test_report_slice_outside_the_map_is_a_user_error(scene, tmp_path, capsys):
    from cryotm.report import plot_slices

    paths = scene.write(tmp_path / "scene")
    nz, ny, nx = scene.scores.shape
    assert main(["report", os.fspath(paths["scores"]), "-o", os.fspath(tmp_path / "rep"), "--slice", f"{nz},0,0"]) == 1
    assert f"z={nz} is outside the map" in capsys.readouterr().err
    with pytest.raises(CryotmError, match="x=-1 is outside"):  # not numpy's wrap-around
        plot_slices(scene.scores.data, position=(0, 0, -1))


def test_report_needs_at_least_one_peak(scene):
    from cryotm.report import plot_peak_profiles

    with pytest.raises(CryotmError, match="at least 1"):
        plot_peak_profiles(scene.scores.data, scene.truth, n_peaks=0)


def test_report_refuses_before_writing_any_figure(scene, tmp_path):
    from cryotm.report import make_report

    (tmp_path / "slices.png").write_bytes(b"old")
    with pytest.raises(InputError, match="output exists"):
        make_report(scene.scores, scene.truth, thresholds=["sigma:3"], output_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slices.png"]


def _stopgap_params(folder, tomo_num: str):
    folder.mkdir(parents=True)
    path = folder / "tm_param.star"
    path.write_text(f"data_stopgap_tm_parameters\n\nloop_\n_rootdir\n_tomo_num\n_tlist_name\n. {tomo_num} tl.star\n")
    return path


def test_peer_files_with_bad_numbers_are_user_errors(tmp_path):
    from cryotm.peers import read_gapstop_params, read_pytom_job, read_stopgap_params

    with pytest.raises(InputError, match="tomo_num must be a whole number"):
        read_stopgap_params(_stopgap_params(tmp_path / "sg" / "params", "abc"))
    gapstop = tmp_path / "tm_params.star"
    gapstop.write_text("data_\n\nloop_\n_rootdir\n_tomo_num\n_anglist_name\n_smap_name\n. x1 a.csv s\n")
    with pytest.raises(InputError, match="tomo_num must be a whole number"):
        read_gapstop_params(gapstop)
    for name in ("t1_scores.mrc", "t1_angles.mrc"):
        (tmp_path / name).write_bytes(b"")
    job = tmp_path / "t1_job.json"
    job.write_text(json.dumps({"output_dir": ".", "tomo_id": "t1", "job_stats": {"search_space": 8, "std": 1.0},
                               "search_x": "ab", "voxel_size": 10}))
    with pytest.raises(InputError, match="search_x"):
        read_pytom_job(job, angle_list=tmp_path / "angles.txt")
    job.write_text(json.dumps({"output_dir": ".", "tomo_id": "t1", "voxel_size": "ten"}))
    with pytest.raises(InputError, match="voxel_size"):
        read_pytom_job(job, angle_list=tmp_path / "angles.txt")

