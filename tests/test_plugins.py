"""The plugin manager: built-ins through the hooks, entry points, pm.register, failures."""

from __future__ import annotations

import textwrap

import attrs
import pytest

import cryotm
from cryotm.cli import main
from cryotm.errors import CryotmError, PluginError
from cryotm.plugins import contributions, failed_plugins, lookup, plugin_infos
from cryotm.thresholds import ThresholdStrategy, get_threshold_strategy


def _install_fake_distribution(root, dist_name, module_name, module_source, entry_name=None):
    """Make a real, importable distribution with a `cryotm` entry point under `root`."""
    entry_name = entry_name or module_name
    (root / f"{module_name}.py").write_text(textwrap.dedent(module_source))
    info = root / f"{dist_name}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[cryotm]\n{entry_name} = {module_name}\n")
    (info / "RECORD").write_text("")


PLUGIN_SOURCE = """
    import attrs
    import cryotm
    from cryotm.thresholds import ThresholdStrategy

    @attrs.define
    class Quantile(ThresholdStrategy):
        name = "quantile_demo"
        primary_parameter = "q"
        q: float = 0.99

        def compute(self, scores, mask=None, statistics=None):
            import numpy as np
            return float(np.quantile(np.asarray(scores.data if hasattr(scores, "data") else scores), self.q))

    @cryotm.hookimpl
    def cryotm_threshold_strategies():
        return [Quantile]
"""


def test_builtins_are_registered_through_the_hooks(fresh_plugins):
    infos = {info.name: info for info in plugin_infos()}
    assert infos["cryotm.thresholds.builtin"].builtin
    assert {"manual", "sigma"} <= set(infos["cryotm.thresholds.builtin"].provides["threshold"])
    assert infos["cryotm.maps.builtin"].provides["map format"] == ["mrc", "em", "zarr"]
    assert infos["cryotm.thresholds.builtin"].version == cryotm.__version__


def test_entry_point_plugin_is_found_and_used(tmp_path, monkeypatch, fresh_plugins, capsys):
    _install_fake_distribution(tmp_path, "cryotm_quantile_demo", "cryotm_quantile_demo", PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("CRYOTM_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    strategy = get_threshold_strategy("quantile_demo:0.5")
    assert strategy.compute(cryotm.ScoresMap.from_array([[[1.0, 2.0, 3.0]]])) == 2.0
    assert contributions("cryotm_threshold_strategies")["quantile_demo"].plugin == "cryotm_quantile_demo"

    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "cryotm_quantile_demo 1.2.3 (plugin)" in out
    assert "threshold: quantile_demo" in out


def test_autoload_can_be_switched_off(tmp_path, monkeypatch, fresh_plugins):
    _install_fake_distribution(tmp_path, "cryotm_quantile_demo", "cryotm_quantile_demo", PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("CRYOTM_DISABLE_PLUGIN_AUTOLOAD", "1")
    with pytest.raises(CryotmError, match="unknown threshold 'quantile_demo'"):
        get_threshold_strategy("quantile_demo")


def test_broken_plugin_is_reported_by_name(tmp_path, monkeypatch, fresh_plugins, capsys):
    _install_fake_distribution(tmp_path, "cryotm_broken", "cryotm_broken", "raise ImportError('no numpy 99')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("CRYOTM_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    # cryotm itself keeps working
    assert lookup("cryotm_threshold_strategies", "sigma") is not None
    failures = failed_plugins()
    assert [f.name for f in failures] == ["cryotm_broken"]
    assert "no numpy 99" in failures[0].error
    assert main(["plugins"]) == 1
    out = capsys.readouterr().out
    assert "FAILED cryotm_broken (cryotm_broken 1.2.3): ImportError: no numpy 99" in out
    assert "Traceback" not in out


def test_plugin_raising_in_a_hook_is_named(fresh_plugins):
    class Exploding:
        @cryotm.hookimpl
        def cryotm_threshold_strategies(self):
            raise RuntimeError("boom")

    cryotm.get_plugin_manager().register(Exploding(), name="exploding")
    with pytest.raises(PluginError, match="plugin 'exploding' failed in cryotm_threshold_strategies: RuntimeError: boom"):
        get_threshold_strategy("sigma")


def test_register_a_subclass_directly(fresh_plugins):
    @attrs.define
    class Fixed(ThresholdStrategy):
        name = "fixed_half"

        def compute(self, scores, mask=None, statistics=None):
            return 0.5

    class Plugin:
        @cryotm.hookimpl
        def cryotm_threshold_strategies(self):
            return [Fixed]

    cryotm.get_plugin_manager().register(Plugin(), name="mine")
    strategy = get_threshold_strategy("fixed_half")
    assert isinstance(strategy, Fixed)
    result = strategy.evaluate([[[0.0]]])
    assert result.value == 0.5 and result.strategy == "fixed_half"


def test_duplicate_names_are_refused(fresh_plugins):
    @attrs.define
    class Another(ThresholdStrategy):
        name = "sigma"

        def compute(self, scores, mask=None, statistics=None):
            return 0.0

    class Plugin:
        @cryotm.hookimpl
        def cryotm_threshold_strategies(self):
            return [Another]

    cryotm.get_plugin_manager().register(Plugin(), name="copycat")
    with pytest.raises(PluginError, match="'sigma' is contributed by both 'cryotm.thresholds.builtin' and 'copycat'"):
        get_threshold_strategy("sigma")


def test_threshold_specs():
    assert get_threshold_strategy("sigma:2.5").k == 2.5
    assert get_threshold_strategy(0.3).value == 0.3
    assert get_threshold_strategy("0.3").value == 0.3
    with pytest.raises(CryotmError, match="needs a number after ':'"):
        get_threshold_strategy("sigma:high")
    with pytest.raises(CryotmError, match=r"unknown threshold 'nope' \(known: .*sigma"):
        get_threshold_strategy("nope")

