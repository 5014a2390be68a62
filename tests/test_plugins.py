"""The plugin manager: built-ins through the hooks, entry points, pm.register, failures."""

from __future__ import annotations

import textwrap

import attrs
import pytest

import cryotm
from cryotm.cli import main
import numpy as np

from cryotm.errors import CryotmError, InputError, ParameterError, PluginWarning
from cryotm.labeling import get_labeler
from cryotm.plugins import contributions, failed_plugins, lookup, plugin_infos
from cryotm.thresholds import ThresholdStrategy, get_threshold_strategy, threshold_strategies


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
    with pytest.warns(PluginWarning, match="cryotm plugin 'cryotm_broken' is not used: ImportError: no numpy 99"):
        assert lookup("cryotm_threshold_strategies", "sigma") is not None
    failures = failed_plugins()
    assert [f.name for f in failures] == ["cryotm_broken"]
    assert "no numpy 99" in failures[0].error
    assert main(["plugins"]) == 1
    out = capsys.readouterr().out
    assert "FAILED cryotm_broken (cryotm_broken 1.2.3): ImportError: no numpy 99" in out
    assert "Traceback" not in out


def test_plugin_raising_in_a_hook_is_named_and_the_others_keep_working(fresh_plugins):
    class Exploding:
        @cryotm.hookimpl
        def cryotm_threshold_strategies(self):
            raise RuntimeError("boom")

    with pytest.warns(PluginWarning, match="cryotm plugin 'exploding' is not used: cryotm_threshold_strategies raised RuntimeError: boom"):
        assert cryotm.get_plugin_manager().register(Exploding(), name="exploding") is None
    assert get_threshold_strategy("sigma").name == "sigma"
    assert [(f.name, f.error) for f in failed_plugins()] == [
        ("exploding", "cryotm_threshold_strategies raised RuntimeError: boom")
    ]


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        ([int], "returned <class 'int'>, which is not a subclass of cryotm.thresholds.base.ThresholdStrategy"),
        ("sigma", "must return a list of classes, got str"),
        ([ThresholdStrategy], "returned ThresholdStrategy without a 'name'"),
    ],
)
def test_contributions_are_type_checked(fresh_plugins, result, problem):
    class Plugin:
        @cryotm.hookimpl
        def cryotm_threshold_strategies(self):
            return result

    with pytest.warns(PluginWarning):
        cryotm.get_plugin_manager().register(Plugin(), name="odd")
    assert failed_plugins()[0].error == f"cryotm_threshold_strategies {problem}"
    assert "sigma" in threshold_strategies()


def test_misspelled_hook_is_reported(fresh_plugins):
    class Typo:
        @cryotm.hookimpl
        def cryotm_labeler(self):
            return []

    with pytest.warns(PluginWarning, match="did you mean 'cryotm_labelers'"):
        cryotm.get_plugin_manager().register(Typo(), name="typo")
    cryotm.get_plugin_manager().check_pending()  # nothing left behind


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


def _threshold_plugin(name, value, **hook_options):
    @attrs.define
    class Fixed(ThresholdStrategy):
        def compute(self, scores, mask=None, statistics=None):
            return value

    Fixed.name = name

    class Plugin:
        @cryotm.hookimpl(**hook_options)
        def cryotm_threshold_strategies(self):
            return [Fixed]

    return Plugin()


def test_a_plugin_overrides_a_builtin_of_the_same_name(fresh_plugins, capsys):
    cryotm.get_plugin_manager().register(_threshold_plugin("sigma", 0.25), name="my-sigma")
    assert get_threshold_strategy("sigma").compute([[[0.0]]]) == 0.25
    assert contributions("cryotm_threshold_strategies")["sigma"].plugin == "my-sigma"
    assert main(["plugins"]) == 0
    assert "    overrides built-in threshold sigma" in capsys.readouterr().out


def test_two_plugins_with_one_name_the_second_fails(fresh_plugins):
    pm = cryotm.get_plugin_manager()
    pm.register(_threshold_plugin("same", 1.0), name="first")
    with pytest.warns(PluginWarning, match="duplicate threshold name 'same': plugin 'first' contributes it already"):
        assert pm.register(_threshold_plugin("same", 2.0), name="second") is None
    assert get_threshold_strategy("same").compute([[[0.0]]]) == 1.0
    assert get_threshold_strategy("sigma").name == "sigma"


def test_hooks_are_called_through_pluggy_so_tryfirst_and_trylast_apply(fresh_plugins):
    pm = cryotm.get_plugin_manager()
    pm.register(_threshold_plugin("ordered_a", 1.0, tryfirst=True), name="a")
    pm.register(_threshold_plugin("ordered_b", 2.0), name="b")
    pm.register(_threshold_plugin("ordered_c", 3.0, trylast=True), name="c")
    names = [n for n in threshold_strategies() if n.startswith("ordered_")]
    assert names == ["ordered_a", "ordered_b", "ordered_c"]  # LIFO would give b before a without tryfirst
    # the built-ins are trylast: after every plugin that does not ask to come last itself
    order = list(threshold_strategies())
    assert order.index("ordered_b") < order.index("manual") < order.index("ordered_c")


def test_block_a_builtin(fresh_plugins, monkeypatch):
    monkeypatch.setenv("CRYOTM_BLOCK_PLUGINS", "cryotm.labeling.builtin")
    with pytest.raises(CryotmError, match="unknown labeler 'plane'"):
        get_labeler("plane")
    assert get_threshold_strategy("sigma").name == "sigma"


def test_threshold_specs():
    assert get_threshold_strategy("sigma:2.5").k == 2.5
    assert get_threshold_strategy(0.3).value == 0.3
    assert get_threshold_strategy("0.3").value == 0.3
    with pytest.raises(ParameterError, match="threshold 'sigma' needs a number, got 'high'"):
        get_threshold_strategy("sigma:high")
    with pytest.raises(CryotmError, match=r"unknown threshold 'nope' \(known: .*sigma"):
        get_threshold_strategy("nope")


def test_name_value_is_converted_by_the_declared_type(fresh_plugins):
    @attrs.define
    class Typed(ThresholdStrategy):
        name = "typed_demo"
        primary_parameter = "bins"
        bins: int = 10
        mode: str = "a"

        def compute(self, scores, mask=None, statistics=None):
            return float(self.bins)

    @attrs.define
    class Worded(Typed):
        name = "worded_demo"
        primary_parameter = "mode"

    class Plugin:
        @cryotm.hookimpl
        def cryotm_threshold_strategies(self):
            return [Typed, Worded]

    cryotm.get_plugin_manager().register(Plugin(), name="typed")
    bins = get_threshold_strategy("typed_demo:256").bins
    assert bins == 256 and isinstance(bins, int)
    assert get_threshold_strategy("worded_demo:3").mode == "3"
    with pytest.raises(ParameterError, match="threshold 'typed_demo' needs a whole number, got '2.5'"):
        get_threshold_strategy("typed_demo:2.5")


def test_a_validators_value_error_is_one_line_on_the_command_line(fresh_plugins, tmp_path, capsys):
    def positive(instance, attribute, value):
        if value <= 0:
            raise ValueError("k must be positive")

    @attrs.define
    class Checked(ThresholdStrategy):
        name = "checked_demo"
        primary_parameter = "k"
        k: float = attrs.field(default=1.0, validator=positive)

        def compute(self, scores, mask=None, statistics=None):
            return self.k

    class Plugin:
        @cryotm.hookimpl
        def cryotm_threshold_strategies(self):
            return [Checked]

    cryotm.get_plugin_manager().register(Plugin(), name="checked")
    cryotm.write_map(tmp_path / "s.mrc", np.zeros((4, 4, 4), np.float32))
    assert main(["threshold", str(tmp_path / "s.mrc"), "-t", "checked_demo:-1"]) == 1
    assert capsys.readouterr().err == "cryotm: error: bad parameters for threshold 'checked_demo': k must be positive\n"


def test_plugin_descriptions_are_shown(fresh_plugins, capsys):
    assert main(["plugins", "-v"]) == 0
    out = capsys.readouterr().out
    assert "    threshold sigma: mean + k standard deviations of the scores (sigma:3)" in out
    # without a description, the docstring's first line
    assert "    map format em: The TOM/EM format" in out


# --- format detection with plugins: order decides, and the choice is stated ---

def _csv_plugin(tmp_marker: str):
    from cryotm.formats import MotlReader, MotlWriter
    from cryotm.particles import ParticleList

    @attrs.define
    class MarkedWriter(MotlWriter):
        name = "marked_csv"
        extensions = (".csv",)

        def write_file(self, particles, path):
            path.write_text(f"{tmp_marker}\n" + "\n".join(" ".join(map(str, p)) for p in particles.positions))

    @attrs.define
    class MarkedReader(MotlReader):
        name = "marked_csv"
        extensions = (".csv",)

        @classmethod
        def sniff(cls, path):
            return path.read_text().startswith(tmp_marker)

        def read_file(self, path):
            rows = [list(map(float, line.split())) for line in path.read_text().splitlines()[1:]]
            return ParticleList.from_arrays(np.array(rows).reshape(-1, 3))

    class Plugin:
        @cryotm.hookimpl
        def cryotm_motl_writers(self):
            return [MarkedWriter]

        @cryotm.hookimpl
        def cryotm_motl_readers(self):
            return [MarkedReader]

    return Plugin()


def test_a_plugin_csv_writer_is_chosen_and_the_choice_is_stated(fresh_plugins, tmp_path):
    from cryotm.errors import FormatChoiceWarning
    from cryotm.formats import read_particles, write_particles

    plist = cryotm.ParticleList.from_arrays([[1.0, 2.0, 3.0]])
    write_particles(plist, tmp_path / "builtin.csv")  # without the plugin: the built-in table, silently
    cryotm.get_plugin_manager().register(_csv_plugin("#marked"), name="marked")
    with pytest.warns(FormatChoiceWarning, match=r"several particle-list formats write '\.csv'; using 'marked_csv' "
                      r"\(plugin 'marked'\) before table \(cryotm\.formats\.builtin\); choose with -f/--format"):
        write_particles(plist, tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_text() == "#marked\n1.0 2.0 3.0"
    # the plugin's content sniff claims its own file; the built-in table reader still reads the table
    assert read_particles(tmp_path / "x.csv").positions.tolist() == [[1.0, 2.0, 3.0]]
    assert read_particles(tmp_path / "builtin.csv").positions.tolist() == [[1.0, 2.0, 3.0]]
    write_particles(plist, tmp_path / "t.csv", format="table")  # naming the format: no warning


def test_readers_that_match_only_the_extension_are_ordered_and_stated(fresh_plugins, tmp_path):
    from cryotm.errors import FormatChoiceWarning
    from cryotm.formats import MotlReader, reader_class, write_particles

    @attrs.define
    class AnyCsv(MotlReader):
        name = "any_csv"
        extensions = (".csv",)

    class Plugin:
        @cryotm.hookimpl
        def cryotm_motl_readers(self):
            return [AnyCsv]

    write_particles(cryotm.ParticleList.from_arrays([[1.0, 2.0, 3.0]]), tmp_path / "t.csv")
    cryotm.get_plugin_manager().register(Plugin(), name="any")
    with pytest.warns(FormatChoiceWarning, match=r"formats can read it; using 'any_csv' \(plugin 'any'\) before table"):
        assert reader_class(tmp_path / "t.csv") is AnyCsv


def test_star_files_still_need_a_name(fresh_plugins, tmp_path):
    from cryotm.formats import write_particles

    with pytest.raises(CryotmError, match=r"several particle-list formats write '\.star' \(stopgap, relion30"):
        write_particles(cryotm.ParticleList.from_arrays([[1.0, 2.0, 3.0]]), tmp_path / "x.star")


def test_a_reader_template_names_a_missing_file(fresh_plugins, tmp_path):
    from cryotm.formats import MotlReader

    @attrs.define
    class Never(MotlReader):
        name = "never"

        def read_file(self, path):
            raise AssertionError("not reached")

    with pytest.raises(InputError, match=r"/missing\.txt: no such file$"):
        Never().read(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="not a file"):
        Never().read(tmp_path)


def test_a_hook_with_the_wrong_arguments_fails_alone(fresh_plugins):
    class WrongArgs:
        @cryotm.hookimpl
        def cryotm_labelers(self, extra):
            return []

    pm = cryotm.get_plugin_manager()
    with pytest.warns(PluginWarning, match="cryotm plugin 'wrong' is not used: invalid hook"):
        assert pm.register(WrongArgs(), name="wrong") is None
    assert pm.get_plugin("wrong") is None
    assert get_labeler("plane").name == "plane"


def test_every_hook_has_a_kind_and_a_base_class():
    from cryotm import hookspecs
    from cryotm.plugins import HOOK_BASES, HOOK_KINDS, _base_class

    hooks = {name for name in dir(hookspecs) if name.startswith("cryotm_")}
    assert hooks == set(HOOK_KINDS) == set(HOOK_BASES)
    assert all(isinstance(_base_class(hook), type) for hook in hooks)
