"""cryotm-skimage-thresholds: agreement with scikit-image, sampling, and cryotm's command line."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.filters import threshold_li, threshold_otsu

from cryotm import ScoresMap, make_scene
from cryotm.cli import main
from cryotm.errors import InputError
from cryotm.thresholds import get_threshold_strategy
from cryotm_skimage_thresholds import LiThreshold, OtsuThreshold, sampled_scores


@pytest.fixture
def bimodal() -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.concatenate([rng.normal(0.0, 0.1, 30000), rng.normal(0.4, 0.15, 6000)]).reshape(30, 40, 30)


def test_found_by_name_through_the_plugin_manager():
    assert isinstance(get_threshold_strategy("otsu"), OtsuThreshold)
    assert get_threshold_strategy("otsu:64").nbins == 64
    assert get_threshold_strategy("li:0.001").tolerance == 0.001


def test_equal_to_scikit_image_on_all_scores(bimodal):
    assert get_threshold_strategy("otsu").compute(bimodal) == pytest.approx(threshold_otsu(bimodal.ravel()))
    assert get_threshold_strategy("li").compute(bimodal) == pytest.approx(threshold_li(bimodal.ravel()))
    value = OtsuThreshold().compute(bimodal)
    assert 0.1 < value < 0.35  # between the two modes


def test_mask_and_scores_map(bimodal):
    mask = np.zeros(bimodal.shape, dtype=bool)
    mask[:15] = True
    scores = ScoresMap.from_array(bimodal.astype(np.float32))
    expected = threshold_li(bimodal[mask].astype(np.float32).astype(np.float64))
    assert LiThreshold().compute(scores, mask=mask) == pytest.approx(expected, rel=1e-6)


def test_subsampling_is_regular_and_close(bimodal):
    values, n_total = sampled_scores(bimodal, max_samples=1000)
    assert n_total == bimodal.size and values.size <= 1000
    np.testing.assert_array_equal(values, bimodal.ravel()[:: -(-bimodal.size // 1000)])
    full = OtsuThreshold(max_samples=None).evaluate(bimodal)
    sampled = OtsuThreshold(max_samples=5000).evaluate(bimodal)
    assert sampled.details["n_used"] <= 5000 and full.details["n_used"] == bimodal.size
    assert sampled.value == pytest.approx(full.value, abs=0.03)


def test_bad_scores_are_input_errors(bimodal):
    with pytest.raises(InputError, match="nothing to threshold"):
        OtsuThreshold().compute(np.ones((4, 4, 4)))
    broken = bimodal.copy()
    broken[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        LiThreshold().compute(broken)
    with pytest.raises(InputError, match="mask has shape"):
        LiThreshold().compute(bimodal, mask=np.ones((2, 2, 2)))


def test_cryotm_plugins_lists_the_strategies(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "skimage-thresholds 0.1.0 (plugin)" in out and "threshold: otsu, li" in out


def test_cryotm_threshold_command(tmp_path, capsys):
    scene = make_scene(shape=(32, 40, 48), n_peaks=4, n_angles=30, seed=1, min_distance=12)
    paths = scene.write(tmp_path / "scene")
    assert main(["threshold", str(paths["scores"]), "-t", "otsu", "-t", "li"]) == 0
    out = capsys.readouterr().out
    expected = threshold_otsu(scene.scores.astype(np.float64).ravel())
    assert f"otsu:256: {expected:.6g}" in out
    assert "li: " in out and "rule: skimage.filters.threshold_li" in out


def test_cryotm_extract_threshold_otsu(tmp_path):
    from cryotm.formats import read_particles

    scene = make_scene(shape=(48, 56, 64), n_peaks=6, n_angles=60, seed=4, min_distance=14)
    paths = scene.write(tmp_path / "scene")
    out = tmp_path / "picks.csv"
    status = main(
        ["extract", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "--diameter", "10",
         "--threshold", "otsu", "--format", "table", "-o", str(out)]
    )
    assert status == 0
    picks = read_particles(out)
    otsu = OtsuThreshold().compute(scene.scores)
    assert len(picks) > 0 and picks.scores.min() > otsu
