"""PeakPicker: planted scenes, suppression, candidates, options and bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cryotm import AngleList, InputError, ParticleList, ScoresMap, make_scene, write_map
from cryotm.errors import CryotmError
from cryotm.formats import read_particles
from cryotm.evaluation import match_particles
from cryotm.picking import PeakPicker, extract_particles, find_candidates, greedy_suppression
from cryotm.maps._access import values_at
from cryotm.thresholds._moments import WHOLE_ARRAY_PAIRWISE, StreamingMoments, mean_std, pairwise_sum
from cryotm.picking.candidates import CandidateCollector, cryocat_order
from cryotm.picking.clusters import region_sizes
from cryotm.picking.suppression import greedy_suppression_reference
from cryotm.angles import parse_symmetry
from cryotm.picking.symmetry import randomise_in_plane


def pick_quality(particles: ParticleList, truth: ParticleList, tolerance: float = 2.0) -> dict:
    """Recall, precision and the worst angular error of picks against the planted truth."""
    match = match_particles(particles, truth, tolerance)
    worst = float(np.max(match.angular_errors)) if len(match.angular_errors) else 0.0
    return {
        "picks": len(particles),
        "recall": match.recall,
        "precision": match.precision,
        "false_picks": match.n_picks - match.true_positives,
        "worst_angle": worst,
    }


SCENES = [
    dict(shape=(56, 64, 72), n_peaks=8, n_angles=200, seed=3, min_distance=20),
    dict(shape=(64, 64, 64), n_peaks=16, n_angles=200, seed=0, min_distance=20),
    dict(shape=(96, 80, 72), n_peaks=30, n_angles=300, seed=2, min_distance=20),
    dict(shape=(128, 128, 128), n_peaks=80, n_angles=500, seed=5, min_distance=20),
]


@pytest.fixture(scope="module")
def scenes():
    return [make_scene(**spec) for spec in SCENES]


# -- the planted truth -----------------------------------------------------------------
def test_far_finds_every_planted_peak_with_few_noise_picks(scenes):
    # figures on these four scenes (diameter 10, threshold 'far'): recall 1.0,
    # precision 1.0 (no noise pick), every orientation exact
    for scene in scenes:
        particles = PeakPicker(particle_diameter=10, threshold="far").pick(scene.scores, scene.angle_map, scene.angles)
        quality = pick_quality(particles, scene.truth)
        assert quality["recall"] == 1.0, quality
        assert quality["false_picks"] <= max(1, len(scene.truth) // 20), quality
        assert quality["worst_angle"] < 1e-6, quality


def test_lower_thresholds_keep_recall_and_add_noise_picks(scenes):
    scene = scenes[1]
    far = pick_quality(PeakPicker(10, threshold="far").pick(scene.scores, scene.angle_map, scene.angles), scene.truth)
    sigma = pick_quality(
        PeakPicker(10, threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles), scene.truth
    )
    assert far["recall"] == sigma["recall"] == 1.0
    assert sigma["false_picks"] > far["false_picks"]


def test_particle_list_fields(scene):
    particles = PeakPicker(10, threshold="sigma:4", object_id=7).pick(
        scene.scores, scene.angle_map, scene.angles, tomo_id=3, pixel_size=4.5
    )
    data = particles.data
    assert len(particles) > 0
    assert data["subtomo_id"].tolist() == list(range(1, len(particles) + 1))
    assert set(data["tomo_id"]) == {3} and set(data["object_id"]) == {7} and set(data["class"]) == {1}
    assert np.all(np.diff(data["score"].to_numpy()) <= 0)  # highest first
    x, y, z = (data[c].to_numpy().astype(int) for c in ("x", "y", "z"))
    assert np.array_equal(data["score"].to_numpy(), scene.scores[z, y, x].astype(float))
    rows = scene.angle_map[z, y, x].astype(int)
    assert np.array_equal(particles.euler_angles, scene.angles.angles[rows])
    assert particles.pixel_size == 4.5
    assert particles.tomogram_shape == scene.shape


def test_sigma_threshold_is_numpys_float32_expression(scene):
    result = PeakPicker(10, sigma_threshold=3).run(scene.scores, scene.angle_map, scene.angles)
    expected = scene.scores.mean() + 3 * scene.scores.std(ddof=1)
    assert result.threshold.value == float(expected)
    assert result.n_candidates == int((scene.scores > expected).sum())


# -- suppression ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_suppression_equals_the_sequential_walk(seed):
    rng = np.random.default_rng(seed)
    for _ in range(30):
        extent = rng.integers(1, 50, 3)
        points = np.unique(rng.integers(0, extent, (int(rng.integers(0, 400)), 3)), axis=0)
        points = points[rng.permutation(len(points))]
        radius = float(rng.choice([0, 0.5, 1, 1.5, 2, 3, 4.5, 5, 7.3, 12, 60, np.inf]))
        assert np.array_equal(greedy_suppression(points, radius), greedy_suppression_reference(points, radius))


def test_suppression_radius_is_inclusive():
    points = np.array([[0, 0, 0], [3, 4, 0], [0, 0, 6]])  # distances 5 and 6 from the first
    assert greedy_suppression(points, 5.0).tolist() == [0, 2]
    assert greedy_suppression(points, 4.999).tolist() == [0, 1, 2]


def test_radius_option(scene):
    base = PeakPicker(12, threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles)
    same = PeakPicker(99, threshold="sigma:3", radius=12).pick(scene.scores, scene.angle_map, scene.angles)
    small = PeakPicker(12, threshold="sigma:3", radius=6).pick(scene.scores, scene.angle_map, scene.angles)
    assert np.array_equal(base.positions, same.positions)
    assert len(small) > len(base)


def test_cryocat_order_is_by_decreasing_score_with_ties_kept_together():
    data = np.zeros((6, 7, 8), np.float32)
    rng = np.random.default_rng(1)
    hits = rng.random(data.shape) < 0.3
    data[hits] = rng.choice(np.array([0.5, 0.7, 0.9], np.float32), size=int(hits.sum()))
    candidates = find_candidates(data, 0.1)
    order = cryocat_order(candidates)
    assert sorted(order.tolist()) == list(range(len(candidates)))
    assert np.all(np.diff(candidates.scores[order]) <= 0)


# -- candidates and statistics -----------------------------------------------------------
def test_find_candidates_matches_numpy_with_margin_and_slabs(scene):
    threshold = 0.08
    for margin in (0, 3, (2, 0, 5)):
        c = find_candidates(scene.scores, threshold, edge_margin=margin, slab_voxels=1000)
        m = np.broadcast_to(np.asarray(margin), (3,))[::-1]  # given (x, y, z); array axes are (z, y, x)
        inner = np.zeros(scene.shape, bool)
        inner[m[0] : scene.shape[0] - m[0], m[1] : scene.shape[1] - m[1], m[2] : scene.shape[2] - m[2]] = True
        z, y, x = np.nonzero((scene.scores > threshold) & inner)
        assert np.array_equal(c.z, z) and np.array_equal(c.y, y) and np.array_equal(c.x, x)
        assert np.array_equal(c.scores, scene.scores[z, y, x])


def test_collector_gives_the_same_candidates_or_refuses(scene):
    threshold = np.float32(0.09)
    collector = CandidateCollector(0.05, scene.shape, edge_margin=2)
    flat = scene.scores.reshape(-1)
    for start in range(0, flat.size, 5000):
        collector(flat[start : start + 5000], start)
    got = collector.candidates(threshold)
    want = find_candidates(scene.scores, threshold, edge_margin=2)
    assert np.array_equal(got.linear_index, want.linear_index) and np.array_equal(got.scores, want.scores)
    assert not collector.covers(0.01)
    with pytest.raises(ValueError):
        collector.candidates(0.01)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("leaf", [128, 1000, 1 << 16])
def test_streaming_moments_are_bit_identical_to_numpy(dtype, leaf):
    rng = np.random.default_rng(7)
    data = (rng.normal(size=(33, 65, 47)) * 0.05 + 0.02).astype(dtype)
    mask = (rng.random(data.shape) > 0.4).astype(np.float32)
    assert mean_std(data, leaf=leaf) == (data.mean(), data.std(ddof=1))
    assert mean_std(data.transpose(2, 1, 0), leaf=leaf) == (data.mean(), data.std(ddof=1))
    product = data * mask
    assert mean_std(data, factor=mask, leaf=leaf) == (product.mean(), product.std(ddof=1))
    x = data.reshape(-1)
    if WHOLE_ARRAY_PAIRWISE:  # numpy >= 2.3 sums the whole array in one pairwise tree
        assert pairwise_sum(x.size, lambda a, b: np.add.reduce(x[a:b]), leaf) == x.sum()
    else:  # older numpy falls back to its own functions (checked above)
        assert not StreamingMoments(data, leaf=leaf).streaming


def test_streaming_moments_visit_every_piece_once():
    data = np.arange(5000, dtype=np.float32).reshape(5, 10, 100)
    moments = StreamingMoments(data, leaf=256)
    seen = []
    moments.first_pass(visit=lambda values, start, total: seen.append((start, values.size)))
    assert sum(size for _, size in seen) == data.size and [s for s, _ in seen] == sorted(s for s, _ in seen)


def test_values_at_reads_a_memory_mapped_file_like_indexing(tmp_path, scene):
    path = tmp_path / "angles.mrc"
    write_map(path, scene.angle_map)
    mapped = ScoresMap.read(path, mmap=True).data
    rng = np.random.default_rng(0)
    z, y, x = (rng.integers(0, n, 200) for n in scene.shape)
    assert isinstance(mapped, np.memmap)
    assert np.array_equal(values_at(mapped, z, y, x), scene.angle_map[z, y, x])
    inner = z < 40  # a view that starts 3 planes in
    view = values_at(mapped[3:], z[inner], y[inner], x[inner])
    assert np.array_equal(view, scene.angle_map[3:][z[inner], y[inner], x[inner]])


# -- cluster size ---------------------------------------------------------------------------
def _spike_and_blob() -> tuple[np.ndarray, np.ndarray, AngleList]:
    scores = np.zeros((30, 30, 30), np.float32)
    scores[10:13, 10:13, 10:13] = 0.5  # a 27-voxel blob ...
    scores[11, 11, 11] = 0.6  # ... peaking in its centre
    scores[11, 11, 17] = 0.9  # an isolated one-voxel spike 6 voxels away, higher
    angle_map = np.zeros_like(scores)
    return scores, angle_map, AngleList(np.zeros((1, 3)))


def test_region_sizes():
    scores, _, _ = _spike_and_blob()
    candidates = find_candidates(scores, 0.1)
    sizes = region_sizes(candidates)
    spike = (candidates.x == 17)
    assert sizes[spike].tolist() == [1] and set(sizes[~spike]) == {27}


def test_cluster_size_drops_small_regions_before_suppression():
    scores, angle_map, angles = _spike_and_blob()
    plain = PeakPicker(10, threshold=0.1).pick(scores, angle_map, angles)
    assert plain.positions.tolist() == [[17, 11, 11]]  # the spike suppresses the blob
    filtered = PeakPicker(10, threshold=0.1, cluster_size=2).pick(scores, angle_map, angles)
    assert filtered.positions.tolist() == [[11, 11, 11]]  # without the spike, the blob's peak
    assert len(PeakPicker(10, threshold=0.1, cluster_size=28).pick(scores, angle_map, angles)) == 0
    assert np.array_equal(PeakPicker(10, threshold=0.1, cluster_size=1).pick(scores, angle_map, angles).positions,
                          plain.positions)


# -- symmetry, edges, caps, masks ------------------------------------------------------------
def test_symmetry_is_reproducible_and_in_range(scene):
    picker = PeakPicker(10, threshold="sigma:3", symmetry="C4", seed=11)
    a = picker.pick(scene.scores, scene.angle_map, scene.angles)
    b = picker.pick(scene.scores, scene.angle_map, scene.angles)
    c = PeakPicker(10, threshold="sigma:3", symmetry="c4", seed=12).pick(scene.scores, scene.angle_map, scene.angles)
    plain = PeakPicker(10, threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles)
    assert np.array_equal(a.euler_angles, b.euler_angles)
    assert not np.array_equal(a.euler_angles, c.euler_angles)
    turn = np.mod(a.euler_angles[:, 0] - plain.euler_angles[:, 0], 90.0)
    assert np.allclose(np.minimum(turn, 90 - turn), 0, atol=1e-9)
    assert np.array_equal(a.euler_angles[:, 1:], plain.euler_angles[:, 1:])
    low = -180.0 if scene.angles.angles[:, 0].min() < 0 else 0.0
    assert np.all((a.euler_angles[:, 0] >= low) & (a.euler_angles[:, 0] < low + 360))
    # the particles are the same rotations up to the C4 symmetry
    angle = np.degrees((a.orientations.inv() * plain.orientations).magnitude())
    assert np.all(np.isclose(np.mod(angle + 1e-9, 90.0), 0, atol=1e-6) | np.isclose(angle, 180, atol=1e-6))


def test_randomise_in_plane_range_and_parse():
    rng = np.random.default_rng(0)
    out = randomise_in_plane(np.array([-179.0, 0.0, 179.0]), 6, rng, start=-180.0)
    assert np.all((out >= -180) & (out < 180))
    assert parse_symmetry("c1") == 1 and parse_symmetry(3) == 3
    with pytest.raises(CryotmError):
        parse_symmetry("d2")
    with pytest.raises(CryotmError):
        PeakPicker(10, symmetry="O")


def test_edge_margin_drops_border_peaks(scene):
    margin = 8
    picked = PeakPicker(10, threshold="sigma:3", edge_margin=margin).pick(scene.scores, scene.angle_map, scene.angles)
    plain = PeakPicker(10, threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles)
    zyx = picked.positions[:, ::-1]
    assert len(picked) > 0
    assert np.all(zyx >= margin) and np.all(zyx < np.array(scene.shape) - margin)
    inner = plain.positions[:, ::-1]
    inside = np.all((inner >= margin + 10) & (inner < np.array(scene.shape) - margin - 10), axis=1)
    # peaks well inside are unaffected by the margin
    assert {tuple(p) for p in plain.positions[inside]} <= {tuple(p) for p in picked.positions}


def test_per_axis_edge_margin_is_x_y_z_like_select_peaks_edge_masking(scene):
    margin = (14, 0, 0)  # x only
    picked = PeakPicker(10, threshold="sigma:3", edge_margin=margin).pick(scene.scores, scene.angle_map, scene.angles)
    plain = PeakPicker(10, threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles)
    nx = scene.shape[2]
    x = picked.positions[:, 0]
    assert len(picked) > 0 and np.all((x >= 14) & (x < nx - 14))
    # peaks near a z face (and a diameter away from the x margins) are kept
    near_z_face = plain.positions[:, 2] < 14
    keep_x = (plain.positions[:, 0] >= 24) & (plain.positions[:, 0] < nx - 24)
    assert np.any(near_z_face & keep_x)
    assert {tuple(p) for p in plain.positions[near_z_face & keep_x]} <= {tuple(p) for p in picked.positions}
    # the same three numbers exclude the same voxels in find_candidates and in select_peaks' edge_masking
    from cryotm.picking.select.inputs import apply_edge_mask as _apply_edge_mask
    from cryotm.picking.select.inputs import edge_mask_margins

    for given in ((3, 8, 5), (0, 2, 7), 4):
        found = find_candidates(scene.scores, -np.inf, edge_margin=given)
        kept = np.zeros(scene.shape, bool)
        kept[found.z, found.y, found.x] = True
        inner = np.ones(scene.shape, bool)
        _apply_edge_mask(inner, edge_mask_margins(given, scene.shape))
        np.testing.assert_array_equal(kept, inner)


def test_n_particles_keeps_the_highest(scene):
    plain = PeakPicker(10, threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles)
    capped = PeakPicker(10, threshold="sigma:3", n_particles=5).pick(scene.scores, scene.angle_map, scene.angles)
    assert len(capped) == 5
    assert np.array_equal(capped.positions, plain.positions[:5])
    none = PeakPicker(10, threshold="sigma:3", n_particles=0).pick(scene.scores, scene.angle_map, scene.angles)
    assert len(none) == 0


def test_mask_modes(scene):
    mask = np.zeros(scene.shape, np.float32)
    mask[:, :, : scene.shape[2] // 2] = 1
    product = PeakPicker(10, threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles, tomo_mask=mask)
    inside = PeakPicker(10, threshold="sigma:3", mask_mode="inside").pick(
        scene.scores, scene.angle_map, scene.angles, tomo_mask=mask
    )
    for particles in (product, inside):
        assert len(particles) > 0 and np.all(particles.positions[:, 0] < scene.shape[2] // 2)
    # the product's threshold counts the zeros outside the mask: it is lower than inside's
    result_p = PeakPicker(10, threshold="sigma:3").run(scene.scores, scene.angle_map, scene.angles, tomo_mask=mask)
    result_i = PeakPicker(10, threshold="sigma:3", mask_mode="inside").run(
        scene.scores, scene.angle_map, scene.angles, tomo_mask=mask
    )
    assert result_p.threshold.value < result_i.threshold.value


def test_progress_reports_each_stage(scene):
    seen = []
    PeakPicker(10, threshold="sigma:3").pick(scene.scores, scene.angle_map, scene.angles,
                                            progress=lambda stage, f: seen.append((stage, f)))
    stages = [s for s, _ in seen]
    assert {"threshold", "suppression", "particles"} <= set(stages)
    assert all(0.0 <= f <= 1.0 for _, f in seen)


def test_per_call_threshold_and_extract_particles_default(scene):
    picker = PeakPicker(10)
    manual = picker.pick(scene.scores, scene.angle_map, scene.angles, threshold=0.2)
    assert len(manual) > 0 and manual.scores.min() > 0.2
    triangle = PeakPicker(10, threshold="triangle").pick(scene.scores, scene.angle_map, scene.angles)
    mirrored = extract_particles(scene.scores, scene.angle_map, scene.angles.angles, 1, 10, output_type=None)
    assert np.array_equal(triangle.positions, mirrored.positions)


# -- empty results and outputs ---------------------------------------------------------------
@pytest.mark.parametrize("fmt,name", [("emmotl", "p.em"), ("relion5", "p.star"), ("stopgap", "p.star")])
def test_empty_result_is_a_valid_list_and_file(tmp_path, scene, fmt, name):
    from cryotm.formats import read_particles

    out = tmp_path / name
    particles = PeakPicker(10, threshold="manual:10").pick(
        scene.scores, scene.angle_map, scene.angles, pixel_size=5.0, output=out, format=fmt
    )
    assert isinstance(particles, ParticleList) and len(particles) == 0
    assert list(particles.data.columns[:14]) == list(ParticleList.empty().data.columns[:14])
    assert out.is_file()
    options = {"tomogram_shape": scene.shape} if fmt == "relion5" else {}
    assert len(read_particles(out, format=fmt, **options)) == 0


def test_extract_particles_writes_through_a_format(tmp_path, scene):
    from cryotm.formats import read_particles

    out = tmp_path / "picked.em"
    particles = extract_particles(scene.scores, scene.angle_map, scene.angles.angles, 2, 10, sigma_threshold=4,
                                  output_path=out)
    back = read_particles(out)
    assert len(back) == len(particles) > 0
    assert np.allclose(back.positions, particles.positions)


# -- bad input --------------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path, scene):
    paths = scene.write(tmp_path / "scene")
    return paths


def _no_output_left(folder) -> bool:
    return not any(p.name.startswith(("out", ".out")) for p in folder.iterdir())


def test_shape_mismatch_names_the_file(tmp_path, files, scene):
    other = tmp_path / "small_angles.mrc"
    write_map(other, scene.angle_map[:-1])
    with pytest.raises(InputError, match="small_angles.mrc"):
        PeakPicker(10).pick(files["scores"], other, files["angle_list"], output=tmp_path / "out.em")
    assert _no_output_left(tmp_path)


def test_mask_of_another_shape(tmp_path, files, scene):
    mask = tmp_path / "mask.mrc"
    write_map(mask, np.ones(scene.shape[::-1], np.int8))
    with pytest.raises(InputError, match="mask.mrc"):
        PeakPicker(10).pick(files["scores"], files["angles"], files["angle_list"], tomo_mask=mask,
                            output=tmp_path / "out.em")
    assert _no_output_left(tmp_path)


def test_angle_index_outside_the_list(tmp_path, files, scene):
    short = AngleList(scene.angles.angles[:5])
    with pytest.raises(InputError, match="outside the angle list"):
        PeakPicker(10, threshold="sigma:3").pick(files["scores"], files["angles"], short, output=tmp_path / "out.em")
    zero_based = np.zeros_like(scene.angle_map)  # every voxel points at the first row, 0-based
    with pytest.raises(InputError, match="holds index 0, which a 1-based angle list"):
        PeakPicker(10, threshold="sigma:3", index_base=1).pick(scene.scores, zero_based, files["angle_list"])
    assert _no_output_left(tmp_path)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # mrcfile warns when writing the NaN map
@pytest.mark.parametrize("threshold", ["sigma:3", "manual:0.1", "far", "triangle"])
def test_nan_in_the_scores_map(tmp_path, scene, threshold):
    scores = scene.scores.copy()
    scores[5, 6, 7] = np.nan
    path = tmp_path / "nan_scores.mrc"
    write_map(path, scores)
    angles = tmp_path / "angles.mrc"
    write_map(angles, scene.angle_map)
    with pytest.raises(InputError, match=r"nan_scores.mrc.*z=5, y=6, x=7"):
        PeakPicker(10, threshold=threshold).pick(path, angles, scene.angles, output=tmp_path / "out.em")
    with pytest.raises(InputError):
        PeakPicker(10, threshold=threshold).pick(scores, scene.angle_map, scene.angles)
    assert _no_output_left(tmp_path)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_inside_the_edge_margin_is_still_an_error(tmp_path, scene):
    scores = scene.scores.copy()
    scores[0, 0, 0] = np.inf
    path = tmp_path / "inf_scores.mrc"
    write_map(path, scores)
    with pytest.raises(InputError, match="inf_scores.mrc"):
        PeakPicker(10, threshold="manual:0.2", edge_margin=3).pick(path, scene.angle_map, scene.angles)


def test_bad_parameters():
    bad = [dict(particle_diameter=0), dict(particle_diameter=float("nan"))] + [
        dict(particle_diameter=5, **option)
        for option in (dict(radius=-1), dict(n_particles=-1), dict(cluster_size=0), dict(edge_margin=-2),
                       dict(angles_order="xyz"), dict(index_base=2), dict(mask_mode="outside"),
                       dict(sigma_threshold=float("inf")))
    ]
    for kwargs in bad:
        with pytest.raises(CryotmError):
            PeakPicker(**kwargs)
    with pytest.raises(CryotmError):
        PeakPicker(5, threshold="no-such-rule").pick(np.zeros((4, 4, 4)), np.zeros((4, 4, 4)), np.zeros((1, 3)))


def test_edge_margin_of_the_wrong_shape_is_refused_at_construction():
    # three values, but not one number or three: it used to pass and fail in numpy during the pick
    with pytest.raises(CryotmError, match="edge_margin"):
        PeakPicker(5, edge_margin=[[1, 2, 3]])


def test_existing_output_is_refused_before_the_work(tmp_path, scene):
    out = tmp_path / "out.em"
    out.write_bytes(b"keep me")
    with pytest.raises(InputError, match="exists"):
        PeakPicker(10).pick(scene.scores, scene.angle_map, scene.angles, output=out)
    assert out.read_bytes() == b"keep me"


# -- command line ------------------------------------------------------------------------------
def test_cli_extract(tmp_path, files, capsys):
    from cryotm.cli import main

    out = tmp_path / "out.star"
    status = main([
        "extract", os.fspath(files["scores"]), os.fspath(files["angles"]), os.fspath(files["angle_list"]),
        "--diameter", "10", "-o", os.fspath(out), "-f", "relion5", "--threshold", "sigma:3", "--seed", "1",
        "--symmetry", "c2", "--edge-margin", "2", "--n-particles", "4",
    ])
    printed = capsys.readouterr().out
    assert status == 0 and out.is_file()
    assert "threshold sigma" in printed and "4 particles" in printed
    # --edge-margin X,Y,Z (x, y, z order, as in select)
    edged = tmp_path / "edged.em"
    assert main(["extract", os.fspath(files["scores"]), os.fspath(files["angles"]), os.fspath(files["angle_list"]),
                 "--diameter", "10", "-o", os.fspath(edged), "--threshold", "sigma:3", "--edge-margin", "20,0,0"]) == 0
    expected = PeakPicker(10, threshold="sigma:3", edge_margin=(20, 0, 0)).pick(
        files["scores"], files["angles"], files["angle_list"], tomo_id=1)
    back = read_particles(edged)
    np.testing.assert_allclose(back.positions, expected.positions)
    assert len(back) > 0 and np.all((back.positions[:, 0] >= 20) & (back.positions[:, 0] < 64 - 20))
    capsys.readouterr()
    for bad in ("1,2", "-1", "a"):
        with pytest.raises(SystemExit):
            main(["extract", os.fspath(files["scores"]), os.fspath(files["angles"]), os.fspath(files["angle_list"]),
                  "--diameter", "10", "-o", os.fspath(tmp_path / "x.em"), "--edge-margin", bad])
    assert main(["extract", os.fspath(files["scores"]), os.fspath(files["angles"]), os.fspath(files["angle_list"]),
                 "--diameter", "10", "-o", os.fspath(out), "-f", "relion5"]) == 1
    assert "exists" in capsys.readouterr().err


def test_cli_bad_input_writes_nothing(tmp_path, files, scene, capsys):
    from cryotm.cli import main

    other = tmp_path / "bad.mrc"
    write_map(other, scene.angle_map[1:])
    out = tmp_path / "out.em"
    status = main(["extract", os.fspath(files["scores"]), os.fspath(other), os.fspath(files["angle_list"]),
                   "-d", "10", "-o", os.fspath(out)])
    err = capsys.readouterr().err
    assert status == 1 and "bad.mrc" in err and "Traceback" not in err
    assert _no_output_left(tmp_path)
