"""Particle-list formats: round trips, detection, metadata, errors, merging."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import starfile
from scipy.spatial.transform import Rotation

from cryotm import ParticleList
from cryotm.errors import CryotmError, InputError
from cryotm.formats import (
    merge_lists,
    motl_readers,
    motl_writers,
    read_particles,
    reader_class,
    write_particles,
)

SHAPE = (64, 120, 110)  # z, y, x
PIXEL = 7.84

#: format -> (extension, write options, read options, fields the format carries exactly)
FORMATS = {
    "emmotl": (".em", {}, {}, ("subtomo_id", "tomo_id", "object_id", "class")),
    "stopgap": (".star", {}, {}, ("subtomo_id", "tomo_id", "object_id", "class")),
    "relion30": (".star", {}, {}, ("subtomo_id", "tomo_id", "class")),
    "relion31": (".star", {}, {}, ("subtomo_id", "tomo_id", "class")),
    "relion4": (".star", {"binning": 4}, {}, ("subtomo_id", "tomo_id", "class")),
    "relion5": (".star", {"binning": 2}, {"tomogram_shape": SHAPE}, ("subtomo_id", "tomo_id", "class")),
    "dynamo": (".tbl", {}, {}, ("subtomo_id", "tomo_id", "object_id", "class")),
    "table": (".csv", {}, {}, ("subtomo_id", "tomo_id", "object_id", "class")),
    "table-tsv": (".tsv", {}, {}, ("subtomo_id", "tomo_id", "object_id", "class")),
}
STAR_FORMATS = [name for name, spec in FORMATS.items() if spec[0] == ".star"]


def make_particles(n: int = 40, seed: int = 0, name: str = "TS_007", tomo_id: int = 7) -> ParticleList:
    """Random particles in a 110 x 120 x 64 tomogram, with shifts, scores, classes and objects."""
    rng = np.random.default_rng(seed)
    positions = rng.uniform(0, 1, (n, 3)) * (np.array(SHAPE[::-1]) - 1)
    plist = ParticleList.from_arrays(
        positions,
        orientations=Rotation.random(n, random_state=seed),
        scores=rng.uniform(0.05, 0.9, n),
        shifts=rng.normal(0, 0.4, (n, 3)),
        tomo_id=tomo_id,
        experiment_id=name,
        pixel_size=PIXEL,
        tomogram_shape=SHAPE,
    )
    data = plist.data
    data["class"] = rng.integers(1, 4, n)
    data["object_id"] = rng.integers(1, 6, n)
    data["subtomo_id"] = np.arange(101, 101 + n)
    return plist.with_data(data)


def rotation_error_degrees(a: ParticleList, b: ParticleList) -> float:
    """Largest angle between corresponding orientations (degrees)."""
    return float(np.degrees((a.orientations * b.orientations.inv()).magnitude()).max())


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_round_trip_is_lossless(fmt, tmp_path):
    ext, write_options, read_options, exact = FORMATS[fmt]
    plist = make_particles()
    path = tmp_path / f"particles{ext}"
    write_particles(plist, path, format=fmt.split("-")[0], **write_options)
    back = read_particles(path, **read_options)  # the format is detected from the file
    # float32 (EM) keeps ~7 digits: 1e-4 voxel and 1e-4 degree at these magnitudes; text formats are exact
    tol = 1e-4 if fmt == "emmotl" else 1e-9
    assert len(back) == len(plist)
    np.testing.assert_allclose(back.positions, plist.positions, atol=tol)
    np.testing.assert_allclose(back.shifts, plist.shifts, atol=tol)
    np.testing.assert_allclose(back.scores, plist.scores, atol=tol)
    assert rotation_error_degrees(back, plist) < tol
    for column in exact:
        np.testing.assert_array_equal(back.data[column], plist.data[column], err_msg=column)
    assert back.pixel_size is None or back.pixel_size == pytest.approx(PIXEL, abs=0.01)


@pytest.mark.parametrize("fmt", STAR_FORMATS)
def test_starfile_reads_every_star_we_write(fmt, tmp_path):
    _, write_options, _, _ = FORMATS[fmt]
    plist = make_particles(n=5)
    path = tmp_path / "p.star"
    write_particles(plist, path, format=fmt, **write_options)
    blocks = starfile.read(path, always_dict=True)
    frames = [b for b in blocks.values() if isinstance(b, pd.DataFrame) and len(b) == 5]
    assert len(frames) == 1
    if fmt.startswith("relion") and fmt != "relion30":
        assert set(blocks) == {"optics", "particles"}
        assert blocks["optics"]["rlnImagePixelSize"].iloc[0] == pytest.approx(PIXEL)


@pytest.mark.parametrize("fmt", ["relion30", "relion31", "relion4", "relion5", "table"])
def test_tomogram_names_stay_strings(fmt, tmp_path):
    ext, write_options, read_options, _ = FORMATS[fmt]
    plist = make_particles(n=4, name="001", tomo_id=1)
    path = tmp_path / f"p{ext}"
    write_particles(plist, path, format=fmt, **write_options)
    back = read_particles(path, **read_options)
    names = back.tomogram_names()
    assert list(names) == ["001"] * 4
    assert back.experiment_id == "001"
    assert back.data["tomo_id"].tolist() == [1] * 4
    if ext == ".star":
        raw = starfile.read(path, always_dict=True, parse_as_string=["rlnTomoName", "rlnMicrographName"])
        label = "rlnMicrographName" if fmt in ("relion30", "relion31") else "rlnTomoName"
        assert raw["particles" if fmt != "relion30" else ""][label].tolist() == ["001"] * 4


def test_several_tomograms_keep_their_names(tmp_path):
    a = make_particles(n=3, name="TS_01", tomo_id=1)
    b = make_particles(n=2, seed=1, name="TS_02", tomo_id=2)
    merged = merge_lists([a, b])
    path = tmp_path / "m.star"
    write_particles(merged, path, format="relion4")
    back = read_particles(path)
    assert back.data["tomo_name"].tolist() == ["TS_01"] * 3 + ["TS_02"] * 2
    assert back.data["tomo_id"].tolist() == [1, 1, 1, 2, 2]
    assert back.data["subtomo_id"].tolist() == [1, 2, 3, 4, 5]


def test_every_builtin_format_registered_both_ways():
    names = {"emmotl", "stopgap", "relion30", "relion31", "relion4", "relion5", "dynamo", "table"}
    assert names <= set(motl_writers())
    assert names <= set(motl_readers())


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_detection_picks_the_format_that_wrote_the_file(fmt, tmp_path):
    ext, write_options, _, _ = FORMATS[fmt]
    path = tmp_path / f"p{ext}"
    write_particles(make_particles(n=3), path, format=fmt.split("-")[0], **write_options)
    assert reader_class(path).name == fmt.split("-")[0]


@pytest.mark.parametrize("fmt", ["emmotl", "stopgap", "relion30", "relion4", "dynamo", "table"])
def test_empty_list_round_trips(fmt, tmp_path):
    ext, write_options, _, _ = FORMATS[fmt]
    empty = ParticleList.empty(pixel_size=PIXEL, experiment_id="TS_1")
    path = tmp_path / f"e{ext}"
    write_particles(empty, path, format=fmt, **write_options)
    assert len(read_particles(path, format=fmt)) == 0


def test_existing_output_is_kept_without_overwrite(tmp_path):
    path = tmp_path / "p.em"
    write_particles(make_particles(n=3), path)
    before = path.read_bytes()
    with pytest.raises(InputError, match="exists"):
        write_particles(make_particles(n=5, seed=4), path)
    assert path.read_bytes() == before
    write_particles(make_particles(n=5, seed=4), path, overwrite=True)
    assert len(read_particles(path)) == 5


def test_failed_write_leaves_no_file(tmp_path):
    plist = make_particles(n=3)
    data = plist.data
    data["score"] = np.nan
    path = tmp_path / "p.em"
    with pytest.raises(InputError, match="non-finite"):
        write_particles(plist.with_data(data), path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("fmt", "missing", "message"),
    [
        ("relion31", "pixel_size", "needs a pixel size"),
        ("relion4", "pixel_size", "needs a pixel size"),
        ("relion5", "pixel_size", "needs a pixel size"),
        ("relion5", "tomogram_shape", "tomogram-shape"),
    ],
)
def test_missing_metadata_is_named(fmt, missing, message, tmp_path):
    plist = make_particles(n=2)
    import attrs

    plist = attrs.evolve(plist, **{missing: None})
    with pytest.raises(InputError, match=message):
        write_particles(plist, tmp_path / "p.star", format=fmt)
    assert not (tmp_path / "p.star").exists()


def test_relion5_reader_needs_the_tomogram_shape(tmp_path):
    path = tmp_path / "p.star"
    write_particles(make_particles(n=2), path, format="relion5")
    with pytest.raises(InputError, match="tomogram's shape"):
        read_particles(path)


def test_ambiguous_extension_asks_for_a_name(tmp_path):
    with pytest.raises(InputError, match="several particle-list formats write '.star'"):
        write_particles(make_particles(n=2), tmp_path / "p.star")


def test_unknown_format_and_option(tmp_path):
    with pytest.raises(CryotmError, match="unknown particle-list format 'relion9'"):
        write_particles(make_particles(n=2), tmp_path / "p.star", format="relion9")
    with pytest.raises(CryotmError, match="has no option 'centre'"):
        write_particles(make_particles(n=2), tmp_path / "p.em", centre="pytom")
    with pytest.raises(CryotmError, match="centre must be one of"):
        write_particles(make_particles(n=2), tmp_path / "p.star", format="relion5", centre="middle")


def test_unreadable_inputs_name_the_file(tmp_path):
    path = tmp_path / "bad.star"
    path.write_text("data_particles\n\nloop_\n_rlnCoordinateX #1\n_rlnTomoName #2\n1.0\tTS\n")
    with pytest.raises(InputError, match="bad.star: RELION particle list lacks rlnCoordinateY"):
        read_particles(path)
    table = tmp_path / "bad.csv"
    table.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="needs columns x, y, z"):
        read_particles(table)
    with pytest.raises(InputError, match="no such file"):
        read_particles(tmp_path / "missing.em")
    notmotl = tmp_path / "map.em"
    from cryotm.maps import write_em

    write_em(notmotl, np.zeros((4, 5, 6), np.float32))
    with pytest.raises(InputError, match="expected 20 x N x 1"):
        read_particles(notmotl, format="emmotl")


def test_relion_score_label_option(tmp_path):
    plist = make_particles(n=3)
    path = tmp_path / "p.star"
    write_particles(plist, path, format="relion4", score_label="rlnLCCmax")
    assert "rlnLCCmax" in starfile.read(path)["particles"].columns
    np.testing.assert_allclose(read_particles(path).scores, plist.scores)


def test_relion_extra_labels_survive_relion_to_relion(tmp_path):
    path = tmp_path / "p.star"
    write_particles(make_particles(n=3), path, format="relion4")
    frame = starfile.read(path)
    frame["particles"]["rlnRandomSubset"] = [1, 2, 1]
    starfile.write(frame, path, overwrite=True)
    back = read_particles(path)
    out = tmp_path / "q.star"
    write_particles(back, out, format="relion5", tomogram_shape=SHAPE)
    assert starfile.read(out)["particles"]["rlnRandomSubset"].tolist() == [1, 2, 1]


def test_table_reads_a_plain_pandas_csv(tmp_path, scene):
    path = tmp_path / "truth.csv"
    scene.truth.data.to_csv(path, index=False)
    back = read_particles(path)
    np.testing.assert_allclose(back.positions, scene.truth.positions)
    assert rotation_error_degrees(back, scene.truth) < 1e-9


def test_merge_renumbers_and_resolves_clashing_tomogram_ids():
    a = make_particles(n=2, name="TS_10", tomo_id=1)
    b = make_particles(n=3, seed=2, name="TS_20", tomo_id=1)
    merged = merge_lists([a, b])
    assert merged.data["subtomo_id"].tolist() == [1, 2, 3, 4, 5]
    assert merged.data["tomo_name"].tolist() == ["TS_10"] * 2 + ["TS_20"] * 3
    assert merged.data["tomo_id"].tolist() == [10, 10, 20, 20, 20]
    assert merged.pixel_size == PIXEL
    np.testing.assert_allclose(merged.positions, np.vstack([a.positions, b.positions]))


def test_merge_keeps_consistent_tomogram_ids():
    a = make_particles(n=2, name="alpha", tomo_id=4)
    b = make_particles(n=1, seed=2, name="beta", tomo_id=9)
    merged = merge_lists([a, b])
    assert merged.data["tomo_id"].tolist() == [4, 4, 9]
    assert merged.experiment_id == ""


def test_poseset_in_memory_round_trip_through_a_file(tmp_path):
    """ParticleList -> cryotypes PoseSet -> ParticleList -> RELION 5 -> ParticleList keeps poses."""
    plist = make_particles(n=6)
    poses = plist.to_poseset()
    again = ParticleList.from_poseset(poses)
    path = tmp_path / "p.star"
    write_particles(again, path, format="relion5", tomogram_shape=SHAPE)
    back = read_particles(path, tomogram_shape=SHAPE)
    np.testing.assert_allclose(back.positions + back.shifts, plist.positions + plist.shifts, atol=1e-9)
    assert rotation_error_degrees(back, plist) < 1e-9
    assert back.experiment_id == "TS_007" and back.pixel_size == PIXEL


#: Optics labels that carry the pixel size, per format.
_PIXEL_LABELS = {
    "relion31": ("rlnImagePixelSize",),
    "relion4": ("rlnImagePixelSize", "rlnTomoTiltSeriesPixelSize"),
}


def _without_pixel_size(plist: ParticleList, fmt: str, path) -> None:
    """Write `plist` in `fmt`, then drop every pixel-size label of the optics block."""
    write_particles(plist, path, format=fmt)
    blocks = starfile.read(path, always_dict=True)
    blocks["optics"] = blocks["optics"].drop(columns=list(_PIXEL_LABELS[fmt]))
    starfile.write(blocks, path, overwrite=True)


@pytest.mark.parametrize("fmt", sorted(_PIXEL_LABELS))
def test_relion_reader_uses_a_given_pixel_size_when_the_file_has_none(fmt, tmp_path):
    plist = make_particles(n=5)
    path = tmp_path / "p.star"
    _without_pixel_size(plist, fmt, path)
    with pytest.raises(InputError, match="no pixel size.*--pixel-size"):
        read_particles(path)
    back = read_particles(path, pixel_size=PIXEL)
    assert back.pixel_size == PIXEL
    np.testing.assert_allclose(back.shifts, plist.shifts, atol=1e-5)  # star files keep ~6 decimals
    np.testing.assert_allclose(back.positions, plist.positions, atol=1e-5)


@pytest.mark.parametrize("fmt", sorted(_PIXEL_LABELS))
def test_relion_reader_given_pixel_size_overrides_the_files(fmt, tmp_path):
    """As for RELION 5 (and the docs of read_particles): the user's pixel size wins, shifts included."""
    plist = make_particles(n=5)
    path = tmp_path / "p.star"
    write_particles(plist, path, format=fmt)
    back = read_particles(path, pixel_size=2 * PIXEL)
    assert back.pixel_size == 2 * PIXEL
    np.testing.assert_allclose(back.shifts, plist.shifts / 2, atol=1e-5)


def test_convert_pixel_size_reaches_the_relion31_reader(tmp_path):
    from cryotm.cli import main

    plist = make_particles(n=4)
    path = tmp_path / "p.star"
    _without_pixel_size(plist, "relion31", path)
    out = tmp_path / "p.em"
    assert main(["convert", str(path), str(out)]) == 1
    assert main(["convert", str(path), str(out), "--pixel-size", str(PIXEL)]) == 0
    back = read_particles(out)
    np.testing.assert_allclose(back.shifts, plist.shifts, atol=1e-4)


def test_bad_values_from_any_reader_are_errors_naming_the_file(tmp_path, fresh_plugins):
    """A plugin's reader that builds a list from bad values: the error still names the file."""
    import attrs

    import cryotm
    from cryotm.formats import MotlReader, read_particles

    @attrs.define
    class Careless(MotlReader):
        name = "careless"
        extensions = (".careless",)

        def read(self, path):
            return ParticleList(pd.DataFrame({"x": [1.0], "tomo_id": [float("nan")]}))

    class Plugin:
        @cryotm.hookimpl
        def cryotm_motl_readers(self):
            return [Careless]

    cryotm.get_plugin_manager().register(Plugin(), name="careless-plugin")
    path = tmp_path / "picks.careless"
    path.write_text("anything")
    with pytest.raises(InputError, match=r"picks\.careless: particle column 'tomo_id' must hold whole numbers"):
        read_particles(path)


# -- RELION 5 lists of many tomograms: shapes from a tomograms star file ------------------

#: Two tomograms of different sizes (unbinned tilt-series pixels of 2.5 Å, reconstructed at
#: binning 4, so 10 Å voxels): 001 is 1000 x 1000 x 500 voxels (x, y, z), 002 is 750 x 500 x 300.
TOMOGRAMS_STAR = """
data_global

loop_
_rlnTomoName #1
_rlnTomoSizeX #2
_rlnTomoSizeY #3
_rlnTomoSizeZ #4
_rlnTomoTiltSeriesPixelSize #5
_rlnTomoTomogramBinning #6
001\t4000\t4000\t2000\t2.5\t4
002\t3000\t2000\t1200\t2.5\t4
"""


def _two_tomograms(pixel_size: float | None = 10.0) -> ParticleList:
    """A merged list: 3 particles in tomogram '001', 2 in '002' (the last at voxel 400, 100, 200)."""
    first = ParticleList.from_arrays(
        [[10.0, 20.0, 30.0], [500.0, 500.0, 250.0], [999.0, 3.5, 499.0]],
        orientations=[[30, 40, 50], [0, 90, 0], [10, 20, 30]],
        scores=[0.5, 0.4, 0.3], tomo_id=1, experiment_id="001", pixel_size=pixel_size,
    )
    second = ParticleList.from_arrays(
        [[7.25, 480.0, 12.0], [400.0, 100.0, 200.0]],
        orientations=[[60, 70, 80], [90, 45, 10]],
        scores=[0.6, 0.2], tomo_id=2, experiment_id="002", pixel_size=pixel_size,
    )
    return merge_lists([first, second])


@pytest.fixture
def tomograms_star(tmp_path):
    path = tmp_path / "tomograms.star"
    path.write_text(TOMOGRAMS_STAR)
    return path


def test_relion5_tomograms_file_gives_each_tomogram_its_shape(tmp_path, tomograms_star):
    merged = _two_tomograms()
    assert merged.tomogram_shape is None
    path = tmp_path / "all.star"
    write_particles(merged, path, format="relion5", tomograms=tomograms_star)
    particles = starfile.read(path, parse_as_string=["rlnTomoName"])["particles"]
    assert particles["rlnTomoName"].tolist() == ["001", "001", "001", "002", "002"]
    centred = particles[["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst",
                         "rlnCenteredCoordinateZAngst"]].to_numpy()
    # by hand: 002 is 750 x 500 x 300 voxels, centre (375, 250, 150); (400, 100, 200) -> (25, -150, 50) * 10 Å
    np.testing.assert_allclose(centred[4], [250.0, -1500.0, 500.0])
    # 001 is 1000 x 1000 x 500 voxels, centre (500, 500, 250)
    np.testing.assert_allclose(centred[1], [0.0, 0.0, 0.0])
    back = read_particles(path, tomograms=tomograms_star)
    np.testing.assert_allclose(back.positions, merged.positions, atol=1e-9)
    assert back.tomogram_names().tolist() == ["001", "001", "001", "002", "002"]
    assert back.pixel_size == 10.0
    # one shape for all (today's behaviour) misplaces the second tomogram's particles only
    single = read_particles(path, tomogram_shape=(500, 1000, 1000))
    np.testing.assert_allclose(single.positions[:3], merged.positions[:3], atol=1e-9)
    np.testing.assert_allclose(single.positions[4], [525.0, 350.0, 300.0])


def test_relion5_tomograms_file_with_the_pytom_centre(tmp_path, tomograms_star):
    path = tmp_path / "all.star"
    write_particles(_two_tomograms(), path, format="relion5", tomograms=tomograms_star, centre="pytom")
    centred = starfile.read(path)["particles"].iloc[4]
    # centre (374, 249, 149): (400, 100, 200) -> (26, -149, 51) * 10 Å
    assert [centred[f"rlnCenteredCoordinate{a}Angst"] for a in "XYZ"] == pytest.approx([260.0, -1490.0, 510.0])
    back = read_particles(path, tomograms=tomograms_star, centre="pytom")
    np.testing.assert_allclose(back.positions, _two_tomograms().positions, atol=1e-9)


def test_relion5_tomograms_file_scales_the_shape_to_the_list_pixel_size(tmp_path, tomograms_star):
    """Positions in 5 Å voxels (binning 2) refer to tomograms twice as large: 002 is 1500 x 1000 x 600."""
    merged = _two_tomograms(pixel_size=5.0)
    path = tmp_path / "all.star"
    write_particles(merged, path, format="relion5", tomograms=tomograms_star, binning=2)
    row = starfile.read(path)["particles"].iloc[4]
    assert [row[f"rlnCenteredCoordinate{a}Angst"] for a in "XYZ"] == pytest.approx([-1750.0, -2000.0, -500.0])
    back = read_particles(path, tomograms=tomograms_star)
    assert back.pixel_size == 5.0
    np.testing.assert_allclose(back.positions, merged.positions, atol=1e-9)


def test_relion5_tomograms_file_gives_the_pixel_size(tmp_path, tomograms_star):
    merged = _two_tomograms(pixel_size=None)
    assert merged.pixel_size is None
    path = tmp_path / "all.star"
    write_particles(merged, path, format="relion5", tomograms=tomograms_star)
    back = read_particles(path, tomograms=tomograms_star)
    assert back.pixel_size == 10.0
    np.testing.assert_allclose(back.positions, merged.positions, atol=1e-9)
    mixed = tmp_path / "mixed.star"
    mixed.write_text(TOMOGRAMS_STAR.replace("3000\t2000\t1200\t2.5\t4", "3000\t2000\t1200\t2.5\t8"))
    with pytest.raises(InputError, match=r"mixed\.star: no pixel size.*10, 20 Å"):
        write_particles(merged, tmp_path / "x.star", format="relion5", tomograms=mixed)


def test_relion5_tomogram_missing_from_the_tomograms_file(tmp_path, tomograms_star):
    only_first = tmp_path / "only001.star"
    only_first.write_text(TOMOGRAMS_STAR.replace("002\t3000\t2000\t1200\t2.5\t4\n", ""))
    out = tmp_path / "all.star"
    with pytest.raises(InputError, match=r"only001\.star: no tomogram '002' in this tomograms star file"):
        write_particles(_two_tomograms(), out, format="relion5", tomograms=only_first)
    assert not out.exists()
    write_particles(_two_tomograms(), out, format="relion5", tomograms=tomograms_star)
    with pytest.raises(InputError, match=r"only001\.star: no tomogram '002'"):
        read_particles(out, tomograms=only_first)
    # names are strings: a particle of tomogram '1' is not tomogram '001'
    renamed = _two_tomograms()
    data = renamed.data
    data["tomo_name"] = ["1", "1", "1", "002", "002"]
    with pytest.raises(InputError, match="no tomogram '1' in"):
        write_particles(renamed.with_data(data), out, format="relion5", tomograms=tomograms_star, overwrite=True)


def test_relion5_bad_tomograms_file(tmp_path):
    path = tmp_path / "tomograms.star"
    # (a file without rlnTomoTomogramBinning is read with binning 1, as WarpTools writes them)
    path.write_text(TOMOGRAMS_STAR.replace("_rlnTomoTiltSeriesPixelSize #5\n", "").replace("\t2.5\t", "\t"))
    with pytest.raises(InputError, match=r"tomograms\.star: tomograms star file lacks rlnTomoTiltSeriesPixelSize"):
        write_particles(_two_tomograms(), tmp_path / "p.star", format="relion5", tomograms=path)
    with pytest.raises(InputError, match="no such file"):
        write_particles(_two_tomograms(), tmp_path / "p.star", format="relion5", tomograms=tmp_path / "none.star")


def test_relion5_tomograms_on_the_command_line(tmp_path, tomograms_star):
    from cryotm.cli import main

    merged = _two_tomograms()
    inputs = []
    for name in ("001", "002"):
        rows = merged.data[merged.data["tomo_name"] == name].drop(columns="tomo_name")
        one = ParticleList(rows.reset_index(drop=True), pixel_size=10.0, experiment_id=name)
        inputs.append(tmp_path / f"{name}.csv")
        write_particles(one, inputs[-1])
    out = tmp_path / "all.star"
    assert main(["merge", *map(str, inputs), "-o", str(out), "--to", "relion5",
                 "--tomograms", str(tomograms_star)]) == 0
    table = tmp_path / "back.csv"
    assert main(["convert", str(out), str(table), "--tomograms", str(tomograms_star)]) == 0
    back = read_particles(table)
    np.testing.assert_allclose(back.positions, merged.positions, atol=1e-9)
    assert back.tomogram_names().tolist() == ["001", "001", "001", "002", "002"]
    # without the file (or a shape) the reader asks for it
    assert main(["convert", str(out), str(tmp_path / "x.csv")]) == 1
    # a format that does not use it
    assert main(["convert", str(inputs[0]), str(tmp_path / "x.tbl"), "--tomograms", str(tomograms_star)]) == 1
