"""Threshold strategies: triangle without a full sort, far, hard, gauss, sigma; plugins; the threshold command."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from scipy import ndimage

import cryotm
from cryotm import make_scene
from cryotm.cli import main
from cryotm.errors import CryotmError, InputError
from cryotm.maps import ScoresMap, write_map
from cryotm.plugins import hookimpl
from cryotm.thresholds import (
    FalseAlarmRateThreshold,
    GaussThreshold,
    HardThreshold,
    SearchStatistics,
    SigmaThreshold,
    ThresholdStrategy,
    TriangleThreshold,
    estimate_background,
    false_alarm_cutoff,
    get_threshold_strategy,
    threshold_strategies,
)
from cryotm.thresholds.triangle import triangle_threshold, triangle_threshold_sorted


def gaussian_peak(shape, sigmas=(6.0, 4.0, 3.0), height=0.7, noise=0.01, seed=0):
    """A single anisotropic Gaussian peak at the map centre, on weak noise; sigmas are (z, y, x)."""
    zz, yy, xx = np.indices(shape, dtype=float)
    c = [n // 2 for n in shape]
    r2 = sum(((g - ci) / s) ** 2 for g, ci, s in zip((zz, yy, xx), c, sigmas))
    rng = np.random.default_rng(seed)
    return (height * np.exp(-0.5 * r2) + rng.normal(0, noise, shape)).astype(np.float32)


# --------------------------------------------------------------------------- registry


def test_builtins_registered_by_name():
    names = set(threshold_strategies())
    assert {"manual", "sigma", "triangle", "far", "hard", "gauss"} <= names
    assert get_threshold_strategy("far:2").n_false_positives == 2.0
    assert get_threshold_strategy("hard:0.3").fraction == 0.3
    assert get_threshold_strategy("gauss:10").peak_tolerance == 10.0
    assert isinstance(get_threshold_strategy("triangle"), TriangleThreshold)
    with pytest.raises(CryotmError, match="takes no value"):
        get_threshold_strategy("triangle:3")


# --------------------------------------------------------------------------- triangle


def _triangle_cases():
    rng = np.random.default_rng(11)
    yield "normal", rng.normal(0.1, 0.03, size=(30, 40, 50)).astype(np.float32)
    yield "centred", rng.normal(0.0, 0.03, size=(31, 17, 50)).astype(np.float32)
    yield "float64", rng.normal(0.0, 0.03, size=(31, 17, 50))
    yield "ties", np.round(rng.normal(0.0, 0.03, size=(31, 17, 50)), 3).astype(np.float32)
    yield "exponential big-endian", rng.exponential(1.0, size=(20, 30, 40)).astype(">f4")
    yield "scene", make_scene(shape=(48, 56, 64), n_peaks=12, seed=3, min_distance=14).scores
    transposed = make_scene(shape=(40, 44, 52), n_peaks=8, seed=4, min_distance=12).scores.transpose(2, 1, 0)
    yield "transposed scene", transposed
    yield "tiny positives", np.concatenate([rng.uniform(1e-30, 1e-20, 500), rng.normal(0, 1, 5000)]).astype(np.float32)
    yield "integers", rng.integers(-5, 100, size=(20, 20, 20))


@pytest.mark.parametrize("name, data", list(_triangle_cases()), ids=[c[0] for c in _triangle_cases()])
def test_triangle_band_equals_full_sort(name, data):
    fast, details = triangle_threshold(data)
    slow, _ = triangle_threshold_sorted(data)
    assert fast == slow
    if data.dtype.kind == "f":
        assert details["method"] == "histogram band"
        assert details["band_values"] < data.size


def test_triangle_band_is_small_on_a_scene():
    scores = make_scene(shape=(64, 64, 64), n_peaks=20, seed=5).scores
    _, details = triangle_threshold(scores)
    assert details["band_values"] < scores.size // 100


def test_triangle_reads_a_memory_mapped_map(tmp_path):
    scores = make_scene(shape=(32, 36, 40), n_peaks=5, seed=6, min_distance=10).scores
    write_map(tmp_path / "s.mrc", scores)
    mapped = ScoresMap.read(tmp_path / "s.mrc", mmap=True)
    assert TriangleThreshold().compute(mapped) == triangle_threshold_sorted(scores)[0]


def test_triangle_mask_equals_masked_map(scene):
    mask = np.zeros(scene.shape, dtype=bool)
    mask[5:40, 10:50, 8:60] = True
    inside = TriangleThreshold().compute(scene.scores, mask=mask)
    assert inside == triangle_threshold_sorted(scene.scores * mask)[0]
    assert inside != TriangleThreshold().compute(scene.scores)


@pytest.mark.parametrize(
    "data, match",
    [
        (np.zeros((8, 8, 8), np.float32), "no score is positive"),
        (-np.ones((8, 8, 8), np.float32), "no score is positive"),
        (np.where(np.arange(512) == 7, np.nan, 0.1).reshape(8, 8, 8).astype(np.float32), "non-finite"),
        (np.where(np.arange(512) == 7, np.inf, 0.1).reshape(8, 8, 8).astype(np.float32), "non-finite"),
        (np.where(np.arange(512) == 7, 1.0, -0.5).reshape(8, 8, 8).astype(np.float32), "only the maximum"),
        (np.where(np.arange(512) < 300, 1.0, 0.2).reshape(8, 8, 8).astype(np.float32), "saturated"),
    ],
    ids=["all zero", "all negative", "nan", "inf", "one positive", "saturated"],
)
def test_triangle_bad_input(data, match):
    for func in (triangle_threshold, triangle_threshold_sorted):
        with pytest.raises(InputError, match=match):
            func(data)


# --------------------------------------------------------------------------- hard, sigma


def test_hard_is_half_the_peak_and_respects_the_mask(scene):
    peak = float(scene.scores.max())
    assert HardThreshold().compute(scene.scores) == peak / 2
    assert get_threshold_strategy("hard:0.25").compute(scene.scores) == pytest.approx(peak / 4)
    mask = np.zeros(scene.shape, bool)
    mask[:4] = True
    assert HardThreshold().compute(scene.scores, mask=mask) == float(scene.scores[:4].max()) / 2


@pytest.mark.parametrize("strategy", [HardThreshold(), SigmaThreshold(3)], ids=["hard", "sigma"])
def test_all_zero_and_nan_maps_are_rejected(strategy):
    with pytest.raises(InputError):
        strategy.compute(np.zeros((6, 6, 6), np.float32))
    nan_map = np.full((6, 6, 6), 0.1, np.float32)
    nan_map[1, 2, 3] = np.nan
    with pytest.raises(InputError, match="NaN|non-finite"):
        strategy.compute(nan_map)


def test_hard_rejects_a_bad_fraction():
    with pytest.raises(InputError, match="fraction"):
        HardThreshold(1.5).compute(np.ones((3, 3, 3)))


def test_sigma_with_mask_uses_only_inside_voxels(scene):
    mask = np.zeros(scene.shape, bool)
    mask[10:30] = True
    inside = scene.scores[mask]
    expected = inside.mean() + 2 * inside.std(ddof=1)
    assert SigmaThreshold(2).compute(scene.scores, mask=mask) == pytest.approx(float(expected), rel=1e-6)


# --------------------------------------------------------------------------- far


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_far_lands_between_noise_and_planted_peaks(seed):
    scene = make_scene(shape=(64, 72, 80), n_peaks=25, n_angles=200, seed=seed, min_distance=14)
    result = get_threshold_strategy("far").evaluate(scene.scores, statistics=SearchStatistics(n_angles=200))
    # background: voxels farther than 8 voxels from every planted peak
    near = np.zeros(scene.shape, bool)
    xyz = scene.truth.data[["x", "y", "z"]].to_numpy().astype(int)
    near[xyz[:, 2], xyz[:, 1], xyz[:, 0]] = True
    near = ndimage.binary_dilation(near, iterations=8)
    noise_max = float(scene.scores[~near].max())
    assert noise_max < result.value < float(scene.truth.data["score"].min())
    # the histogram fit sees the noise, the plain std is inflated by the peaks
    assert result.details["std"] == pytest.approx(scene.noise_std, rel=0.05)
    assert result.details["plain_std"] > result.details["std"]


def test_far_formula_with_job_statistics(scene):
    stats = SearchStatistics(n_angles=50, n_voxels=1000, mean=0.01, std=0.02)
    value = FalseAlarmRateThreshold(n_false_positives=3).compute(scene.scores, statistics=stats)
    from scipy.special import erfcinv

    assert value == pytest.approx(0.01 + 0.02 * np.sqrt(2) * erfcinv(2 * 3 / 50_000), rel=1e-12)
    # pytom-match-pick records only the std: the mean is taken as 0
    only_std = FalseAlarmRateThreshold().evaluate(scene.scores, statistics=SearchStatistics(n_angles=10, std=0.03))
    assert only_std.details["estimate"] == "statistics"
    assert only_std.value == pytest.approx(false_alarm_cutoff(0.0, 0.03, scene.scores.size * 10))


def test_far_search_space_uses_the_mask(scene):
    mask = np.zeros(scene.shape, bool)
    mask[:, :, :32] = True
    result = FalseAlarmRateThreshold(n_angles=100).evaluate(scene.scores, mask=mask)
    assert result.details["n_voxels"] == int(mask.sum())
    assert result.details["search_space"] == mask.sum() * 100


def test_far_needs_angles_and_a_sane_rate(scene):
    with pytest.raises(CryotmError, match="number of rotations"):
        FalseAlarmRateThreshold().compute(scene.scores)
    with pytest.raises(CryotmError, match="positive"):
        FalseAlarmRateThreshold(n_false_positives=0, n_angles=5).compute(scene.scores)
    with pytest.raises(CryotmError, match="not a rate"):
        false_alarm_cutoff(0, 1, search_space=10, n_false_positives=20)


def test_background_fit_rejects_constant_and_nan():
    with pytest.raises(InputError, match="constant"):
        estimate_background(np.zeros(10_000, np.float32))
    values = np.random.default_rng(0).normal(size=10_000)
    values[5] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        estimate_background(values)


def test_background_fit_ignores_a_heavy_right_tail():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0.0, 0.05, 400_000), rng.uniform(0.1, 0.6, 20_000)])
    fit = estimate_background(values)
    assert fit.std == pytest.approx(0.05, rel=0.02)
    assert fit.mean == pytest.approx(0.0, abs=0.002)
    assert fit.plain_std > 0.07


# --------------------------------------------------------------------------- gauss


def test_gauss_fits_the_peak_height():
    data = gaussian_peak((40, 44, 48), noise=0.0, height=0.8)
    result = GaussThreshold().evaluate(data)
    assert result.value == pytest.approx(0.8, rel=1e-3)
    fits = result.details["fits"]
    assert fits["x"]["sigma"] == pytest.approx(3.0, rel=1e-2)
    assert fits["z"]["sigma"] == pytest.approx(6.0, rel=1e-2)
    assert result.details["peak_zyx"] == (20, 22, 24)


def test_gauss_failed_fit_is_an_error():
    noise = np.random.default_rng(0).normal(0, 0.1, (40, 40, 40)).astype(np.float32)
    with pytest.raises(InputError, match="Gaussian"):
        GaussThreshold(peak_tolerance=10).compute(noise)


def test_gauss_peak_at_border_is_an_error():
    data = np.zeros((20, 20, 20), np.float32)
    data[10, 10, 0] = 1.0
    data[10, 10, 1] = 0.5
    with pytest.raises(InputError, match="border"):
        GaussThreshold().compute(data)


def test_gauss_all_zero_map_is_an_error():
    with pytest.raises(InputError, match="no positive score"):
        GaussThreshold().compute(np.zeros((20, 20, 20), np.float32))


# --------------------------------------------------------------------------- plugins


@attrs.define
class TopFraction(ThresholdStrategy):
    """A user's rule: the score below which a given percentage of the voxels lie."""

    name = "top-percent"
    primary_parameter = "percent"
    description = "keeps the top PERCENT of the voxels"

    percent: float = 1.0

    def compute(self, scores, mask=None, statistics=None) -> float:
        data = scores.data if isinstance(scores, ScoresMap) else np.asarray(scores)
        return float(np.percentile(data, 100 - self.percent))


class UserPlugin:
    @hookimpl
    def cryotm_threshold_strategies(self):
        return [TopFraction]


def test_user_strategy_by_name_from_python_and_command_line(fresh_plugins, scene, tmp_path, capsys):
    with pytest.raises(CryotmError, match="unknown threshold"):
        get_threshold_strategy("top-percent")
    cryotm.get_plugin_manager().register(UserPlugin())
    strategy = get_threshold_strategy("top-percent:2")
    assert isinstance(strategy, TopFraction) and strategy.percent == 2.0
    expected = float(np.percentile(scene.scores, 98))
    assert strategy.compute(scene.scores) == pytest.approx(expected)
    assert strategy.evaluate(scene.scores).strategy == "top-percent"

    write_map(tmp_path / "scores.mrc", scene.scores)
    assert main(["threshold", str(tmp_path / "scores.mrc"), "-t", "top-percent:2", "-t", "triangle"]) == 0
    out = capsys.readouterr().out
    assert f"top-percent:2.0: {expected:.6g}" in out
    assert "triangle: " in out


# --------------------------------------------------------------------------- command line


def test_threshold_command_prints_values_and_details(scene, tmp_path, capsys):
    paths = scene.write(tmp_path / "scene")
    mask = np.zeros(scene.shape, np.float32)
    mask[4:44] = 1
    write_map(tmp_path / "mask.mrc", mask)
    argv = ["threshold", str(paths["scores"]), "-t", "triangle", "-t", "far", "-t", "sigma:2.5"]
    assert main(argv + ["--angle-list", str(paths["angle_list"]), "--mask", str(tmp_path / "mask.mrc")]) == 0
    out = capsys.readouterr().out
    triangle = TriangleThreshold().compute(scene.scores, mask=mask != 0)
    far = FalseAlarmRateThreshold(n_angles=len(scene.angles)).compute(scene.scores, mask=mask != 0)
    assert f"triangle: {triangle:.6g}" in out
    assert f"far:1.0: {far:.6g}" in out
    assert "background_std:" in out and "search_space:" in out
    assert "sigma:2.5: " in out


def test_threshold_command_user_errors(scene, tmp_path, capsys):
    write_map(tmp_path / "scores.mrc", scene.scores)
    write_map(tmp_path / "zeros.mrc", np.zeros((8, 8, 8), np.float32))
    write_map(tmp_path / "small.mrc", np.ones((8, 8, 8), np.float32))
    cases = [
        ["threshold", str(tmp_path / "scores.mrc"), "-t", "far"],
        ["threshold", str(tmp_path / "scores.mrc"), "-t", "nonsense"],
        ["threshold", str(tmp_path / "zeros.mrc")],
        ["threshold", str(tmp_path / "scores.mrc"), "--mask", str(tmp_path / "small.mrc")],
    ]
    for argv in cases:
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("cryotm: error:") and err.count("\n") == 1


@pytest.mark.parametrize("spec", ["manual:nan", "manual:inf", "-inf", float("nan")])
def test_manual_threshold_must_be_finite(spec):
    # NaN would select no voxel and -inf every voxel, without a word
    with pytest.raises(CryotmError, match="finite"):
        get_threshold_strategy(spec)
