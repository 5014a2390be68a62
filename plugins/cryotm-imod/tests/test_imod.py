"""cryotm-imod: the IMOD model bytes, round trips, other readers, and cryotm's command line."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from cryotm import ParticleList, make_scene
from cryotm.cli import main
from cryotm.errors import CryotmError, InputError
from cryotm.formats import read_particles, reader_class, write_particles
from cryotm_imod.model import OBJFLAG_OPEN, OBJFLAG_SCAT, ImodModel, ImodObject, model_bytes, read_model


@pytest.fixture
def picks() -> ParticleList:
    plist = ParticleList.from_arrays(
        [[10.0, 20.0, 30.0], [40.5, 50.25, 60.0], [1.0, 2.0, 3.0]],
        shifts=[[0.5, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0]],
        pixel_size=13.48,
        tomogram_shape=(100, 200, 300),
    )
    data = plist.data
    data["class"] = [1, 2, 1]
    return plist.with_data(data)


def test_model_bytes_follow_the_binary_spec(picks, tmp_path):
    path = tmp_path / "p.mod"
    write_particles(picks, path, sphere_radius=9)
    data = path.read_bytes()
    assert data[:8] == b"IMODV1.2" and data[-4:] == b"IEOF"
    name = data[8:136].rstrip(b"\0")
    assert name == b"IMOD-NewModel"
    xmax, ymax, zmax, n_objects = struct.unpack(">4i", data[136:152])
    assert (xmax, ymax, zmax, n_objects) == (300, 200, 100, 2)
    pixsize, units = struct.unpack(">fi", data[8 + 208 : 8 + 216])
    assert units == -9 and pixsize == pytest.approx(1.348)
    first = 8 + 232
    assert data[first : first + 4] == b"OBJT"
    assert data[first + 4 : first + 12] == b"class 1\0"
    contsize, flags = struct.unpack(">iI", data[first + 4 + 128 : first + 4 + 136])
    assert contsize == 1 and flags == OBJFLAG_OPEN | OBJFLAG_SCAT == (1 << 3) | (1 << 9)
    (pdrawsize,) = struct.unpack(">i", data[first + 4 + 156 : first + 4 + 160])
    assert pdrawsize == 9
    cont = first + 180
    assert data[cont : cont + 4] == b"CONT"
    assert struct.unpack(">4i", data[cont + 4 : cont + 20]) == (2, 0, 0, 0)
    points = np.frombuffer(data[cont + 20 : cont + 44], dtype=">f4").reshape(2, 3)
    # positions + shifts, 0-based voxels, + (0.5, 0.5, 0): IMOD puts voxel centres at .5 in x and y
    np.testing.assert_allclose(points, [[11.0, 20.5, 30], [1.5, 2.5, 2]])
    assert len(data) == 8 + 232 + 2 * 180 + 2 * 20 + 3 * 12 + 4


def test_round_trip_keeps_positions_classes_and_metadata(picks, tmp_path):
    path = tmp_path / "p.mod"
    write_particles(picks, path)
    assert reader_class(path).name == "imod"
    back = read_particles(path)
    order = [0, 2, 1]  # grouped by class
    np.testing.assert_allclose(back.positions, (picks.positions + picks.shifts)[order], atol=1e-5)
    assert back.data["class"].tolist() == [1, 1, 2]
    assert back.pixel_size == pytest.approx(13.48)
    assert back.tomogram_shape == (100, 200, 300)


@pytest.mark.parametrize(("group_by", "names"), [("none", ["particles"]), ("tomo_id", ["tomo_id 0"])])
def test_grouping(picks, group_by, names, tmp_path):
    path = tmp_path / "p.mod"
    write_particles(picks, path, group_by=group_by, offset=0.5)
    model = read_model(path)
    assert [obj.name for obj in model.objects] == names
    imod = picks.positions + picks.shifts + [0.5, 0.5, 0.0]
    np.testing.assert_allclose(model.objects[0].points, imod + 0.5, atol=1e-5)
    np.testing.assert_allclose(read_particles(path, offset=0.5).positions, picks.positions + picks.shifts, atol=1e-5)


def test_reader_skips_chunks_it_does_not_use(tmp_path):
    model = ImodModel([ImodObject([[1, 2, 3], [4, 5, 6]], name="a")], image_size=(10, 10, 10))
    data = model_bytes(model)
    imat = b"IMAT" + struct.pack(">i", 16) + bytes(16)
    minx = b"MINX" + struct.pack(">i", 72) + bytes(72)
    mesh = b"MESH" + struct.pack(">iiIhh", 1, 2, 0, 0, 0) + bytes(12 + 8)
    path = tmp_path / "x.mod"
    path.write_bytes(data[:-4] + mesh + imat + minx + b"IEOF")
    back = read_model(path)
    np.testing.assert_allclose(back.objects[0].points, [[1, 2, 3], [4, 5, 6]])


def test_bad_models_are_input_errors(tmp_path):
    path = tmp_path / "bad.mod"
    path.write_bytes(b"IMODV1.2" + bytes(20))
    with pytest.raises(InputError, match="truncated IMOD model"):
        read_particles(path, format="imod")
    with pytest.raises(CryotmError, match="sphere_radius"):
        write_particles(ParticleList.empty(), tmp_path / "e.mod", sphere_radius=0)


def test_empty_list(tmp_path):
    path = tmp_path / "e.mod"
    write_particles(ParticleList.empty(), path)
    assert len(read_particles(path)) == 0


def test_cryocat_reads_our_model(picks, tmp_path):
    imod = pytest.importorskip("cryocat.imod")
    path = tmp_path / "p.mod"
    write_particles(picks, path, sphere_radius=6)
    frame = imod.read_mod_file(str(path))
    expected = (picks.positions + picks.shifts + [0.5, 0.5, 0.0])[[0, 2, 1]]  # cryoCAT keeps IMOD's coordinates
    np.testing.assert_allclose(frame[["x", "y", "z"]], expected, atol=1e-5)
    assert frame["object_id"].tolist() == [1, 1, 2] and frame["object_radius"].tolist() == [6, 6, 6]


def test_imodmodel_reads_our_model(picks, tmp_path):
    imodmodel = pytest.importorskip("imodmodel")
    path = tmp_path / "p.mod"
    write_particles(picks, path, sphere_radius=6)
    model = imodmodel.ImodModel.from_file(path)
    assert model.header.objsize == 2 and model.header.xmax == 300
    flags = model.objects[0].header.flags
    assert flags.scattered and flags.open and model.objects[0].header.pdrawsize == 6
    frame = imodmodel.read(path)
    expected = (picks.positions + picks.shifts + [0.5, 0.5, 0.0])[[0, 2, 1]]
    np.testing.assert_allclose(frame[["x", "y", "z"]], expected, atol=1e-5)


def test_points_clicked_in_3dmod_are_voxel_centres():
    """3dmod puts a clicked point at x, y = i + 0.5 and z = section k: read as the voxel (i, j, k)."""
    from pathlib import Path

    path = Path(__file__).parent / "data" / "imodmodel_point_sizes_example.mod"
    raw = np.concatenate([obj.points for obj in read_model(path).objects])
    np.testing.assert_allclose(raw[:, :2] % 1, 0.5, atol=1e-4)  # the file itself: .5 in x and y
    positions = read_particles(path).positions
    np.testing.assert_allclose(positions, np.round(positions), atol=1e-4)  # whole voxels in cryotm
    np.testing.assert_allclose(positions, raw - [0.5, 0.5, 0.0], atol=1e-6)


def test_cryotm_plugins_lists_imod(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "imod 0.1.0 (plugin)" in out
    assert "writer: imod" in out and "reader: imod" in out


def test_cryotm_convert_to_imod(picks, tmp_path, capsys):
    source = tmp_path / "p.em"
    write_particles(picks, source)
    out = tmp_path / "p.mod"
    assert main(["convert", str(source), str(out), "-O", "sphere_radius=4"]) == 0
    assert "emmotl -> imod" in capsys.readouterr().out
    assert read_model(out).objects[0].sphere_radius == 4
    assert main(["convert", str(source), str(tmp_path / "q.bin"), "--to", "imod"]) == 0
    assert (tmp_path / "q.bin").read_bytes()[:8] == b"IMODV1.2"


def test_cryotm_extract_format_imod(tmp_path):
    scene = make_scene(shape=(48, 56, 64), n_peaks=6, n_angles=60, seed=4, min_distance=14)
    paths = scene.write(tmp_path / "scene")
    out = tmp_path / "picks.mod"
    status = main(
        ["extract", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "--diameter", "10",
         "--threshold", "0.3", "--format", "imod", "-o", str(out)]
    )
    assert status == 0
    back = read_particles(out)
    assert len(back) > 0
    truth = scene.truth.positions
    nearest = np.min(np.linalg.norm(back.positions[:, None, :] - truth[None], axis=2), axis=1)
    assert np.median(nearest) < 1.5
