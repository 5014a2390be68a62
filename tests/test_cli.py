"""The command line: help on every subcommand, --version, one-line errors without traceback."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import cryotm
from cryotm.cli import COMMANDS, build_parser, main
from cryotm.maps import write_map


def _run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "cryotm", *args], capture_output=True, text=True, cwd=cwd, stdin=subprocess.DEVNULL
    )


def test_version():
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"cryotm {cryotm.__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: cryotm {command}" in capsys.readouterr().out


def test_all_commands_are_listed_in_main_help():
    text = build_parser().format_help()
    for command in COMMANDS:
        assert command in text


def test_user_error_is_one_line_and_exit_1(tmp_path):
    result = _run("info", str(tmp_path / "missing.mrc"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"cryotm: error: {tmp_path / 'missing.mrc'}: no such file"
    assert "Traceback" not in result.stderr


def test_non_finite_scores_are_a_one_line_error_and_nothing_is_written(tmp_path, scene):
    paths = scene.write(tmp_path)
    data = scene.scores.copy()
    data[5, 6, 7] = np.nan
    write_map(paths["scores"], data, overwrite=True)
    out = tmp_path / "picks.em"
    result = _run("extract", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]),
                  "--diameter", "10", "-o", str(out))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"cryotm: error: {paths['scores']}: scores map has a non-finite value")
    assert "z=5, y=6, x=7" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".picks.em*"))


def test_demo_writes_the_scene_and_finds_every_planted_particle(tmp_path):
    from cryotm.evaluation import match_particles
    from cryotm.formats import read_particles

    result = _run("demo", str(tmp_path / "demo"), "--size", "64", "--peaks", "12")
    assert result.returncode == 0, result.stderr
    assert "recall 1.000" in result.stdout  # the default rule declares one noise peak per tomogram
    truth = cryotm.ParticleList(__import__("pandas").read_csv(tmp_path / "demo" / "truth.csv"))
    assert len(truth) == 12
    for name, options in (("particles.em", {}), ("particles.star", {"tomogram_shape": (64, 64, 64)})):
        picks = read_particles(tmp_path / "demo" / name, **options)
        match = match_particles(picks, truth, tolerance=0.5)
        assert match.recall == 1.0 and match.n_picks - match.true_positives <= 2, name
        assert np.max(match.angular_errors) < 0.01, name
    # a second demo into the same folder refuses to overwrite, unless asked
    again = _run("demo", str(tmp_path / "demo"), "--size", "64", "--peaks", "12")
    assert again.returncode == 1 and "exists" in again.stderr
    assert _run("demo", str(tmp_path / "demo"), "--size", "64", "--peaks", "12", "--overwrite").returncode == 0


def test_usage_error_exits_2():
    result = _run("info")
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_info_describes_a_map(tmp_path, capsys):
    write_map(tmp_path / "m.mrc", np.arange(24, dtype=np.float32).reshape(2, 3, 4), pixel_size=4.5)
    assert main(["info", str(tmp_path / "m.mrc")]) == 0
    out = capsys.readouterr().out
    assert "shape (z, y, x) (2, 3, 4), float32, pixel size 4.5 A, min 0, max 23, mean 11.5" in out
