"""Reports: the PNG files are made, and what is drawn matches the data."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from cryotm import make_scene  # noqa: E402
from cryotm.cli import main  # noqa: E402
from cryotm.pipeline import Pipeline, TomogramInputs, record_path_for  # noqa: E402
from cryotm.report import background_curve, make_report, plot_slices, report_run  # noqa: E402
from cryotm.report.histogram import histogram_of  # noqa: E402
from cryotm.thresholds import SearchStatistics, get_threshold_strategy  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def _picker():
    from cryotm.picking import PeakPicker

    return PeakPicker(particle_diameter=10)


@pytest.fixture(scope="module")
def picked():
    scene = make_scene(shape=(40, 48, 56), n_peaks=6, n_angles=60, seed=7, min_distance=12)
    particles = Pipeline(_picker(), threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles).particles
    return scene, particles


def _lines(figure, prefix):
    return [line for ax in figure.axes for line in ax.get_lines() if (line.get_gid() or "").startswith(prefix)]


def test_histogram_draws_each_threshold_where_it_is(picked, tmp_path):
    scene, particles = picked
    report = make_report(scene.scores, particles, thresholds=["far", "sigma:3", "triangle", 0.3], n_angles=60,
                         output_dir=tmp_path)
    for name in ("histogram", "slices", "peaks"):
        path = tmp_path / f"{name}.png"
        assert report.paths[name] == path and path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000
    lines = {line.get_gid(): line for line in _lines(report.figures["histogram"], "threshold:")}
    expected = {
        "far": get_threshold_strategy("far").evaluate(scene.scores, statistics=SearchStatistics(n_angles=60)).value,
        "sigma": get_threshold_strategy("sigma:3").compute(scene.scores),
        "triangle": get_threshold_strategy("triangle").compute(scene.scores),
        "manual": 0.3,
    }
    assert set(lines) == {f"threshold:{k}" for k in expected}
    for name, value in expected.items():
        assert lines[f"threshold:{name}"].get_xdata()[0] == pytest.approx(value)
    assert report.figures["histogram"].axes[0].get_yscale() == "log"


def test_background_curve_is_the_far_fit(picked):
    scene, particles = picked
    result = get_threshold_strategy("far").evaluate(scene.scores, statistics=SearchStatistics(n_angles=60))
    report = make_report(scene.scores, particles, thresholds=[result])
    (curve,) = _lines(report.figures["histogram"], "background")
    counts, edges = histogram_of(scene.scores)
    expected = background_curve(result, edges, int(counts.sum()))
    centres = 0.5 * (edges[:-1] + edges[1:])
    x, y = curve.get_xdata(), curve.get_ydata()
    assert np.allclose(y, np.interp(x, centres, expected))
    # the fitted background follows the histogram's core (the noise), within 15 % at the mode
    mode = int(np.argmax(counts))
    assert expected[mode] == pytest.approx(counts[mode], rel=0.15)


def test_slices_show_the_picks_near_each_plane(picked):
    scene, particles = picked
    best = particles.positions[np.argmax(particles.scores)]
    figure = plot_slices(scene.scores, particles, slab=2.0)
    titles = [ax.get_title() for ax in figure.axes[:3]]
    x, y, z = np.rint(best).astype(int)
    assert titles == [f"XY z={z}", f"XZ y={y}", f"YZ x={x}"]
    for ax, (axis, (h, v)) in zip(figure.axes[:3], [(2, (0, 1)), (1, (0, 2)), (0, (1, 2))]):
        (scatter,) = [c for c in ax.collections if c.get_gid() == "picks"]
        near = np.abs(particles.positions[:, axis] - best[axis]) <= 2.0
        drawn = np.asarray(scatter.get_offsets())
        assert sorted(map(tuple, drawn)) == sorted(map(tuple, particles.positions[near][:, [h, v]]))
        image = ax.get_images()[0].get_array()
        plane = {2: scene.scores[z], 1: scene.scores[:, y], 0: scene.scores[:, :, x]}[axis]
        assert np.array_equal(np.asarray(image), plane)


def test_peak_profiles_and_fits_follow_the_best_picks(picked):
    scene, particles = picked
    report = make_report(scene.scores, particles, thresholds=["sigma:3"], n_peaks=2)
    figure = report.figures["peaks"]
    order = np.argsort(-particles.scores)[:2]
    for row, index in enumerate(order):
        x, y, z = np.rint(particles.positions[index]).astype(int)
        (profile,) = _lines(figure, f"profile:{row}:x")
        assert np.array_equal(profile.get_ydata(), scene.scores[z, y, profile.get_xdata()])
        (fit,) = _lines(figure, f"fit:{row}:x")
        top = fit.get_xdata()[np.argmax(fit.get_ydata())]
        assert abs(top - x) <= 1.0
        assert np.max(fit.get_ydata()) == pytest.approx(scene.scores[z, y, x], rel=0.2)


def test_report_of_a_recorded_run_and_the_command(picked, tmp_path, capsys):
    scene, _ = picked
    paths = scene.write(tmp_path / "scene")
    inputs = TomogramInputs("tomo9", paths["scores"], paths["angles"], paths["angle_list"])
    out = tmp_path / "tomo9.star"
    run = Pipeline(_picker(), threshold="far:2", writer="relion5").run(inputs, output=out)
    report = report_run(record_path_for(out), tmp_path / "figs", thresholds=["triangle"])
    (own,) = [line for line in _lines(report.figures["histogram"], "threshold:far (run)")]
    assert own.get_xdata()[0] == pytest.approx(run.threshold.value)
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "tomo9_histogram.png", "tomo9_peaks.png", "tomo9_slices.png", "tomo9_threshold.png"]

    assert main(["report", os.fspath(record_path_for(out)), "-o", os.fspath(tmp_path / "cli"), "--thresholds", "sigma:3,nosuch"]) == 0
    text = capsys.readouterr().out
    assert "nosuch: not drawn (unknown threshold" in text and "tomo9_histogram.png" in text
    assert main(["report", os.fspath(record_path_for(out)), "-o", os.fspath(tmp_path / "cli")]) == 1
    assert "exists" in capsys.readouterr().err
    from cryotm.formats import write_particles

    write_particles(run.particles, tmp_path / "picks.star", format="stopgap")
    assert main(["report", os.fspath(paths["scores"]), "-o", os.fspath(tmp_path / "map"), "--particles",
                 os.fspath(tmp_path / "picks.star"), "--angle-list", os.fspath(paths["angle_list"])]) == 0
    text = capsys.readouterr().out
    far_line = next(line for line in text.splitlines() if line.startswith("far: "))
    assert float(far_line.split()[1]) > run.threshold.value  # the run used far:2; far:1 allows fewer false alarms
    assert (tmp_path / "map" / "scores_slices.png").is_file()


def test_report_reads_a_relion5_list_with_the_scores_maps_shape(tmp_path, capsys, monkeypatch):
    import cryotm.report
    from cryotm.formats import read_particles

    demo = tmp_path / "demo"
    assert main(["demo", os.fspath(demo), "--size", "48", "--peaks", "5"]) == 0
    drawn = []
    real = cryotm.report.make_report

    def spy(scores, particles, **options):
        drawn.append(particles)
        return real(scores, particles, **options)

    monkeypatch.setattr(cryotm.report, "make_report", spy)
    command = ["report", os.fspath(demo / "scores.mrc"), "--particles", os.fspath(demo / "particles.star"),
               "--n-angles", "500", "--thresholds", "sigma:3"]
    assert main([*command, "-o", os.fspath(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "scores_slices.png").read_bytes().startswith(PNG)
    expected = read_particles(demo / "particles.em")
    assert drawn[0].tomogram_shape == (48, 48, 48) and drawn[0].pixel_size == pytest.approx(10.0)
    assert np.allclose(drawn[0].positions, expected.positions)
    # the options override the map's: a shape 8 voxels larger moves the picks by 4
    assert main([*command, "-o", os.fspath(tmp_path / "moved"), "--tomogram-shape", "56", "56", "56"]) == 0
    assert np.allclose(drawn[1].positions, expected.positions + 4)
    capsys.readouterr()
    record_only = ["report", os.fspath(demo / "x.cryotm.json"), "-o", os.fspath(tmp_path / "r"), "--pixel-size", "3"]
    assert main(record_only) == 1
    assert "reading options" in capsys.readouterr().err


def test_threshold_figure_shows_particles_kept_the_noise_model_and_each_rule(tmp_path):
    from cryotm.picking import PeakPicker
    from cryotm.report import RULE_COLOURS, plot_threshold_choice
    from cryotm.synthetic import make_search_scene
    from cryotm.thresholds import CalibratedThreshold

    scene = make_search_scene(shape=(64, 64, 64), n_particles=6, n_angles=40, seed=2, snr=(6, 9))
    diameter = scene.particle_diameter
    report = make_report(scene.scores, thresholds=["calibrated", "far", "sigma:3"], n_angles=40,
                         particle_diameter=diameter, output_dir=tmp_path)
    assert report.paths["threshold"] == tmp_path / "threshold.png"
    assert report.paths["threshold"].read_bytes()[:8] == PNG
    calibrated = report.thresholds[0]
    assert calibrated.details["particle_diameter"] == diameter  # the rule saw the picker's diameter
    figure = report.figures["threshold"]
    (kept,) = _lines(figure, "kept")
    # the curve is the number of particles the picker keeps at each threshold
    for x in np.quantile(kept.get_xdata(), [0.5, 0.9, 0.99]):
        picks = PeakPicker(particle_diameter=diameter, threshold=float(x)).pick(scene.scores, scene.angle_map,
                                                                                scene.angles)
        assert kept.get_ydata()[np.searchsorted(kept.get_xdata(), x)] == pytest.approx(max(len(picks), 0.5), abs=1)
    (expected,) = _lines(figure, "expected noise")
    x = expected.get_xdata()
    assert np.allclose(expected.get_ydata(), CalibratedThreshold.expected_count(calibrated, x))
    # at the noise cut-off the model expects its declared one noise peak (six particles: no cluster to trim below)
    assert calibrated.value == calibrated.details["noise_cutoff"]
    assert CalibratedThreshold.expected_count(calibrated, calibrated.value) == pytest.approx(1.0, rel=1e-6)
    cut_offs = {line.get_gid(): line for line in _lines(figure, "cut-off:")}
    assert set(cut_offs) == {"cut-off:calibrated", "cut-off:far", "cut-off:sigma"}
    assert cut_offs["cut-off:calibrated"].get_color() == RULE_COLOURS["calibrated"]
    assert cut_offs["cut-off:far"].get_xdata()[0] == pytest.approx(report.thresholds[1].value)
    assert plot_threshold_choice(scene.scores, report.thresholds).axes[0].get_yscale() == "log"


def test_the_threshold_plot_shows_a_raised_cut_off_and_its_gap(tmp_path):
    """Strong particles, faint beads below them: the plot shows the noise cut-off and the gap it was raised into."""
    from cryotm.report.choosing import plot_threshold_choice
    from cryotm.synthetic import make_search_scene
    from cryotm.thresholds import CalibratedThreshold

    scene = make_search_scene(shape=(64, 64, 64), n_particles=12, n_angles=60, seed=0, snr=(8.0, 12.0), gold=3,
                              membranes=1, template_size=16, gold_contrast=5.0)
    result = CalibratedThreshold(particle_diameter=scene.particle_diameter).evaluate(scene.scores)
    assert result.details["gap"] is not None
    figure = plot_threshold_choice(scene.scores, [result], particle_diameter=scene.particle_diameter)
    (noise_cut,) = _lines(figure, "noise cut-off:")
    assert noise_cut.get_xdata()[0] == pytest.approx(result.details["noise_cutoff"])
    (cut,) = _lines(figure, "cut-off:calibrated")
    assert cut.get_xdata()[0] == pytest.approx(result.value) and result.value > result.details["noise_cutoff"]
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert "gap below the particles' cluster" in labels
