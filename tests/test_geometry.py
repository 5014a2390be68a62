"""Tilt-series geometry: the projection against hand computations, each reader against its real file."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from cryotm import ParticleList
from cryotm.errors import CryotmError, InputError
from cryotm.geometry import (
    TiltSeriesAlignment,
    make_projection_model,
    project_particles,
    project_points,
    read_alignment,
    read_alignments,
    write_relion5_tilt_series,
    write_relion5_tomograms,
)

REAL = Path(__file__).parent / "data" / "real"

# A hand-written AreTomo alignment (the layout AreTomo 1.3 writes: header lines, then SEC ROT GMAG TX TY SMEAN SFIT
# SCALE BASE TILT per tilt): tilt angle, TX, TY of each row.
ARETOMO_ROWS = [(-63.20, 9.220, 103.933), (-41.21, 18.660, 84.977), (-19.20, 5.624, 80.787), (0.80, 0.0, 0.0),
                (20.79, 13.706, -62.872), (38.80, -5.754, 55.883), (56.79, 9.458, -42.828)]
ARETOMO_ROT = -95.404


def write_aretomo_alignment(folder: Path, stem: str) -> tuple[Path, Path]:
    """Write ``stem.aln`` and the IMOD ``stem.xf``/``stem.tlt`` that AreTomo's ``-OutImod`` relation gives.

    IMOD's transform of a tilt is the in-plane rotation by ROT, A = [[cos, -sin], [sin, cos]], and the shift
    -A (TX, TY) (AreTomo rotates the image back by -ROT after shifting it by -(TX, TY)).
    """
    lines = ["# AreTomo Alignment / Priims bprmMn", "# RawSize = 4096 4096 7", "# NumPatches = 0",
             "# AlphaOffset =     0.00", "# BetaOffset =     0.00", "# Thickness = 2050",
             "# SEC     ROT         GMAG       TX          TY      SMEAN     SFIT    SCALE     BASE     TILT"]
    xf, tlt = [], []
    c, s = np.cos(np.radians(ARETOMO_ROT)), np.sin(np.radians(ARETOMO_ROT))
    a = np.array([[c, -s], [s, c]])
    for sec, (tilt, tx, ty) in enumerate(ARETOMO_ROWS, start=1):
        lines.append(f"{sec:5d} {ARETOMO_ROT:10.4f} {1.0:10.5f} {tx:10.3f} {ty:10.3f}"
                     f" {1.0:8.2f} {1.0:8.2f} {1.0:8.2f} {0.0:8.2f} {tilt:8.2f}")
        dx, dy = -a @ np.array([tx, ty])
        xf.append(f"{a[0, 0]:12.7f}{a[0, 1]:12.7f}{a[1, 0]:12.7f}{a[1, 1]:12.7f}{dx:12.4f}{dy:12.4f}")
        tlt.append(f"{tilt:8.2f}")
    (folder / f"{stem}.aln").write_text("\n".join(lines) + "\n")
    (folder / f"{stem}.xf").write_text("\n".join(xf) + "\n")
    (folder / f"{stem}.tlt").write_text("\n".join(tlt) + "\n")
    return folder / f"{stem}.aln", folder / f"{stem}.xf"
TILTS = np.arange(-60.0, 61.0, 15.0)


def _alignment(tilts=TILTS, image=(101, 120), tomogram=(40, 101, 120), **model):
    return TiltSeriesAlignment(make_projection_model(tilts, **model), tilt_image_shape=image, tomogram_shape=tomogram)


# -- projection: hand-made cases, computed without cryotypes ---------------------------------------------------
def test_a_point_on_the_tilt_axis_stays_put_at_every_tilt():
    ali = _alignment()
    # tomogram (nz, ny, nx) = (40, 101, 120): centre (60, 50, 20); image (101, 120): centre (60, 50)
    points = np.array([[60.0, 50.0, 20.0], [60.0, 7.0, 20.0], [60.0, 93.5, 20.0]])
    xy = project_points(points, ali)
    for i, (x, y, z) in enumerate(points):
        np.testing.assert_allclose(xy[i, :, 0], 60.0, atol=1e-9)
        np.testing.assert_allclose(xy[i, :, 1], y - 50.0 + 50.0, atol=1e-9)


def test_a_point_at_height_z_moves_by_z_sin_tilt_for_a_pure_y_tilt():
    ali = _alignment()
    height = 13.0
    xy = project_points([[60.0, 50.0, 20.0 + height], [70.0, 50.0, 20.0 + height]], ali)
    theta = np.radians(TILTS)
    np.testing.assert_allclose(xy[0, :, 0], 60.0 + height * np.sin(theta), atol=1e-9)
    np.testing.assert_allclose(xy[1, :, 0], 60.0 + 10.0 * np.cos(theta) + height * np.sin(theta), atol=1e-9)
    np.testing.assert_allclose(xy[:, :, 1], 50.0, atol=1e-9)


def test_in_plane_rotation_comes_after_the_tilt_and_the_shift_after_both():
    phi, dx, dy = 30.0, 4.0, -2.5
    ali = _alignment(rotation_z=phi, dx=dx, dy=dy)
    a, h = 10.0, 6.0  # offset along x and z from the centre
    xy = project_points([[60.0 + a, 50.0, 20.0 + h]], ali)[0]
    theta, p = np.radians(TILTS), np.radians(phi)
    u = a * np.cos(theta) + h * np.sin(theta)  # after the tilt about y, before the in-plane rotation
    np.testing.assert_allclose(xy[:, 0], 60.0 + dx + np.cos(p) * u, atol=1e-9)
    np.testing.assert_allclose(xy[:, 1], 50.0 + dy + np.sin(p) * u, atol=1e-9)
    # the shift is not rotated: the centre goes to the image centre plus (dx, dy) exactly
    centre = project_points([[60.0, 50.0, 20.0]], ali)[0]
    np.testing.assert_allclose(centre, np.tile([60.0 + dx, 50.0 + dy], (len(TILTS), 1)), atol=1e-9)


def test_x_tilt_is_applied_before_the_y_tilt():
    ali = _alignment(tilts=[90.0], rotation_x=90.0)
    # Rx(90) turns +y into +z, then Ry(90) turns +z into +x
    xy = project_points([[60.0, 55.0, 20.0]], ali)[0, 0]
    np.testing.assert_allclose(xy, [65.0, 50.0], atol=1e-9)


def test_particles_are_scaled_from_their_pixel_size_about_the_tomogram_centre():
    ali = _alignment(tilts=[0.0, 30.0], tomogram=(40, 100, 120), image=(100, 120))
    ali = ali.evolve(model=make_projection_model([0.0, 30.0], pixel_spacing=2.0))
    # bin-2 tomogram of (20, 50, 60) voxels at 4 Å; voxel (35, 25, 10) is 5 voxels = 10 pixels right of the centre
    plist = ParticleList.from_arrays([[35.0, 25.0, 10.0]], pixel_size=4.0, tomogram_shape=(20, 50, 60))
    table = project_particles(plist, ali)
    np.testing.assert_allclose(table["x"], [70.0, 60.0 + 10.0 * np.cos(np.radians(30))], atol=1e-9)
    assert table["tilt_index"].tolist() == [0, 1]
    # the same list without a pixel size: the binning follows from the two shapes
    plain = ParticleList.from_arrays([[35.0, 25.0, 10.0]], tomogram_shape=(20, 50, 60))
    np.testing.assert_allclose(project_particles(plain, ali)["x"], table["x"], atol=1e-9)
    # with neither, the alignment's pixel size is assumed, and a warning says so
    unknown = ali.evolve(tomogram_shape=None)
    with pytest.warns(UserWarning, match="no pixel size; taken at the alignment's 2 Å"):
        assumed = project_particles(plain, unknown)
    assert assumed["x"].iloc[0] == pytest.approx(60.0 + 5.0)  # 5 voxels right of the centre, taken as 5 pixels


def test_inside_uses_the_image_border_and_margin():
    ali = _alignment(tilts=[0.0], image=(101, 120))
    plist = ParticleList.from_arrays([[0.0, 50.0, 20.0], [119.4, 50.0, 20.0], [119.6, 50.0, 20.0]],
                                     tomogram_shape=(40, 101, 120))
    assert project_particles(plist, ali)["inside"].tolist() == [True, True, False]
    assert project_particles(plist, ali, margin=1.0)["inside"].tolist() == [False, False, False]


def test_particle_list_project_takes_a_projection_model_dataframe():
    model = make_projection_model([-30.0, 0.0, 30.0])
    plist = ParticleList.from_arrays([[50.0, 50.0, 30.0]], tomogram_shape=(40, 100, 100))
    table = plist.project(model, tilt_image_shape=(100, 100))
    np.testing.assert_allclose(table["x"], 50 + 10 * np.sin(np.radians([-30.0, 0.0, 30.0])), atol=1e-9)
    assert list(table.columns) == ["particle", "tomo_name", "tilt_index", "tilt_angle", "x", "y", "inside"]


def test_projection_errors_are_one_line():
    ali = _alignment().evolve(name="TS_1")
    named = ParticleList.from_arrays([[1.0, 1.0, 1.0]], experiment_id="TS_2", tomogram_shape=(40, 101, 120))
    with pytest.raises(InputError, match="alignment of another tomogram"):
        project_particles(named, ali)
    wrong = ParticleList.from_arrays([[1.0, 1.0, 1.0]], pixel_size=1.0, tomogram_shape=(30, 101, 120))
    with pytest.raises(InputError, match="shape mismatch"):
        project_particles(wrong, ali)
    bare = TiltSeriesAlignment(make_projection_model([0.0]))
    with pytest.raises(InputError, match="--tilt-image-shape"):
        project_particles(ParticleList.from_arrays([[1.0, 1.0, 1.0]], tomogram_shape=(4, 4, 4)), bare)


# -- readers against real files ---------------------------------------------------------------------------------
def test_relion5_tomograms_star_of_pytom_match_pick():
    alignments = read_alignments(REAL / "relion5_pytom/Tomograms/job009/tomograms.star")
    assert len(alignments) == 10
    ali = alignments["tomo200528_107"]
    assert ali.program == "relion5" and len(ali) == 35
    assert ali.tomogram_shape == (2000, 4000, 4000) and ali.pixel_size == pytest.approx(1.724)
    # first and last rows as written: rlnTomoYTilt, rlnTomoZRot, rlnTomoX/YShiftAngst
    assert ali.angles[0] == pytest.approx(-50.99)
    assert ali.model["rotation_z"].iloc[0] == pytest.approx(-90.5451)
    assert ali.model["dx"].iloc[0] * 1.724 == pytest.approx(9.537168)
    assert ali.model["dy"].iloc[0] * 1.724 == pytest.approx(-19.87772)
    # RELION: the tomogram centre int(size / 2) lands on the tilt-image centre plus the shift, in every tilt
    xy = project_points([[2000.0, 2000.0, 1000.0]], ali)[0]
    np.testing.assert_allclose(xy, 2000.0 + ali.model[["dx", "dy"]].to_numpy(), atol=1e-9)
    assert "tomo200528_100" in alignments  # listed, though its file is not here
    with pytest.raises(InputError, match="tomo200528_100.*missing"):
        alignments["tomo200528_100"]


def test_relion5_lone_tilt_series_star_needs_a_pixel_size():
    star = REAL / "relion5_pytom/Tomograms/job009/tilt_series/tomo200528_107.star"
    with pytest.raises(InputError, match="pixel size"):
        read_alignment(star)
    ali = read_alignment(star, tomograms=str(REAL / "relion5_pytom/Tomograms/job009/tomograms.star"))
    assert ali.tomogram_shape == (2000, 4000, 4000) and len(ali) == 35


def test_relion5_tilt_series_of_cylindra_is_not_aligned():
    with pytest.raises(InputError, match="lacks rlnTomoXTilt.*not aligned yet"):
        read_alignments(REAL / "cylindra_tomo/tomograms.star")["TS_01"]


def test_imod_tilt_com_and_tlt_of_cryocat():
    ali = read_alignment(REAL / "cryocat_TS_017/tilt.com", pixel_size=2.0)
    assert ali.program == "imod" and ali.name == "017" and len(ali) == 60
    assert ali.angles[0] == pytest.approx(-52.01) and ali.angles[-1] == pytest.approx(65.97)
    assert ali.tilt_image_shape == (4096, 4096) and ali.tomogram_shape == (1500, 4096, 4096)
    assert ali.pixel_size == 2.0
    np.testing.assert_allclose(ali.model["rotation_y"], ali.angles)
    # IMOD: the reconstruction's centre, (n - 1) / 2 in 0-based pixels, projects onto the aligned image's centre
    xy = project_points([[2047.5, 2047.5, 749.5]], ali)[0]
    np.testing.assert_allclose(xy, 2047.5, atol=1e-9)


def test_imod_offset_shift_and_x_axis_tilt_of_tilt_com(tmp_path):
    folder = tmp_path / "ts"
    shutil.copytree(REAL / "cryocat_TS_017", folder)
    text = (folder / "tilt.com").read_text()
    text = text.replace("OFFSET 0.0", "OFFSET 2.0").replace("SHIFT 0.0 0.0", "SHIFT 10.0 0.0")
    (folder / "tilt.com").write_text(text)
    ali = read_alignment(folder)  # the folder works too
    np.testing.assert_allclose(ali.model["rotation_y"], ali.angles + 2.0)
    # SHIFT x moves the slab to the right: the tomogram's centre holds the point 10 pixels left of the axis
    xy = project_points([[2047.5, 2047.5, 749.5]], ali)[0]
    np.testing.assert_allclose(xy[:, 0], 2047.5 - 10.0 * np.cos(np.radians(ali.angles + 2.0)), atol=1e-9)


def test_imod_xf_and_tlt_of_different_length_is_an_error(tmp_path):
    write_aretomo_alignment(tmp_path, "ts")
    lines = (tmp_path / "ts.xf").read_text().splitlines()
    (tmp_path / "ts.xf").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(InputError, match="6 transforms but ts.tlt 7 tilt angles"):
        read_alignment(tmp_path / "ts.xf")


def test_aretomo_aln_against_the_imod_xf_of_the_same_alignment(tmp_path):
    aln_path, xf_path = write_aretomo_alignment(tmp_path, "ts")
    aln = read_alignment(aln_path)
    assert aln.program == "aretomo" and len(aln) == len(ARETOMO_ROWS)
    assert aln.tilt_image_shape == (4096, 4096) and aln.tomogram_shape == (2050, 4096, 4096)
    assert aln.angles[0] == pytest.approx(-63.2) and aln.angles[-1] == pytest.approx(56.79)
    np.testing.assert_allclose(aln.model["rotation_z"], 95.404)  # -ROT
    # the tomogram's centre lands at the image centre shifted by (TX, TY), as AreTomo writes them
    tx_ty = np.array([row[1:3] for row in ARETOMO_ROWS])
    xy = project_points([[2047.5, 2047.5, 1024.5]], aln)[0]
    np.testing.assert_allclose(xy, 2047.5 + tx_ty, atol=1e-9)
    # the IMOD .xf that AreTomo's -OutImod relation gives for the same alignment projects the same way
    imod = read_alignment(xf_path, tilt_image_shape=(4096, 4096), tomogram_shape=(2050, 4096, 4096))
    np.testing.assert_allclose(imod.projection_matrices(), aln.projection_matrices(), atol=1e-3)


def test_warp_xml_of_cryocat_utf16():
    ali = read_alignment(REAL / "cryocat_TS_017/017.xml", pixel_size=2.0, tilt_image_shape=(4096, 4096),
                         tomogram_shape=(1500, 4096, 4096))
    assert ali.program == "warp" and len(ali) == 60
    assert ali.angles[0] == -52 and ali.angles[-1] == 66
    np.testing.assert_allclose(ali.model["rotation_z"], 83.22321)
    np.testing.assert_allclose(ali.model["rotation_y"], -ali.angles)
    assert ali.model["dx"].iloc[0] * 2.0 == pytest.approx(51.38024)
    assert ali.model["dy"].iloc[0] * 2.0 == pytest.approx(-95.60207)
    # Warp: the volume's centre goes to the image centre plus the axis offset (in Å)
    xy = project_points([[2048.0, 2048.0, 750.0]], ali)[0]
    np.testing.assert_allclose(xy, 2048.0 + ali.model[["dx", "dy"]].to_numpy(), atol=1e-9)


def test_warptools_xml_of_pytom_match_pick_and_unused_tilts(tmp_path):
    path = REAL / "warptools/gs04_ts_003.xml"
    ali = read_alignment(path)
    assert len(ali) == 47 and ali.angles[0] == 46 and ali.angles[-1] == pytest.approx(-45.99)
    np.testing.assert_allclose(ali.model["rotation_z"], 84.500114)
    text = path.read_text(encoding="utf-8-sig").replace("<UseTilt>True", "<UseTilt>False", 1)
    (tmp_path / "ts.xml").write_text(text, encoding="utf-8")
    fewer = read_alignment(tmp_path / "ts.xml")
    assert len(fewer) == 46 and fewer.angles[0] == 44
    assert any("UseTilt" in note for note in fewer.notes)


def test_unknown_alignment_files_and_options_are_errors(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\0\1")
    with pytest.raises(InputError, match="cannot tell the alignment format"):
        read_alignment(tmp_path / "x.bin")
    with pytest.raises(CryotmError, match="unknown alignment format 'nope'"):
        read_alignment(tmp_path / "x.bin", format="nope")
    with pytest.raises(CryotmError, match="has no option 'binning'"):
        read_alignment(write_aretomo_alignment(tmp_path, "ts")[0], binning=2)


# -- RELION 5 round trip ------------------------------------------------------------------------------------------
def test_relion5_tilt_series_star_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    n = 7
    model = make_projection_model(
        rotation_y=np.linspace(-45, 45, n), rotation_z=rng.uniform(-180, 180, n), rotation_x=rng.normal(0, 1, n),
        dx=rng.normal(0, 20, n), dy=rng.normal(0, 20, n), experiment_id="TS_001", pixel_spacing=1.35,
    )
    ali = TiltSeriesAlignment(model, tilt_image_shape=(3710, 3838), tomogram_shape=(1000, 3710, 3838),
                              name="TS_001")
    write_relion5_tilt_series(ali, tmp_path / "TS_001.star")
    write_relion5_tomograms({"TS_001": ali}, {"TS_001": "TS_001.star"}, tmp_path / "tomograms.star")
    back = read_alignments(tmp_path / "tomograms.star", tilt_image_shape=(3710, 3838))["TS_001"]
    columns = ["rotation_x", "rotation_y", "rotation_z", "dx", "dy"]
    np.testing.assert_allclose(back.model[columns].to_numpy(), model[columns].to_numpy(), rtol=1e-12, atol=1e-12)
    assert (back.name, back.tomogram_shape, back.tilt_image_shape) == ("TS_001", (1000, 3710, 3838), (3710, 3838))
    assert back.pixel_size == pytest.approx(1.35)
    lone = read_alignment(tmp_path / "TS_001.star", pixel_size=1.35)
    np.testing.assert_allclose(lone.model[columns].to_numpy(), model[columns].to_numpy(), atol=1e-12)
    with pytest.raises(InputError, match="output exists"):
        write_relion5_tilt_series(ali, tmp_path / "TS_001.star")
