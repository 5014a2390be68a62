"""A third-party plugin written from the docs (tests/plugin_dist), installed through its entry point.

The distribution is made installed the way pip leaves it: a ``*.dist-info`` with
``entry_points.txt`` on ``sys.path``. Its threshold, labeler and format must work
from ``extract``, ``batch`` (TOML config), ``Pipeline`` and ``peak-shape`` with
the same results; installed next to a broken, a duplicate and a misspelled plugin,
it and every built-in keep working and ``cryotm plugins`` names each failure.
"""

from __future__ import annotations

import importlib
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

import cryotm
from cryotm.cli import main
from cryotm.formats import read_particles
from cryotm.picking import PeakPicker
from cryotm.pipeline import Pipeline
from cryotm.plugins import failed_plugins, reset_plugin_manager
from cryotm.testing import assert_round_trip
from cryotm.thresholds import get_threshold_strategy

DIST = Path(__file__).parent / "plugin_dist"


def _dist_info(site: Path, dist: str, entry: str, module: str, version: str = "0.3.0") -> None:
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[cryotm]\n{entry} = {module}\n")
    (info / "RECORD").write_text("")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site folder on sys.path with the demo plugin installed (entry point ``demo``)."""
    site = tmp_path / "site"
    site.mkdir()
    _dist_info(site, "cryotm-demo-plugin", "demo", "cryotm_demo_plugin")
    monkeypatch.syspath_prepend(str(DIST))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("CRYOTM_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("CRYOTM_BLOCK_PLUGINS", raising=False)
    reset_plugin_manager()
    yield site
    reset_plugin_manager()


@pytest.fixture
def scene_files(tmp_path):
    scene = cryotm.make_scene(shape=(40, 48, 56), n_peaks=8, n_angles=60, seed=5, min_distance=12)
    return scene, scene.write(tmp_path / "scene")


def _positions(particles):
    return particles.positions[np.lexsort(particles.positions.T)]


def test_the_threshold_gives_the_same_particles_in_extract_pipeline_and_batch(site, scene_files, tmp_path):
    scene, paths = scene_files
    expected_value = float(np.percentile(scene.scores, 99.5))
    strategy = get_threshold_strategy("percentile:99.5")
    assert type(strategy).__module__ == "cryotm_demo_plugin"
    assert strategy.compute(scene.scores) == pytest.approx(expected_value)

    out = tmp_path / "extract.xyz"
    assert main(["extract", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "-d", "10",
                 "-t", "percentile:99.5", "-o", str(out), "-q"]) == 0
    from_cli = read_particles(out)  # the .xyz reader is found by its header
    assert len(from_cli) > 0

    picked = Pipeline(PeakPicker(particle_diameter=10), threshold="percentile:99.5").pick(
        paths["scores"], paths["angles"], paths["angle_list"])
    assert picked.threshold.value == pytest.approx(expected_value)
    np.testing.assert_allclose(_positions(from_cli), _positions(picked.particles), atol=1e-4)

    config = tmp_path / "pipeline.toml"
    config.write_text('[threshold]\nname = "percentile"\npercentile = 99.5\n'
                      '[picker]\nparticle_diameter = 10\n[writer]\nformat = "xyz"\n')
    table = tmp_path / "tomos.csv"
    table.write_text(f"name,scores,angles,angle_list\nt1,{paths['scores']},{paths['angles']},{paths['angle_list']}\n")
    assert main(["batch", str(table), "-o", str(tmp_path / "batch"), "--config", str(config),
                 "--progress", "off", "--no-merged"]) == 0
    from_batch = read_particles(tmp_path / "batch" / "t1.xyz")
    np.testing.assert_allclose(_positions(from_batch), _positions(from_cli), atol=1e-4)


def test_a_bad_value_of_the_plugins_parameter_is_one_line(site, scene_files, tmp_path, capsys):
    _, paths = scene_files
    status = main(["extract", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "-d", "10",
                   "-t", "percentile:250", "-o", str(tmp_path / "x.xyz")])
    err = capsys.readouterr().err
    assert status == 1
    assert err.strip().splitlines() == [
        "cryotm: error: bad parameters for threshold 'percentile': percentile must be within 0..100, got 250.0"
    ]


def test_the_labeler_from_python_and_the_command_line(site, tmp_path, capsys):
    zz, yy, xx = np.mgrid[:32, :32, :32]
    peak = np.exp(-((xx - 16) ** 2 / 18 + (yy - 16) ** 2 / 8 + (zz - 16) ** 2 / 32)).astype(np.float32)
    from cryotm.peakshape import evaluate_peak_shape

    sizes = evaluate_peak_shape(peak, threshold="hard", labeler="box").sizes
    assert (sizes.x, sizes.y, sizes.z) == (7.0, 5.0, 9.0)
    cryotm.write_map(tmp_path / "peak.mrc", peak)
    assert main(["peak-shape", str(tmp_path / "peak.mrc"), "-t", "hard", "-l", "box"]) == 0
    assert "box size (voxels): x 7.00, y 5.00, z 9.00" in capsys.readouterr().out


def test_the_format_round_trips_and_converts(site, tmp_path):
    back = assert_round_trip("xyz", tmp_path, position_tolerance=1e-5, angle_tolerance=1e-3)
    assert len(back) == 5
    # convert: a built-in format in, the plugin's out, detected on the way back
    source = tmp_path / "in.csv"
    cryotm.testing.example_particles(4).data.to_csv(source, index=False)
    assert main(["convert", str(source), str(tmp_path / "out.xyz")]) == 0
    assert (tmp_path / "out.xyz").read_text().splitlines()[0] == "# cryotm-xyz x y z phi theta psi score tomo_id"
    assert len(read_particles(tmp_path / "out.xyz")) == 4


BROKEN = "raise ImportError('needs numpy 99')\n"
DUPLICATE = """
    import attrs
    from cryotm.extend import ThresholdStrategy, hookimpl

    @attrs.define
    class Other(ThresholdStrategy):
        name = "percentile"
        def compute(self, scores, mask=None, statistics=None):
            return 0.0

    @hookimpl
    def cryotm_threshold_strategies():
        return [Other]
"""
MISSPELLED = """
    from cryotm.extend import hookimpl

    @hookimpl
    def cryotm_threshold_strategy():
        return []
"""


def test_broken_duplicate_and_misspelled_plugins_installed_together(site, scene_files, tmp_path, capsys):
    for dist, module, source in (("cryotm-broken", "zz_broken", BROKEN), ("cryotm-dup", "zz_dup", DUPLICATE),
                                 ("cryotm-typo", "zz_typo", MISSPELLED)):
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        _dist_info(site, dist, module, module, version="1.0")
    importlib.invalidate_caches()
    reset_plugin_manager()  # installed after the scene was written (which built the manager)
    with pytest.warns(cryotm.errors.PluginWarning) as caught:
        failed = {f.name: f.error for f in failed_plugins()}
    assert len(caught) == 3
    assert failed["zz_broken"] == "ImportError: needs numpy 99"
    assert failed["zz_dup"].startswith("duplicate threshold name 'percentile': plugin 'demo' contributes it already")
    assert failed["zz_typo"] == "'cryotm_threshold_strategy' is not a cryotm hook (did you mean 'cryotm_threshold_strategies'?)"

    # the good plugin and every built-in still work
    scene, paths = scene_files
    assert get_threshold_strategy("percentile:99").compute(scene.scores) == pytest.approx(np.percentile(scene.scores, 99))
    assert get_threshold_strategy("sigma:3").k == 3.0
    out = tmp_path / "p.star"
    assert main(["extract", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "-d", "10",
                 "-t", "sigma:3", "-o", str(out), "-f", "relion4", "--pixel-size", "10", "-q"]) == 0

    capsys.readouterr()
    assert main(["plugins"]) == 1
    out = capsys.readouterr().out
    assert "demo 0.3.0 (plugin)" in out and "threshold: percentile" in out
    assert "FAILED zz_broken (cryotm-broken 1.0): ImportError: needs numpy 99" in out
    assert "FAILED zz_dup (cryotm-dup 1.0): duplicate threshold name 'percentile'" in out
    assert "FAILED zz_typo (cryotm-typo 1.0): 'cryotm_threshold_strategy' is not a cryotm hook" in out
    assert "Traceback" not in out


def test_a_plugin_is_blocked_by_name(site, monkeypatch, capsys):
    assert main(["-p", "no:demo", "plugins"]) == 0
    assert "demo" not in capsys.readouterr().out
    reset_plugin_manager()
    monkeypatch.setenv("CRYOTM_BLOCK_PLUGINS", "other, demo")
    with pytest.raises(cryotm.CryotmError, match="unknown threshold 'percentile'"):
        get_threshold_strategy("percentile")
    monkeypatch.delenv("CRYOTM_BLOCK_PLUGINS")
    reset_plugin_manager()
    assert get_threshold_strategy("percentile").percentile == 99.9


def test_the_testing_sketch_in_the_docs_runs(site, tmp_path, capsys):
    """The "Testing a plugin" code block of docs/plugins.rst, run against the demo plugin."""
    text = (Path(__file__).parents[1] / "docs" / "plugins.rst").read_text()
    section = text[text.index("Testing a plugin\n"):]
    block = section[section.index(".. code-block:: python"):].split("\n\n", 1)[1]
    code = textwrap.dedent(block.split("\nTo check the installed package")[0])
    namespace: dict = {}
    exec(compile(code, "docs/plugins.rst", "exec"), namespace)
    tests = [name for name in namespace if name.startswith("test_")]
    assert tests == ["test_strategy_by_name", "test_format_round_trip"]
    namespace["test_strategy_by_name"](tmp_path, capsys)
    namespace["test_format_round_trip"](tmp_path)


def test_the_sketch_in_the_docs_installs_for_real():
    """The pyproject of the demo names the entry point the tests give it (so `pip install` works the same)."""
    text = (DIST / "pyproject.toml").read_text()
    assert '[project.entry-points.cryotm]\ndemo = "cryotm_demo_plugin"' in text
    assert os.path.isfile(DIST / "cryotm_demo_plugin" / "__init__.py")
