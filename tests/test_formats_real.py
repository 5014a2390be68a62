"""Particle lists and maps written by other programs (tests/data/real, see its SOURCES.md).

Expected values are computed here, independently of cryotm's readers: RELION's
own formulas (``ParticleSet::getMatrix3x3`` / ``getPosition`` of RELION 5's
``src/jaz/tomography/particle_set.cpp``, its Euler matrix
``Euler::anglesToMatrix3`` written out with numpy) on the raw values that
starfile reads from the file.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import mrcfile
import numpy as np
import pandas as pd
import pytest
import starfile

from cryotm import ParticleList
from cryotm.errors import CryotmWarning, InputError
from cryotm.formats import merge_lists, read_particles, reader_class, write_particles
from cryotm.maps import read_map

REAL = Path(__file__).parent / "data" / "real"
SHAPE = (200, 400, 400)  # z, y, x: a tomogram shape for RELION 5 lists (their files do not hold it)
NAMES = ["rlnTomoName", "rlnTomoParticleName", "rlnImageName", "rlnMicrographName", "rlnCtfImage",
         "rlnOpticsGroupName", "rlnTomoVisibleFrames"]

#: real RELION lists -> (format cryotm detects, read options)
RELION_FILES = {
    "cylindra_class3d_run_it025_data.star": ("relion5", {"tomogram_shape": SHAPE}),
    "cylindra_refine3d_run_it050_data.star": ("relion5", {"tomogram_shape": SHAPE}),
    "cylindra_picks_particles.star": ("relion5", {"tomogram_shape": SHAPE, "pixel_size": 10.52}),
    "portal_relion_4_star.star": ("relion4", {}),
    "portal_relion_3_star.star": ("relion30", {}),
    "portal_tomoman_relion_star.star": ("relion30", {}),
    "dynamo2m_relion3.1.star": ("relion31", {}),
    "cryocat_relion_3.1_optics.star": ("relion31", {}),
    "cryocat_relion_3.0.star": ("relion30", {}),
    "cryocat_warp_data_images.star": ("relion30", {}),
    "cryocat_warp_data_stars.star": ("relion30", {}),
}


def relion_matrix(rot: float, tilt: float, psi: float) -> np.ndarray:
    """RELION's ``Euler::anglesToMatrix3`` (angles in degrees), written out as in RELION."""
    p, t, c = np.radians([rot, tilt, psi])
    sp, cp, st, ct, sc, cc = np.sin(p), np.cos(p), np.sin(t), np.cos(t), np.sin(c), np.cos(c)
    return np.array(
        [
            [cc * ct * cp - sc * sp, cc * ct * sp + sc * cp, -cc * st],
            [-sc * ct * cp - cc * sp, -sc * ct * sp + cc * cp, sc * st],
            [st * cp, st * sp, ct],
        ]
    )


def raw_blocks(path: Path) -> dict:
    blocks = starfile.read(path, always_dict=True, parse_as_string=NAMES)
    return {k: (pd.DataFrame({c: [v] for c, v in b.items()}) if isinstance(b, dict) else b) for k, b in blocks.items()}


def text_blocks(path: Path) -> dict:
    """Every block with every value as its text in the file."""
    labels = sorted({line.split()[0][1:] for line in path.read_text().splitlines() if line.startswith("_")})
    blocks = starfile.read(path, always_dict=True, parse_as_string=labels)
    return {k: (pd.DataFrame({c: [v] for c, v in b.items()}) if isinstance(b, dict) else b) for k, b in blocks.items()}


def angle_between(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in degrees between two rotation matrices."""
    cos = (np.trace(a.T @ b) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def quiet_read(path, **options) -> ParticleList:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryotmWarning)
        return read_particles(path, **options)


# -- item 1: RELION 5 subtomogram orientations -----------------------------------------------------------------
def test_relion5_subtomogram_pose_is_composed_as_relion_does():
    path = REAL / "cylindra_class3d_run_it025_data.star"
    raw = raw_blocks(path)
    table, optics = raw["particles"], raw["optics"]
    pixel = float(optics["rlnTomoTiltSeriesPixelSize"][0] * optics["rlnTomoSubtomogramBinning"][0])
    plist = read_particles(path, tomogram_shape=SHAPE)
    assert plist.pixel_size == pytest.approx(pixel) and plist.binning == 2.0
    matrices = plist.orientations.as_matrix()
    centre = np.array(SHAPE[::-1]) / 2.0
    worst_if_ignored = 0.0
    for i, row in table.iterrows():
        a_sub = relion_matrix(row.rlnTomoSubtomogramRot, row.rlnTomoSubtomogramTilt, row.rlnTomoSubtomogramPsi)
        a_part = relion_matrix(row.rlnAngleRot, row.rlnAngleTilt, row.rlnAnglePsi)
        assert angle_between(matrices[i], a_sub @ a_part) < 1e-3
        worst_if_ignored = max(worst_if_ignored, angle_between(a_part, a_sub @ a_part))
        centred = row[["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst",
                       "rlnCenteredCoordinateZAngst"]].to_numpy(float)
        origin = row[["rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst"]].to_numpy(float)
        expected = centred / pixel + centre - a_sub @ origin / pixel  # getPosition, in voxels of `pixel`
        np.testing.assert_allclose(plist.positions[i] + plist.shifts[i], expected, atol=1e-3)
    assert worst_if_ignored > 90  # reading rlnAngle* alone would be far off


def test_relion5_position_only_picks_take_the_identity_and_the_tomograms_file():
    path = REAL / "cylindra_picks_particles.star"
    tomograms = raw_blocks(REAL / "cylindra_tomograms.star")["global"].set_index("rlnTomoName")
    table = raw_blocks(path)["particles"]
    plist = read_particles(path, tomograms=REAL / "cylindra_tomograms.star")
    for i, row in table.iterrows():
        tomo = tomograms.loc[row.rlnTomoName]
        pixel = tomo.rlnTomoTiltSeriesPixelSize * tomo.rlnTomoTomogramBinning
        size = tomo[["rlnTomoSizeX", "rlnTomoSizeY", "rlnTomoSizeZ"]].to_numpy(float) / tomo.rlnTomoTomogramBinning
        centred = row[["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst",
                       "rlnCenteredCoordinateZAngst"]].to_numpy(float)
        np.testing.assert_allclose(plist.positions[i], centred / pixel + size / 2, atol=1e-3)
    assert np.degrees(plist.orientations.magnitude()).max() < 1e-9
    assert list(plist.data["tomo_name"]) == list(table["rlnTomoName"])


def test_relion5_refine_output_per_optics_group():
    path = REAL / "cylindra_refine3d_run_it050_data.star"
    raw = raw_blocks(path)
    table, optics = raw["particles"], raw["optics"].set_index("rlnOpticsGroup")
    plist = read_particles(path, tomogram_shape=SHAPE)
    centre = np.array(SHAPE[::-1]) / 2.0
    for i, row in table.iterrows():
        group = optics.loc[row.rlnOpticsGroup]
        pixel = group.rlnTomoTiltSeriesPixelSize * group.rlnTomoSubtomogramBinning
        centred = row[["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst",
                       "rlnCenteredCoordinateZAngst"]].to_numpy(float)
        origin = row[["rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst"]].to_numpy(float)
        np.testing.assert_allclose(plist.positions[i] + plist.shifts[i], centred / pixel + centre - origin / pixel,
                                   atol=1e-3)
        a_part = relion_matrix(row.rlnAngleRot, row.rlnAngleTilt, row.rlnAnglePsi)
        assert angle_between(plist.orientations[i].as_matrix(), a_part) < 1e-3
    np.testing.assert_allclose(plist.scores, table["rlnMaxValueProbDistribution"])


# -- items 2, 4: RELION -> RELION keeps every particle and optics value ----------------------------------------
@pytest.mark.parametrize("name", sorted(RELION_FILES))
def test_relion_to_relion_keeps_every_value(name, tmp_path):
    fmt, options = RELION_FILES[name]
    path = REAL / name
    assert reader_class(path).name == fmt
    plist = quiet_read(path, **options)
    out = tmp_path / name
    with warnings.catch_warnings():
        warnings.simplefilter("error", CryotmWarning)  # nothing is lost: no warning
        write_particles(plist, out, format=fmt, **{k: v for k, v in options.items() if k != "pixel_size"})
    before, after = text_blocks(path), text_blocks(out)
    for block, table in before.items():
        key = "" if fmt == "relion30" else block
        written = after[key]
        for column in table.columns:
            assert column in written.columns, f"{block}/{column} dropped"
            # byte for byte: every value's text as the file had it
            assert [str(v) for v in written[column]] == [str(v) for v in table[column]], f"{block}/{column}"
    back = quiet_read(out, **options)
    np.testing.assert_allclose(back.positions + back.shifts, plist.positions + plist.shifts, atol=1e-9)
    assert back.binning == plist.binning


def test_relion5_class3d_keeps_general_block_and_2d_stacks(tmp_path):
    path = REAL / "cylindra_class3d_run_it025_data.star"
    plist = read_particles(path, tomogram_shape=SHAPE)
    write_particles(plist, tmp_path / "out.star", format="relion5")
    written = raw_blocks(tmp_path / "out.star")
    assert list(written) == ["general", "optics", "particles"]
    assert int(written["general"]["rlnTomoSubTomosAre2DStacks"][0]) == 1
    assert int(written["optics"]["rlnImageDimensionality"][0]) == 2
    assert "rlnAutopickFigureOfMerit" not in written["particles"].columns  # the score stays in its own label


def test_relion4_binning_is_kept_unless_asked(tmp_path):
    path = REAL / "cylindra_class3d_run_it025_data.star"
    plist = read_particles(path, tomogram_shape=SHAPE)
    write_particles(plist, tmp_path / "r4.star", format="relion4")
    optics = raw_blocks(tmp_path / "r4.star")["optics"]
    assert float(optics["rlnTomoSubtomogramBinning"][0]) == 2.0
    assert float(optics["rlnTomoTiltSeriesPixelSize"][0]) == 1.35
    back = read_particles(tmp_path / "r4.star")
    np.testing.assert_allclose(back.positions, plist.positions, atol=1e-9)
    np.testing.assert_allclose(back.shifts, plist.shifts, atol=1e-9)
    assert np.degrees((back.orientations * plist.orientations.inv()).magnitude()).max() < 1e-6


# -- item 3: RELION 3.1 optics groups of different pixel sizes ---------------------------------------------------
def _two_groups(tmp_path: Path) -> Path:
    blocks = raw_blocks(REAL / "dynamo2m_relion3.1.star")
    optics = pd.concat([blocks["optics"], blocks["optics"]], ignore_index=True)
    optics.loc[1, ["rlnOpticsGroup", "rlnOpticsGroupName", "rlnImagePixelSize"]] = [2, "opticsGroup2", 10.0]
    particles = blocks["particles"].copy()
    particles.loc[particles.index % 2 == 1, "rlnOpticsGroup"] = 2
    path = tmp_path / "two_groups.star"
    starfile.write({"optics": optics, "particles": particles}, path)
    return path


def test_relion31_optics_groups_keep_their_pixel_sizes(tmp_path):
    path = _two_groups(tmp_path)
    table = raw_blocks(path)["particles"]
    plist = read_particles(path)
    assert plist.pixel_size is None
    pixel = np.where(table["rlnOpticsGroup"] == 2, 10.0, 5.0)
    np.testing.assert_allclose(plist.pixel_sizes(), pixel)
    origins = table[["rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst"]].to_numpy(float)
    np.testing.assert_allclose(plist.shifts, -origins / pixel[:, None], atol=1e-12)
    write_particles(plist, tmp_path / "out.star", format="relion31")
    written = raw_blocks(tmp_path / "out.star")
    np.testing.assert_array_equal(written["optics"]["rlnImagePixelSize"], [5.0, 10.0])
    np.testing.assert_array_equal(written["particles"]["rlnOpticsGroup"], table["rlnOpticsGroup"])
    np.testing.assert_array_equal(written["particles"]["rlnOriginXAngst"], table["rlnOriginXAngst"])


# -- item 6: TOMOMAN ----------------------------------------------------------------------------------------------
def test_tomoman_lists_are_detected_with_their_tomograms():
    path = REAL / "portal_tomoman_relion_star.star"
    table = raw_blocks(path)[""]
    assert reader_class(path).name == "relion30"
    plist = read_particles(path)
    np.testing.assert_array_equal(plist.data["tomo_id"], table["rlnTomoNumber"])
    assert list(plist.data["tomo_name"]) == list(table["rlnTomoName"])
    np.testing.assert_allclose(plist.shifts, -table[["rlnOriginX", "rlnOriginY", "rlnOriginZ"]].to_numpy(float))
    assert plist.pixel_size == 1.96


# -- item 9: Warp 1 data_images / data_*** ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cryocat_warp_data_images.star", "cryocat_warp_data_stars.star"])
def test_warp_blocks_are_read(name):
    path = REAL / name
    table = next(iter(raw_blocks(path).values()))
    plist = read_particles(path)
    np.testing.assert_allclose(plist.positions,
                               table[["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"]].to_numpy(float))
    assert plist.pixel_size == pytest.approx(1.971)


# -- round trips through every format ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(RELION_FILES) + ["portal_stopgap_star.star", "dynamotable_t_double.tbl"])
@pytest.mark.parametrize("fmt", ["emmotl", "stopgap", "dynamo", "table", "relion30", "relion31", "relion4", "relion5"])
def test_real_lists_survive_every_format(name, fmt, tmp_path):
    options = RELION_FILES.get(name, ("", {}))[1]
    plist = quiet_read(REAL / name, **options)
    if plist.pixel_sizes() is None:
        plist = ParticleList(plist.data, pixel_size=4.0)
    plist = plist if plist.tomogram_shape else attrs_evolve(plist, tomogram_shape=SHAPE)
    ext = {"emmotl": ".em", "dynamo": ".tbl", "table": ".csv"}.get(fmt, ".star")
    out = tmp_path / f"out{ext}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryotmWarning)
        write_particles(plist, out, format=fmt)
        back = read_particles(out, format=fmt, tomogram_shape=SHAPE)
    tol = 1e-3 if fmt == "emmotl" else 1e-6
    np.testing.assert_allclose(back.positions + back.shifts, plist.positions + plist.shifts, atol=tol)
    assert np.degrees((back.orientations * plist.orientations.inv()).magnitude()).max() < 1e-3
    np.testing.assert_array_equal(back.data["subtomo_id"], plist.data["subtomo_id"])


def attrs_evolve(plist, **changes):
    import attrs

    return attrs.evolve(plist, **changes)


# -- item 7: maps that other programs write loosely ----------------------------------------------------------------
def test_stopgap_machine_stamp_is_read_with_a_warning(tmp_path):
    path = tmp_path / "scores.mrc"
    data = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    with mrcfile.new(path) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = 6.8
    raw = bytearray(path.read_bytes())
    raw[212:216] = b"D   "  # what STOPGAP's MRC writer stamps
    path.write_bytes(bytes(raw))
    with pytest.warns(CryotmWarning, match="scores.mrc.*machine stamp"):
        back, pixel = read_map(path)
    np.testing.assert_array_equal(back, data)
    assert pixel == pytest.approx(6.8)


def test_pytom_mask_without_map_id_is_read_and_a_header_alone_refused(tmp_path):
    with pytest.warns(CryotmWarning, match="Map ID"):
        data, _ = read_map(REAL / "pytom_human_ribo_mask_32_8_5.mrc")
    with mrcfile.open(REAL / "pytom_human_ribo_mask_32_8_5.mrc", permissive=True) as mrc:
        np.testing.assert_array_equal(data, mrc.data)
    with pytest.raises(InputError, match="header_only.mrc: MRC file holds no data"):
        read_map(REAL / "pytom_header_only.mrc")


# -- items 10, 11: pixel sizes --------------------------------------------------------------------------------------
def test_em_header_junk_pixel_size_is_dropped_with_a_warning(tmp_path):
    path = REAL / "cryocat_motl_c10x10.em"
    with pytest.warns(CryotmWarning, match="implausible pixel size 8.08464e\\+06"):
        plist = read_particles(path)
    assert plist.pixel_size is None
    with pytest.raises(InputError, match="needs a pixel size"):
        write_particles(plist, tmp_path / "p.star", format="relion31")


def test_em_motive_list_warns_when_the_pixel_size_loses_precision(tmp_path):
    plist = ParticleList.from_arrays([[1.0, 2.0, 3.0]], pixel_size=2.446)
    with pytest.warns(CryotmWarning, match="0.01 Å: 2.446 Å is written as 2.45 Å"):
        write_particles(plist, tmp_path / "p.em")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CryotmWarning)
        write_particles(ParticleList.from_arrays([[1.0, 2.0, 3.0]], pixel_size=2.45), tmp_path / "q.em")


def test_lossy_formats_name_what_they_lose(tmp_path):
    plist = read_particles(REAL / "cylindra_refine3d_run_it050_data.star", tomogram_shape=SHAPE)
    with pytest.warns(CryotmWarning, match="'emmotl' cannot hold column\\(s\\) tomo_name, .*rlnCtfImage"):
        write_particles(plist, tmp_path / "p.em")


def test_given_pixel_size_never_relabels_silently(tmp_path):
    plist = ParticleList.from_arrays([[1.0, 2.0, 3.0]], pixel_size=5.0)
    write_particles(plist, tmp_path / "p.em")
    with pytest.warns(CryotmWarning, match="file says 5 Å.*says 10 Å"):
        read_particles(tmp_path / "p.em", pixel_size=10.0)


# -- issue 13: values that must not pass a reader -------------------------------------------------------------------
def test_em_and_stopgap_readers_refuse_nan_positions_and_huge_ids(tmp_path):
    plist = ParticleList.from_arrays([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    write_particles(plist, tmp_path / "p.em")
    raw = bytearray((tmp_path / "p.em").read_bytes())
    raw[512 + (20 + 8) * 4: 512 + (20 + 9) * 4] = np.float32(np.nan).tobytes()  # particle 2, y
    (tmp_path / "nan.em").write_bytes(bytes(raw))
    with pytest.raises(InputError, match="nan.em: particle 2 has y = nan"):
        read_particles(tmp_path / "nan.em")
    write_particles(plist, tmp_path / "p.star", format="stopgap")
    text = (tmp_path / "p.star").read_text()
    blocks = starfile.read(tmp_path / "p.star", always_dict=True)
    table = blocks["stopgap_motivelist"]
    table.loc[0, "orig_x"] = np.inf
    starfile.write({"stopgap_motivelist": table}, tmp_path / "inf.star")
    with pytest.raises(InputError, match="inf.star: particle 1 has x = inf"):
        read_particles(tmp_path / "inf.star")
    table = starfile.read(tmp_path / "p.star", always_dict=True)["stopgap_motivelist"]
    table["tomo_num"] = table["tomo_num"].astype(float)
    table.loc[1, "tomo_num"] = 1e20
    starfile.write({"stopgap_motivelist": table}, tmp_path / "huge.star")
    with pytest.raises(InputError, match="huge.star: .*tomo_id.*beyond the 64-bit integer range"):
        read_particles(tmp_path / "huge.star")
    assert "stopgap_motivelist" in text


def test_star_file_with_a_repeated_block_is_refused(tmp_path):
    source = (REAL / "portal_stopgap_star.star").read_text()
    path = tmp_path / "twice.star"
    path.write_text(source + "\n" + source)
    with pytest.raises(InputError, match="twice.star: block data_stopgap_motivelist appears 2 times"):
        read_particles(path)


def test_merge_keeps_lists_of_the_default_tomogram_id_apart(tmp_path):
    lists = [ParticleList.from_arrays(np.full((3, 3), float(i))) for i in range(4)]  # all tomo_id 0, no names
    with pytest.warns(CryotmWarning, match="4 inputs .* same id"):
        merged = merge_lists(lists, sources=[f"t{i}.em" for i in range(4)])
    assert merged.data["tomo_name"].nunique() == 4
    assert merged.data["tomo_id"].nunique() == 4
    assert list(merged.data["tomo_name"][:4]) == ["t0", "t0", "t0", "t1"]


def test_merge_rescales_lists_of_different_pixel_sizes(tmp_path):
    a = ParticleList.from_arrays([[10.0, 20.0, 30.0]], shifts=[[1.0, 0, 0]], pixel_size=5.0, experiment_id="A")
    b = ParticleList.from_arrays([[10.0, 20.0, 30.0]], shifts=[[1.0, 0, 0]], pixel_size=10.0, experiment_id="B")
    with pytest.warns(CryotmWarning, match="B.em \\(10 Å\\) rescaled to 5 Å"):
        merged = merge_lists([a, b], sources=["A.em", "B.em"])
    assert merged.pixel_size == 5.0
    np.testing.assert_allclose(merged.positions, [[10, 20, 30], [20, 40, 60]])
    np.testing.assert_allclose(merged.shifts[:, 0], [1.0, 2.0])
    c = ParticleList.from_arrays([[1.0, 1.0, 1.0]], experiment_id="C")
    with pytest.warns(CryotmWarning, match="C.em has no pixel size"):
        assert merge_lists([a, c], sources=["A.em", "C.em"]).pixel_size is None


def test_corpus_is_documented():
    sources = (REAL / "SOURCES.md").read_text()
    for path in REAL.iterdir():
        if path.name != "SOURCES.md":
            assert path.name in sources, path.name
    assert shutil.which  # the corpus folder exists


# -- item 8: Warp subtomogram names ---------------------------------------------------------------------------------
def test_warp_subtomogram_names_give_the_particle_index_not_the_pixel_size():
    path = REAL / "cryocat_relion_3.1_optics.star"
    names = raw_blocks(path)["particles"]["rlnImageName"]
    plist = read_particles(path)
    expected = [int(Path(n).name.split("_")[1]) for n in names]  # {tomogram}_{index:07d}_{pixel}A.mrc
    assert expected == [65, 19, 27]
    np.testing.assert_array_equal(plist.data["subtomo_id"], expected)


# -- item 13: WarpTools tomograms without a binning ------------------------------------------------------------------
def test_tomograms_file_without_binning_is_binning_one(tmp_path):
    # the labels WarpTools' ExportParticlesTiltseries writes (sizes in pixels of rlnTomoTiltSeriesPixelSize)
    tomograms = pd.DataFrame({
        "rlnTomoName": ["TS_01.tomostar"], "rlnTomoTiltSeriesName": ["dummy.mrc"], "rlnTomoFrameCount": [41],
        "rlnTomoSizeX": [400], "rlnTomoSizeY": [300], "rlnTomoSizeZ": [100], "rlnTomoHand": [-1.0],
        "rlnOpticsGroupName": ["opticsGroup1"], "rlnTomoTiltSeriesPixelSize": [10.0],
    })
    starfile.write({"global": tomograms}, tmp_path / "tomograms.star")
    picks = pd.DataFrame({"rlnTomoName": ["TS_01.tomostar"], "rlnCenteredCoordinateXAngst": [100.0],
                          "rlnCenteredCoordinateYAngst": [-50.0], "rlnCenteredCoordinateZAngst": [0.0]})
    starfile.write({"particles": picks}, tmp_path / "picks.star")
    plist = read_particles(tmp_path / "picks.star", tomograms=tmp_path / "tomograms.star")
    np.testing.assert_allclose(plist.positions, [[400 / 2 + 10, 300 / 2 - 5, 100 / 2]])
    assert plist.pixel_size == 10.0


# -- item 15: WarpTools matching.star ----------------------------------------------------------------------------------
def _warptools_matching(tmp_path: Path) -> Path:
    """A list in the layout of WarpTools' TiltSeries.MatchFull: position / volume size, names *.tomostar."""
    table = pd.DataFrame({
        "rlnCoordinateX": [0.25, 0.5], "rlnCoordinateY": [0.1, 0.75], "rlnCoordinateZ": [0.5, 0.2],
        "rlnAngleRot": [10.0, 20.0], "rlnAngleTilt": [30.0, 40.0], "rlnAnglePsi": [50.0, 60.0],
        "rlnMicrographName": ["TS_01.tomostar"] * 2, "rlnAutopickFigureOfMerit": [7.5, 6.0],
    })
    path = tmp_path / "TS_01_10.00Apx_ribo.star"
    starfile.write({"": table}, path)
    return path


def test_warptools_matching_coordinates_are_fractions_of_the_tomogram(tmp_path):
    path = _warptools_matching(tmp_path)
    with pytest.raises(InputError, match="fractions .* give the size"):
        read_particles(path)
    with pytest.warns(CryotmWarning, match="WarpTools template-matching list"):
        plist = read_particles(path, tomogram_shape=(100, 300, 400))
    np.testing.assert_allclose(plist.positions, [[100, 30, 50], [200, 225, 20]])
    voxels = read_particles(path, coordinates="voxels")
    np.testing.assert_allclose(voxels.positions[0], [0.25, 0.1, 0.5])


# -- item 14: info reports every file -----------------------------------------------------------------------------------
def test_info_reports_every_file(tmp_path, capsys):
    from cryotm.cli import main

    status = main(["info", str(REAL / "pytom_header_only.mrc"), str(tmp_path / "missing.mrc"),
                   str(REAL / "pytom_human_ribo_mask_32_8_5.mrc")])
    captured = capsys.readouterr()
    assert status == 1
    assert "pytom_human_ribo_mask_32_8_5.mrc: shape (z, y, x) (32, 32, 32)" in captured.out
    assert "header_only.mrc: MRC file holds no data" in captured.err
    assert "missing.mrc: no such file" in captured.err
    assert "2 of 3 files could not be read" in captured.err
    assert "Traceback" not in captured.err


def test_merging_relion_lists_keeps_their_optics_and_columns(tmp_path):
    refine = REAL / "cylindra_refine3d_run_it050_data.star"
    table = raw_blocks(refine)["particles"]
    plist = read_particles(refine, tomogram_shape=SHAPE)
    halves = [plist.with_data(plist.data.iloc[:3]), plist.with_data(plist.data.iloc[3:])]
    merged = merge_lists(halves, sources=["a.star", "b.star"])
    write_particles(merged, tmp_path / "all.star", format="relion5")
    written = raw_blocks(tmp_path / "all.star")
    pd.testing.assert_frame_equal(written["optics"], raw_blocks(refine)["optics"])
    for column in ("rlnTomoParticleName", "rlnImageName", "rlnCtfImage", "rlnOriginXAngst", "rlnAngleRot"):
        assert list(written["particles"][column]) == list(table[column]), column


def test_lists_of_several_pixel_sizes_are_rescaled_for_formats_that_hold_one(tmp_path):
    path = _two_groups(tmp_path)
    plist = read_particles(path)
    with pytest.warns(CryotmWarning, match="pixel sizes 5, 10 Å .*rescaled to 5 Å"):
        write_particles(plist, tmp_path / "p.em")
    back = read_particles(tmp_path / "p.em")
    assert back.pixel_size == 5.0
    scale = plist.pixel_sizes() / 5.0
    np.testing.assert_allclose(back.positions, plist.positions * scale[:, None], atol=1e-3)


@pytest.mark.parametrize("fmt", ["emmotl", "dynamo", "stopgap", "relion30"])
def test_ids_beyond_int64_are_refused_not_wrapped(fmt, tmp_path):
    plist = ParticleList.from_arrays([[1.0, 2.0, 3.0]], tomo_id=5)
    ext = {"emmotl": ".em", "dynamo": ".tbl"}.get(fmt, ".star")
    path = tmp_path / f"p{ext}"
    write_particles(plist, path, format=fmt)
    if fmt == "emmotl":
        raw = bytearray(path.read_bytes())
        raw[512 + 4 * 4: 512 + 5 * 4] = np.float32(1e20).tobytes()  # row 5: tomo_id
        path.write_bytes(bytes(raw))
    elif fmt == "dynamo":
        columns = path.read_text().split()
        columns[19] = "1e20"  # column 20: tomo
        path.write_text(" ".join(columns) + "\n")
    elif fmt == "stopgap":
        path.write_text(path.read_text().replace("\t5\t", "\t1e20\t", 1))
    else:
        table = starfile.read(path, always_dict=True)[""]
        table["rlnClassNumber"] = 1e20
        starfile.write({"": table}, path, overwrite=True)
    with pytest.raises(InputError, match=f"{path.name}: .*beyond the 64-bit integer range"):
        read_particles(path, format=fmt)


def _tokens(path: Path) -> list[str]:
    """Block names, labels and values of a STAR file in order (comments, ``loop_`` and spacing aside)."""
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "loop_")):
            out += line.split(" #")[0].split() if line.startswith("_") else line.split()
    return out


@pytest.mark.parametrize(
    "name",
    ["cylindra_class3d_run_it025_data.star", "cylindra_refine3d_run_it050_data.star",
     "dynamo2m_relion3.1.star", "cryocat_relion_3.1_optics.star"],
)
def test_relion_files_written_back_are_the_same_text(name, tmp_path):
    """Same blocks, labels in the same order, every value the same text (``1.000000`` stays ``1.000000``)."""
    fmt, options = RELION_FILES[name]
    write_particles(read_particles(REAL / name, **options), tmp_path / name, format=fmt, **options)
    assert _tokens(tmp_path / name) == _tokens(REAL / name)


def test_pytom_match_pick_relion5_lists_are_detected(tmp_path):
    """pytom-match-pick's RELION 5 layout (its docs/Developers.md): one data_ block, rlnDetectorPixelSize."""
    table = pd.DataFrame({
        "rlnCenteredCoordinateXAngst": [130.0], "rlnCenteredCoordinateYAngst": [-65.0],
        "rlnCenteredCoordinateZAngst": [0.0], "rlnAngleRot": [10.0], "rlnAngleTilt": [20.0],
        "rlnAnglePsi": [30.0], "rlnLCCmax": [0.31], "rlnCutOff": [0.2], "rlnSearchStd": [0.05],
        "rlnDetectorPixelSize": [13.0], "rlnTomoName": ["tomo_001"],
    })
    path = tmp_path / "tomo_001_particles.star"
    starfile.write({"": table}, path)
    assert reader_class(path).name == "relion5"
    plist = read_particles(path, tomogram_shape=(100, 300, 400), centre="pytom")
    # pytom's centre is size / 2 - 1 (x, y, z = 199, 149, 49)
    np.testing.assert_allclose(plist.positions, [[130 / 13 + 199, -65 / 13 + 149, 49]])
    assert plist.pixel_size == 13.0 and plist.scores[0] == 0.31
    np.testing.assert_allclose(plist.orientations[0].as_matrix(), relion_matrix(10.0, 20.0, 30.0), atol=1e-12)
