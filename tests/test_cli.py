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


def test_non_finite_map_is_a_one_line_error(tmp_path):
    data = np.zeros((3, 3, 3), np.float32)
    data[0, 0, 0] = np.inf
    write_map(tmp_path / "inf.mrc", data)
    result = _run("info", str(tmp_path / "inf.mrc"))
    assert result.returncode == 0  # info describes any map; ScoresMap rejects it:
    with pytest.raises(cryotm.InputError, match="non-finite"):
        cryotm.ScoresMap.read(tmp_path / "inf.mrc")


def test_usage_error_exits_2():
    result = _run("info")
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_info_describes_a_map(tmp_path, capsys):
    write_map(tmp_path / "m.mrc", np.arange(24, dtype=np.float32).reshape(2, 3, 4), pixel_size=4.5)
    assert main(["info", str(tmp_path / "m.mrc")]) == 0
    out = capsys.readouterr().out
    assert "shape (z, y, x) (2, 3, 4), float32, pixel size 4.5 A, min 0, max 23, mean 11.5" in out
