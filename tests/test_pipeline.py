"""Pipelines: composition in Python and from TOML, user strategies, filters, records and exact repeats."""

from __future__ import annotations

import json
import textwrap

import attrs
import numpy as np
import pytest

import cryotm
from cryotm.errors import CryotmError, InputError
from cryotm.evaluation import match_particles
from cryotm.formats import read_particles
from cryotm.pipeline import (
    EdgeMargin,
    MaskFilter,
    MaxParticles,
    MinScore,
    Pipeline,
    TomogramInputs,
    load_pipeline,
    output_is_valid,
    pipeline_from_config,
    read_record,
    record_path_for,
    repeat_run,
)
from cryotm.thresholds import (
    SearchStatistics,
    ThresholdResult,
    ThresholdStrategy,
    get_threshold_strategy,
)


def _picker(diameter: float = 10):
    from cryotm.picking import PeakPicker

    return PeakPicker(particle_diameter=diameter)


@attrs.define
class HalfOfMax(ThresholdStrategy):
    """A user's own rule, never registered: a fraction of the highest score."""

    name = "half-of-max"
    fraction: float = 0.5
    seen: list = attrs.field(factory=list, eq=False, repr=False, init=False)

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        self.seen.append(statistics)
        data = scores.data if hasattr(scores, "data") else np.asarray(scores)
        top = float(np.max(data))
        return ThresholdResult(self.fraction * top, self.name, {"max": top})


@pytest.fixture
def scene_files(scene, tmp_path):
    paths = scene.write(tmp_path / "scene")
    inputs = TomogramInputs("tomo_a", paths["scores"], paths["angles"], paths["angle_list"], tomo_id=4)
    return scene, inputs


def test_python_pipeline_uses_its_threshold_and_finds_the_planted_peaks(scene_files):
    scene, inputs = scene_files
    pipeline = Pipeline(_picker(), threshold="sigma:3")
    result = pipeline.run(inputs)
    expected = get_threshold_strategy("sigma:3").compute(scene.scores)
    assert result.threshold.value == pytest.approx(expected)
    assert result.threshold.strategy == "sigma"
    match = match_particles(result.particles, scene.truth, tolerance=1.5)
    assert match.recall == 1.0
    assert np.all(result.particles.scores > expected)
    assert set(result.particles.data["tomo_id"]) == {4}
    assert result.particles.experiment_id == "tomo_a"
    assert result.output is None and result.record_path is None


def test_default_threshold_is_calibrated_with_the_pickers_diameter(scene_files):
    scene, inputs = scene_files
    pipeline = Pipeline(_picker())
    assert pipeline.threshold.name == "calibrated"
    result = pipeline.pick(scene.scores, scene.angle_map, scene.angles)
    assert result.threshold.details["particle_diameter"] == _picker().suppression_radius
    assert np.all(result.particles.scores > result.threshold.value)


def test_far_gets_the_angle_count_of_the_list(scene_files):
    scene, inputs = scene_files
    pipeline = Pipeline(_picker(), threshold="far")
    result = pipeline.pick(scene.scores, scene.angle_map, scene.angles)
    assert result.threshold.details["n_angles"] == len(scene.angles)
    assert result.threshold.details["n_voxels"] == scene.scores.size


def test_a_users_strategy_object_goes_straight_in_and_sees_the_statistics(scene_files):
    scene, inputs = scene_files
    rule = HalfOfMax(0.4)
    stats = SearchStatistics(n_angles=7, n_voxels=1000, mean=0.0, std=0.05)
    result = Pipeline(_picker(), threshold=rule).pick(scene.scores, scene.angle_map, scene.angles, statistics=stats)
    assert rule.seen == [stats]
    assert result.threshold.value == pytest.approx(0.4 * scene.scores.max())
    assert np.all(result.particles.scores > result.threshold.value)


def test_filters_apply_in_order(scene_files):
    scene, _ = scene_files
    base = Pipeline(_picker(), threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles).particles
    cut = float(np.median(base.scores))
    filtered = Pipeline(_picker(), threshold="sigma:3", filters=[MinScore(cut), MaxParticles(3)]).pick(
        scene.scores, scene.angle_map, scene.angles
    )
    expected = np.sort(base.scores[base.scores >= cut])[::-1][:3]
    assert np.allclose(np.sort(filtered.particles.scores)[::-1], expected)


def test_edge_margin_and_mask_filters(scene_files):
    scene, _ = scene_files
    picks = Pipeline(_picker(), threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles).particles
    margin = 12
    edged = Pipeline(_picker(), threshold="sigma:3", filters=[EdgeMargin(margin)]).pick(
        scene.scores, scene.angle_map, scene.angles
    ).particles
    upper = np.array(scene.shape[::-1]) - 1 - margin
    inside = np.all((picks.positions >= margin) & (picks.positions <= upper), axis=1)
    assert len(edged) == int(inside.sum()) and 0 < len(edged) < len(picks)

    mask = np.zeros(scene.shape, dtype=np.int8)
    mask[:, :, : scene.shape[2] // 2] = 1
    masked = Pipeline(_picker(), threshold="sigma:3", filters=[MaskFilter()]).pick(
        scene.scores, scene.angle_map, scene.angles, mask=mask
    ).particles
    assert len(masked) > 0 and np.all(masked.positions[:, 0] < scene.shape[2] // 2)


def test_offset_and_tomogram_shape_are_applied(scene_files):
    scene, _ = scene_files
    plain = Pipeline(_picker(), threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles).particles
    moved = Pipeline(_picker(), threshold="sigma:3").pick(
        scene.scores, scene.angle_map, scene.angles, offset=(5, 6, 7), tomogram_shape=(100, 110, 120)
    ).particles
    assert np.allclose(moved.positions - plain.positions, [5, 6, 7])
    assert moved.tomogram_shape == (100, 110, 120)


def test_run_writes_output_and_record_that_repeats_exactly(scene_files, tmp_path):
    scene, inputs = scene_files
    pipeline = Pipeline(_picker(), threshold="far:2", filters=[MinScore(0.05)], writer="relion5")
    out = tmp_path / "tomo_a.star"
    result = pipeline.run(inputs, output=out)
    record = read_record(record_path_for(out))
    assert record["cryotm_version"] == cryotm.__version__
    assert record["pipeline"]["threshold"]["name"] == "far"
    assert record["pipeline"]["threshold"]["parameters"]["n_false_positives"] == 2.0
    assert record["pipeline"]["filters"][0]["parameters"] == {"value": 0.05}
    assert record["pipeline"]["picker"]["parameters"]["particle_diameter"] == 10
    assert record["threshold"]["value"] == pytest.approx(result.threshold.value)
    assert record["result"]["n_particles"] == len(result.particles) > 0
    assert record["inputs"]["tomo_id"] == 4
    assert output_is_valid(out, fingerprint=record["fingerprint"])

    rebuilt = pipeline_from_config(record["pipeline"])
    assert rebuilt.describe() == pipeline.describe()
    again = repeat_run(record_path_for(out), output=tmp_path / "again.star")
    assert again.threshold.value == result.threshold.value
    def content(path):  # starfile stamps the time of writing into a comment line
        return [line for line in path.read_text().splitlines() if not line.startswith("#")]

    assert content(tmp_path / "again.star") == content(out)
    back = read_particles(out, format="relion5", tomogram_shape=scene.shape, pixel_size=scene.pixel_size)
    assert len(back) == len(result.particles)


def test_record_of_a_users_strategy_rebuilds_it(scene_files, tmp_path):
    _, inputs = scene_files
    out = tmp_path / "mine.star"
    Pipeline(_picker(), threshold=HalfOfMax(0.3), writer="relion5").run(inputs, output=out)
    record = read_record(record_path_for(out))
    assert record["pipeline"]["threshold"]["class"].endswith(":HalfOfMax")
    with pytest.raises(CryotmError, match="--allow-import"):  # the user's module is imported only when allowed
        pipeline_from_config(record["pipeline"])
    rebuilt = pipeline_from_config(record["pipeline"], allow_import=True)
    assert isinstance(rebuilt.threshold, HalfOfMax) and rebuilt.threshold.fraction == 0.3


def test_toml_config_builds_the_same_pipeline(tmp_path):
    config = tmp_path / "pipeline.toml"
    config.write_text(
        textwrap.dedent(
            """
            [threshold]
            name = "sigma"
            k = 2.5

            [picker]
            particle_diameter = 9

            [[filters]]
            name = "min_score"
            value = 0.1

            [[filters]]
            name = "max_particles"
            count = 50

            [writer]
            format = "relion5"
            centre = "pytom"
            """
        )
    )
    pipeline = load_pipeline(config)
    assert pipeline.threshold.name == "sigma" and pipeline.threshold.k == 2.5
    assert pipeline.picker.particle_diameter == 9
    assert [type(f) for f in pipeline.filters] == [MinScore, MaxParticles]
    assert pipeline.filters[1].count == 50
    assert type(pipeline.writer).name == "relion5" and pipeline.writer.centre == "pytom"
    same = Pipeline(_picker(9), threshold="sigma:2.5", filters=[MinScore(0.1), MaxParticles(50)], writer="relion5")
    assert same.describe()["threshold"] == pipeline.describe()["threshold"]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[picker]\nparticle_diameter = 9\n[thresold]\nname = "far"\n', "unknown pipeline config section"),
        ('[picker]\nparticle_diameter = 9\n[threshold]\nname = "nosuch"\n', "nosuch"),
        ('[threshold]\nname = "far"\n', "[picker]"),
        ('[picker]\nparticle_diameter = 9\n[[filters]]\nname = "nosuch"\n', "unknown pick filter"),
        ("[picker\n", "not valid TOML"),
    ],
)
def test_bad_configs_give_clear_errors(tmp_path, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(CryotmError, match=message.replace("[", r"\[")):
        load_pipeline(config)


def test_existing_output_is_kept_and_missing_input_named(scene_files, tmp_path):
    _, inputs = scene_files
    out = tmp_path / "exists.star"
    out.write_text("keep me")
    pipeline = Pipeline(_picker(), threshold="sigma:3", writer="relion5")
    with pytest.raises(InputError, match="exists"):
        pipeline.run(inputs, output=out)
    assert out.read_text() == "keep me" and not record_path_for(out).exists()
    missing = attrs.evolve(inputs, angles=tmp_path / "nope.mrc")
    with pytest.raises(InputError, match="nope.mrc"):
        pipeline.run(missing)


def test_pipeline_rejects_things_that_are_not_parts():
    with pytest.raises(CryotmError, match="pick"):
        Pipeline(object())
    with pytest.raises(CryotmError, match="not callable"):
        Pipeline(_picker(), filters=[3])
    with pytest.raises(CryotmError, match="no writer"):
        Pipeline(_picker()).output_name("x")


def test_record_json_is_plain(scene_files, tmp_path):
    _, inputs = scene_files
    out = tmp_path / "t.star"
    Pipeline(_picker(), threshold="far", writer="relion5").run(inputs, output=out)
    data = json.loads(record_path_for(out).read_text())
    assert data["threshold"]["details"]["estimate"] == "histogram fit"
    assert data["output"]["sha256"] and data["output"]["size"] == out.stat().st_size


def test_a_record_is_a_config_for_the_command_line(scene_files, tmp_path):
    from cryotm.cli import main
    from cryotm.pipeline import load_config

    _, inputs = scene_files
    out = tmp_path / "first.star"
    Pipeline(_picker(8), threshold="sigma:2.5", writer="stopgap").run(inputs, output=out)
    config = load_config(record_path_for(out))
    assert config["inputs"] == {"angles_order": "zxz", "index_base": 0}
    table = tmp_path / "t.csv"
    table.write_text(f"name,scores,angles,angle_list\nagain,{inputs.scores},{inputs.angles},{inputs.angle_list}\n")
    assert main(["batch", str(table), "-o", str(tmp_path / "out"), "--config", str(record_path_for(out)),
                 "--progress", "off"]) == 0
    repeated = read_record(record_path_for(tmp_path / "out" / "again.star"))
    assert repeated["pipeline"] == read_record(record_path_for(out))["pipeline"]


class TopVoxelPicker:
    """A user's own picker (not a PeakPicker): the single highest voxel above the threshold."""

    def __init__(self):
        self.thresholds = []

    def pick(self, scores, angle_map, angle_list, tomo_id=1, threshold=None, tomo_mask=None):
        from cryotm.particles import ParticleList

        self.thresholds.append(threshold.value)
        z, y, x = np.unravel_index(int(np.argmax(scores.data)), scores.shape)
        if scores.data[z, y, x] <= threshold.value:
            return ParticleList.empty()
        row = angle_list.rows_for(angle_map.indices_at(np.array([z]), np.array([y]), np.array([x])))
        return ParticleList.from_arrays([[x, y, z]], orientations=angle_list.angles[row],
                                        scores=[scores.data[z, y, x]], tomo_id=tomo_id)


def test_any_picker_object_gets_the_pipelines_threshold_value(scene_files):
    scene, _ = scene_files
    picker = TopVoxelPicker()
    result = Pipeline(picker, threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles, tomo_id=2)
    assert picker.thresholds == [pytest.approx(get_threshold_strategy("sigma:3").compute(scene.scores))]
    assert result.threshold.value == picker.thresholds[0]
    assert len(result.particles) == 1 and result.particles.scores[0] == pytest.approx(scene.scores.max())
    empty = Pipeline(picker, threshold=10.0).pick(scene.scores, scene.angle_map, scene.angles)
    assert len(empty.particles) == 0


def test_record_holds_only_the_threshold_the_run_used(scene_files, tmp_path):
    _, inputs = scene_files
    out = tmp_path / "used.star"
    result = Pipeline(_picker(), threshold="sigma:3", writer="relion5").run(inputs, output=out)
    record = read_record(record_path_for(out))
    picker = record["pipeline"]["picker"]["parameters"]
    assert picker["particle_diameter"] == 10
    assert not {"threshold", "scores_threshold", "sigma_threshold"} & set(picker)
    assert record["pipeline"]["threshold"]["name"] == "sigma" and record["threshold"]["strategy"] == "sigma"
    assert repeat_run(record).threshold.value == result.threshold.value


@pytest.mark.parametrize(
    "field, value", [("threshold", "sigma:3"), ("sigma_threshold", 3.0), ("scores_threshold", 0.2)]
)
def test_a_picker_threshold_the_pipeline_would_ignore_is_refused(field, value, tmp_path):
    from cryotm.picking import PeakPicker

    with pytest.raises(CryotmError, match=f"picker's {field} would not be used"):
        Pipeline(PeakPicker(particle_diameter=10, **{field: value}), threshold="far")
    config = tmp_path / "p.toml"
    config.write_text(f"[picker]\nparticle_diameter = 10\n{field} = {json.dumps(value)}\n")
    with pytest.raises(CryotmError, match=r"\[threshold\] in a config"):
        load_pipeline(config)
