"""Parity of the peak selection with cryoCAT's select_peaks, and the cryoCAT defects cryotm fixes.

cryoCAT works on maps transposed to [x, y, z] and its select_peaks assumes a
1-based angle map, so the scenes here are 1-based and cryoCAT gets
``data.transpose(2, 1, 0)``; its positions are (x, y, z) voxel indices.
Its path is correct when the distance maps are computed correctly and handed
to it as files (``dist_maps_name_base``), and when no particle lies within 1
degree of the list's first angle (cryoCAT takes whole-degree distance 0 for
background); the scenes move the reference angle away from every peak.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from cryotm import make_scene
from cryotm.angles import AngleList, compare_rotations, create_distance_maps, distance_tables
from cryotm.picking.select import select_peaks
from cryotm.testing import cryocat_or_skip

pytestmark = pytest.mark.parity


def parity_scene(shape, n_peaks, seed, n_angles=100, min_distance=14):
    """A 1-based scene whose first angle is at least 1.5 degrees from every peak's, in all three distances."""
    scene = make_scene(shape=shape, n_peaks=n_peaks, n_angles=n_angles, seed=seed,
                       min_distance=min_distance, index_base=1)
    rot = scene.angles.rotations()
    peak_rows = np.unique(scene.truth.data["angle_row"].to_numpy())
    for u in range(1, n_angles):
        d = compare_rotations(rot[u], rot[peak_rows])
        if u not in peak_rows and min(d.total.min(), d.normals.min(), d.inplane.min()) >= 1.5:
            break
    angles = scene.angles.angles.copy()
    angles[[0, u]] = angles[[u, 0]]
    amap = scene.angle_map.copy()
    amap[scene.angle_map == 1], amap[scene.angle_map == u + 1] = u + 1, 1
    scene.angles, scene.angle_map = AngleList(angles, index_base=1), amap
    return scene


def xyz(data):
    return np.ascontiguousarray(np.asarray(data).transpose(2, 1, 0))


def run_cryocat(tmana, scene, base, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return tmana.select_peaks(xyz(scene.scores), xyz(scene.angle_map), scene.angles.angles.copy(),
                                  dist_maps_name_base=str(base), **kwargs)


def ellipsoid(shape, radii):
    g = np.indices(shape).astype(float)
    c = np.array(shape)[:, None, None, None] // 2
    return ((((g - c) / np.array(radii)[:, None, None, None]) ** 2).sum(0) <= 1).astype(np.float32)


CASES = [
    ((48, 56, 64), 3, {"template_radius": 4}),
    ((48, 56, 64), 3, {"template_radius": 2}),
    ((40, 64, 52), 4, {"template_radius": 6}),
    ((48, 56, 64), 5, {"template_mask": ellipsoid((10, 12, 8), (4, 5, 3))}),
    ((48, 56, 64), 6, {"template_mask": ellipsoid((8, 8, 8), (3, 3, 2)), "noisy": True}),
    ((48, 56, 64), 7, {"edge_masking": 6, "template_radius": 3}),
    ((48, 56, 64), 8, {"edge_masking": (3, 8, 5), "template_radius": 3}),
    ((48, 56, 64), 9, {"tomo_mask": "box", "template_radius": 3}),
    ((48, 56, 64), 10, {"peak_number": 5, "template_radius": 3}),
    ((48, 56, 64), 11, {"dist_maps_list": ["_dist_normals"], "template_radius": 2}),
    ((48, 56, 64), 12, {"dist_maps_list": ["_dist_inplane", "_dist_all"], "noisy": True}),
    ((48, 56, 64), 13, {"min_peak_voxel_count": 20, "min_angles_voxel_count": 12, "template_radius": 3}),
    ((56, 56, 56), 14, {"noisy": True, "min_peak_voxel_count": 3, "min_angles_voxel_count": 3}),
]


@pytest.mark.parametrize("shape, seed, kwargs", CASES)
def test_same_particles_as_cryocat(tmp_path, shape, seed, kwargs):
    tmana = cryocat_or_skip()
    kwargs = dict(kwargs)
    scene = parity_scene(shape, 12, seed)
    if kwargs.pop("noisy", False):
        scene.scores *= 0.5  # lower peaks: noise clusters reach the threshold too
    if kwargs.get("tomo_mask") == "box":
        mask = np.zeros(shape, np.float32)
        mask[5:40, 10:50, 3:60] = 1
        kwargs["tomo_mask"] = mask
    base = tmp_path / "dm"
    create_distance_maps(scene.angle_map, scene.angles, output_base=base)
    theirs_kwargs = dict(kwargs)
    for key in ("template_mask", "tomo_mask"):
        if key in kwargs:
            theirs_kwargs[key] = xyz(kwargs[key])
    if isinstance(kwargs.get("edge_masking"), tuple):
        theirs_kwargs["edge_masking"] = np.array(kwargs["edge_masking"])
    motl, their_labels = run_cryocat(tmana, scene, base, **theirs_kwargs)
    ours = select_peaks(scene.scores, scene.angle_map, scene.angles, dist_maps_name_base=base, placement="cryocat", **kwargs)

    their_df = motl.df
    assert len(ours.particles) == len(their_df) > 0
    np.testing.assert_array_equal(ours.particles.positions, their_df[["x", "y", "z"]].to_numpy())
    np.testing.assert_allclose(ours.particles.euler_angles, their_df[["phi", "theta", "psi"]].to_numpy())
    np.testing.assert_allclose(ours.particles.scores, their_df["score"].to_numpy(), rtol=1e-6)
    np.testing.assert_array_equal(ours.labels > 0, xyz(their_labels) > 0)


def test_created_dist_maps_decrement_the_index_twice_and_ignore_angles_order(monkeypatch, tmp_path):
    tmana = cryocat_or_skip()
    scene = parity_scene((40, 40, 40), 4, 1, n_angles=50, min_distance=10)
    calls = []
    original = tmana.create_angular_distance_maps

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append((args, kwargs, result))
        return result

    monkeypatch.setattr(tmana, "create_angular_distance_maps", spy)
    with contextlib.redirect_stdout(io.StringIO()):
        tmana.select_peaks(xyz(scene.scores), xyz(scene.angle_map), scene.angles.angles.copy(),
                           create_dist_maps=True, template_radius=4, angles_order="zzx")
    (args, kwargs, (total, _, _)), = calls
    # select_peaks hands over the already decremented map; create_angular_distance_maps subtracts 1 again
    np.testing.assert_array_equal(args[0], xyz(scene.angle_map) - 1)
    rows = np.rint(scene.angle_map).astype(int) - 1  # the correct 0-based rows
    table = distance_tables(scene.angles).total.astype(np.float32)
    theirs = xyz(total)
    defined = ~np.isnan(theirs)  # cryoCAT's unclipped arccos: NaN for some identical pairs
    np.testing.assert_allclose(theirs[defined], table[rows - 1][defined], atol=1e-4)  # one row off
    assert not np.allclose(theirs[defined], table[rows][defined], atol=1)
    # the maps were built from the list read as zxz although select_peaks was told zzx
    assert "angles_order" not in kwargs and "c_symmetry" not in kwargs  # zxz and C1, whatever was asked
    # cryotm: the index base is subtracted once
    ours = create_distance_maps(scene.angle_map, scene.angles)
    np.testing.assert_allclose(ours.total, table[rows], atol=1e-4)


def test_positions_are_zero_based_where_cryocat_extraction_is_one_based(tmp_path):
    tmana = cryocat_or_skip()
    scene = parity_scene((40, 40, 40), 4, 1, n_angles=50, min_distance=10)
    base = tmp_path / "dm"
    create_distance_maps(scene.angle_map, scene.angles, output_base=base)
    motl, _ = run_cryocat(tmana, scene, base, template_radius=4)
    ours = select_peaks(scene.scores, scene.angle_map, scene.angles, dist_maps_name_base=base, placement="cryocat", template_radius=4)
    with contextlib.redirect_stdout(io.StringIO()):
        extracted = tmana.scores_extract_particles(xyz(scene.scores), xyz(scene.angle_map),
                                                   scene.angles.angles.copy(), 1, 8, scores_threshold=0.2,
                                                   angles_numbering=1)
    top = np.unravel_index(np.argmax(scene.scores), scene.scores.shape)[::-1]  # (x, y, z) index
    np.testing.assert_array_equal(ours.particles.positions[0], top)  # 0-based, like all of cryotm
    np.testing.assert_array_equal(motl.df[["x", "y", "z"]].to_numpy()[0], top)  # cryoCAT select: 0-based
    np.testing.assert_array_equal(extracted.df[["x", "y", "z"]].to_numpy()[0], np.array(top) + 1)  # extract: 1-based


def test_output_motl_name_crashes_in_cryocat_and_writes_here(tmp_path):
    tmana = cryocat_or_skip()
    scene = parity_scene((40, 40, 40), 4, 1, n_angles=50, min_distance=10)
    base = tmp_path / "dm"
    create_distance_maps(scene.angle_map, scene.angles, output_base=base)
    with pytest.raises(AttributeError, match="write_to_emfile"):
        run_cryocat(tmana, scene, base, template_radius=4, output_motl_name=str(tmp_path / "theirs.em"))
    select_peaks(scene.scores, scene.angle_map, scene.angles, dist_maps_name_base=base, placement="cryocat", template_radius=4,
                 output_motl_name=tmp_path / "ours.em")
    assert (tmp_path / "ours.em").stat().st_size > 0


def test_cryocat_cannot_select_a_particle_at_the_first_angle(tmp_path):
    tmana = cryocat_or_skip()
    scene = parity_scene((40, 40, 40), 4, 1, n_angles=50, min_distance=10)
    # give the strongest peak the first angle of the list (swap rows and map values)
    x, y, z = scene.truth.positions[np.argmax(scene.truth.scores)].astype(int)
    row = int(scene.angle_map[z, y, x]) - 1
    angles = scene.angles.angles.copy()
    angles[[0, row]] = angles[[row, 0]]
    amap = scene.angle_map.copy()
    amap[scene.angle_map == 1], amap[scene.angle_map == row + 1] = row + 1, 1
    scene.angles, scene.angle_map = AngleList(angles, index_base=1), amap
    base = tmp_path / "dm"
    create_distance_maps(scene.angle_map, scene.angles, output_base=base)
    motl, _ = run_cryocat(tmana, scene, base, template_radius=4)
    ours = select_peaks(scene.scores, scene.angle_map, scene.angles, dist_maps_name_base=base, placement="cryocat", template_radius=4)
    theirs = {tuple(p) for p in motl.df[["x", "y", "z"]].to_numpy()}
    mine = {tuple(p) for p in ours.particles.positions.astype(int)}
    assert (x, y, z) in mine and (x, y, z) not in theirs
    assert theirs < mine  # otherwise the same particles
