"""Hostile and mistaken input (issue 13): no code run from a data file, nothing written outside its place,
no silent wrong result, no traceback. Each test fails without the fix it names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from cryotm import make_scene
from cryotm._atomic import _HOST, atomic_path, check_writable, clean_stale_parts, output_set
from cryotm.cli import main
from cryotm.errors import CryotmError, InputError
from cryotm.maps import write_map


def _run(*args, cwd=None, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "cryotm", *map(str, args)], capture_output=True, text=True, cwd=cwd,
        stdin=subprocess.DEVNULL, **kwargs,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small scene on disk: scores, angles, angle list (0-based, zxz, degrees)."""
    folder = tmp_path_factory.mktemp("scene")
    scene = make_scene(shape=(32, 36, 40), n_peaks=4, n_angles=40, seed=4, min_distance=12)
    return scene, scene.write(folder)


def _maps(files):
    _, paths = files
    return [str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"])]


def _one_line_error(capsys, status, *words):
    err = capsys.readouterr().err
    assert status == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cryotm: error:") and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- security: what a config may import -----------------------------------------------------
def _evil_module(tmp_path, monkeypatch, body="class Rule:\n    pass\n"):
    """A module that leaves a marker file when it is imported."""
    marker = tmp_path / "IMPORTED"
    (tmp_path / "evil_mod_13.py").write_text(f"open({str(marker)!r}, 'w').close()\n{body}")
    monkeypatch.syspath_prepend(os.fspath(tmp_path))
    sys.modules.pop("evil_mod_13", None)
    return marker


def test_a_config_cannot_run_a_shell_command(tmp_path, monkeypatch):
    from cryotm.pipeline import load_pipeline

    monkeypatch.delenv("CRYOTM_ALLOW_IMPORT", raising=False)
    marker = tmp_path / "PWNED"
    config = tmp_path / "evil.toml"
    config.write_text(f'[threshold]\nclass = "subprocess:Popen"\nargs = "touch {marker}"\nshell = true\n'
                      "[picker]\nparticle_diameter = 8\n")
    with pytest.raises(CryotmError, match="--allow-import"):
        load_pipeline(config)
    # even when imports are allowed, the class must be a threshold strategy before it is called
    with pytest.raises(CryotmError, match="not a threshold class"):
        load_pipeline(config, allow_import=True)
    assert not marker.exists()


@pytest.mark.parametrize("section, path, refused, kind", [
    ("picker", "cryotm.batch.runner:concurrent.futures.ProcessPoolExecutor", "outside cryotm", "not a picker class"),
    ("writer", "cryotm.pipeline.config:Path", "of module 'pathlib'", "not a writer class"),
    ("threshold", "cryotm.pipeline.serialize:importlib.import_module", "is not a class", "is not a class"),
])
def test_a_trusted_module_does_not_lend_any_attribute(section, path, refused, kind, monkeypatch):
    from cryotm.pipeline import pipeline_from_config

    monkeypatch.delenv("CRYOTM_ALLOW_IMPORT", raising=False)
    config = {"picker": {"particle_diameter": 8}, section: {"class": path, **({"particle_diameter": 8}
                                                                              if section == "picker" else {})}}
    with pytest.raises(CryotmError, match=refused):
        pipeline_from_config(config)
    with pytest.raises(CryotmError, match=kind):  # allowed to import, still checked before it is called
        pipeline_from_config(config, allow_import=True)


def test_a_users_module_is_imported_only_with_the_opt_in(tmp_path, monkeypatch):
    from cryotm.pipeline import pipeline_from_config

    monkeypatch.delenv("CRYOTM_ALLOW_IMPORT", raising=False)
    marker = _evil_module(tmp_path, monkeypatch, textwrap.dedent("""
        import attrs
        from cryotm.thresholds import ThresholdStrategy

        @attrs.define
        class Rule(ThresholdStrategy):
            name = "half"
            fraction: float = 0.5

            def compute(self, scores, mask=None, statistics=None):
                return float(self.fraction)
    """))
    config = {"threshold": {"class": "evil_mod_13:Rule", "fraction": 0.3}, "picker": {"particle_diameter": 8}}
    with pytest.raises(CryotmError, match="--allow-import"):
        pipeline_from_config(config)
    assert not marker.exists()
    assert pipeline_from_config(config, allow_import=True).threshold.fraction == 0.3
    assert marker.exists()
    monkeypatch.setenv("CRYOTM_ALLOW_IMPORT", "1")
    assert pipeline_from_config(config).threshold.fraction == 0.3


def test_the_cli_config_needs_allow_import(tmp_path, monkeypatch, files, capsys):
    monkeypatch.delenv("CRYOTM_ALLOW_IMPORT", raising=False)
    marker = _evil_module(tmp_path, monkeypatch)
    _, paths = files
    config = tmp_path / "p.toml"
    config.write_text('[threshold]\nclass = "evil_mod_13:Rule"\n[picker]\nparticle_diameter = 8\n')
    table = tmp_path / "t.csv"
    table.write_text(f"name,scores,angles,angle_list\nt1,{paths['scores']},{paths['angles']},{paths['angle_list']}\n")
    status = main(["batch", str(table), "-o", str(tmp_path / "out"), "--config", str(config), "--progress", "off"])
    _one_line_error(capsys, status, "--allow-import")
    assert not marker.exists()
    status = main(["batch", str(table), "-o", str(tmp_path / "out"), "--config", str(config), "--allow-import",
                   "--progress", "off"])
    _one_line_error(capsys, status, "not a threshold class")  # imported on request, then refused: not a strategy


def test_report_reads_a_record_as_data(tmp_path, monkeypatch, files):
    from cryotm.batch.runner import read_back
    from cryotm.pipeline import Pipeline, TomogramInputs, load_pipeline
    from cryotm.pipeline.record import record_path_for
    from cryotm.picking import PeakPicker

    _, paths = files
    out = tmp_path / "t1.star"
    inputs = TomogramInputs("t1", paths["scores"], paths["angles"], paths["angle_list"])
    result = Pipeline(PeakPicker(particle_diameter=8), threshold="sigma:3", writer="relion4").run(inputs, output=out)
    record_file = record_path_for(out)
    record = json.loads(record_file.read_text())
    record["pipeline"]["threshold"]["class"] = "evil_mod_13:Rule"
    record["pipeline"]["writer"]["class"] = "evil_mod_13:Rule"
    record_file.write_text(json.dumps(record))
    marker = _evil_module(tmp_path, monkeypatch)
    monkeypatch.setenv("CRYOTM_ALLOW_IMPORT", "1")  # even allowed, reading back imports nothing
    back = read_back(None, out)
    assert len(back) == len(result.particles) and not marker.exists()
    monkeypatch.delenv("CRYOTM_ALLOW_IMPORT")
    with pytest.raises(CryotmError, match="--allow-import"):  # as a --config, the record is refused
        load_pipeline(record_file)
    assert not marker.exists()
    pytest.importorskip("matplotlib")
    from cryotm.report import report_run

    monkeypatch.setenv("CRYOTM_ALLOW_IMPORT", "1")
    report_run(record_file, tmp_path / "figs")
    assert not marker.exists()


# -- where outputs go ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../victim", "/abs/x", "..", "a/b"])
def test_batch_names_never_leave_the_output_folder(name, tmp_path, files, capsys):
    _, paths = files
    table = tmp_path / "t.csv"
    table.write_text(f"name,scores,angles,angle_list\n\"{name}\",{paths['scores']},{paths['angles']},"
                     f"{paths['angle_list']}\n")
    before = set(tmp_path.rglob("*"))
    status = main(["batch", str(table), "-o", str(tmp_path / "out" / "deep"), "--diameter", "8",
                   "--progress", "off"])
    assert status == 1
    assert "cryotm: error:" in capsys.readouterr().err
    assert {p for p in set(tmp_path.rglob("*")) - before if p.is_file()} == set()
    assert not Path("/abs/x.star").exists()


def test_merged_name_and_report_prefix_are_checked(tmp_path, files, capsys):
    _, paths = files
    table = tmp_path / "t.csv"
    table.write_text(f"name,scores,angles,angle_list\nt1,{paths['scores']},{paths['angles']},{paths['angle_list']}\n")
    status = main(["batch", str(table), "-o", str(tmp_path / "out"), "--diameter", "8", "--merged", "../x",
                   "--progress", "off"])
    _one_line_error(capsys, status, "--merged")
    assert not (tmp_path / "x.star").exists()
    from cryotm.report.report import make_report  # needs no plotting before the check

    with pytest.raises(InputError, match="--prefix"):
        make_report(paths["scores"], None, output_dir=tmp_path / "figs", prefix="../../")


def _pytom_job(folder: Path, scene, **changes) -> Path:
    """A minimal pytom-match-pick job whose maps are the scene's."""
    write_map(folder / "s_scores.mrc", scene.scores, pixel_size=10.0)
    write_map(folder / "s_angles.mrc", scene.angle_map.astype(np.float32), pixel_size=10.0)
    np.savetxt(folder / "angles.txt", np.radians(scene.angles.angles), delimiter=" ")
    nz, ny, nx = scene.scores.shape
    job = {"output_dir": ".", "tomo_id": "s", "tomo_shape": [nx, ny, nz], "voxel_size": 10.0,
           "search_x": [0, nx], "search_y": [0, ny], "search_z": [0, nz], "particle_diameter": 80.0,
           "rotation_file": "angles.txt", "n_rotations": len(scene.angles.angles), "pytom_tm_version_number": "0.3.0",
           "job_stats": {"search_space": nx * ny * nz * 40, "std": 0.03}}
    job.update(changes)
    path = folder / "s_job.json"
    path.write_text(json.dumps(job))
    return path


@pytest.mark.parametrize("changes, words", [
    ({"tomo_id": "../pwn"}, ("tomogram name", "../pwn")),
    ({"search_x": [-1000, 64]}, ("search_x",)),
    ({"n_rotations": "many"}, ("n_rotations",)),
])
def test_pytom_job_values_are_checked(changes, words, tmp_path, files, capsys):
    scene, _ = files
    job = _pytom_job(tmp_path, scene, **changes)
    for command in (["extract-job", job, "-o", tmp_path / "picks/"],
                    ["batch", job, "-o", tmp_path / "out", "--progress", "off"]):
        status = main([str(a) for a in command])
        _one_line_error(capsys, status, *words)
    assert not (tmp_path / "pwn.star").exists() and not (tmp_path / "picks" / "pwn.star").exists()


def test_extract_job_writes_into_a_folder_given_with_a_slash(tmp_path, files, capsys):
    scene, _ = files
    job = _pytom_job(tmp_path, scene)
    assert main(["extract-job", str(job), "-o", f"{tmp_path / 'newpicks'}/", "--threshold", "sigma:3"]) == 0
    assert (tmp_path / "newpicks" / "s.star").is_file()


# -- what --overwrite replaces ------------------------------------------------------------
def test_overwrite_replaces_only_regular_files(tmp_path):
    fifo = tmp_path / "pipe.star"
    os.mkfifo(fifo)
    for target in (fifo, Path(os.devnull), tmp_path):
        with pytest.raises(InputError, match="not a regular file|is a folder"):
            check_writable(target, overwrite=True)
    assert Path(os.devnull).is_char_device() and fifo.is_fifo()


def test_an_ome_zarr_map_is_the_one_folder_overwrite_may_replace(tmp_path):
    store = tmp_path / "labels.zarr"
    store.mkdir()
    with pytest.raises(InputError, match="is a folder"):  # not a zarr store: an ordinary folder
        check_writable(store, overwrite=True)
    (store / ".zgroup").write_text("{}")
    with pytest.raises(InputError, match="output exists"):
        check_writable(store)
    assert check_writable(store, overwrite=True) == store


def test_a_file_created_during_the_write_is_not_replaced(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(InputError, match="output exists"):
        with atomic_path(target) as tmp:
            tmp.write_text("ours")
            target.write_text("theirs")  # another process, between the check and the rename
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_stale_temporary_files_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        stale = tmp_path / f".out.txt.{_HOST}-{dead.pid}.abc123.part"
        running = tmp_path / f".out.txt.{_HOST}-{alive.pid}.def456.part"
        other = tmp_path / f".out.txt.otherhost-{dead.pid}.ghi789.part"
        for path in (stale, running, other):
            path.write_text("x")
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("new")
        assert not stale.exists() and running.exists() and other.exists()
        assert clean_stale_parts(tmp_path / "out.txt") == []
    finally:
        alive.kill()
        alive.wait()


def test_an_output_set_is_placed_whole_or_not_at_all(tmp_path, monkeypatch):
    import cryotm._atomic as atomic

    (tmp_path / "b.txt").write_text("old b")
    real = atomic._place
    calls = []

    def failing(tmp, target, overwrite):
        calls.append(target.name)
        if target.name == "c.txt":
            raise OSError(28, "No space left on device", str(target))
        real(tmp, target, overwrite)

    monkeypatch.setattr(atomic, "_place", failing)
    with pytest.raises(OSError):
        with output_set():
            for name in ("a.txt", "b.txt", "c.txt"):
                with atomic_path(tmp_path / name, overwrite=True) as tmp:
                    tmp.write_text(f"new {name}")
    assert calls == ["a.txt", "b.txt", "c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"]
    assert (tmp_path / "b.txt").read_text() == "old b"


def test_distance_maps_are_written_as_a_set(tmp_path, files, monkeypatch):
    import cryotm._atomic as atomic
    from cryotm.angles import create_distance_maps

    scene, paths = files
    real = atomic._place

    def failing(tmp, target, overwrite):
        if "inplane" in target.name:
            raise OSError(27, "File too large", str(target))
        real(tmp, target, overwrite)

    monkeypatch.setattr(atomic, "_place", failing)
    with pytest.raises(OSError):
        create_distance_maps(paths["angles"], paths["angle_list"], output_base=tmp_path / "d")
    assert list(tmp_path.iterdir()) == []


def test_batch_refuses_a_second_batch_and_files_it_did_not_write(tmp_path, files):
    from cryotm.batch import run_batch
    from cryotm.batch.runner import batch_lock
    from cryotm.pipeline import Pipeline, TomogramInputs
    from cryotm.picking import PeakPicker

    _, paths = files
    out = tmp_path / "out"
    out.mkdir()
    tasks = [TomogramInputs("t1", paths["scores"], paths["angles"], paths["angle_list"])]
    pipeline = Pipeline(PeakPicker(particle_diameter=8), threshold="sigma:3", writer="relion4")
    with batch_lock(out):
        with pytest.raises(CryotmError, match="another batch is writing into this folder"):
            run_batch(pipeline, tasks, out, progress="off")
    (out / "t1.star").write_text("my own notes\n")
    (out / "merged.star").write_text("my merged list\n")
    summary = run_batch(pipeline, tasks, out, progress="off")
    assert summary.outcomes[0].status == "failed" and "not written by cryotm" in summary.outcomes[0].error
    assert "not written by cryotm" in summary.merge_error
    assert (out / "t1.star").read_text() == "my own notes\n" and (out / "merged.star").read_text() == "my merged list\n"
    (out / "t1.star").unlink()
    (out / "merged.star").unlink()
    assert run_batch(pipeline, tasks, out, progress="off").ok
    assert run_batch(pipeline, tasks, out, resume=False, progress="off").ok  # its own outputs it may replace


def test_batch_workers_end_with_a_killed_main_process(tmp_path):
    script = textwrap.dedent(f"""
        import concurrent.futures, os, sys, time
        from cryotm.batch.runner import _stop_with

        def work(path):
            print(os.getpid(), flush=True)
            time.sleep(20)
            open(path, "w").close()

        if __name__ == "__main__":
            with concurrent.futures.ProcessPoolExecutor(1, initializer=_stop_with, initargs=(os.getpid(),)) as pool:
                pool.submit(work, {str(tmp_path / 'late')!r})
                time.sleep(60)
    """)
    (tmp_path / "main.py").write_text(script)
    main_process = subprocess.Popen([sys.executable, str(tmp_path / "main.py")], stdout=subprocess.PIPE, text=True,
                                    env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    worker = int(main_process.stdout.readline())
    main_process.kill()
    main_process.wait()
    for _ in range(100):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        import time

        time.sleep(0.1)
    else:
        os.kill(worker, 9)
        pytest.fail("the worker outlived its batch by 10 s")
    assert not (tmp_path / "late").exists()


# -- likely mistakes: warnings that name the fix -------------------------------------------
def _warnings_of(argv, capsys):
    status = main([str(a) for a in argv])
    err = capsys.readouterr().err
    return status, [line for line in err.splitlines() if line.startswith("cryotm: warning:")]


def test_swapped_scores_and_angles_warn(tmp_path, files, capsys):
    scores, angles, angle_list = _maps(files)
    status, found = _warnings_of(["extract", angles, scores, angle_list, "-d", "8", "-o", tmp_path / "p.em"], capsys)
    assert status == 0 and len(found) == 1 and "SCORES and ANGLES swapped" in found[0]
    status, found = _warnings_of(["extract", scores, angles, angle_list, "-d", "8", "-o", tmp_path / "q.em"], capsys)
    assert status == 0 and found == []


def test_a_scores_map_of_whole_numbers_warns(tmp_path, files, capsys):
    scene, _ = files
    write_map(tmp_path / "int.mrc", np.round(scene.scores * 10).astype(np.int16))
    status, found = _warnings_of(["threshold", tmp_path / "int.mrc", "-t", "sigma:3"], capsys)
    assert status == 0 and len(found) == 1 and "only whole numbers" in found[0]


def test_wrong_angle_order_and_radians_warn(tmp_path, files, capsys):
    scores, angles, angle_list = _maps(files)
    _, found = _warnings_of(["extract", scores, angles, angle_list, "-d", "8", "-o", tmp_path / "a.em",
                             "--angles-order", "zzx"], capsys)
    assert len(found) == 1 and "--angles-order zxz" in found[0]
    radians = tmp_path / "rad.csv"
    np.savetxt(radians, np.radians(np.loadtxt(angle_list, delimiter=",")), delimiter=",")
    _, found = _warnings_of(["extract", scores, angles, radians, "-d", "8", "-o", tmp_path / "b.em"], capsys)
    assert len(found) == 1 and "radians" in found[0]


def test_a_diameter_in_angstrom_warns_or_fails(tmp_path, files, capsys):
    scores, angles, angle_list = _maps(files)
    status, found = _warnings_of(["extract", scores, angles, angle_list, "-d", "12", "-o", tmp_path / "a.em"], capsys)
    assert status == 0 and len(found) == 1 and "quarter of the map" in found[0] and "Angstrom" in found[0]
    status = main(["extract", scores, angles, angle_list, "-d", "1e12", "-o", str(tmp_path / "b.em")])
    _one_line_error(capsys, status, "larger than the map")
    assert not (tmp_path / "b.em").exists()


def test_particles_outside_the_tomogram_after_a_read_warn(tmp_path, files, capsys):
    from cryotm.formats import write_particles
    from cryotm.particles import ParticleList

    # a tomogram of x 40, y 36, z 32 voxels, with a particle near its x end
    write_particles(ParticleList.from_arrays(positions=np.array([[38.0, 5.0, 30.0], [3.0, 3.0, 3.0]])),
                    tmp_path / "p.em")
    _, found = _warnings_of(["convert", tmp_path / "p.em", tmp_path / "p.star", "--to", "relion5",
                             "--tomogram-size", "32", "36", "40", "--pixel-size", "10"], capsys)  # z y x given as x y z
    assert len(found) == 1 and "outside the tomogram" in found[0] and "--tomogram-size X Y Z" in found[0]
    _, found = _warnings_of(["convert", tmp_path / "p.em", tmp_path / "q.star", "--to", "relion5",
                             "--tomogram-shape", "32", "36", "40", "--pixel-size", "10"], capsys)
    assert found == []


# -- every number is checked where it enters -------------------------------------------------
@pytest.mark.parametrize("extra, words", [
    (["--pixel-size", "nan"], ("--pixel-size",)),
    (["--pixel-size", "-3"], ("--pixel-size",)),
    (["--tomo-id", "99999999999999999999"], ("--tomo-id",)),
    (["-t", "sigma:nan"], ("finite",)),
    (["-t", "sigma:inf"], ("finite",)),
    (["-t", "nan"], ("finite",)),
    (["--n-particles", "-1"], ("--n-particles",)),
])
def test_bad_numbers_on_the_command_line(extra, words, tmp_path, files, capsys):
    out = tmp_path / "p.star"
    status = main(["extract", *_maps(files), "-d", "8", "-o", str(out), "-f", "relion4", *extra])
    _one_line_error(capsys, status, *words)
    assert not out.exists()


@pytest.mark.parametrize("argv, words", [
    (["--size", "64", "--peaks", "500"], ("--peaks",)),
    (["--size", "100000"], ("--size",)),
    (["--peaks", "0"], ("--peaks",)),
    (["--peaks", "100000000"], ("--peaks",)),
])
def test_demo_sizes_are_checked_before_any_work(argv, words, tmp_path, capsys):
    status = main(["demo", str(tmp_path / "d"), *argv])
    _one_line_error(capsys, status, *words)
    assert not (tmp_path / "d" / "scores.mrc").exists()


def test_a_toml_with_a_bad_pixel_size_fails_at_load(tmp_path, files, capsys):
    _, paths = files
    config = tmp_path / "p.toml"
    config.write_text('[picker]\nparticle_diameter = 8\n[inputs]\npixel_size = "big"\n')
    table = tmp_path / "t.csv"
    table.write_text(f"name,scores,angles,angle_list\nt1,{paths['scores']},{paths['angles']},{paths['angle_list']}\n")
    status = main(["batch", str(table), "-o", str(tmp_path / "out"), "--config", str(config), "--progress", "off"])
    _one_line_error(capsys, status, "[inputs]", "pixel_size")
    assert not (tmp_path / "out").exists()


def test_extract_names_the_tomogram_for_relion5(tmp_path, files):
    import starfile

    scores, angles, angle_list = _maps(files)
    assert main(["extract", scores, angles, angle_list, "-d", "8", "-o", str(tmp_path / "a.star"), "-f", "relion5",
                 "-t", "sigma:3", "--tomo-name", "TS_01"]) == 0
    assert set(starfile.read(tmp_path / "a.star")["particles"]["rlnTomoName"].astype(str)) == {"TS_01"}
    from cryotm.batch.table import tomogram_name

    assert main(["extract", scores, angles, angle_list, "-d", "8", "-o", str(tmp_path / "b.star"), "-f", "relion5",
                 "-t", "sigma:3"]) == 0
    names = set(starfile.read(tmp_path / "b.star")["particles"]["rlnTomoName"].astype(str))
    assert names == {tomogram_name(Path(scores))} and names != {"scores"}


# -- one line instead of a traceback ---------------------------------------------------------
def test_bad_files_are_one_line_errors(tmp_path, files, capsys):
    scores, angles, angle_list = _maps(files)
    raw = bytearray(Path(scores).read_bytes())
    raw[0:4] = np.int32(-32).tobytes()
    (tmp_path / "neg.mrc").write_bytes(bytes(raw))
    _one_line_error(capsys, main(["info", str(tmp_path / "neg.mrc")]), "negative or impossible size")
    for text in ("", "\n  \n\n"):
        (tmp_path / "empty.csv").write_text(text)
        status = main(["extract", scores, angles, str(tmp_path / "empty.csv"), "-d", "8", "-o", str(tmp_path / "x.em")])
        _one_line_error(capsys, status, "empty")


def test_compare_with_nan_positions_is_an_error():
    from cryotm.evaluation import match_particles
    from cryotm.particles import ParticleList

    good = ParticleList.from_arrays(positions=np.array([[1.0, 2.0, 3.0]]))
    bad = ParticleList.from_arrays(positions=np.array([[1.0, np.nan, 3.0], [2.0, 2.0, 2.0]]))
    with pytest.raises(InputError, match="not finite"):
        match_particles(bad, good, tolerance=2)


def test_peak_shape_refuses_a_single_voxel_peak(tmp_path, capsys):
    zz, yy, xx = np.mgrid[:24, :24, :24]
    data = np.exp(-((xx - 12) ** 2 + (yy - 12) ** 2 + (zz - 12) ** 2) / (2 * 0.5**2)).astype(np.float32)
    data += np.random.default_rng(0).normal(0, 0.01, data.shape).astype(np.float32)
    write_map(tmp_path / "sharp.mrc", data)
    status = main(["peak-shape", str(tmp_path / "sharp.mrc"), "-t", "hard", "-l", "plane"])
    _one_line_error(capsys, status, "single voxel", "lower threshold")


# -- the whole command line, swept -------------------------------------------------------------
def _sweep_commands(files, particles: Path, out: Path) -> dict[str, list[str]]:
    """Every subcommand that writes a file, with OUT as that file."""
    scores, angles, angle_list = _maps(files)
    o = str(out)
    return {
        "extract": ["extract", scores, angles, angle_list, "-d", "8", "-o", o, "-f", "emmotl", "--overwrite"],
        "select": ["select", scores, angles, angle_list, "-o", o, "--format", "emmotl", "--template-radius", "3",
                   "--overwrite"],
        "convert": ["convert", str(particles), o, "--to", "emmotl", "--overwrite"],
        "merge": ["merge", str(particles), str(particles), "-o", o, "--to", "emmotl", "--overwrite"],
        "compare": ["compare", str(particles), str(particles), "--tolerance", "2", "--json", o, "--overwrite"],
        "distance-maps": ["distance-maps", angles, angle_list, "-o", o, "--overwrite"],
        "peak-shape": ["peak-shape", scores, "-t", "triangle", "-o", o, "--overwrite"],
        "project": ["project", str(particles), str(particles.parent / "no-alignment.star"), "-o",
                    o if o.endswith((".csv", ".tsv")) else f"{o}.csv", "--overwrite"],
        "mask-beads": ["mask-beads", scores, "-o", o,
                       "--bead-radius", "2", "-d", "8", "--overwrite"],
    }


def _folder_commands(files, out: Path, job: Path) -> dict[str, list[str]]:
    """Every subcommand that writes into a folder, with OUT as that folder."""
    scores, _, angle_list = _maps(files)
    return {
        "batch": ["batch", str(job), "-o", str(out), "--progress", "off"],
        "extract-job": ["extract-job", str(job), "-o", f"{out}/"],
        "report": ["report", scores, "-o", str(out), "--n-angles", "40"],
        "demo": ["demo", str(out), "--size", "32", "--peaks", "1"],
    }


def _check_one_line(result, what):
    """Exit 1, no traceback, and exactly one error line, the last (batch may say first what it took from a job)."""
    assert "Traceback" not in result.stderr, (what, result.stderr)
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("cryotm: error:")]
    assert result.returncode == 1 and len(errors) == 1 and lines[-1] == errors[0], (what, result.stderr)


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in: permission bits for a user, /sys (sysfs) for root."""
    if os.geteuid() != 0:
        folder = tmp_path / "readonly"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if os.access("/sys", os.F_OK) and not _can_create_in(Path("/sys")):
        return Path("/sys")
    pytest.skip("running as root without a read-only folder to test with")


def _can_create_in(folder: Path) -> bool:
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _in_process(argv, capsys):
    """Run the command line here (an uncaught exception - a traceback - fails the test by itself)."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(argv, status, captured.out, captured.err)


def test_sweep_every_output_a_folder_an_unwritable_place_and_a_file_in_the_way(tmp_path, files, capsys):
    """Each subcommand that writes: OUT is a folder, in an unwritable folder, or under a file (disk-level
    errors - read-only, full, file size limit - are the same OS error path, see the next test). One error line
    on stderr, exit 1, no traceback, nothing written."""
    scores, angles, angle_list = _maps(files)
    particles = tmp_path / "p.em"
    assert main(["extract", scores, angles, angle_list, "-d", "8", "-o", str(particles), "-t", "sigma:3"]) == 0
    scene, _ = files
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    job = _pytom_job(jobdir, scene)
    a_folder = tmp_path / "taken"
    a_folder.mkdir()
    a_file = tmp_path / "plainfile"
    a_file.write_text("x")
    unwritable = _unwritable_folder(tmp_path)
    for name, argv in _sweep_commands(files, particles, a_folder).items():
        if name == "distance-maps":
            continue  # its -o is a base of names (BASE_dist_all.em ...), so a folder is a fine prefix
        _check_one_line(_in_process(argv, capsys), (name, "output is a folder"))
    for place in (unwritable / "out.em", a_file / "out.em"):
        for name, argv in _sweep_commands(files, particles, place).items():
            _check_one_line(_in_process(argv, capsys), (name, str(place)))
    for place in (a_file, unwritable / "outdir", a_file / "outdir"):
        for name, argv in _folder_commands(files, place, job).items():
            _check_one_line(_in_process(argv, capsys), (name, str(place)))
    assert a_file.read_text() == "x" and list(a_folder.iterdir()) == []
    # every subcommand is swept here or, if it only prints, for a broken pipe in the next test
    from cryotm.cli import COMMANDS

    swept = set(_sweep_commands(files, particles, a_folder)) | set(_folder_commands(files, a_folder, job))
    assert set(COMMANDS) - swept == {"threshold", "info", "plugins"}


def test_sweep_a_broken_pipe_and_a_file_size_limit(tmp_path, files):
    """Output to a closed pipe ends quietly (status 141, nothing on stderr); a write beyond ``ulimit -f`` (the
    same OS-error path as a full disk) is one line naming the reason."""
    import resource

    scores, angles, angle_list = _maps(files)
    particles = tmp_path / "p.em"
    assert main(["extract", scores, angles, angle_list, "-d", "8", "-o", str(particles), "-t", "sigma:3"]) == 0
    printing = {
        "threshold": ["threshold", scores, "-t", "sigma:3", "-t", "triangle", "-t", "gauss"],
        "info": ["info", scores, angles, scores, angles],
        "compare": ["compare", particles, particles, "--tolerance", "2"],
        "plugins": ["plugins"],
    }  # every command prints through the same main(); these print the most or only print
    for name, argv in printing.items():
        process = subprocess.Popen([sys.executable, "-m", "cryotm", *map(str, argv)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        process.stdout.close()  # the reader is gone, as with `| head -0`
        err = process.stderr.read()
        status = process.wait()
        assert "Traceback" not in err and err.strip() == "", (name, err)
        assert status in (0, 141), (name, status)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))

    result = _run("extract", scores, angles, angle_list, "-d", "2", "-o", tmp_path / "big.star", "-f", "relion4",
                  "-t", "sigma:1", "--pixel-size", "10", preexec_fn=limit)
    _check_one_line(result, "ulimit -f")
    assert "File too large" in result.stderr
    assert not (tmp_path / "big.star").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


# -- peak-shape: the plane labeler on cryoCAT's tutorial map, checked by hand ---------------------
REAL = Path(__file__).parent / "data" / "real"


def test_plane_sizes_on_cryocats_tutorial_map_are_the_moment_ellipses_by_hand():
    """cryotm's plane sizes differ from cryoCAT's (up to 1.7 voxels in y and z) on this map; computed here by hand
    from each central plane's covariance (numpy, not scikit-image), they are cryotm's: cryoCAT gives each
    ellipse's major axis to an in-plane axis by the sign of its orientation, not by which axis it is nearer."""
    from skimage import measure

    from cryotm.maps import ScoresMap
    from cryotm.peakshape import evaluate_peak_shape

    path = REAL / "cryocat_id_0_scores.em"
    result = evaluate_peak_shape(path, threshold="gauss", labeler="plane")
    data = ScoresMap.read(path).data
    above = data > result.threshold
    z, y, x = result.peak_zyx
    lengths: dict[str, list[float]] = {"x": [], "y": [], "z": []}
    for plane, (rows, cols), peak in ((above[z], ("y", "x"), (y, x)), (above[:, :, x], ("z", "y"), (z, y)),
                                      (above[:, y, :], ("z", "x"), (z, x))):
        labels = measure.label(plane, connectivity=1)
        r, c = np.nonzero(labels == labels[peak])
        values, vectors = np.linalg.eigh(np.cov(np.vstack([r, c]), bias=True))
        minor, major = 4 * np.sqrt(values)  # full axes of the ellipse with the component's second moments
        major_on_rows = abs(vectors[0, 1]) >= abs(vectors[1, 1])
        lengths[rows].append(major if major_on_rows else minor)
        lengths[cols].append(minor if major_on_rows else major)
    by_hand = [np.mean(lengths[a]) for a in "xyz"]
    np.testing.assert_allclose(result.sizes, by_hand, atol=1e-6)
    # and the three labelers agree on the order of the axes (x < y < z), as cryoCAT's plane sizes do not
    ellipsoid = evaluate_peak_shape(path, threshold="gauss", labeler="ellipsoid").sizes
    assert np.argsort(result.sizes).tolist() == np.argsort(ellipsoid).tolist() == [0, 1, 2]


def test_cryocats_plane_sizes_differ_only_in_which_axis_gets_which_ellipse_axis():
    cryocat = pytest.importorskip("cryocat.tmana")
    from cryocat import cryomap

    from cryotm.peakshape import evaluate_peak_shape

    path = REAL / "cryocat_id_0_scores.em"
    ours = evaluate_peak_shape(path, threshold="gauss", labeler="plane")
    their_map = cryomap.read(str(path))  # x, y, z order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, theirs = cryocat.get_central_plane_labels(their_map * (their_map > ours.threshold), ours.peak_xyz)
        _, their_ellipsoid, *_ = cryocat.evaluate_scores_map(their_map, label_type="ellipsoid", threshold_type="gauss")
    ellipsoid = evaluate_peak_shape(path, threshold="gauss", labeler="ellipsoid").sizes
    np.testing.assert_allclose(ellipsoid, their_ellipsoid, atol=0.05)  # the ellipsoid agrees
    # at the same threshold: the same six ellipse axes (same total), given to other coordinate axes
    assert sum(ours.sizes) == pytest.approx(sum(float(v) for v in theirs), abs=1e-9)
    assert np.abs(np.subtract(ours.sizes, theirs)).max() > 1.0
    assert theirs[1] > theirs[2] and ours.sizes.y < ours.sizes.z  # theirs put y above z, against the ellipsoid


def test_extract_job_refuses_two_tomograms_of_one_name(tmp_path, capsys):
    """A STOPGAP parameter file whose rows name the same tomogram: one output would replace the other."""
    import pandas as pd
    import starfile

    root = tmp_path / "tm"
    for sub in ("params", "lists", "maps"):
        (root / sub).mkdir(parents=True)
    rows = []
    for tomo_num in (3, 4):
        scene = make_scene(shape=(24, 24, 24), n_peaks=1, n_angles=20, seed=tomo_num, index_base=1)
        write_map(root / "maps" / f"smap_{tomo_num}.em", scene.scores)
        write_map(root / "maps" / f"omap_{tomo_num}.em", scene.angle_map)
        rows.append({
            "rootdir": os.fspath(root) + "/", "listdir": "lists", "mapdir": "maps", "tomo_name": "same.rec",
            "tomo_num": tomo_num, "tomo_mask_name": "none", "tlist_name": "tlist.star", "smap_name": "smap",
            "omap_name": "omap", "tmap_name": "tmap", "binning": 8,
        })
    scene.angles.write(root / "lists" / "anglist.csv", order="zzx")
    starfile.write({"stopgap_tm_parameters": pd.DataFrame(rows)}, root / "params" / "tm_param.star")
    tlist = pd.DataFrame([{"tmpl_name": "ref.mrc", "mask_name": "mask.mrc", "symmetry": "C1",
                           "anglist_name": "anglist.csv"}])
    starfile.write({"sg_tm_template_list": tlist}, root / "lists" / "tlist.star")
    status = main(["extract-job", str(root / "params" / "tm_param.star"), "-o", str(tmp_path / "out"),
                   "--diameter", "6", "--threshold", "sigma:3"])
    _one_line_error(capsys, status, "two tomograms are named 'same'")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
