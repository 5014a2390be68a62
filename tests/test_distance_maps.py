"""Angular distances with C_n symmetry and angular distance maps (cryoCAT's create_angular_distance_maps).

The maps are checked against a direct per-voxel computation that uses only
rotation matrices (trace formula, z columns) and ``Rotation.as_euler``, and
against cryoCAT where cryoCAT is right (parity tests; C1 everywhere it is
not NaN; under C_n the normals, and the in-plane angle once wrapped).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cryotm import make_scene
from cryotm.angles import (
    AngleList,
    DistanceMaps,
    compare_rotations,
    create_distance_maps,
    distance_tables,
    inplane_angle,
    normal_angle,
    parse_symmetry,
    total_angle,
)
from cryotm.angles.distance_maps import distance_map_paths
from cryotm.cli import main
from cryotm.errors import InputError
from cryotm.maps import read_map, write_map
from cryotm.testing import cryocat_or_skip

TOL = 1e-4  # degrees


def direct_distances(angle_map: np.ndarray, angles: AngleList, symmetry: int):
    """Per voxel, from the voxel's own rotation matrix: total, normals, in-plane (degrees)."""
    rows = np.rint(angle_map).astype(int).ravel() - angles.index_base
    ref = Rotation.from_euler("zxz", angles.angles[0], degrees=True)
    rots = Rotation.from_euler("zxz", angles.angles[rows], degrees=True)
    ref_m, rot_m = ref.as_matrix(), rots.as_matrix()
    best = np.full(len(rows), np.inf)
    for k in range(symmetry):
        sym = Rotation.from_euler("z", 360.0 * k / symmetry, degrees=True).as_matrix()
        rel = ref_m.T @ rot_m @ sym
        cos = np.clip((np.trace(rel, axis1=1, axis2=2) - 1) / 2, -1, 1)
        best = np.minimum(best, np.degrees(np.arccos(cos)))
    normals = np.degrees(np.arccos(np.clip(rot_m[:, :, 2] @ ref_m[:, 2], -1, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # gimbal lock at theta = 0
        phi = rots.as_euler("zxz", degrees=True)[:, 0]
        phi0 = ref.as_euler("zxz", degrees=True)[0]
    period = 360.0 / symmetry
    d = np.mod(np.abs(phi - phi0), period)
    inplane = np.minimum(d, period - d)
    shape = angle_map.shape
    return best.reshape(shape), normals.reshape(shape), inplane.reshape(shape)


@pytest.fixture
def small_scene():
    return make_scene(shape=(24, 28, 32), n_peaks=3, n_angles=60, seed=5, min_distance=4)


# -- distances between rotations ------------------------------------------------------------
def test_identical_rotations_give_exact_zero_never_nan():
    rots = Rotation.random(2000, random_state=1)
    for sym in (1, 3):
        d = compare_rotations(rots, rots, sym)
        for values in (d.total, d.normals, d.inplane):
            assert not np.isnan(values).any()
            assert np.all(np.abs(values) < 1e-6)


@pytest.mark.parametrize("symmetry", [1, 2, 3, 6])
def test_total_angle_is_minimum_over_symmetry_copies(symmetry):
    ref = Rotation.random(random_state=2)
    rots = Rotation.random(500, random_state=3)
    ours = total_angle(ref, rots, symmetry)
    brute = np.min(
        [np.degrees((ref.inv() * rots * Rotation.from_euler("z", 360 * k / symmetry, degrees=True)).magnitude())
         for k in range(symmetry)],
        axis=0,
    )
    np.testing.assert_allclose(ours, brute, atol=TOL)
    assert ours.max() <= 180 + TOL


def test_inplane_wraps_at_symmetry_period():
    # phi 1 and 119 under C3 (period 120) are 2 degrees apart, not 118 (cryoCAT's defect)
    a = Rotation.from_euler("zxz", [[1, 30, 0]], degrees=True)
    b = Rotation.from_euler("zxz", [[119, 30, 0]], degrees=True)
    assert inplane_angle(a, b, 3)[0] == pytest.approx(2.0, abs=TOL)
    assert inplane_angle(a, b, 1)[0] == pytest.approx(118.0, abs=TOL)
    assert normal_angle(a, b)[0] == pytest.approx(0.0, abs=TOL)
    # symmetry never changes the normals
    rots = Rotation.random(100, random_state=4)
    np.testing.assert_allclose(
        compare_rotations(rots[0], rots, 4).normals, compare_rotations(rots[0], rots, 1).normals
    )


def test_parse_symmetry():
    assert parse_symmetry("C4") == 4 and parse_symmetry(" c2 ") == 2 and parse_symmetry(np.int64(3)) == 3
    for bad in ("D2", 0, "C0", "x", -1):
        with pytest.raises(InputError):
            parse_symmetry(bad)
    with pytest.raises(InputError):
        total_angle(np.eye(3), Rotation.identity())


def test_one_symmetry_parser_for_every_caller(small_scene):
    import cryotm.picking.symmetry
    from cryotm.comparison import compare_particles
    from cryotm.picking import PeakPicker, PeakSelector

    assert parse_symmetry(None) == 1 and parse_symmetry("4") == 4 and parse_symmetry("C 4") == 4
    assert not hasattr(cryotm.picking.symmetry, "parse_symmetry")  # no second parser
    amap, angles = small_scene.angle_map, small_scene.angles
    picks = small_scene.truth
    for spelling in (4, "4", "c4", " C4 ", np.int64(4)):
        assert PeakSelector(symmetry=spelling).symmetry == 4
        PeakPicker(10, symmetry=spelling)
        assert create_distance_maps(amap, angles, symmetry=spelling).symmetry == 4
        assert compare_particles(picks, picks, tolerance=1, symmetry=spelling).symmetry == 4
    assert PeakSelector(symmetry=None).symmetry == 1
    for bad in ("D2", "O", 0, 2.5, True):
        for call in (lambda: PeakSelector(symmetry=bad), lambda: PeakPicker(10, symmetry=bad),
                     lambda: create_distance_maps(amap, angles, symmetry=bad),
                     lambda: compare_particles(picks, picks, tolerance=1, symmetry=bad)):
            with pytest.raises(InputError, match="symmetry"):
                call()


# -- maps ----------------------------------------------------------------------------------
@pytest.mark.parametrize("symmetry", [1, 3])
def test_maps_match_direct_per_voxel_computation(small_scene, symmetry):
    maps = create_distance_maps(small_scene.angle_map, small_scene.angles, symmetry=symmetry)
    direct = direct_distances(small_scene.angle_map, small_scene.angles, symmetry)
    for ours, ref in zip((maps.total, maps.normals, maps.inplane), direct):
        assert ours.dtype == np.float32 and ours.shape == small_scene.angle_map.shape
        assert not np.isnan(ours).any()
        np.testing.assert_allclose(ours, ref, atol=TOL)
    assert maps.symmetry == symmetry
    assert maps["_dist_all"] is maps.total and maps["normals"] is maps.normals


def test_first_angle_has_distance_zero(small_scene):
    tables = distance_tables(small_scene.angles, 1)
    assert tables.total[0] == 0 and tables.normals[0] == 0 and tables.inplane[0] == 0


def test_index_base_is_subtracted_once(small_scene):
    zero = create_distance_maps(small_scene.angle_map, small_scene.angles)
    one_based = AngleList(small_scene.angles.angles, index_base=1)
    one = create_distance_maps(small_scene.angle_map + 1, one_based)
    np.testing.assert_array_equal(zero.total, one.total)
    # an explicit index_base overrides the list's own
    again = create_distance_maps(small_scene.angle_map + 1, small_scene.angles.angles, index_base=1)
    np.testing.assert_array_equal(zero.inplane, again.inplane)


def test_angles_order_zzx(tmp_path, small_scene):
    path = tmp_path / "angles.csv"
    small_scene.angles.write(path, order="zzx")
    from_zzx = create_distance_maps(small_scene.angle_map, path, angles_order="zzx")
    expected = create_distance_maps(small_scene.angle_map, small_scene.angles)
    np.testing.assert_allclose(from_zzx.total, expected.total, atol=TOL)
    wrong = create_distance_maps(small_scene.angle_map, path, angles_order="zxz")
    assert not np.allclose(wrong.total, expected.total, atol=1)


@pytest.mark.parametrize("fmt", ["em", "mrc"])
def test_write_and_read_back(tmp_path, small_scene, fmt):
    base = tmp_path / "tomo"
    maps = create_distance_maps(small_scene.angle_map, small_scene.angles, output_base=base, format=fmt)
    paths = distance_map_paths(base, fmt)
    assert [p.name for p in paths.values()] == [f"tomo_dist_{n}.{fmt}" for n in ("all", "normals", "inplane")]
    for name, path in paths.items():
        data, _ = read_map(path)
        assert data.dtype == np.float32
        np.testing.assert_array_equal(data, maps[name])


def test_existing_output_is_refused_and_nothing_half_written(tmp_path, small_scene):
    base = tmp_path / "tomo"
    paths = distance_map_paths(base, "em")
    write_map(paths["inplane"], np.zeros((2, 2, 2), np.float32))
    with pytest.raises(InputError, match="exists"):
        create_distance_maps(small_scene.angle_map, small_scene.angles, output_base=base)
    assert not paths["total"].exists() and not paths["normals"].exists()
    create_distance_maps(small_scene.angle_map, small_scene.angles, output_base=base, overwrite=True)
    assert read_map(paths["inplane"])[0].shape == small_scene.angle_map.shape


def test_bad_input(small_scene):
    with pytest.raises(InputError, match="outside the angle list"):
        create_distance_maps(small_scene.angle_map + 1, small_scene.angles)  # 1-based map, 0-based list
    broken = small_scene.angle_map.copy()
    broken[0, 0, 0] = 2.5
    with pytest.raises(InputError, match="not an angle index"):
        create_distance_maps(broken, small_scene.angles)
    with pytest.raises(InputError, match="unknown distance map format"):
        create_distance_maps(small_scene.angle_map, small_scene.angles, output_base="x", format="tif")
    with pytest.raises(InputError, match="symmetry"):
        create_distance_maps(small_scene.angle_map, small_scene.angles, symmetry="D3")
    with pytest.raises(InputError, match="unknown distance map"):
        DistanceMaps(*(np.zeros((1, 1, 1)),) * 3)["_dist_cone"]


def test_cli_writes_three_maps(tmp_path, small_scene):
    paths = small_scene.write(tmp_path)
    base = tmp_path / "dm"
    status = main(["distance-maps", str(paths["angles"]), str(paths["angle_list"]), "-o", str(base),
                   "--symmetry", "C2", "--format", "mrc"])
    assert status == 0
    expected = create_distance_maps(small_scene.angle_map, small_scene.angles, symmetry=2)
    for name, path in distance_map_paths(base, "mrc").items():
        np.testing.assert_allclose(read_map(path)[0], expected[name], atol=TOL)  # CSV keeps 10 digits
    # a 0-based map read as 1-based: one line, exit 1, nothing written
    status = main(["distance-maps", str(paths["angles"]), str(paths["angle_list"]), "-o", str(tmp_path / "b"),
                   "--index-base", "1"])
    assert status == 1
    assert not any(p.exists() for p in distance_map_paths(tmp_path / "b", "em").values())


# -- cryoCAT ----------------------------------------------------------------------------------
@pytest.mark.parity
def test_cryocat_quaternion_formula_gives_nan_for_identical_pairs():
    cryocat_or_skip()
    from cryocat import geom

    angles = Rotation.random(1000, random_state=7).as_euler("zxz", degrees=True)
    theirs = geom.angular_distance(angles, angles)[0]
    assert np.isnan(theirs).mean() > 0.05  # about a fifth on this machine
    ours = total_angle(Rotation.from_euler("zxz", angles, degrees=True),
                       Rotation.from_euler("zxz", angles, degrees=True))
    assert not np.isnan(ours).any() and ours.max() < 1e-6


@pytest.mark.parity
def test_maps_match_cryocat_c1_where_defined(small_scene):
    tmana = cryocat_or_skip()
    one_based = small_scene.angle_map + 1  # cryoCAT's create_angular_distance_maps assumes 1-based values
    theirs = tmana.create_angular_distance_maps(
        one_based.transpose(2, 1, 0), small_scene.angles.angles.copy(), write_out_maps=False
    )
    ours = create_distance_maps(small_scene.angle_map, small_scene.angles)
    for our_map, their_map in zip((ours.total, ours.normals, ours.inplane), theirs):
        their_map = their_map.transpose(2, 1, 0)
        defined = ~np.isnan(their_map)
        np.testing.assert_allclose(our_map[defined], their_map[defined], atol=TOL)
    # the NaN voxels are exactly cryoCAT's identical pairs (the first angle), where ours is 0
    nan = np.isnan(theirs[0].transpose(2, 1, 0))
    assert np.all(ours.total[nan] == 0)


@pytest.mark.parity
def test_maps_vs_cryocat_c3(small_scene):
    tmana = cryocat_or_skip()
    theirs = tmana.create_angular_distance_maps(
        (small_scene.angle_map + 1).transpose(2, 1, 0), small_scene.angles.angles.copy(),
        write_out_maps=False, c_symmetry=3,
    )
    total, normals, inplane = (m.transpose(2, 1, 0) for m in theirs)
    ours = create_distance_maps(small_scene.angle_map, small_scene.angles, symmetry=3)
    np.testing.assert_allclose(ours.normals, normals, atol=TOL)
    # cryoCAT does not wrap the in-plane difference at 120 degrees; wrapped, it is ours
    assert np.nanmax(inplane) > 60 + 1
    np.testing.assert_allclose(ours.inplane, np.minimum(inplane, 120 - inplane), atol=TOL)
    # its total angle is one symmetry copy's, never below the minimum over all copies
    defined = ~np.isnan(total)
    assert np.all(total[defined] >= ours.total[defined] - TOL)
    assert np.any(total[defined] > ours.total[defined] + 1)
