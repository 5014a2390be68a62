"""Batch runs: tables and globs, failures, resume, local workers and Dask give identical outputs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cryotm import make_scene
from cryotm.batch import read_table, run_batch, tasks_from_glob
from cryotm.errors import CryotmError, InputError
from cryotm.evaluation import match_particles
from cryotm.formats import read_particles
from cryotm.maps import write_map
from cryotm.pipeline import Pipeline, record_path_for

N_TOMOS = 3


def _picker():
    from cryotm.picking import PeakPicker

    return PeakPicker(particle_diameter=10)


def _pipeline(**kwargs):
    return Pipeline(_picker(), threshold=kwargs.pop("threshold", "sigma:3"), writer="stopgap", **kwargs)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    made = []
    for i in range(N_TOMOS):
        scene = make_scene(shape=(40, 44, 48), n_peaks=6, n_angles=60, seed=10 + i, min_distance=12)
        paths = scene.write(root / f"run{i}")
        made.append((scene, paths))
    return root, made


def _table(tmp_path, made, broken: int | None = None) -> os.PathLike:
    lines = ["name,scores,angles,angle_list,tomo_id"]
    for i, (_, paths) in enumerate(made):
        angles = paths["angles"] if i != broken else paths["angles"].with_name("missing.mrc")
        lines.append(f"tomo_{i},{paths['scores']},{angles},{paths['angle_list']},{i + 1}")
    table = tmp_path / "tomos.csv"
    table.write_text("\n".join(lines) + "\n")
    return table


def _content(path):
    """A file's lines without comments (starfile stamps the time of writing into a comment)."""
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


def _files(folder):
    return {p.name: _content(p) for p in sorted(folder.iterdir()) if not p.name.endswith(".cryotm.json")}


def test_batch_writes_each_tomogram_a_record_and_a_merged_list(scenes, tmp_path):
    _, made = scenes
    tasks = read_table(_table(tmp_path, made))
    summary = run_batch(_pipeline(), tasks, tmp_path / "out", progress="off")
    assert summary.ok, summary.format()
    assert [o.status for o in summary.outcomes] == ["done"] * N_TOMOS
    total = 0
    for i, (scene, _) in enumerate(made):
        out = tmp_path / "out" / f"tomo_{i}.star"
        assert out.is_file() and record_path_for(out).is_file()
        picked = read_particles(out)
        assert match_particles(picked, scene.truth, tolerance=1.5).recall == 1.0
        total += len(picked)
    merged = read_particles(summary.merged)
    assert len(merged) == total == summary.merged_count
    assert sorted(set(merged.data["tomo_id"])) == [1, 2, 3]
    assert merged.data["subtomo_id"].tolist() == list(range(1, total + 1))


def test_a_failing_tomogram_does_not_stop_the_others(scenes, tmp_path):
    _, made = scenes
    tasks = read_table(_table(tmp_path, made, broken=1))
    summary = run_batch(_pipeline(), tasks, tmp_path / "out", progress="off")
    assert not summary.ok
    assert [o.status for o in summary.outcomes] == ["done", "failed", "done"]
    failure = summary.failed[0]
    assert failure.name == "tomo_1" and "missing.mrc" in failure.error
    text = summary.format()
    assert "FAILED tomo_1" in text and "angle map file not found" in text
    assert not (tmp_path / "out" / "tomo_1.star").exists()
    assert summary.merged is not None and summary.merged_count == sum(
        len(read_particles(tmp_path / "out" / f"tomo_{i}.star")) for i in (0, 2)
    )


def test_resume_skips_complete_outputs_and_redoes_partial_or_missing_ones(scenes, tmp_path):
    _, made = scenes
    tasks = read_table(_table(tmp_path, made))
    out = tmp_path / "out"
    run_batch(_pipeline(), tasks, out, progress="off")
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = run_batch(_pipeline(), tasks, out, progress="off")
    assert [o.status for o in again.outcomes] == ["skipped"] * N_TOMOS
    assert all(out.joinpath(n).stat().st_mtime_ns == before[n] for n in before if n.startswith("tomo_"))

    complete = (out / "tomo_0.star").read_bytes()
    content = _content(out / "tomo_0.star")
    (out / "tomo_0.star").write_bytes(complete[: len(complete) // 2])  # a partial output
    record_path_for(out / "tomo_2.star").unlink()  # an output without any record: not the batch's to replace
    foreign = (out / "tomo_2.star").read_bytes()
    third = run_batch(_pipeline(), tasks, out, progress="off")
    assert [o.status for o in third.outcomes] == ["done", "skipped", "failed"]
    assert "not written by cryotm" in third.outcomes[2].error and (out / "tomo_2.star").read_bytes() == foreign
    assert _content(out / "tomo_0.star") == content
    (out / "tomo_2.star").unlink()  # a missing output is redone
    assert [o.status for o in run_batch(_pipeline(), tasks, out, progress="off").outcomes] == [
        "skipped", "skipped", "done"]

    changed = run_batch(_pipeline(threshold="sigma:4"), tasks, out, progress="off")
    assert [o.status for o in changed.outcomes] == ["done"] * N_TOMOS
    redo = run_batch(_pipeline(threshold="sigma:4"), tasks, out, resume=False, progress="off")
    assert [o.status for o in redo.outcomes] == ["done"] * N_TOMOS


def test_two_worker_processes_give_the_same_files_as_one(scenes, tmp_path):
    _, made = scenes
    tasks = read_table(_table(tmp_path, made))
    one = run_batch(_pipeline(), tasks, tmp_path / "one", workers=1, progress="off")
    two = run_batch(_pipeline(), tasks, tmp_path / "two", workers=2, progress="off")
    assert one.ok and two.ok
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_dask_local_cluster_gives_the_same_files_as_local(scenes, tmp_path):
    distributed = pytest.importorskip("distributed")
    _, made = scenes
    tasks = read_table(_table(tmp_path, made, broken=2))
    local = run_batch(_pipeline(), tasks, tmp_path / "local", progress="off")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            remote = run_batch(_pipeline(), tasks, tmp_path / "dask", scheduler=client, progress="off")
            assert [o.status for o in remote.outcomes] == ["done", "done", "failed"]
            assert _files(tmp_path / "local") == _files(tmp_path / "dask")
            resumed = run_batch(_pipeline(), tasks, tmp_path / "dask", scheduler=cluster.scheduler_address, progress="off")
            assert [o.status for o in resumed.outcomes] == ["skipped", "skipped", "failed"]
    assert [o.status for o in local.outcomes] == ["done", "done", "failed"]


def test_glob_pattern_finds_maps_and_names_them_after_folders(scenes):
    root, made = scenes
    tasks = tasks_from_glob(os.fspath(root / "run*" / "scores.mrc"))
    assert [t.name for t in tasks] == ["run0", "run1", "run2"]
    assert [t.tomo_id for t in tasks] == [1, 2, 3]
    assert tasks[1].angles == made[1][1]["angles"]
    assert tasks[1].angle_list == made[1][1]["angle_list"]
    with pytest.raises(CryotmError, match="no file matches"):
        tasks_from_glob(os.fspath(root / "nothing*" / "scores.mrc"))


def test_tsv_and_star_tables_and_their_errors(scenes, tmp_path):
    _, made = scenes
    paths = made[0][1]
    tsv = tmp_path / "t.tsv"
    tsv.write_text(f"tomo_name\tscores_map\tangle_map\tangles_list\tindex_base\n001\t{paths['scores']}\t{paths['angles']}\t{paths['angle_list']}\t0\n")
    (task,) = read_table(tsv)
    assert task.name == "001" and task.tomo_id == 1 and task.index_base == 0
    star = tmp_path / "t.star"
    star.write_text(
        textwrap.dedent(
            f"""
            data_tomograms

            loop_
            _rlnTomoName
            _scores
            _angles
            _angle_list
            _pixel_size
            007 {paths['scores']} {paths['angles']} {paths['angle_list']} 8.5
            """
        )
    )
    (task,) = read_table(star)
    assert task.name == "007" and task.pixel_size == 8.5
    bad = tmp_path / "bad.csv"
    bad.write_text(f"name,scores,angles,angle_list,colour\na,{paths['scores']},{paths['angles']},{paths['angle_list']},red\n")
    star.write_text(star.read_text().replace("_rlnTomoName", "_name"))
    with pytest.raises(InputError, match="_tomo_name"):
        read_table(star)
    with pytest.raises(InputError, match="unknown column 'colour'"):
        read_table(bad)
    dup = tmp_path / "dup.csv"
    row = f"a,{paths['scores']},{paths['angles']},{paths['angle_list']}"
    dup.write_text(f"name,scores,angles,angle_list\n{row}\n{row}\n")
    with pytest.raises(InputError, match="two tomograms are named 'a'"):
        read_table(dup)


def test_relative_paths_are_taken_from_the_table_folder(tmp_path):
    scene = make_scene(shape=(32, 32, 32), n_peaks=2, n_angles=10, seed=1, min_distance=10)
    scene.write(tmp_path / "data" / "t1")
    (tmp_path / "data" / "list.csv").write_text("name,scores,angles,angle_list\nt1,t1/scores.mrc,t1/angles.mrc,t1/angles.csv\n")
    (task,) = read_table(tmp_path / "data" / "list.csv")
    task.check_files()


def test_cli_batch_reports_progress_failures_and_exit_status(scenes, tmp_path):
    _, made = scenes
    table = _table(tmp_path, made, broken=0)
    command = [sys.executable, "-m", "cryotm", "batch", os.fspath(table), "-o", os.fspath(tmp_path / "out"),
               "--diameter", "10", "--threshold", "sigma:3", "--format", "stopgap", "--progress", "lines"]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr
    assert "[3/3]" in result.stderr and "tomo_0: failed" in result.stderr
    assert "FAILED tomo_0" in result.stdout and "2 done" in result.stdout
    assert "Traceback" not in result.stderr
    fixed = _table(tmp_path, made)
    result = subprocess.run(command[:4] + [os.fspath(fixed)] + command[5:], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 done, 2 skipped" in result.stdout


def test_cli_batch_with_a_config_file(scenes, tmp_path):
    _, made = scenes
    config = tmp_path / "p.toml"
    config.write_text('[threshold]\nname = "sigma"\nk = 3\n[picker]\nparticle_diameter = 10\n[writer]\nformat = "stopgap"\n')
    from cryotm.cli import main

    status = main(["batch", os.fspath(_table(tmp_path, made)), "-o", os.fspath(tmp_path / "out"), "--config",
                   os.fspath(config), "--progress", "off", "--workers", "2"])
    assert status == 0
    assert len(list((tmp_path / "out").glob("tomo_*.star"))) == N_TOMOS


def test_batch_without_a_diameter_is_a_one_line_error(scenes, tmp_path, capsys):
    from cryotm.cli import main

    assert main(["batch", os.fspath(_table(tmp_path, scenes[1])), "-o", os.fspath(tmp_path / "o")]) == 1
    assert "--diameter" in capsys.readouterr().err


def test_a_map_of_the_wrong_shape_fails_that_tomogram_only(scenes, tmp_path):
    _, made = scenes
    wrong = tmp_path / "wrong_angles.mrc"
    write_map(wrong, np.zeros((8, 8, 8), np.float32))
    table = _table(tmp_path, made)
    text = table.read_text().replace(os.fspath(made[2][1]["angles"]), os.fspath(wrong))
    table.write_text(text)
    summary = run_batch(_pipeline(), read_table(table), tmp_path / "out", progress="off")
    assert [o.status for o in summary.outcomes] == ["done", "done", "failed"]
    assert "shape" in summary.failed[0].error


def test_batch_given_a_single_map_suggests_a_quoted_glob(scenes, tmp_path, capsys):
    from cryotm.batch import read_tasks
    from cryotm.cli import main

    scores = tmp_path / "maps" / "tomo1_scores.mrc"
    scores.parent.mkdir()
    write_map(scores, np.zeros((4, 4, 4), np.float32))
    with pytest.raises(InputError, match=r"single map.*glob pattern in quotes"):
        read_tasks(scores)
    status = main(["batch", os.fspath(scores), "-o", os.fspath(tmp_path / "out"), "--diameter", "10"])
    err = capsys.readouterr().err
    assert status == 1
    assert f"'{tmp_path / 'maps' / '*_scores.mrc'}'" in err
    assert "CSV/TSV/STAR" in err and "job files" in err and "utf-8" not in err
    # one folder per tomogram (as make_scene writes them): the pattern varies the folder
    folder_map = scenes[1][0][1]["scores"]
    with pytest.raises(InputError, match=r"'.*/\*/scores\.mrc'"):
        read_tasks(folder_map)


def test_an_unreadable_table_says_what_a_batch_takes(tmp_path):
    from cryotm.batch import read_tasks

    binary = tmp_path / "tomos.dat"
    binary.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(InputError, match=r"tomos\.dat: cannot read it as a tomogram table.*CSV/TSV/STAR.*job files"):
        read_tasks(binary)


def test_warnings_in_spawned_workers_are_one_line_like_the_main_process(tmp_path):
    """Workers started by spawn (macOS, Windows; forkserver on Python 3.14) print cryotm's one-line warnings."""
    import mrcfile

    for i in range(2):
        paths = make_scene(shape=(24, 24, 24), n_peaks=1, n_angles=10, seed=i).write(tmp_path / f"t{i}")
        with mrcfile.open(paths["scores"], "r+") as mrc:
            mrc.voxel_size = 5000.0  # implausible: the worker that reads the map warns
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(f"""
        import multiprocessing, sys
        from cryotm.cli import main
        if __name__ == "__main__":
            multiprocessing.set_start_method("spawn")
            sys.exit(main(["batch", {os.fspath(tmp_path / "t*" / "scores.mrc")!r},
                           "-o", {os.fspath(tmp_path / "out")!r}, "-d", "4", "-t", "sigma:3", "--pixel-size", "10",
                           "--workers", "2", "--progress", "off"]))
    """))
    result = subprocess.run([sys.executable, os.fspath(script)], capture_output=True, text=True, cwd=tmp_path,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    warned = [line for line in lines if "implausible pixel size 5000" in line]
    assert len(warned) == 2, result.stderr
    assert all(line.startswith("cryotm: warning: ") and "scores.mrc" in line for line in warned), warned
    assert "CryotmWarning" not in result.stderr and "read_map(" not in result.stderr, result.stderr
    assert len(lines) == 3, result.stderr  # the batch's own line and the two warnings, nothing else
