"""Geometric pick filters (visible tilts, fiducial shadows), ``cryotm project`` and the filter options."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryotm import ParticleList
from cryotm.cli import main
from cryotm.errors import CryotmError
from cryotm.formats import write_particles
from cryotm.geometry import (
    TiltSeriesAlignment,
    make_projection_model,
    write_relion5_tilt_series,
    write_relion5_tomograms,
)
from cryotm.geometry.filters import FiducialExclusion, VisibleTilts
from cryotm.pipeline import FilterContext, Pipeline, get_filter, pipeline_from_config

REAL = Path(__file__).parent / "data" / "real"
TILTS = np.array([-60.0, -30.0, 0.0, 30.0, 60.0])
SHAPE = (40, 100, 100)  # nz, ny, nx: centre (50, 50, 20)


def _write_alignment(folder: Path, name: str = "ts", tilts=TILTS) -> Path:
    ali = TiltSeriesAlignment(make_projection_model(tilts, experiment_id=name), tilt_image_shape=(100, 100),
                              tomogram_shape=SHAPE, name=name)
    (folder / "tilt_series").mkdir(parents=True, exist_ok=True)
    write_relion5_tilt_series(ali, folder / "tilt_series" / f"{name}.star")
    write_relion5_tomograms({name: ali}, {name: f"tilt_series/{name}.star"}, folder / "tomograms.star")
    return folder / "tomograms.star"


def _x(point, tilts=TILTS):
    """x in the tilt image by hand: tilt about y through the centre (50, 50, 20), no shifts."""
    theta = np.radians(tilts)
    return 50.0 + (point[0] - 50.0) * np.cos(theta) + (point[2] - 20.0) * np.sin(theta)


POINTS = np.array([[50.0, 50.0, 20.0], [95.0, 50.0, 35.0], [99.0, 50.0, 5.0]])


@pytest.mark.parametrize("margin", [0.0, 5.0])
def test_visible_tilts_counts_as_a_hand_computation(tmp_path, margin):
    path = _write_alignment(tmp_path)
    plist = ParticleList.from_arrays(POINTS)
    visible = np.array([np.sum((_x(p) >= margin - 0.5) & (_x(p) <= 99.5 - margin)) for p in POINTS])
    assert visible.tolist() == ([5, 5, 4] if margin == 0 else [5, 3, 3])  # the hand computation's own check
    context = FilterContext(shape=SHAPE)
    for k in (3, 4, 5):
        kept = VisibleTilts(str(path), min_tilts=k, margin=margin)(plist, context)
        np.testing.assert_array_equal(kept.positions, POINTS[visible >= k])
    kept = VisibleTilts(str(path), min_fraction=0.7, margin=margin)(plist, context)  # 0.7 * 5 -> 4 tilts
    np.testing.assert_array_equal(kept.positions, POINTS[visible >= 4])
    every = VisibleTilts(str(path), margin=margin)(plist, context)
    np.testing.assert_array_equal(every.positions, POINTS[visible == 5])


@pytest.mark.filterwarnings("ignore::DeprecationWarning:imodmodel")
def test_fiducials_from_an_imod_fiducial_model(tmp_path):
    imodmodel = pytest.importorskip("imodmodel")
    path = _write_alignment(tmp_path)
    plist = ParticleList.from_arrays(POINTS[:2])
    b60 = _x(POINTS[1], np.array([60.0]))[0]
    # a bead track on particle 1 (always at the centre) in tilts 0-2, and one point on particle 2 in tilt 4
    fid = pd.DataFrame({"object_id": 0, "contour_id": [0, 0, 0, 1],
                        "x": [51.0, 50.0, 49.0, b60 + 2.0], "y": [50.0, 51.0, 50.0, 50.0], "z": [0.0, 1.0, 2.0, 4.0]})
    imodmodel.write(fid, tmp_path / "beads.fid")
    context = FilterContext(shape=SHAPE)
    kept = FiducialExclusion(str(path), fiducials=str(tmp_path / "beads.fid"), radius=1.5, min_tilts=2)(plist, context)
    np.testing.assert_array_equal(kept.positions, POINTS[1:2])
    none = FiducialExclusion(str(path), fiducials=str(tmp_path / "beads.fid"), radius=2.5)(plist, context)
    assert len(none) == 0
    tight = FiducialExclusion(str(path), fiducials=str(tmp_path / "beads.fid"), radius=0.5)(plist, context)
    assert len(tight) == 2


def test_fiducials_from_3d_bead_positions(tmp_path):
    path = _write_alignment(tmp_path)
    plist = ParticleList.from_arrays(POINTS)
    beads = ParticleList.from_arrays([[95.0, 50.0, 36.0], [10.0, 10.0, 10.0]])
    write_particles(beads, tmp_path / "beads.csv", format="table")
    context = FilterContext(shape=SHAPE)
    # the bead 1 voxel above particle 2 is within |sin| <= 0.87 pixels of it in every tilt
    kept = FiducialExclusion(str(path), fiducials=str(tmp_path / "beads.csv"), fiducials_3d=True, radius=1.0,
                             min_tilts=5)(plist, context)
    np.testing.assert_array_equal(kept.positions, POINTS[[0, 2]])


def test_filters_are_named_pluggable_and_rebuilt_from_a_config(tmp_path):
    path = _write_alignment(tmp_path)
    assert isinstance(get_filter("visible_tilts", alignment=str(path), min_tilts=3), VisibleTilts)
    config = {
        "picker": {"particle_diameter": 8},
        "filters": [{"name": "visible_tilts", "alignment": str(path), "min_fraction": 0.5, "margin": 2.0},
                    {"name": "fiducials", "alignment": str(path), "fiducials": "beads.fid", "radius": 4.0}],
    }
    pipeline = pipeline_from_config(config)
    assert [type(f).__name__ for f in pipeline.filters] == ["VisibleTilts", "FiducialExclusion"]
    again = pipeline_from_config(pipeline.describe())
    assert again.filters[0].min_fraction == 0.5 and again.filters[1].radius == 4.0
    with pytest.raises(CryotmError, match="needs an alignment file"):
        VisibleTilts()(ParticleList.from_arrays([[1, 1, 1]]), FilterContext(shape=SHAPE))
    with pytest.raises(CryotmError, match="min_fraction"):
        VisibleTilts(str(path), min_fraction=2.0)


def test_a_pipeline_drops_the_pick_under_a_bead(tmp_path, scene):
    from cryotm.geometry.demo import write_demo_geometry

    files = write_demo_geometry(tmp_path, scene.truth, scene.shape, scene.pixel_size, "scene")
    bead_filter = FiducialExclusion(str(files["tomograms"]), fiducials=str(files["beads"]), fiducials_3d=True,
                                    radius=12.0, min_tilts=20, pixel_size=scene.pixel_size)
    from cryotm.picking import PeakPicker

    plain = Pipeline(threshold="far", picker=PeakPicker(particle_diameter=12))
    filtered = Pipeline(threshold="far", picker=PeakPicker(particle_diameter=12), filters=[bead_filter])
    before = plain.pick(scene.scores, scene.angle_map, scene.angles).particles
    after = filtered.pick(scene.scores, scene.angle_map, scene.angles).particles
    assert len(before) - len(after) == 2  # the demo puts two beads just above planted particles
    near = scene.truth.positions[:2]
    distances = np.linalg.norm(after.positions[:, None, :] - near[None], axis=2)
    assert distances.min() > 2


# -- the command line -----------------------------------------------------------------------------------------------
@pytest.fixture
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    assert main(["demo", str(folder), "--size", "40", "--peaks", "6"]) == 0
    return folder


def test_project_on_the_demo(demo, capsys):
    out = demo / "projections.csv"
    assert main(["project", str(demo / "particles.star"), str(demo / "tomograms.star"), "-o", str(out),
                 "--tomogram-size", "40", "40", "40", "-q"]) == 0
    from cryotm.formats import read_particles

    table = pd.read_csv(out)
    n = len(read_particles(demo / "particles.star", tomogram_shape=(40, 40, 40)))
    assert list(table.columns) == ["particle", "tomo_name", "tilt_index", "tilt_angle", "x", "y", "inside"]
    assert len(table) == 41 * n and table["tilt_angle"].iloc[:41].tolist() == list(np.arange(-60.0, 60.1, 3.0))
    assert set(table["tomo_name"]) == {demo.name}  # DIR/scores.mrc is tomogram DIR
    # every planted particle projects inside every tilt (the default rule may add a noise pick at the border)
    assert table.groupby("particle")["inside"].all().sum() >= 6
    assert f"projected {n} particles into 41 tilts" in capsys.readouterr().out
    # a RELION 5 tomograms star file as ALIGNMENT also gives the RELION 5 picks their tomogram's size
    assert main(["project", str(demo / "particles.star"), str(demo / "tomograms.star"), "-o", str(out),
                 "--overwrite", "-q"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), table)


def test_project_bad_inputs_are_one_line_errors(demo, tmp_path, capsys):
    particles = str(demo / "particles.star")
    cases = [
        (["--tomogram-size", "40", "40", "20"], "shape mismatch"),
        (["--tomogram-size", "40", "40", "40", "--tomo-name", "other"], "alignment of another tomogram"),
    ]
    for extra, message in cases:
        capsys.readouterr()
        status = main(["project", particles, str(demo / "tomograms.star"), "-o", str(tmp_path / "t.csv"), *extra])
        err = capsys.readouterr().err.strip()
        # one error line; a wrong shape also warns that picks lie outside it (cryotm.sanity)
        errors = [line for line in err.splitlines() if not line.startswith("cryotm: warning:")]
        assert status == 1 and message in err and len(errors) == 1, err
    (tmp_path / "ts.tlt").write_text("".join(f"{angle:.2f}\n" for angle in range(-60, 61, 3)))
    (tmp_path / "ts.xf").write_text("1 0 0 1 0 0\n" * 40)
    status = main(["project", particles, str(tmp_path / "ts.xf"), "-o", str(tmp_path / "t.csv")])
    err = capsys.readouterr().err.strip()
    assert status == 1 and "40 transforms but ts.tlt 41 tilt angles" in err and "\n" not in err


def test_filter_options_need_an_alignment(demo, tmp_path, capsys):
    status = main(["extract", str(demo / "scores.mrc"), str(demo / "angles.mrc"), str(demo / "angles.csv"),
                   "-d", "12", "-o", str(tmp_path / "p.em"), "--min-visible-tilts", "3"])
    assert status == 1 and "need --alignment" in capsys.readouterr().err
    assert not (tmp_path / "p.em").exists()


def test_extract_with_the_fiducial_filter_on_the_demo(demo, tmp_path, capsys):
    args = [str(demo / "scores.mrc"), str(demo / "angles.mrc"), str(demo / "angles.csv"), "-d", "12", "-q"]
    assert main(["extract", *args, "-o", str(tmp_path / "all.em")]) == 0
    assert main(["extract", *args, "-o", str(tmp_path / "f.em"), "--alignment", str(demo / "tomograms.star"),
                 "--min-visible-fraction", "0.5", "--fiducials", str(demo / "beads.csv"), "--fiducials-3d",
                 "--fiducial-radius", "12", "--fiducial-min-tilts", "20"]) == 0
    out = capsys.readouterr().out
    assert "fiducials: kept" in out
    from cryotm.formats import read_particles

    assert len(read_particles(tmp_path / "all.em")) - len(read_particles(tmp_path / "f.em")) == 2


def test_progress_line():
    from cryotm.cli.project import Progress

    stream = io.StringIO()
    progress = Progress(stream, delay=0.0)
    progress(5, 10)
    assert stream.getvalue() == "project: 5/10 particles (0 s)\n"
    quiet = io.StringIO()
    Progress(quiet, delay=60.0)(5, 10)
    assert quiet.getvalue() == ""


# -- the report's tracks --------------------------------------------------------------------------------------------
def test_tracks_figure_holds_each_chosen_particles_projection(tmp_path):
    pytest.importorskip("matplotlib")
    from cryotm.report import make_report, plot_tracks

    path = _write_alignment(tmp_path, name="")
    plist = ParticleList.from_arrays(POINTS, scores=[0.2, 0.9, 0.5], tomogram_shape=SHAPE)
    scores = np.zeros(SHAPE, dtype=np.float32)
    report = make_report(scores, plist, thresholds=["manual:0.1"], alignment=str(path), n_tracks=2,
                         output_dir=tmp_path / "rep")
    axes = report.figures["tracks"].axes
    lines = {line.get_gid(): line for line in axes[0].lines}
    assert sorted(lines) == ["outside:3:x", "track:2:x", "track:3:x"]  # the two best: particles 2 and 3
    np.testing.assert_allclose(lines["track:2:x"].get_xdata(), TILTS)
    np.testing.assert_allclose(lines["track:2:x"].get_ydata(), _x(POINTS[1]), atol=1e-9)
    np.testing.assert_allclose(lines["track:3:x"].get_ydata(), _x(POINTS[2]), atol=1e-9)
    np.testing.assert_allclose(lines["outside:3:x"].get_xdata(), [-30.0])  # x = 99.94 > 99.5
    assert report.paths["tracks"].is_file()
    with pytest.raises(CryotmError, match="no particle 7"):
        plot_tracks(plist.project(str(path)), [7])


def test_batch_options_add_the_geometric_filters_after_the_configs(tmp_path):
    from cryotm.cli import build_parser
    from cryotm.cli._pipeline_args import pipeline_from_args

    path = _write_alignment(tmp_path)
    config = tmp_path / "pipeline.toml"
    config.write_text('[picker]\nparticle_diameter = 8\n\n[[filters]]\nname = "min_score"\nvalue = 0.1\n')
    args = build_parser().parse_args(["batch", "x", "-o", str(tmp_path / "out"), "--config", str(config),
                                      "--alignment", str(path), "--min-visible-tilts", "4", "--fiducials",
                                      "beads.fid", "--fiducial-radius", "6"])
    pipeline = pipeline_from_args(args)
    assert [f.name for f in pipeline.filters] == ["min_score", "visible_tilts", "fiducials"]
    assert pipeline.filters[1].min_tilts == 4 and pipeline.filters[2].radius == 6.0
    plain = build_parser().parse_args(["batch", "x", "-o", str(tmp_path / "out"), "--config", str(config)])
    assert [f.name for f in pipeline_from_args(plain).filters] == ["min_score"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning:imodmodel")
def test_fiducial_model_on_the_prealigned_stack_is_brought_back_with_its_prexg(tmp_path):
    imodmodel = pytest.importorskip("imodmodel")
    from cryotm.geometry.imod import apply_xf, read_fiducial_model

    raw = np.array([[30.0, 40.0], [70.0, 20.0]])
    tilt = np.array([0, 1])
    prexg = np.array([[0.0, -1.0, 1.0, 0.0, 3.0, -2.0], [1.0, 0.0, 0.0, 1.0, 5.0, 5.0]])  # 90 degrees; a pure shift
    np.savetxt(tmp_path / "ts.prexg", prexg)
    # by hand about IMOD's centre (49.5, 49.5): tilt 0 turns (-19.5, -9.5) into (9.5, -19.5), then shifts
    np.testing.assert_allclose(apply_xf(raw, prexg, tilt, (100, 100)), [[62.0, 28.0], [75.0, 25.0]])
    pre = apply_xf(raw, prexg, tilt, (100, 100))
    imodmodel.write(pd.DataFrame({"x": pre[:, 0], "y": pre[:, 1], "z": tilt.astype(float)}), tmp_path / "ts.fid")
    back = read_fiducial_model(tmp_path / "ts.fid", transform=tmp_path / "ts.prexg", image_shape=(100, 100))
    np.testing.assert_allclose(back[["x", "y"]].to_numpy(), raw, atol=1e-4)
    assert back["tilt_index"].tolist() == [0, 1]
    imodmodel.write(pd.DataFrame({"x": [1.0], "y": [2.0], "z": [3.4]}), tmp_path / "beads3d.mod")
    with pytest.raises(CryotmError, match="not a 2D fiducial model"):
        read_fiducial_model(tmp_path / "beads3d.mod")


def test_select_with_the_fiducial_filter_on_the_demo(demo, tmp_path, capsys):
    from cryotm.formats import read_particles

    args = ["select", str(demo / "scores.mrc"), str(demo / "angles.mrc"), str(demo / "angles.csv")]
    assert main([*args, "-o", str(tmp_path / "all.em")]) == 0
    geometry = ["--alignment", str(demo / "tomograms.star"), "--fiducials", str(demo / "beads.csv"), "--fiducials-3d",
                "--fiducial-radius", "12", "--fiducial-min-tilts", "20"]
    assert main([*args, "-o", str(tmp_path / "f.em"), *geometry]) == 0
    assert "fiducials: kept" in capsys.readouterr().out
    every, kept = read_particles(tmp_path / "all.em").positions, read_particles(tmp_path / "f.em").positions
    assert len(kept) < len(every) and {tuple(p) for p in kept} <= {tuple(p) for p in every}
    beads = read_particles(demo / "beads.csv").positions[:2]  # 2 voxels above planted particles
    assert np.linalg.norm(kept[:, None, :] - beads[None], axis=2).min() > 3
