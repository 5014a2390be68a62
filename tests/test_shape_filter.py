"""The shape filter: peaks broader than the highest half's are dropped (gold beads, membranes)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cryotm.cli import main
from cryotm.errors import CryotmWarning
from cryotm.evaluation import match_particles
from cryotm.picking import PeakPicker, extract_particles, select_peaks
from cryotm.picking.shape_filter import MIN_PEAKS, shape_outliers, shell_radius
from cryotm.synthetic import make_search_scene

Z, Y, X = np.mgrid[:9, :9, :9] - 4
R2 = X**2 + Y**2 + Z**2


def _row_of_peaks(widths: list[float], heights: list[float]) -> tuple[np.ndarray, tuple]:
    """Gaussian peaks of the given sigmas and heights side by side along x, 9 voxels apart; their centres."""
    data = np.zeros((9, 9, 9 * len(widths)), dtype=np.float32)
    for i, (width, height) in enumerate(zip(widths, heights)):
        data[:, :, 9 * i : 9 * i + 9] = height * np.exp(-R2 / (2 * width**2))
    n = len(widths)
    return data, (np.full(n, 4), np.full(n, 4), 9 * np.arange(n) + 4)


def test_a_broader_peak_is_dropped_and_a_narrower_one_kept():
    # twelve particles (sigma 2, heights 1-1.55), one broad peak (sigma 3) and one narrow (sigma 1.2), both mid-height
    widths = [2.0] * 12 + [3.0, 1.2]
    heights = list(1 + np.arange(12) / 20) + [1.2, 1.2]
    data, at = _row_of_peaks(widths, heights)
    keep, details = shape_outliers(data, at, radius=2, tolerance=5, background=0.0)
    assert keep.tolist() == [True] * 12 + [False, True]
    # the reference is the highest half (at least MIN_PEAKS): the shell-to-peak ratio of a sigma-2 Gaussian at 2
    assert details["n_reference"] == MIN_PEAKS
    shell = np.exp(-R2 / 8.0)[np.rint(np.sqrt(R2)) == 2].mean()
    assert details["ratio"] == pytest.approx(shell, rel=1e-6)
    # identical shapes: the spread is the floor (2 % of the reference's median height), nothing else is dropped
    assert details["spread"] == pytest.approx(0.02 * np.median(heights[:12][::-1][:10]), rel=1e-6)


def test_dropping_many_peaks_warns_and_names_the_map():
    # 10 particles and 4 broad peaks: more than a fifth dropped, perhaps particles of another shape
    data, at = _row_of_peaks([2.0] * 10 + [3.0] * 4, list(1 + np.arange(10) / 20) + [1.1] * 4)
    with pytest.warns(CryotmWarning, match=r"^scores\.mrc: the shape filter dropped 4 of 14 peaks.*--no-shape-filter"):
        keep, _ = shape_outliers(data, at, 2, 5, 0.0, source="scores.mrc")
    assert keep.tolist() == [True] * 10 + [False] * 4
    data, at = _row_of_peaks([2.0] * 12 + [3.0], list(1 + np.arange(12) / 20) + [1.1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one of 13: no warning
        assert not shape_outliers(data, at, 2, 5, 0.0, source="scores.mrc")[0][-1]


def test_too_few_peaks_or_shells_off_the_map_are_not_judged():
    data, at = _row_of_peaks([2.0] * (MIN_PEAKS - 2) + [3.0], [1.0] * (MIN_PEAKS - 1))
    keep, details = shape_outliers(data, at, radius=2, tolerance=5, background=0.0)
    assert keep.all() and details == {}
    # a broad peak whose shell lies mostly outside the mask is kept: its shell cannot be measured
    data, at = _row_of_peaks([2.0] * 12 + [3.0], [1.0] * 13)
    mask = np.ones(data.shape, dtype=np.uint8)
    mask[:, :, 9 * 12 : 9 * 12 + 9] = 0
    mask[4, 4, 9 * 12 + 4] = 1
    assert shape_outliers(data, at, 2, 5, 0.0)[0][-1] == np.False_
    assert shape_outliers(data, at, 2, 5, 0.0, mask)[0][-1] == np.True_


def test_the_shell_radius_is_a_sixth_of_the_diameter():
    assert [shell_radius(d) for d in (3, 9, 16.4, 19.4, 30, 60)] == [1, 2, 3, 3, 5, 10]


@pytest.fixture(scope="module", params=[1, 3])
def gold_scene(request):
    # realistic search, hook template, four beads of make_search_scene's default density scoring among the
    # particles (the trail step cannot drop them). Measured: 24 picks without the filter (20 particles, the 4
    # beads), the 20 particles alone with it.
    return make_search_scene(shape=(80, 80, 80), n_particles=20, n_angles=60, seed=request.param, snr=(7.0, 10.0),
                             gold=4, template="hook", template_size=16)


def _at_beads(particles, scene) -> np.ndarray:
    distance = np.linalg.norm(particles.positions[:, None, :] - np.asarray(scene.gold)[None], axis=2)
    return distance.min(axis=1) <= 6


def test_the_default_extraction_drops_the_beads_and_keeps_the_particles(gold_scene):
    scene, d = gold_scene, gold_scene.particle_diameter
    maps = (scene.scores, scene.angle_map, scene.angles)
    plain = PeakPicker(particle_diameter=d, shape_filter=False).run(*maps)
    default = PeakPicker(particle_diameter=d).run(*maps)
    assert np.count_nonzero(_at_beads(plain.particles, scene)) == 4
    assert np.count_nonzero(_at_beads(default.particles, scene)) == 0
    for result in (plain, default):
        assert match_particles(result.particles, scene.truth, tolerance=d / 4).true_positives == 20
    assert len(default.particles) == 20 and default.filters["peak_shape"]["dropped"] == 4
    assert "peak shape dropped 4" in default.summary()
    # the same threshold: the filter only removes picks
    assert default.threshold.value == plain.threshold.value
    # select's default does the same (and keeps what extract keeps)
    selected = select_peaks(*maps, template_radius=d / 2)
    assert len(selected.particles) == 20 and not _at_beads(selected.particles, scene).any()
    assert match_particles(selected.particles, scene.truth, tolerance=d / 4).true_positives == 20
    assert selected.labels.max() == len(selected.particles)  # the dropped peaks' labels are gone, numbered again
    assert set(np.unique(selected.labels)) == set(range(len(selected.particles) + 1))


def test_the_filter_waits_for_a_rule_that_expects_few_noise_peaks(gold_scene):
    scene, d = gold_scene, gold_scene.particle_diameter
    maps = (scene.scores, scene.angle_map, scene.angles)
    # sigma:3 keeps noise peaks by the dozen: the highest half is not only particles, the filter stays off
    loose = PeakPicker(particle_diameter=d, threshold="sigma:3").run(*maps)
    assert "peak_shape" not in loose.filters and len(loose.particles) >= 28
    # far declares its expected noise (one false voxel): on, as with calibrated
    far = PeakPicker(particle_diameter=d, threshold="far").run(*maps, statistics=scene.statistics)
    assert "peak_shape" in far.filters
    # asked for, it runs whatever the rule; cryoCAT's signature never runs it
    forced = PeakPicker(particle_diameter=d, threshold="sigma:5", shape_filter=True).run(*maps)
    assert "peak_shape" in forced.filters
    cryocat = extract_particles(scene.scores, scene.angle_map, scene.angles, 1, d, threshold="calibrated",
                                output_path=None)
    assert len(cryocat) == 24


def test_no_shape_filter_on_the_command_line(gold_scene, tmp_path, capsys):
    scene, d = gold_scene, gold_scene.particle_diameter
    paths = scene.write(tmp_path / "maps")
    maps = [str(paths[k]) for k in ("scores", "angles", "angle_list")]
    assert main(["extract", *maps, "-d", f"{d}", "-o", str(tmp_path / "a.em")]) == 0
    assert "peak shape dropped 4" in capsys.readouterr().out
    assert main(["extract", *maps, "-d", f"{d}", "-o", str(tmp_path / "b.em"), "--no-shape-filter"]) == 0
    assert "peak shape" not in capsys.readouterr().out
    assert main(["select", *maps, "--template-radius", f"{d / 2}", "-o", str(tmp_path / "c.em")]) == 0
    assert "selected 20 particles" in capsys.readouterr().out
    assert main(["select", *maps, "--template-radius", f"{d / 2}", "-o", str(tmp_path / "d.em"),
                 "--no-shape-filter"]) == 0
    assert "selected 24 particles" in capsys.readouterr().out
    # a tolerance that is not a positive number: one line, nothing written
    assert main(["extract", *maps, "-d", f"{d}", "-o", str(tmp_path / "e.em"), "--shape-tolerance", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--shape-tolerance" in err[0] and not (tmp_path / "e.em").exists()
    assert main(["select", *maps, "-o", str(tmp_path / "f.em"), "--placement", "cryocat", "--shape-filter"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--shape-filter" in err[0] and not (tmp_path / "f.em").exists()
