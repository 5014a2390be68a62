"""``cryotm compare`` and :func:`cryotm.comparison.compare_particles`."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cryotm.cli import main
from cryotm.comparison import angular_error_summary, compare_particles
from cryotm.errors import CryotmError
from cryotm.formats import write_particles
from cryotm.formats.merge import merge_lists
from cryotm.particles import ParticleList


def _truth(n=20, seed=0, name="", tomo_id=1):
    rng = np.random.default_rng(seed)
    positions = rng.uniform(5, 95, size=(n, 3))
    orientations = Rotation.random(n, random_state=seed).as_euler("zxz", degrees=True)
    return ParticleList.from_arrays(
        positions, orientations=orientations, scores=rng.uniform(0.2, 0.5, n), tomo_id=tomo_id,
        experiment_id=name, pixel_size=10.0, tomogram_shape=(100, 100, 100),
    )


def _turned(plist, rows, degrees, axis="x"):
    """`plist` with the orientations of `rows` turned by `degrees` about the particle's own `axis`."""
    data = plist.data.copy()
    rot = plist.orientations
    turned = rot[rows] * Rotation.from_euler(axis, degrees, degrees=True)
    data.loc[rows, ["phi", "theta", "psi"]] = turned.as_euler("zxz", degrees=True)
    return plist.with_data(data)


def test_identical_lists_match_perfectly():
    truth = _truth()
    result = compare_particles(truth, truth, tolerance=1.0)
    assert (result.precision, result.recall, result.f1) == (1.0, 1.0, 1.0)
    assert np.allclose(result.angular_errors, 0, atol=1e-6)


def test_known_misses_false_picks_and_angular_errors():
    truth = _truth(20)
    picks = _turned(truth, [0, 1, 2, 3], 10.0)
    data = picks.data.copy()
    data.loc[[18, 19], "x"] += 5.0  # moved beyond the tolerance: two false picks and two misses
    picks = picks.with_data(data.iloc[2:].reset_index(drop=True))  # and two reference particles not picked
    result = compare_particles(picks, truth, tolerance=2.0)
    assert result.true_positives == 16
    assert result.precision == pytest.approx(16 / 18)
    assert result.recall == pytest.approx(16 / 20)
    assert result.f1 == pytest.approx(2 * (16 / 18) * (16 / 20) / (16 / 18 + 16 / 20))
    errors = np.sort(result.angular_errors)
    assert np.allclose(errors[-2:], 10.0) and np.allclose(errors[:-2], 0.0, atol=1e-6)
    summary = angular_error_summary(result.angular_errors)
    assert summary["count"] == 16 and summary["max"] == pytest.approx(10.0) and summary["median"] == pytest.approx(0, abs=1e-6)


def test_per_tomogram_figures_and_totals():
    a, b = _truth(10, seed=1, name="TS_01", tomo_id=1), _truth(6, seed=2, name="TS_02", tomo_id=2)
    reference = merge_lists([a, b])
    picks = merge_lists([a, b.with_data(b.data.iloc[:3].reset_index(drop=True))])
    result = compare_particles(picks, reference, tolerance=1.0)
    per = {t.tomogram: t.match for t in result.tomograms}
    assert set(per) == {"TS_01", "TS_02"}
    assert per["TS_01"].recall == 1.0 and per["TS_02"].recall == pytest.approx(0.5)
    assert result.recall == pytest.approx(13 / 16) and result.precision == 1.0
    text = result.format()
    assert "TS_02" in text and "all" in text
    # a particle of TS_02 placed exactly where one of TS_01 is must not match it
    moved = b.data.copy()
    moved.loc[0, ["x", "y", "z"]] = a.data.loc[0, ["x", "y", "z"]].to_numpy()
    far = a.data.copy()
    far[["x", "y", "z"]] += 500.0
    crossed = compare_particles(merge_lists([b.with_data(moved), a.with_data(far)]), merge_lists([a]), tolerance=1.0)
    assert crossed.true_positives == 0
    # one tomogram in each list: compared with each other whatever their names, and said so
    single = compare_particles(merge_lists([b.with_data(moved)]), merge_lists([a]), tolerance=1.0)
    assert single.true_positives == 1 and "compared with each other" in single.notes[0]


def test_symmetry_makes_equivalent_orientations_equal():
    truth = _truth(8)
    picks = _turned(truth, list(range(8)), 90.0, axis="z")
    assert np.allclose(compare_particles(picks, truth, 1.0).angular_errors, 90.0)
    assert np.allclose(compare_particles(picks, truth, 1.0, symmetry=4).angular_errors, 0.0, atol=1e-6)
    assert np.allclose(compare_particles(picks, truth, 1.0, symmetry=3).angular_errors, 30.0)


def test_different_pixel_sizes_are_rescaled():
    truth = _truth(10)
    binned = truth.copy()
    binned.data[["x", "y", "z"]] /= 2.0
    binned.pixel_size = 20.0
    result = compare_particles(binned, truth, tolerance=0.5)
    assert result.recall == 1.0 and "rescaled" in result.notes[0]


def test_bad_arguments():
    truth = _truth(3)
    with pytest.raises(CryotmError, match="tolerance"):
        compare_particles(truth, truth, tolerance=0)
    with pytest.raises(CryotmError, match="symmetry"):
        compare_particles(truth, truth, tolerance=1, symmetry=0)


def test_cli_compares_lists_in_different_formats(tmp_path, capsys):
    truth = _truth(12, name="TS_01")
    picks = _turned(truth, [0, 1], 20.0)
    picks = picks.with_data(picks.data.iloc[:10].reset_index(drop=True))
    write_particles(picks, tmp_path / "picks.star", format="stopgap")
    write_particles(truth, tmp_path / "truth.em", format="emmotl")
    status = main(["compare", os.fspath(tmp_path / "picks.star"), os.fspath(tmp_path / "truth.em"), "--tolerance", "1",
                   "--json", os.fspath(tmp_path / "figures.json")])
    assert status == 0
    text = capsys.readouterr().out
    assert "precision" in text and "1.000" in text and "0.833" in text
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["matched"] == 10 and figures["recall"] == pytest.approx(10 / 12)
    assert figures["angular_error"]["max"] == pytest.approx(20.0, abs=1e-3)
    assert main(["compare", os.fspath(tmp_path / "picks.star"), os.fspath(tmp_path / "nope.em"), "--tolerance", "1"]) == 1
    assert "nope.em" in capsys.readouterr().err


def test_demo_relion5_output_is_compared_with_its_truth(tmp_path, capsys):
    from cryotm.formats import reader_class

    demo = tmp_path / "demo"
    assert main(["demo", os.fspath(demo), "--size", "48", "--peaks", "5"]) == 0
    assert reader_class(demo / "truth.csv").name == "table"
    capsys.readouterr()
    star, truth = os.fspath(demo / "particles.star"), os.fspath(demo / "truth.csv")
    assert main(["compare", star, truth, "--tolerance", "2"]) == 1
    assert "--tomogram-shape" in capsys.readouterr().err  # the option the error names exists
    for shape in (["--tomogram-shape", "48", "48", "48"], ["--tomogram-size", "48", "48", "48"]):
        assert main(["compare", star, truth, "--tolerance", "2", "--json", "-", *shape]) == 0
        figures = json.loads(capsys.readouterr().out)
        # the demo's default rule (calibrated) keeps about one noise peak per tomogram besides the particles
        assert figures["matched"] == 5 and figures["recall"] == 1.0
        assert figures["angular_error"]["max"] < 1e-3
    # --pixel-size reaches the reader too: the wrong one moves the picks away from their particles
    assert main(["compare", star, truth, "--tolerance", "2", "--json", "-", "--tomogram-shape", "48", "48", "48",
                 "--pixel-size", "5"]) == 0
    assert json.loads(capsys.readouterr().out)["matched"] < 5
    # --binning reaches the RELION 5 reader: 20 Å voxels instead of the file's 10 Å
    assert main(["compare", star, truth, "--tolerance", "2", "--json", "-", "--tomogram-shape", "48", "48", "48",
                 "--binning", "2", "--reference-format", "table"]) == 0
    assert json.loads(capsys.readouterr().out)["matched"] == 0
    assert main(["compare", os.fspath(demo / "particles.em"), truth, "--tolerance", "2", "--binning", "2"]) == 1
    assert "--binning is not used by the format(s) emmotl, table" in capsys.readouterr().err
