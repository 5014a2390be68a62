"""Automatic, angle-consistent peak selection (cryoCAT's select_peaks): behaviour, quality, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage import morphology

from cryotm import make_scene
from cryotm.angles import AngleList, create_distance_maps
from cryotm.cli import main
from cryotm.errors import InputError
from cryotm.evaluation import match_particles
from cryotm.formats import read_particles
from cryotm.maps import ScoresMap, read_map, write_map
from cryotm.picking import filter_distance_maps as exported_filter
from cryotm.picking.select import (
    PeakSelector,
    edge_mask_margins,
    filter_distance_maps,
    rotate_template_mask,
    select_peaks,
    sphere_footprint,
)
from cryotm.picking.select import regions as select_module  # where the selector calls filter_distance_maps
from cryotm.picking.select.footprints import Footprint as _Footprint
from cryotm.picking.select.footprints import block as _block
from cryotm.picking.select.footprints import reach as _reach
from cryotm.picking.select.regions import open_regions as _open_regions
from cryotm.testing import cryocat_or_skip
from cryotm.thresholds import FalseAlarmRateThreshold, SearchStatistics, TriangleThreshold


@pytest.fixture(scope="module")
def spaced():
    """A scene whose peaks are well apart (checked: the generator's spacing is not guaranteed)."""
    scene = make_scene(shape=(48, 56, 64), n_peaks=10, n_angles=100, seed=3, min_distance=14)
    pos = scene.truth.positions
    gaps = np.linalg.norm(pos[:, None] - pos[None], axis=2) + np.eye(len(pos)) * 1e9
    assert gaps.min() >= 10
    return scene


def ellipsoid(shape, radii):
    g = np.indices(shape).astype(float)
    c = np.array(shape)[:, None, None, None] // 2
    return ((((g - c) / np.array(radii)[:, None, None, None]) ** 2).sum(0) <= 1).astype(np.float32)


# -- quality on planted truth ---------------------------------------------------------------
def test_recall_and_precision_on_planted_truth(spaced):
    # 100 rotations: the default asks 2 agreeing neighbours (a random neighbourhood reaches that 2.7 % of the
    # time), which lets one of the background's many peaks above the triangle threshold through; 3 let none
    result = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4)
    match = match_particles(result.particles, spaced.truth, tolerance=2.0)
    print(match.summary())
    assert match.recall == 1.0 and match.n_picks - match.true_positives <= 1
    strict = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4, min_agreeing_neighbours=3)
    match = match_particles(strict.particles, spaced.truth, tolerance=2.0)
    assert match.recall == 1.0 and match.precision == 1.0
    assert np.all(match.angular_errors < 1e-6)  # each particle gets the angle of its voxel


def test_small_sphere_also_picks_flanks_of_wide_peaks(spaced):
    # cryoCAT's default radius 2 is smaller than most peaks: their flanks become extra particles
    result = select_peaks(spaced.scores, spaced.angle_map, spaced.angles)
    match = match_particles(result.particles, spaced.truth, tolerance=2.0)
    assert match.recall == 1.0 and len(result.particles) > len(spaced.truth)


def test_positions_are_zero_based_voxels_and_orientation_is_the_voxels_angle(spaced):
    particles, labels = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4)
    top = np.unravel_index(np.argmax(spaced.scores), spaced.scores.shape)  # (z, y, x)
    np.testing.assert_array_equal(particles.positions[0], top[::-1])
    assert particles.scores[0] == pytest.approx(float(spaced.scores[top]))
    for (x, y, z), euler in zip(particles.positions.astype(int), particles.euler_angles):
        row = int(spaced.angle_map[z, y, x])
        np.testing.assert_array_equal(euler, spaced.angles.angles[row])
        assert labels[z, y, x] > 0
    assert list(particles.data["subtomo_id"]) == list(range(1, len(particles) + 1))
    assert np.all(np.diff(particles.scores) <= 0)


def test_label_map_holds_each_particles_sphere(spaced):
    result = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=3)
    ball = sphere_footprint(3)
    assert result.labels.dtype == np.int32
    assert set(np.unique(result.labels)) == set(range(len(result.particles) + 1))
    for sid, (x, y, z) in zip(result.particles.data["subtomo_id"], result.particles.positions.astype(int)):
        box = result.labels[z - 3 : z + 4, y - 3 : y + 4, x - 3 : x + 4]
        np.testing.assert_array_equal(box == sid, ball)


def test_peak_number_tomo_number_and_subsets(spaced):
    full = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4)
    capped = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4, peak_number=3,
                          tomo_number=7)
    np.testing.assert_array_equal(capped.particles.positions, full.particles.positions[:3])
    assert set(capped.particles.data["tomo_id"]) == {7}
    for subset in (["_dist_normals"], ["inplane", "total"]):
        part = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4,
                            dist_maps_list=subset)
        assert len(part.particles) >= len(full.particles)  # fewer maps to agree: never fewer particles


def test_created_written_and_given_maps_select_the_same(tmp_path, spaced):
    base = tmp_path / "dm"
    created = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4, angle_test="regions",
                           create_dist_maps=True, write_dist_maps=True, dist_maps_name_base=base)
    read = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4, angle_test="regions",
                        dist_maps_name_base=base)
    given = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4, angle_test="regions",
                         dist_maps=create_distance_maps(spaced.angle_map, spaced.angles))
    for other in (read, given):
        np.testing.assert_array_equal(other.particles.positions, created.particles.positions)
        np.testing.assert_array_equal(other.labels, created.labels)


def test_index_base_and_angles_order(tmp_path, spaced):
    zero = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4)
    path = tmp_path / "angles.csv"
    spaced.angles.write(path, order="zzx")
    one = select_peaks(spaced.scores, spaced.angle_map + 1, path, template_radius=4, index_base=1,
                       angles_order="zzx")
    np.testing.assert_array_equal(one.particles.positions, zero.particles.positions)
    np.testing.assert_allclose(one.particles.euler_angles, zero.particles.euler_angles, atol=1e-6)


def test_particle_at_the_first_angle_is_kept():
    # cryoCAT labels whole-degree distances, so distance 0 is its background: a particle oriented
    # like the first angle of the list could never be selected there. Here it is a region like any other.
    scene = make_scene(shape=(40, 40, 40), n_peaks=1, n_angles=50, seed=1, min_distance=10)
    row = int(scene.truth.data["angle_row"][0])
    angles = scene.angles.angles.copy()
    angles[[0, row]] = angles[[row, 0]]
    amap = scene.angle_map.copy()
    amap[scene.angle_map == 0], amap[scene.angle_map == row] = row, 0
    result = select_peaks(scene.scores, amap, AngleList(angles), template_radius=4)
    (x, y, z) = scene.truth.positions[0].astype(int)
    assert amap[z, y, x] == 0
    assert any(np.array_equal(p, (x, y, z)) for p in result.particles.positions)


def test_template_mask_is_rotated_and_placed(spaced):
    mask = ellipsoid((12, 10, 8), (5, 3, 2))
    result = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_mask=mask)
    particles = result.particles
    assert len(particles) >= len(spaced.truth)
    for sid, (x, y, z), euler in zip(particles.data["subtomo_id"], particles.positions.astype(int),
                                     particles.euler_angles):
        rotated = rotate_template_mask(mask, AngleList(euler[None]).rotations().as_matrix()[0])
        expected = np.zeros(np.array(result.labels.shape) + 24, bool)  # margin for faces
        start = np.array([z, y, x]) + 12 - np.array(mask.shape) // 2  # voxel shape // 2 on the peak
        expected[tuple(slice(a, a + n) for a, n in zip(start, mask.shape))] = rotated
        np.testing.assert_array_equal(result.labels == sid, expected[12:-12, 12:-12, 12:-12])


def test_output_file(tmp_path, spaced):
    out = tmp_path / "sel.em"
    result = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4,
                          output_motl_name=out, tomo_number=2)
    back = read_particles(out)
    np.testing.assert_allclose(back.positions, result.particles.positions)  # the writer's +1 is undone
    with pytest.raises(InputError, match="exists"):
        select_peaks(spaced.scores, spaced.angle_map, spaced.angles, output_motl_name=out)


# -- the pieces -------------------------------------------------------------------------------
def test_sphere_footprint_matches_cryocat_shape():
    ball = sphere_footprint(2)
    assert ball.shape == (5, 5, 5) and ball.sum() == 33 and ball[2, 2, 2]
    assert sphere_footprint(0).sum() == 1
    with pytest.raises(InputError):
        sphere_footprint(-1)


def test_rotate_template_mask():
    rod = np.zeros((9, 9, 9), bool)
    rod[4, 4, 4:8] = True  # along +x from the centre
    # 90 degrees about y turns +x into -z
    turned = rotate_template_mask(rod, np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]]))
    np.testing.assert_array_equal(np.argwhere(turned), [[z, 4, 4] for z in (1, 2, 3, 4)])
    np.testing.assert_array_equal(rotate_template_mask(rod, np.eye(3)), rod)


def test_blocked_map_is_the_exact_overlap_test():
    rng = np.random.default_rng(0)
    shape = (20, 22, 24)
    ball = sphere_footprint(3)
    reach = _reach(ball)
    fp = _Footprint(ball, (3, 3, 3))
    for _ in range(20):
        blocked = np.zeros(shape, bool)
        placed = np.zeros(shape, bool)
        for voxel in rng.integers(0, shape, size=(3, 3)):  # near the faces too
            win, cut, _ = fp.window(tuple(voxel), shape)
            _block(blocked, tuple(voxel), win, ball[cut], ball, reach)
            placed[win] |= ball[cut]
        for voxel in rng.integers(0, shape, size=(40, 3)):
            win, cut, _ = fp.window(tuple(voxel), shape)
            assert blocked[tuple(voxel)] == bool(np.any(placed[win] & ball[cut]))


@pytest.mark.filterwarnings("ignore:`binary_opening` is deprecated")
def test_opening_is_a_true_opening_per_region():
    # a line filling its bounding box: cryoCAT opens it inside that box, where skimage's
    # border rule keeps it; a true opening (zero outside the region) removes it
    mask = np.zeros((6, 6, 8), bool)
    mask[2, 2, 1:7] = True
    bins = np.full(mask.shape, 5)
    assert not _open_regions(mask, bins).any()
    box = mask[2:3, 2:3, 1:7]
    assert morphology.binary_opening(box, footprint=np.ones((2, 2, 2))).all()
    # a 2x2x2 block of one bin survives; split over two bins it does not
    mask[:] = False
    mask[2:4, 2:4, 2:4] = True
    assert np.array_equal(_open_regions(mask, bins), mask)
    bins[2, 2, 2] = 6
    assert not _open_regions(mask, bins).any()


def test_edge_margins():
    assert edge_mask_margins(None, (10, 10, 10)) is None
    assert edge_mask_margins(np.array([1, 2, 3]), (10, 10, 10)) == (3, 2, 1)
    for bad in ((1, 2), -1, 1.5, "a"):
        with pytest.raises(InputError):
            edge_mask_margins(bad, (10, 10, 10))


def test_edge_masking_zero_masks_nothing_and_xyz_order(spaced):
    # cryoCAT's angular test: a peak cut by the margin keeps no consistent region inside it
    common = dict(template_radius=4, angle_test="regions")
    plain = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, **common)
    zero = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, edge_masking=0, **common)
    np.testing.assert_array_equal(zero.particles.positions, plain.particles.positions)
    margin = (20, 0, 0)  # x only
    edged = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, edge_masking=margin, **common)
    x = edged.particles.positions[:, 0]
    assert np.all((x >= 20) & (x < spaced.scores.shape[2] - 20))
    kept = plain.particles.positions[:, 0]
    assert len(edged.particles) == np.count_nonzero((kept >= 20) & (kept < spaced.scores.shape[2] - 20))


def test_tomo_mask(spaced):
    mask = np.zeros(spaced.scores.shape, np.float32)
    mask[:, :, :32] = 1
    result = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4, tomo_mask=mask)
    assert len(result.particles) > 0 and np.all(result.particles.positions[:, 0] < 32)


def test_nothing_consistent_gives_an_empty_list(spaced):
    result = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, min_peak_voxel_count=10**6)
    assert len(result.particles) == 0 and not result.labels.any()


# -- bad input ---------------------------------------------------------------------------------
def test_dist_maps_of_the_wrong_shape(spaced):
    maps = create_distance_maps(spaced.angle_map[:, :, :-1], spaced.angles)
    with pytest.raises(InputError, match="distance map _dist_all has shape"):
        select_peaks(spaced.scores, spaced.angle_map, spaced.angles, angle_test="regions", dist_maps=maps)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no 'invalid value encountered in cast' either
def test_nan_distance_is_an_error_only_where_the_selection_looks(spaced):
    given = create_distance_maps(spaced.angle_map, spaced.angles).as_dict()
    plain = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, angle_test="regions", template_radius=4,
                         dist_maps=given)
    _, above = PeakSelector().threshold_mask(ScoresMap.from_array(spaced.scores))
    labels, _ = ndimage.label(above, structure=ndimage.generate_binary_structure(3, 1))
    top = labels[np.unravel_index(np.argmax(spaced.scores), spaced.scores.shape)]
    box = ndimage.find_objects(labels)[top - 1]
    outside = np.argwhere(labels[box] != top)[0] + [b.start for b in box]  # in the region's box
    beside = {name: values.copy() for name, values in given.items()}
    beside["total"][tuple(outside)] = np.nan  # below the threshold: never looked at
    result = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, angle_test="regions", template_radius=4,
                          dist_maps=beside)
    np.testing.assert_array_equal(result.particles.positions, plain.particles.positions)
    np.testing.assert_array_equal(result.labels, plain.labels)
    inside = {name: values.copy() for name, values in given.items()}
    inside["normals"][np.unravel_index(np.argmax(spaced.scores), spaced.scores.shape)] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        select_peaks(spaced.scores, spaced.angle_map, spaced.angles, angle_test="regions", template_radius=4,
                     dist_maps=inside)


def test_missing_dist_map_files(tmp_path, spaced):
    with pytest.raises(InputError, match="distance map not found"):
        select_peaks(spaced.scores, spaced.angle_map, spaced.angles, angle_test="regions",
                     dist_maps_name_base=tmp_path / "none")


def test_empty_threshold_mask(spaced):
    with pytest.raises(InputError, match="threshold mask is empty"):
        select_peaks(spaced.scores, spaced.angle_map, spaced.angles, threshold=float(spaced.scores.max()) + 1)
    with pytest.raises(InputError, match="threshold mask is empty"):
        select_peaks(spaced.scores, spaced.angle_map, spaced.angles,
                     tomo_mask=np.zeros(spaced.scores.shape, np.float32))


def test_edge_masking_larger_than_the_map(spaced):
    with pytest.raises(InputError, match="larger than the map"):
        select_peaks(spaced.scores, spaced.angle_map, spaced.angles, edge_masking=24)
    with pytest.raises(InputError, match="along x"):
        select_peaks(spaced.scores, spaced.angle_map, spaced.angles, edge_masking=(32, 1, 1))


def test_template_mask_not_binary(spaced):
    soft = ellipsoid((8, 8, 8), (3, 3, 3)) * 0.8
    with pytest.raises(InputError, match="template mask must be binary"):
        select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_mask=soft)
    with pytest.raises(InputError, match="empty"):
        PeakSelector(template_mask=np.zeros((4, 4, 4)))


def test_other_bad_parameters(spaced):
    for kwargs in ({"dist_maps_list": []}, {"dist_maps_list": ["_dist_cone"]},
                   {"dist_maps_list": ["total", "_dist_all"]}, {"min_peak_voxel_count": -1},
                   {"peak_number": 2.5}, {"symmetry": "D2"}):
        with pytest.raises(InputError):
            select_peaks(spaced.scores, spaced.angle_map, spaced.angles, **kwargs)
    with pytest.raises(InputError, match="shape"):
        select_peaks(spaced.scores, spaced.angle_map[:-1], spaced.angles)
    with pytest.raises(InputError, match="tomogram mask"):
        select_peaks(spaced.scores, spaced.angle_map, spaced.angles, tomo_mask=np.ones((3, 3, 3)))
    with pytest.raises(InputError, match="give --index-base 1"):  # shifted by one: as a 1-based map
        select_peaks(spaced.scores, spaced.angle_map + 1, spaced.angles)
    with pytest.raises(InputError, match="outside the angle list"):
        select_peaks(spaced.scores, spaced.angle_map + 5, spaced.angles)


# -- command line -------------------------------------------------------------------------------
def test_cli_select(tmp_path, spaced, capsys):
    paths = spaced.write(tmp_path / "scene")
    out, labels = tmp_path / "p.em", tmp_path / "labels.mrc"
    args = ["select", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "-o", str(out),
            "--template-radius", "4", "--labels", str(labels), "--tomo-id", "3"]
    assert main(args) == 0
    expected = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4)
    back = read_particles(out)
    np.testing.assert_allclose(back.positions, expected.particles.positions)
    np.testing.assert_array_equal(read_map(labels)[0], expected.labels)
    assert f"selected {len(expected.particles)} particles" in capsys.readouterr().out
    # a soft template mask: one line on stderr, exit status 1, no output
    soft = tmp_path / "soft.mrc"
    write_map(soft, ellipsoid((8, 8, 8), (3, 3, 3)) * 0.5)
    args2 = args[:5] + [str(tmp_path / "q.em"), "--template-mask", str(soft)]
    assert main(args2) == 1
    assert "template mask must be binary" in capsys.readouterr().err
    assert not (tmp_path / "q.em").exists()
    with pytest.raises(SystemExit) as exc:  # argparse: usage error
        main(args[:5] + [str(tmp_path / "r.em"), "--edge-margin", "1,2"])
    assert exc.value.code == 2


# -- threshold rules: far gets the number of rotations; every rule sees the whole map ----------
def test_far_threshold_gets_the_number_of_rotations(spaced):
    result = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4, threshold="far")
    statistics = SearchStatistics(n_angles=len(spaced.angles))
    assert result.threshold == pytest.approx(FalseAlarmRateThreshold().compute(spaced.scores, statistics=statistics))
    match = match_particles(result.particles, spaced.truth, tolerance=2.0)
    assert len(result.particles) > 0 and match.precision == 1.0  # far is strict: no noise pick
    more = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4, threshold="far:1000")
    assert more.threshold < result.threshold
    value, _ = PeakSelector(threshold="far").threshold_mask(ScoresMap.from_array(spaced.scores),
                                                            statistics=statistics)
    assert value == pytest.approx(result.threshold)


def test_threshold_is_computed_on_the_whole_map_whatever_the_tomogram_mask(spaced):
    mask = np.zeros(spaced.scores.shape, np.float32)
    mask[:, :, :32] = 1
    for rule, expected in (("triangle", TriangleThreshold().compute(spaced.scores)),
                           ("far", FalseAlarmRateThreshold().compute(
                               spaced.scores, statistics=SearchStatistics(n_angles=len(spaced.angles))))):
        masked = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4, threshold=rule,
                              tomo_mask=mask)
        assert masked.threshold == pytest.approx(expected)
        assert np.all(masked.particles.positions[:, 0] < 32)


def test_cli_select_far_threshold(tmp_path, spaced, capsys):
    paths = spaced.write(tmp_path / "scene")
    out = tmp_path / "far.em"
    args = ["select", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "-o", str(out),
            "--template-radius", "4", "--threshold", "far"]
    assert main(args) == 0
    expected = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4, threshold="far")
    assert f"selected {len(expected.particles)} particles (threshold {expected.threshold:.6g}" in capsys.readouterr().out
    np.testing.assert_allclose(read_particles(out).positions, expected.particles.positions)
    # an impossible threshold: one line that names only what select has
    assert main(args[:5] + [str(tmp_path / "none.em"), "--threshold", "manual:99"]) == 1
    err = capsys.readouterr().err
    assert "threshold mask is empty" in err and "--n-angles" not in err and len(err.strip().splitlines()) == 1


def test_cli_select_edge_masking_is_x_y_z(tmp_path, spaced, capsys):
    paths = spaced.write(tmp_path / "scene")
    out = tmp_path / "edged.em"
    assert main(["select", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "-o", str(out),
                 "--template-radius", "4", "--edge-margin", "20,0,0"]) == 0
    expected = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, template_radius=4,
                            edge_masking=(20, 0, 0))
    np.testing.assert_allclose(read_particles(out).positions, expected.particles.positions)
    x = expected.particles.positions[:, 0]
    assert len(x) and np.all((x >= 20) & (x < spaced.scores.shape[2] - 20))


# -- filter_distance_maps: cryoCAT's filter_dist_maps ----------------------------------------------
def blocks_maps():
    """Two small distance maps with regions of known sizes, and a threshold mask."""
    total = np.zeros((6, 8, 10), np.float32)
    total[:, :, 5:] = 30.7                      # two halves: 240 voxels each
    total[2:4, 2:4, 1:3] = 12.2                 # an 8-voxel block inside the first half
    inplane = np.full((6, 8, 10), 5.0, np.float32)
    inplane[0, 0, :4] = 0.5                     # a 4-voxel strip below 1 degree
    inplane[3:6, 5:8, 6:9] = 0.25               # a 27-voxel block below 1 degree
    mask = np.ones((6, 8, 10), bool)
    mask[:, 7, :] = False
    return total, inplane, mask


def test_filter_distance_maps_drops_small_regions_map_after_map():
    total, inplane, mask = blocks_maps()
    maps, kept = filter_distance_maps([total, inplane], mask, 10)
    expected = mask.copy()
    expected[2:4, 2:4, 1:3] = False             # 8 voxels of 12 degrees in 'total'
    expected[0, 0, :4] = False                  # 4 voxels of 0 degrees in 'inplane'
    np.testing.assert_array_equal(kept, expected)
    assert kept[4, 5, 7] and maps[1][4, 5, 7] == np.float32(0.25)  # below 1 degree: a region like any other
    assert isinstance(maps, list) and len(maps) == 2
    for given, out in zip((total, inplane), maps):
        assert out.dtype == given.dtype
        np.testing.assert_array_equal(out, np.where(expected, given, 0))
    # nothing is modified in place; the count 0 keeps everything inside the mask
    np.testing.assert_array_equal((total, inplane, mask), blocks_maps())
    np.testing.assert_array_equal(filter_distance_maps([total], mask, 0)[1], mask)


def test_filter_distance_maps_starts_each_map_from_the_mask_the_previous_one_left():
    first = np.zeros((1, 3, 12), np.float32)
    first[0, 1, 5] = 50.0                       # a 1-voxel region inside a 35-voxel one
    second = np.full((1, 3, 12), 3.0, np.float32)
    second[0, 1, :] = 9.0                       # a 12-voxel line through that voxel
    mask = np.ones((1, 3, 12), bool)
    alone = [filter_distance_maps([m], mask, 6)[1] for m in (first, second)]
    assert alone[1].all() and np.count_nonzero(~alone[0]) == 1
    _, kept = filter_distance_maps([first, second], mask, 6)
    # dropping the voxel splits the line into 5 + 6 voxels; the 5 go too
    expected = np.ones((1, 3, 12), bool)
    expected[0, 1, :6] = False
    np.testing.assert_array_equal(kept, expected)


def test_filter_distance_maps_inputs_and_bad_input(spaced):
    maps = create_distance_maps(spaced.angle_map, spaced.angles)
    above = spaced.scores >= TriangleThreshold().compute(spaced.scores)
    by_name, kept = filter_distance_maps(maps, above, 7)
    assert set(by_name) == {"total", "normals", "inplane"} and kept.dtype == bool
    listed, kept_list = filter_distance_maps([maps.total, maps.normals, maps.inplane], above, 7)
    np.testing.assert_array_equal(kept, kept_list)
    np.testing.assert_array_equal(by_name["normals"], listed[1])
    stacked, kept_stacked = filter_distance_maps(np.stack([maps.total, maps.normals, maps.inplane]), above, 7)
    np.testing.assert_array_equal(kept, kept_stacked)
    one, kept_one = filter_distance_maps(maps.total, above, 7)  # a single 3D map
    np.testing.assert_array_equal(kept_one, filter_distance_maps({"total": maps.total}, above, 7)[1])
    assert exported_filter is filter_distance_maps
    with pytest.raises(InputError, match="shape"):
        filter_distance_maps([maps.total[:, :, :-1]], above, 7)
    with pytest.raises(InputError, match="non-finite"):
        bad = maps.total.copy()
        bad[np.argwhere(above)[0][0], np.argwhere(above)[0][1], np.argwhere(above)[0][2]] = np.nan
        filter_distance_maps([bad], above, 7)
    for count in (-1, 2.5):
        with pytest.raises(InputError, match="min_angles_voxel_count"):
            filter_distance_maps([maps.total], above, count)
    with pytest.raises(InputError, match="at least one"):
        filter_distance_maps([], above, 7)


def test_the_selector_filters_with_filter_distance_maps(spaced, monkeypatch):
    calls = []
    original = select_module.filter_distance_maps

    def spy(dist_maps, threshold_mask, min_angles_voxel_count):
        calls.append(len(dist_maps))
        return original(dist_maps, threshold_mask, min_angles_voxel_count)

    expected = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, angle_test="regions", template_radius=4)
    monkeypatch.setattr(select_module, "filter_distance_maps", spy)
    result = select_peaks(spaced.scores, spaced.angle_map, spaced.angles, angle_test="regions", template_radius=4)
    np.testing.assert_array_equal(result.particles.positions, expected.particles.positions)
    assert 3 in calls and 1 in calls  # all maps before the opening, one map at a time after it
    monkeypatch.setattr(select_module, "filter_distance_maps",
                        lambda maps, mask, count: (maps, np.zeros_like(np.asarray(mask), dtype=bool)))
    assert len(select_peaks(spaced.scores, spaced.angle_map, spaced.angles, angle_test="regions", template_radius=4).particles) == 0


@pytest.mark.parity
def test_filter_distance_maps_matches_cryocat_above_one_degree(spaced):
    tmana = cryocat_or_skip()
    maps = create_distance_maps(spaced.angle_map, spaced.angles)
    noisy = spaced.scores * 0.5  # lower peaks: noise clusters reach the threshold too
    above = noisy >= TriangleThreshold().compute(noisy)
    listed = [maps.total + 1.0, maps.normals + 1.0, maps.inplane + 1.0]  # every distance at least 1 degree
    for count in (3, 7, 20):
        ours, kept = filter_distance_maps(listed, above, count)
        stack = np.stack([m.astype(np.float64) for m in listed], axis=-1)
        theirs, their_mask = tmana.filter_dist_maps(stack, above.astype(np.float64), count)
        np.testing.assert_array_equal(kept, their_mask > 0)
        for j in range(3):
            np.testing.assert_allclose(ours[j], theirs[..., j], rtol=1e-6)
    # below 1 degree cryoCAT sees background and drops the voxels; cryotm keeps a large region
    total, inplane, mask = blocks_maps()
    stack = np.stack([total, inplane], axis=-1).astype(np.float64)
    _, their_mask = tmana.filter_dist_maps(stack, mask.astype(np.float64), 10)
    _, kept = filter_distance_maps([total, inplane], mask, 10)
    assert kept[4, 5, 7] and their_mask[4, 5, 7] == 0
