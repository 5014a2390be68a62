"""PeakPicker's overridable steps and the strategies' declared capabilities (issue: extension points).

A research subclass of a built-in strategy or of the picker must be honoured
the same way in ``PeakPicker.run``, ``Pipeline`` and the command line (a TOML
config naming the class), and a suppression override keeps every other step.
"""

from __future__ import annotations

import sys
import textwrap

import attrs
import numpy as np
import pytest

from cryotm import make_scene
from cryotm.cli import main
from cryotm.errors import CryotmError, InputError
from cryotm.formats import read_particles
from cryotm.maps import write_map
from cryotm.picking import PeakPicker
from cryotm.picking.thresholding import MOMENTS, WITHOUT_SCORES, declared
from cryotm.pipeline import Pipeline
from cryotm.pipeline.serialize import class_path, describe
from cryotm.thresholds import ManualThreshold, SigmaThreshold, ThresholdResult

# a research strategy, written the way a user would, as a module of its own (the CLI imports it by name)
RESEARCH_MODULE = '''
import attrs
import numpy as np
from cryotm.thresholds import SigmaThreshold, ThresholdResult


@attrs.define
class ShellSigma(SigmaThreshold):
    """mean + k std of the voxels in the map's outer shell only (a research rule)."""

    name = "shell_sigma_test"
    shell: int = 4

    def evaluate(self, scores, mask=None, statistics=None):
        data = np.asarray(getattr(scores, "data", scores), dtype=np.float64)
        inner = np.zeros(data.shape, bool)
        s = self.shell
        inner[s:-s, s:-s, s:-s] = True
        values = data[~inner]
        value = float(values.mean() + self.k * values.std(ddof=1))
        return ThresholdResult(value, self.name, {"n_voxels": int(values.size)})
'''


@pytest.fixture(scope="module")
def research(tmp_path_factory):
    folder = tmp_path_factory.mktemp("research")
    (folder / "research_rules.py").write_text(textwrap.dedent(RESEARCH_MODULE))
    sys.path.insert(0, str(folder))
    try:
        import research_rules

        yield research_rules
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("research_rules", None)


@pytest.fixture(scope="module")
def scene():
    return make_scene(shape=(40, 44, 48), n_peaks=6, n_angles=60, seed=21, min_distance=12)


@pytest.fixture(scope="module")
def files(scene, tmp_path_factory):
    return scene.write(tmp_path_factory.mktemp("steps") / "tomo")


# -- capabilities --------------------------------------------------------------------------
def test_builtins_declare_their_capabilities():
    assert declared(SigmaThreshold(3), MOMENTS) is not None
    assert declared(ManualThreshold(0.2), WITHOUT_SCORES) is not None
    assert declared(SigmaThreshold(3), WITHOUT_SCORES) is None


def test_a_subclass_overriding_evaluate_loses_the_inherited_shortcut():
    @attrs.define
    class Halved(SigmaThreshold):
        name = "halved_test"

        def evaluate(self, scores, mask=None, statistics=None):
            return ThresholdResult(super().evaluate(scores, mask, statistics).value / 2, self.name, {})

    @attrs.define
    class Fixed(ManualThreshold):
        name = "fixed_test"

        def compute(self, scores, mask=None, statistics=None):
            return 2 * self.value

    assert declared(Halved(3), MOMENTS) is None
    assert declared(Fixed(0.1), WITHOUT_SCORES) is None

    @attrs.define
    class Faster(Halved):  # overrides evaluate and declares the shortcut again: honoured
        name = "faster_test"

        def threshold_from_moments(self, mean, std, n_voxels, source=None):
            return ThresholdResult(float(mean + self.k * std) / 2, self.name, {})

    assert declared(Faster(3), MOMENTS) is not None


def test_research_subclass_gives_its_own_threshold_in_every_path(research, scene, files, tmp_path):
    rule = research.ShellSigma(k=3.0)
    parent = SigmaThreshold(k=3.0).compute(scene.scores)
    own = rule.compute(scene.scores)
    assert abs(own - parent) > 1e-4  # the test could not tell them apart otherwise

    picker = PeakPicker(particle_diameter=10, threshold=rule)
    direct = picker.run(files["scores"], files["angles"], files["angle_list"])
    assert direct.threshold.value == pytest.approx(own) and direct.threshold.strategy == "shell_sigma_test"

    piped = Pipeline(PeakPicker(particle_diameter=10), threshold=rule).pick(
        files["scores"], files["angles"], files["angle_list"]
    )
    assert piped.threshold.value == pytest.approx(own)
    np.testing.assert_array_equal(piped.particles.positions, direct.particles.positions)

    config = tmp_path / "pipeline.toml"
    config.write_text(
        textwrap.dedent(
            """
            [threshold]
            class = "research_rules:ShellSigma"
            k = 3.0

            [picker]
            particle_diameter = 10

            [writer]
            format = "stopgap"
            """
        )
    )
    table = tmp_path / "tomos.csv"
    table.write_text(f"name,scores,angles,angle_list\ntomo,{files['scores']},{files['angles']},{files['angle_list']}\n")
    # the research module is not part of cryotm: the config may import it only when asked (--allow-import)
    assert main(["batch", str(table), "-o", str(tmp_path / "out"), "--config", str(config), "--allow-import",
                 "--progress", "off"]) == 0
    cli = read_particles(tmp_path / "out" / "tomo.star")
    np.testing.assert_allclose(cli.positions, direct.particles.positions)


def test_the_picker_class_path_in_records_did_not_move():
    # run records name the class by import path; the fingerprint of a record must not change by a split
    assert class_path(PeakPicker) == "cryotm.picking.picker:PeakPicker"
    assert describe(PeakPicker(10))["class"] == "cryotm.picking.picker:PeakPicker"


# -- a suppression override ---------------------------------------------------------------
class EveryOther(PeakPicker):
    """Keeps every second candidate by score: a crude suppression that still goes through run's checks."""

    def suppress(self, candidates, progress=None):
        order = np.argsort(-candidates.scores, kind="stable")
        return order[::2]


def test_a_suppression_override_keeps_the_other_steps(scene, tmp_path):
    plain = EveryOther(particle_diameter=10, threshold="sigma:3")
    result = plain.run(scene.scores, scene.angle_map, scene.angles)
    candidates = result.n_candidates
    assert len(result.particles) == (candidates + 1) // 2
    assert np.all(np.diff(result.particles.scores) <= 0)
    # cluster size still drops small regions before the override sees them
    clustered = EveryOther(particle_diameter=10, threshold="sigma:3", cluster_size=5).run(
        scene.scores, scene.angle_map, scene.angles
    )
    assert clustered.n_candidates < candidates and clustered.filters["cluster_size"]["dropped"] > 0
    # symmetry still turns phi
    turned = EveryOther(particle_diameter=10, threshold="sigma:3", symmetry="c4", seed=1).run(
        scene.scores, scene.angle_map, scene.angles
    )
    steps = (turned.particles.euler_angles[:, 0] - result.particles.euler_angles[:, 0]) % 90
    np.testing.assert_allclose(np.minimum(steps, 90 - steps), 0, atol=1e-6)
    assert np.any(turned.particles.euler_angles[:, 0] != result.particles.euler_angles[:, 0])
    # NaN in the scores is still an error (a file: checked by the picker while it streams the map)
    broken = scene.scores.copy()
    broken[3, 4, 5] = np.nan
    write_map(tmp_path / "nan.mrc", broken)
    for rule in ("sigma:3", "manual:0.1", "triangle"):
        with pytest.raises(InputError, match=r"non-finite value \(nan\) at z=3, y=4, x=5"):
            EveryOther(particle_diameter=10, threshold=rule).run(tmp_path / "nan.mrc", scene.angle_map, scene.angles)


@pytest.mark.parametrize("rows, message", [
    (lambda c: np.array([0.5]), "1-D array of candidate rows"),
    (lambda c: np.array([len(c)]), "outside"),
    (lambda c: np.array([0, 0]), "twice"),
])
def test_what_a_suppression_override_returns_is_checked(scene, rows, message):
    class Broken(PeakPicker):
        def suppress(self, candidates, progress=None):
            return rows(candidates)

    with pytest.raises(CryotmError, match=message):
        Broken(particle_diameter=10, threshold="sigma:3").run(scene.scores, scene.angle_map, scene.angles)


def test_the_default_suppression_is_the_greedy_one(scene):
    picker = PeakPicker(particle_diameter=10, threshold="sigma:3")
    outcome = picker.run(scene.scores, scene.angle_map, scene.angles)
    # the steps called by hand give the same particles
    scores, mask = picker.read_inputs(scene.scores, scene.angle_map, scene.angles).scores, None
    threshold, value = picker.evaluate_threshold(scores, scene.angles)
    from cryotm.picking.thresholding import ThresholdOutcome

    candidates = picker.find_candidates(scores, ThresholdOutcome(threshold, value, False), mask)
    rows = picker.suppress(candidates)
    by_hand = picker.orient(candidates, rows, picker.read_inputs(scene.scores, scene.angle_map, scene.angles).angle_map,
                            scene.angles, scores)
    np.testing.assert_array_equal(by_hand.positions, outcome.particles.positions)
    np.testing.assert_array_equal(by_hand.euler_angles, outcome.particles.euler_angles)
