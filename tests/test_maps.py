"""Map I/O: MRC and EM round trips, axis order, pixel size, memory mapping, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from cryotm import AngleMap, InputError, MaskMap, ScoresMap, read_map, write_map
from cryotm.maps import read_em, write_em
from cryotm.maps.em import HEADER_SIZE

DTYPES = [np.float32, np.int8, np.int16, np.int32]


def _marked(dtype=np.float32, shape=(5, 6, 7)):
    """An array with one voxel set at z=1, y=2, x=3, so any transpose shows."""
    data = np.zeros(shape, dtype=dtype)
    data[1, 2, 3] = 7
    data[4, 5, 6] = 3
    return data


@pytest.mark.parametrize("suffix", [".mrc", ".em"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_keeps_values_dtype_axis_order_and_pixel_size(tmp_path, suffix, dtype):
    data = _marked(dtype)
    path = tmp_path / f"map{suffix}"
    write_map(path, data, pixel_size=13.48)
    back, pixel = read_map(path)
    assert back.shape == (5, 6, 7)
    assert back[1, 2, 3] == 7 and back[4, 5, 6] == 3 and back.sum() == 10
    if suffix == ".em" or dtype != np.int32:
        assert back.dtype == dtype
    else:  # MRC has no int32 mode: small integers are stored as int16
        assert back.dtype == np.int16
    assert pixel == pytest.approx(13.48, abs=0.01)


@pytest.mark.parametrize("machine,endian", [(3, ">"), (0, ">"), (5, ">"), (6, "<")])
@pytest.mark.parametrize("code,dtype", [(1, "i1"), (2, "i2"), (4, "i4"), (5, "f4")])
def test_em_reads_big_and_little_endian_headers(tmp_path, machine, endian, code, dtype):
    nz, ny, nx = 3, 4, 5
    header = bytearray(HEADER_SIZE)
    header[0] = machine
    header[3] = code
    header[4:16] = np.array([nx, ny, nz], dtype=f"{endian}i4").tobytes()
    header[96 + 6 * 4 : 96 + 7 * 4] = np.array([540], dtype=f"{endian}i4").tobytes()  # 0.54 nm
    data = np.arange(nx * ny * nz).reshape(nz, ny, nx).astype(f"{endian}{dtype}")
    path = tmp_path / "hand.em"
    path.write_bytes(bytes(header) + data.tobytes())
    back, pixel = read_em(path)
    np.testing.assert_array_equal(back, data)
    assert back.dtype.byteorder in ("=", "|") or back.dtype.isnative
    assert pixel == pytest.approx(5.4)
    mapped, _ = read_em(path, mmap=True)
    np.testing.assert_array_equal(mapped, data)


def test_em_layout_is_x_fastest(tmp_path):
    data = np.zeros((2, 3, 4), dtype=np.float32)
    data[1, 2, 3] = 7
    path = tmp_path / "m.em"
    write_em(path, data)
    raw = np.frombuffer(path.read_bytes()[HEADER_SIZE:], dtype="<f4")
    # voxel (z=1, y=2, x=3) is at offset ((1 * 3) + 2) * 4 + 3 in a file with x fastest
    assert raw[(1 * 3 + 2) * 4 + 3] == 7
    assert np.frombuffer(path.read_bytes()[4:16], dtype="<i4").tolist() == [4, 3, 2]


def test_mmap_reads_without_copying(tmp_path):
    data = np.random.default_rng(0).random((8, 9, 10), dtype=np.float32)
    for suffix in (".mrc", ".em"):
        path = tmp_path / f"big{suffix}"
        write_map(path, data)
        scores = ScoresMap.read(path, mmap=True)
        assert isinstance(scores.data, np.memmap)
        np.testing.assert_array_equal(scores.data, data)


def test_maps_satisfy_the_cryotypes_image_protocol(tmp_path):
    from cryotypes.image import ImageProtocol

    path = tmp_path / "TS_001.mrc"
    write_map(path, _marked(), pixel_size=7.0)
    scores = ScoresMap.read(path)
    assert isinstance(scores, ImageProtocol)
    assert scores.experiment_id == "TS_001"
    assert scores.pixel_spacing == pytest.approx(7.0)


def test_existing_output_is_not_overwritten(tmp_path):
    path = tmp_path / "m.mrc"
    write_map(path, _marked())
    before = path.read_bytes()
    with pytest.raises(InputError, match="exists"):
        write_map(path, _marked() * 2)
    assert path.read_bytes() == before
    write_map(path, _marked() * 2, overwrite=True)
    assert read_map(path)[0][1, 2, 3] == 14


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    import cryotm.maps.em as em

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(em.np, "ascontiguousarray", broken)
    with pytest.raises(OSError):
        write_em(tmp_path / "x.em", _marked())
    assert list(tmp_path.iterdir()) == []


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(InputError, match=r"nothere\.mrc: no such file"):
        ScoresMap.read(tmp_path / "nothere.mrc")


def test_unknown_extension_is_a_clear_error(tmp_path):
    path = tmp_path / "scores.tif"
    path.write_bytes(b"II*\x00")
    with pytest.raises(InputError, match=r"scores\.tif: unknown map file extension '\.tif'"):
        read_map(path)


def test_truncated_em_file_is_a_clear_error(tmp_path):
    path = tmp_path / "cut.em"
    write_em(path, _marked())
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(InputError, match="truncated EM file"):
        read_map(path)


def test_garbage_mrc_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.mrc"
    path.write_bytes(b"\x00" * 2000)
    with pytest.raises(InputError, match=r"bad\.mrc"):
        read_map(path)


def test_non_finite_scores_are_rejected_with_position(tmp_path):
    data = np.zeros((4, 5, 6), dtype=np.float32)
    data[2, 3, 4] = np.nan
    path = tmp_path / "nan.mrc"
    write_map(path, data)
    with pytest.raises(InputError, match=r"nan\.mrc: scores map has a non-finite value .* z=2, y=3, x=4"):
        ScoresMap.read(path)


def test_shape_mismatch_names_both_maps(tmp_path):
    write_map(tmp_path / "s.mrc", np.zeros((4, 5, 6), np.float32))
    write_map(tmp_path / "a.mrc", np.zeros((4, 6, 5), np.float32))
    scores = ScoresMap.read(tmp_path / "s.mrc")
    angles = AngleMap.read(tmp_path / "a.mrc")
    with pytest.raises(InputError, match=r"a\.mrc: angle map has shape \(4, 6, 5\) .*s\.mrc has \(4, 5, 6\)"):
        scores.check_same_shape(angles, "angle map")


def test_angle_map_rejects_non_integer_indices():
    angle_map = AngleMap.from_array(np.full((2, 2, 2), 1.5, dtype=np.float32))
    with pytest.raises(InputError, match="not an angle index"):
        angle_map.indices_at(np.array([0]), np.array([1]), np.array([1]))
    ok = AngleMap.from_array(np.full((2, 2, 2), 4.0, dtype=np.float32))
    assert ok.indices_at(np.array([1]), np.array([1]), np.array([0])).tolist() == [4]


def test_mask_map_binary_check():
    assert MaskMap.from_array(np.array([[[0, 1], [1, 0]]])).is_binary()
    assert not MaskMap.from_array(np.array([[[0, 0.5], [1, 0]]])).is_binary()


def test_non_3d_array_is_rejected():
    with pytest.raises(InputError, match="expected a 3D map"):
        ScoresMap.from_array(np.zeros(5))


@pytest.mark.parity
def test_em_written_by_cryocat_reads_identically(tmp_path):
    cryomap = pytest.importorskip("cryocat.cryomap")
    rng = np.random.default_rng(1)
    xyz = rng.random((6, 7, 8)).astype(np.float32)  # cryoCAT keeps maps as x, y, z
    path = tmp_path / "cryocat.em"
    cryomap.write(xyz, str(path))
    ours, _ = read_map(path)
    np.testing.assert_array_equal(ours, xyz.transpose(2, 1, 0))
    # and cryoCAT reads what we write the same way
    write_map(tmp_path / "ours.em", ours)
    np.testing.assert_array_equal(cryomap.read(str(tmp_path / "ours.em")), xyz)
    write_map(tmp_path / "ours.mrc", ours)
    np.testing.assert_array_equal(cryomap.read(str(tmp_path / "ours.mrc")), xyz)


def test_repr_is_short_whatever_the_map_size():
    for cls in (ScoresMap, AngleMap, MaskMap):
        text = repr(cls.from_array(np.zeros((40, 50, 60), dtype=np.float32), pixel_size=5.0, experiment_id="TS_1"))
        assert text == f"{cls.__name__}(shape=(40, 50, 60), dtype=float32, pixel_size=5.0, experiment_id='TS_1', source=None)"


def test_em_keeps_uint8_values_above_127(tmp_path):
    # int8 (EM type 1) would wrap 200 to -56: such uint8 data are stored as int16
    data = np.array([[[0, 127, 128, 255]]], dtype=np.uint8)
    path = tmp_path / "bytes.em"
    write_em(path, data)
    back, _ = read_em(path)
    assert back.tolist() == data.tolist()
    small = tmp_path / "small.em"
    write_em(small, np.array([[[0, 1, 127]]], dtype=np.uint8))
    assert read_em(small)[0].dtype == np.int8


def test_values_at_a_memory_mapped_file_indexes_like_numpy(tmp_path):
    from cryotm.maps._access import values_at

    data = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    path = tmp_path / "m.mrc"
    write_map(path, data)
    mapped = ScoresMap.read(path, mmap=True).data
    z, y, x = np.array([-1, 0]), np.array([-2, 1]), np.array([-1, 2])
    assert values_at(mapped, z, y, x).tolist() == data[z, y, x].tolist()  # not bytes before the data
    with pytest.raises(IndexError):
        values_at(mapped, np.array([3]), np.array([0]), np.array([0]))
