"""One command-line vocabulary: the same flags for the same things, old spellings kept, usage errors per subcommand."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cryotm
from cryotm.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _visible_flags(sub):
    return {
        action.dest: action
        for action in sub._actions
        if action.option_strings and action.help != argparse.SUPPRESS and action.dest != "help"
    }


# The shared vocabulary (docs/guide/command-line.rst): each flag, wherever it appears, is spelled alike.
SHARED = {
    "diameter": ["-d", "--diameter"],
    "threshold": ["-t", "--threshold"],
    "n_particles": ["-n", "--n-particles"],
    "symmetry": ["--symmetry"],
    "mask": ["--mask"],
    "angles_order": ["--angles-order"],
    "index_base": ["--index-base"],
    "overwrite": ["--overwrite"],
    "pixel_size": ["--pixel-size"],
    "edge_margin": ["--edge-margin"],
    "tomo_id": ["--tomo-id"],
    "template_size": ["--template-size"],
}


def test_shared_flags_are_spelled_alike_everywhere():
    seen = {dest: [] for dest in SHARED}
    for name, sub in _subparsers().items():
        for dest, action in _visible_flags(sub).items():
            if dest in SHARED:
                assert action.option_strings == SHARED[dest], (name, dest, action.option_strings)
                seen[dest].append(name)
            if dest == "format":
                assert action.option_strings == ["-f", "--format"], (name, action.option_strings)
            if dest == "to_format":
                assert "-f" in action.option_strings and "--format" in action.option_strings, name
    assert {"extract", "batch", "extract-job"} <= set(seen["diameter"])
    assert {"extract", "select", "batch", "threshold", "peak-shape", "report"} <= set(seen["threshold"])
    assert {"extract", "select", "distance-maps", "compare"} <= set(seen["symmetry"])
    assert set(seen["template_size"]) == {"extract-job", "batch"}
    helps = {(a.help, a.nargs, a.type, a.default) for name in seen["template_size"]
             for a in [_visible_flags(_subparsers()[name])["template_size"]]}
    assert len(helps) == 1, helps  # one flag, one meaning: the same help, arity, type and default


def test_metavars_and_defaults_of_shared_flags_agree():
    metavars, defaults = {}, {}
    for name, sub in _subparsers().items():
        for dest in ("symmetry", "mask", "angles_order", "index_base"):
            action = _visible_flags(sub).get(dest)
            if action is None:
                continue
            metavars.setdefault(dest, set()).add(action.metavar)
            if name not in ("batch", "extract-job"):  # their defaults come from the config, the job or the table
                defaults.setdefault(dest, set()).add(action.default)
    assert metavars == {"symmetry": {"cN"}, "mask": {"MAP"}, "angles_order": {None}, "index_base": {None}}
    assert defaults == {"symmetry": {"c1"}, "angles_order": {"zxz"}, "index_base": {0}, "mask": {None}}


@pytest.mark.parametrize("text", ["3", "c3", "C3"])
def test_symmetry_is_read_alike_in_extract_and_select(text):
    subs = _subparsers()
    assert subs["extract"].parse_args(["s", "a", "l", "-d", "8", "-o", "o.star", "--symmetry", text]).symmetry == "c3"
    assert subs["select"].parse_args(["s", "a", "l", "-o", "o.star", "--symmetry", text]).symmetry == "c3"


def test_old_spellings_are_still_accepted():
    subs = _subparsers()
    args = subs["select"].parse_args(["s", "a", "l", "-o", "o.star", "--peak-number", "5"])
    assert args.n_particles == 5
    assert subs["select"].parse_args(["s", "a", "l", "-o", "o.star", "-n", "6"]).n_particles == 6
    assert subs["convert"].parse_args(["a.em", "b.star", "--to", "relion4"]).to_format == "relion4"
    assert subs["convert"].parse_args(["a.em", "b.star", "-f", "relion4"]).to_format == "relion4"
    assert subs["report"].parse_args(["r.json", "-o", "d", "--thresholds", "far,sigma:3"]).thresholds == "far,sigma:3"


def test_a_bad_symmetry_is_a_usage_error_of_the_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["select", "s", "a", "l", "-o", "o.star", "--symmetry", "d2"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: cryotm select")
    assert "argument --symmetry: symmetry 'd2' is not supported" in err


def test_an_unknown_option_prints_the_subcommands_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", "s", "a", "l", "-d", "8", "-o", "o.star", "--nonsense"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: cryotm extract")
    assert "cryotm extract: error: unrecognized arguments: --nonsense" in err


def test_messages_name_flags(tmp_path, capsys):
    cryotm.write_map(tmp_path / "s.mrc", np.zeros((4, 4, 4), np.float32))
    (tmp_path / "out.mrc").write_text("")
    assert main(["threshold", str(tmp_path / "s.mrc"), "-t", "far"]) == 1
    err = capsys.readouterr().err
    assert "--angle-list" in err and "--n-angles" in err
    assert main(["peak-shape", str(tmp_path / "s.mrc"), "-o", str(tmp_path / "out.mrc")]) == 1
    err = capsys.readouterr().err
    assert "give --overwrite to replace it" in err and "overwrite=True" not in err.split("(")[0]


def _fresh_python(code: str, **env: str) -> str:
    """stdout of `code` run by a fresh interpreter with this tree first on the path."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "", **env}, check=True)
    return done.stdout


def test_help_and_version_load_no_numpy_pandas_or_scipy():
    code = (
        "import sys\n"
        "from cryotm.cli import COMMANDS, main\n"
        "for argv in (['--version'], ['--help'], *([c, '--help'] for c in COMMANDS)):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "import cryotm\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'lmfit', 'skimage') if m in sys.modules))\n"
    )
    assert _fresh_python(code).strip().splitlines()[-1] == "[]"


def test_import_cryotm_is_lazy_and_names_still_resolve():
    code = (
        "import sys, cryotm\n"
        "before = 'numpy' in sys.modules\n"
        "cls = cryotm.ScoresMap\n"
        "print(before, 'numpy' in sys.modules, cls.__name__, 'ScoresMap' in dir(cryotm))\n"
    )
    assert _fresh_python(code).split() == ["False", "True", "ScoresMap", "True"]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cryotm.nope  # noqa: B018


def test_lmfit_skimage_and_heavy_scipy_load_only_where_used():
    code = (
        "import sys\n"
        "import cryotm.thresholds, cryotm.labeling, cryotm.picking, cryotm.formats, cryotm.plugins, cryotm.cli\n"
        "cryotm.plugins.get_plugin_manager()\n"
        "heavy = ('lmfit', 'skimage', 'scipy.signal', 'scipy.optimize', 'scipy.stats')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    assert _fresh_python(code, CRYOTM_DISABLE_PLUGIN_AUTOLOAD="1").strip() == "[]"


def test_picker_messages_name_the_flags(tmp_path, capsys):
    maps = [str(tmp_path / n) for n in ("s.mrc", "a.mrc", "l.csv")]
    assert main(["extract", *maps, "-d", "-3", "-o", str(tmp_path / "x.em")]) == 1
    assert capsys.readouterr().err == "cryotm: error: --diameter must be a positive number, got -3.0\n"
    assert main(["extract", *maps, "-d", "3", "-n", "-2", "-o", str(tmp_path / "x.em")]) == 1
    assert capsys.readouterr().err == "cryotm: error: --n-particles must be a whole number >= 0, got -2\n"
    # the filter options shared with batch and extract-job are named by their flags too
    assert main(["extract", *maps, "-d", "3", "--side-peak-filter", "--side-peak-fraction", "-1",
                 "-o", str(tmp_path / "x.em")]) == 1
    assert capsys.readouterr().err == "cryotm: error: --side-peak-fraction must be a positive number, got -1.0\n"
    assert main(["extract", *maps, "-d", "3", "--tophat-filter", "--tophat-fraction", "-2",
                 "-o", str(tmp_path / "x.em")]) == 1
    assert capsys.readouterr().err == "cryotm: error: --tophat-fraction must be a positive number, got -2.0\n"
