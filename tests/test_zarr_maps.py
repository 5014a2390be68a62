"""OME-Zarr maps: the full-resolution level, the pixel size of the NGFF metadata, lazily read; same picks as MRC."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

zarr = pytest.importorskip("zarr", reason="OME-Zarr maps need zarr (pip install 'cryotm[zarr]')")

from cryotm import make_scene  # noqa: E402
from cryotm.errors import InputError  # noqa: E402
from cryotm.maps import AngleMap, ScoresMap, read_map, write_map  # noqa: E402
from cryotm.maps.zarr import read_zarr  # noqa: E402
from cryotm.picking import PeakPicker  # noqa: E402
from cryotm.pipeline import Pipeline, TomogramInputs  # noqa: E402
from cryotm.pipeline.inputs import file_facts  # noqa: E402


def ome_image(path, levels, axes, scales, unit="angstrom", top_level=None, version="0.4", nest_ome=False):
    """An OME-NGFF image written with zarr itself: one array per level, the multiscales metadata by hand."""
    group = zarr.open_group(str(path), mode="w")
    datasets = []
    for number, (data, scale) in enumerate(zip(levels, scales)):
        chunks = tuple(min(8, n) for n in data.shape)
        if hasattr(group, "create_array"):  # zarr 3
            group.create_array(str(number), data=data, chunks=chunks)
        else:
            group.create_dataset(str(number), data=data, chunks=chunks)
        datasets.append({"path": str(number), "coordinateTransformations": [{"type": "scale", "scale": scale}]})
    entry = {
        "version": version,
        "axes": [{"name": a, "type": "space" if a in "zyx" else "channel", "unit": unit} for a in axes],
        "datasets": datasets,
    }
    if top_level is not None:
        entry["coordinateTransformations"] = [{"type": "scale", "scale": top_level}]
    group.attrs.update({"ome": {"multiscales": [entry]}} if nest_ome else {"multiscales": [entry]})
    return path


def test_full_resolution_level_and_its_pixel_size(tmp_path):
    full = np.arange(16 * 12 * 8, dtype=np.float32).reshape(16, 12, 8)
    half = full[::2, ::2, ::2].copy()
    path = ome_image(tmp_path / "tomo.zarr", [full, half], "zyx", [[1.1, 1.1, 1.1], [2.2, 2.2, 2.2]], unit="nanometer")
    data, pixel = read_map(path)
    np.testing.assert_array_equal(data, full)  # level 0, indexed [z, y, x]
    assert data[3, 2, 1] == full[3, 2, 1] and pixel == pytest.approx(11.0)  # nm -> Å
    spooled, _ = read_zarr(path, mmap=True)  # chunks of 8: rows of chunks, the last ones partial
    np.testing.assert_array_equal(spooled, full)
    odd = np.random.default_rng(2).random((13, 19, 5)).astype(">f4")  # big-endian, like some writers
    odd_path = ome_image(tmp_path / "odd.zarr", [odd], "zyx", [[1, 1, 1]])
    np.testing.assert_array_equal(read_zarr(odd_path, mmap=True)[0], odd)
    # a multiscale-wide scale multiplies the dataset's; NGFF 0.5 nests the metadata under "ome"
    nested = ome_image(tmp_path / "n.zarr", [full], "zyx", [[2.0, 2.0, 2.0]], top_level=[3.0, 3.0, 3.0], nest_ome=True)
    assert read_map(nested)[1] == pytest.approx(6.0)


def test_leading_singleton_axes_are_dropped_and_others_refused(tmp_path):
    full = np.random.default_rng(0).random((1, 6, 5, 4)).astype(np.float32)
    path = ome_image(tmp_path / "c.zarr", [full], "czyx", [[1.0, 7.0, 7.0, 7.0]])
    data, pixel = read_map(path)
    np.testing.assert_array_equal(data, full[0])
    assert pixel == 7.0
    two = ome_image(tmp_path / "c2.zarr", [np.zeros((2, 6, 5, 4), np.float32)], "czyx", [[1.0, 7.0, 7.0, 7.0]])
    with pytest.raises(InputError, match="more than one c"):
        read_map(two)
    xyz = ome_image(tmp_path / "xyz.zarr", [np.zeros((6, 5, 4), np.float32)], "xyz", [[7.0, 7.0, 7.0]])
    with pytest.raises(InputError, match=r"axes \['x', 'y', 'z'\] do not end in z, y, x"):
        read_map(xyz)
    aniso = ome_image(tmp_path / "a.zarr", [np.zeros((6, 5, 4), np.float32)], "zyx", [[14.0, 7.0, 7.0]])
    with pytest.raises(InputError, match="anisotropic voxels"):
        read_map(aniso)


def test_a_plain_zarr_array_and_bad_stores(tmp_path):
    zarr.save_array(str(tmp_path / "plain.zarr"), np.ones((3, 4, 5), np.int16))
    data, pixel = read_map(tmp_path / "plain.zarr")
    assert data.shape == (3, 4, 5) and data.dtype == np.int16 and pixel is None
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(InputError, match="empty.zarr"):
        read_map(tmp_path / "empty.zarr")
    group = zarr.open_group(str(tmp_path / "group.zarr"), mode="w")
    group.attrs["note"] = "no multiscales"
    with pytest.raises(InputError, match="not an OME-Zarr image"):
        read_map(tmp_path / "group.zarr")
    with pytest.raises(InputError, match="no such file"):
        read_map(tmp_path / "missing.zarr")


def test_mmap_reads_into_a_scratch_file_that_goes_away(tmp_path):
    full = np.random.default_rng(1).random((20, 9, 7)).astype(np.float32)
    write_map(tmp_path / "m.zarr", full, pixel_size=5.0)
    data, pixel = read_zarr(tmp_path / "m.zarr", mmap=True)
    assert isinstance(data, np.memmap) and not data.flags.writeable and pixel == 5.0
    np.testing.assert_array_equal(data, full)
    scratch = data.filename
    assert os.path.isfile(scratch)
    view = data[3:5]
    del data
    gc.collect()
    assert os.path.isfile(scratch)  # a view still uses it
    del view
    gc.collect()
    assert not os.path.exists(scratch)


def test_write_refuses_to_overwrite_unless_asked(tmp_path):
    write_map(tmp_path / "w.zarr", np.zeros((2, 2, 2), np.float32))
    with pytest.raises(InputError, match="output exists"):
        write_map(tmp_path / "w.zarr", np.ones((2, 2, 2), np.float32))
    write_map(tmp_path / "w.zarr", np.ones((2, 2, 2), np.float32), pixel_size=3.0, overwrite=True)
    data, pixel = read_map(tmp_path / "w.zarr")
    assert data.sum() == 8 and pixel == 3.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.zarr"]  # no temporary folder left


def test_zarr_scores_map_gives_the_same_particles_as_mrc(tmp_path):
    scene = make_scene(shape=(40, 48, 56), n_peaks=6, n_angles=40, seed=4, min_distance=12, pixel_size=13.5)
    paths = scene.write(tmp_path / "mrc")
    write_map(tmp_path / "scores.zarr", scene.scores, pixel_size=13.5)
    write_map(tmp_path / "angles.zarr", scene.angle_map, pixel_size=13.5)
    picker = PeakPicker(particle_diameter=10, threshold="sigma:3")
    from_mrc = picker.pick(
        ScoresMap.read(paths["scores"], mmap=True), AngleMap.read(paths["angles"], mmap=True), scene.angles
    )
    from_zarr = picker.pick(ScoresMap.read(tmp_path / "scores.zarr", mmap=True),
                            AngleMap.read(tmp_path / "angles.zarr", mmap=True), scene.angles)
    assert len(from_mrc) >= 6
    np.testing.assert_array_equal(from_zarr.positions, from_mrc.positions)
    np.testing.assert_array_equal(from_zarr.euler_angles, from_mrc.euler_angles)
    np.testing.assert_array_equal(from_zarr.scores, from_mrc.scores)
    # the pipeline (batch) path too, Zarr scores with an MRC angle map, pixel size from the Zarr metadata
    inputs = TomogramInputs("t", tmp_path / "scores.zarr", paths["angles"], paths["angle_list"])
    result = Pipeline(PeakPicker(particle_diameter=10), threshold="sigma:3").run(inputs)
    np.testing.assert_array_equal(result.particles.positions, from_mrc.positions)
    assert result.particles.pixel_size == pytest.approx(13.5)


def test_without_zarr_the_error_says_what_to_install(tmp_path, monkeypatch):
    write_map(tmp_path / "s.zarr", np.zeros((2, 2, 2), np.float32))
    monkeypatch.setitem(__import__("sys").modules, "zarr", None)  # as if zarr were not installed
    message = r"s.zarr: reading OME-Zarr maps needs the zarr package: pip install 'cryotm\[zarr\]'"
    with pytest.raises(InputError, match=message):
        ScoresMap.read(tmp_path / "s.zarr")


def test_a_rewritten_chunk_changes_the_facts_a_batch_resumes_by(tmp_path):
    write_map(tmp_path / "s.zarr", np.ones((4, 4, 4), np.float32))  # zarr 3 writes no chunk of fill values
    before = file_facts(tmp_path / "s.zarr")
    chunk = next(p for p in (tmp_path / "s.zarr" / "0").iterdir() if not p.name.startswith("."))
    stat = chunk.stat()
    os.utime(chunk, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # rewritten in place, a second later
    after = file_facts(tmp_path / "s.zarr")
    assert after["mtime_ns"] > before["mtime_ns"]
    assert before["size"] > 0 and after["size"] == before["size"]
