"""Parity with cryoCAT's tmana: thresholds (triangle, sigma, hard, gauss) and peak-shape labels.

cryoCAT reads maps transposed to [x, y, z]; cryotm keeps [z, y, x]. Every
comparison hands cryoCAT ``data.transpose(2, 1, 0)`` and compares positions
and sizes in (x, y, z). Where cryoCAT is wrong, a test names the difference.
"""

from __future__ import annotations

import numpy as np
import pytest

from cryotm import make_scene
from cryotm.errors import InputError
from cryotm.labeling import CentralLabeler, EllipsoidLabeler, PlaneLabeler
from cryotm.maps import ScoresMap, write_map
from cryotm.peakshape import evaluate_peak_shape, find_peak
from cryotm.thresholds import GaussThreshold, HardThreshold, SigmaThreshold, TriangleThreshold

from cryotm.testing import call_oracle, cryocat_or_skip

pytestmark = pytest.mark.parity

SHAPES = [(40, 40, 40), (41, 41, 41), (36, 44, 52), (50, 40, 30)]
CUBIC = [s for s in SHAPES if len(set(s)) == 1]


def gaussian_peak(shape, sigmas=(6.0, 4.0, 3.0), height=0.7, noise=0.01, seed=0, angle=0.0):
    """A peak at the map centre, sigmas (z, y, x), optionally turned by `angle` in the xy plane."""
    zz, yy, xx = np.indices(shape, dtype=float)
    c = [n // 2 for n in shape]
    dz, dy, dx = zz - c[0], yy - c[1], xx - c[2]
    dx, dy = np.cos(angle) * dx - np.sin(angle) * dy, np.sin(angle) * dx + np.cos(angle) * dy
    r2 = (dz / sigmas[0]) ** 2 + (dy / sigmas[1]) ** 2 + (dx / sigmas[2]) ** 2
    rng = np.random.default_rng(seed)
    return (height * np.exp(-0.5 * r2) + rng.normal(0, noise, shape)).astype(np.float32)


def xyz(data):
    """The array cryoCAT works on."""
    return data.transpose(2, 1, 0)


# --------------------------------------------------------------------------- thresholds


def _triangle_maps():
    rng = np.random.default_rng(7)
    for shape in SHAPES:
        yield f"noise{shape}", rng.normal(0.05, 0.03, size=shape).astype(np.float32)
    yield "scene", make_scene(shape=(48, 56, 64), n_peaks=12, seed=3, min_distance=14).scores
    yield "scene2", make_scene(shape=(30, 64, 40), n_peaks=6, seed=8, min_distance=10).scores
    yield "peak", gaussian_peak((36, 44, 52))
    yield "float64", rng.normal(0.0, 0.1, size=(20, 30, 40))


@pytest.mark.parametrize("name, data", list(_triangle_maps()), ids=[m[0] for m in _triangle_maps()])
def test_triangle_equals_cryocat(name, data):
    tmana = cryocat_or_skip()
    expected = float(tmana.compute_scores_map_threshold_triangle(xyz(data)))
    value = TriangleThreshold().compute(data)
    assert value == pytest.approx(expected, rel=1e-6)
    assert value == expected  # in fact the identical number


def test_triangle_with_mask_equals_cryocat_on_the_masked_map(scene):
    tmana = cryocat_or_skip()
    mask = np.zeros(scene.shape, bool)
    mask[6:40, 3:50, 10:60] = True
    expected = float(tmana.compute_scores_map_threshold_triangle(xyz(scene.scores * mask)))
    assert TriangleThreshold().compute(scene.scores, mask=mask) == expected


def test_triangle_saturated_map_difference():
    """cryoCAT flips a saturated map and then indexes the flipped array with an unflipped index."""
    tmana = cryocat_or_skip()
    data = np.array([0.1, 0.2, 1, 1, 1, 1, 1, -3, 0], dtype=np.float32).reshape(9, 1, 1)
    # cryoCAT returns the (n_max - 2)-th smallest value: an arbitrary number, here 0.2
    assert float(tmana.compute_scores_map_threshold_triangle(data)) == pytest.approx(0.2)
    with pytest.raises(InputError, match="saturated"):
        TriangleThreshold().compute(data)


@pytest.mark.parametrize("shape", SHAPES)
def test_sigma_equals_cryocat(shape, tmp_path):
    cryocat_or_skip()
    from cryocat import cryomap

    data = make_scene(shape=shape, n_peaks=4, seed=1, min_distance=10).scores
    write_map(tmp_path / "s.mrc", data)
    scores_map = cryomap.read(str(tmp_path / "s.mrc"))  # as scores_extract_particles reads it
    for k in (1.0, 2.5, 3.0):
        expected = scores_map.mean() + k * scores_map.std(ddof=1)  # cryoCAT's sigma_threshold lines
        value = SigmaThreshold(k).compute(ScoresMap.read(tmp_path / "s.mrc"))
        assert value == pytest.approx(float(expected), rel=1e-6)


def test_sigma_with_mask_difference(scene):
    """cryoCAT's extraction multiplies the scores by the mask and takes statistics over the whole map.

    The zeros outside the mask enter its mean and std; cryotm uses the voxels inside the mask only,
    which is cryoCAT's formula applied to the searched voxels.
    """
    cryocat_or_skip()
    mask = np.zeros(scene.shape, bool)
    mask[:, :, :20] = True
    masked = xyz(scene.scores * mask)
    cryocat_value = masked.mean() + 3 * masked.std(ddof=1)
    inside = xyz(scene.scores)[xyz(mask)]
    value = SigmaThreshold(3).compute(scene.scores, mask=mask)
    assert value == pytest.approx(float(inside.mean() + 3 * inside.std(ddof=1)), rel=1e-6)
    assert abs(value - float(cryocat_value)) > 0.01


@pytest.mark.parametrize("shape", SHAPES)
def test_hard_equals_cryocat(shape):
    tmana = cryocat_or_skip()
    data = gaussian_peak(shape)
    # evaluate_scores_map: th = ph / 2.0 with ph from create_starting_parameters_2D (non-cubic maps
    # make that function's np.stack fail, so its height is taken the way it computes it: np.amax)
    if len(set(shape)) == 1:
        ph = tmana.create_starting_parameters_2D(xyz(data))[1]
    else:
        ph = np.amax(xyz(data))
    assert HardThreshold().compute(data) == pytest.approx(float(ph / 2.0), rel=1e-6)


@pytest.mark.parametrize("shape", CUBIC)
@pytest.mark.parametrize("angle", [0.0, 0.5])
def test_gauss_equals_cryocat(shape, angle):
    tmana = cryocat_or_skip()
    # weak noise: the highest voxel stays at the centre, where cryoCAT's stretched axis is harmless
    # (see test_gauss_stretched_axis_difference)
    data = gaussian_peak(shape, angle=angle, noise=0.0005)
    assert GaussThreshold().evaluate(data).details["peak_zyx"] == tuple(n // 2 for n in shape)
    expected = float(tmana.compute_gaussian_threshold(xyz(data)))
    assert GaussThreshold().compute(data) == pytest.approx(expected, rel=1e-3)


def test_gauss_non_cubic_difference():
    """cryoCAT stacks the three profiles into one array, so it fails on non-cubic maps."""
    tmana = cryocat_or_skip()
    data = gaussian_peak((36, 44, 52), noise=0.003)
    with pytest.raises(ValueError):
        tmana.compute_gaussian_threshold(xyz(data))
    assert GaussThreshold().compute(data) == pytest.approx(0.7, rel=0.02)


def test_gauss_stretched_axis_difference():
    """cryoCAT fits on x = linspace(0, n, n) but bounds the centre at the peak index +- 1.

    The stretch moves the true centre (index c) to c * n / (n - 1); when noise moves the highest
    voxel one step off the centre, cryoCAT's bound excludes the true centre and its fit is dragged
    to the bound, overestimating the height. cryotm fits on voxel indices.
    """
    tmana = cryocat_or_skip()
    rng = np.random.default_rng(0)
    zz, yy, xx = np.indices((40, 40, 40), dtype=float)
    data = (
        0.7 * np.exp(-((zz - 21) ** 2 / 18 + (yy - 20) ** 2 / 8 + (xx - 19) ** 2 / 4.5))
        + rng.normal(0, 0.02, (40, 40, 40))
    ).astype(np.float32)
    expected = float(tmana.compute_gaussian_threshold(xyz(data)))
    value = GaussThreshold().compute(data)
    assert value == pytest.approx(0.7, rel=0.03)
    assert expected > 0.74  # cryoCAT's z fit hits its misplaced bound


# --------------------------------------------------------------------------- labels


def _thresholded(data, level):
    return np.where(data > level, data, 0).astype(data.dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("angle", [0.0, 0.6])
@pytest.mark.parametrize("level", [0.35, 0.2, 0.1])
def test_central_label_identical(shape, angle, level):
    tmana = cryocat_or_skip()
    data = gaussian_peak(shape, angle=angle)
    peak, _ = find_peak(data)
    mask_xyz, size_xyz = tmana.get_central_label(xyz(_thresholded(data, level)), peak[::-1])
    labeling = CentralLabeler().label(data > level, peak)
    np.testing.assert_array_equal(labeling.mask, xyz(mask_xyz) != 0)
    assert tuple(labeling.sizes) == tuple(float(s) for s in size_xyz)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("angle", [0.0, 0.3])
@pytest.mark.parametrize("level", [0.35, 0.15])
def test_ellipsoid_axis_lengths_within_half_a_voxel(shape, angle, level):
    tmana = cryocat_or_skip()
    data = gaussian_peak(shape, angle=angle)
    peak, _ = find_peak(data)
    fitted, radii_xyz, surface, component = call_oracle(
        tmana.get_ellipsoid_label, xyz(_thresholded(data, level)), peak[::-1]
    )
    labeling = EllipsoidLabeler().label(data > level, peak)
    np.testing.assert_allclose(tuple(labeling.sizes), radii_xyz, atol=0.5)
    np.testing.assert_array_equal(labeling.component, xyz(component) != 0)
    np.testing.assert_array_equal(labeling.surface, xyz(surface) != 0)
    # the same fitted ellipsoid: the filled labels agree but for voxels on its surface
    assert np.count_nonzero(labeling.mask != xyz(fitted)) <= 0.05 * np.count_nonzero(labeling.mask)


@pytest.mark.parametrize("shape", CUBIC)
@pytest.mark.parametrize("threshold", ["hard", "triangle"])
@pytest.mark.parametrize("labeler", ["central", "ellipsoid"])
def test_evaluate_scores_map_parity(shape, threshold, labeler):
    tmana = cryocat_or_skip()
    data = gaussian_peak(shape)
    cryocat_label = "x" if labeler == "central" else labeler  # cryoCAT: anything else is 'central'
    labeled, sizes, ph, th_map, surface = call_oracle(
        tmana.evaluate_scores_map, xyz(data), label_type=cryocat_label, threshold_type=threshold
    )
    result = evaluate_peak_shape(data, threshold=threshold, labeler=labeler)
    assert result.peak_height == pytest.approx(float(ph), rel=1e-6)
    tolerance = 0.5 if labeler == "ellipsoid" else 0
    np.testing.assert_allclose(tuple(result.sizes), np.asarray(sizes, dtype=float), atol=tolerance)
    if labeler == "central":
        np.testing.assert_array_equal(result.labeled_map, xyz(labeled))
        np.testing.assert_array_equal(result.thresholded_map, xyz(th_map))


@pytest.mark.parametrize("shape", CUBIC)
@pytest.mark.parametrize("level", [0.35, 0.15])
def test_plane_label_masks_identical_on_cubic_maps(shape, level):
    tmana = cryocat_or_skip()
    data = gaussian_peak(shape)
    peak, _ = find_peak(data)
    mask_xyz, _ = tmana.get_central_plane_labels(xyz(_thresholded(data, level)), peak[::-1])
    labeling = PlaneLabeler().label(data > level, peak)
    np.testing.assert_array_equal(labeling.mask, xyz(mask_xyz) != 0)


def test_plane_label_differences():
    """cryoCAT's plane labels need a cubic map, and give each ellipse's major axis by the sign of its orientation."""
    tmana = cryocat_or_skip()
    # non-cubic: cryoCAT cannot stack the planes
    data = gaussian_peak((36, 44, 52))
    peak, _ = find_peak(data)
    with pytest.raises(ValueError):
        tmana.get_central_plane_labels(xyz(_thresholded(data, 0.35)), peak[::-1])
    sizes = PlaneLabeler().label(data > 0.35, peak).sizes
    central = CentralLabeler().label(data > 0.35, peak).sizes
    np.testing.assert_allclose(tuple(sizes), tuple(central), atol=1.0)

    # cubic, peak longest along z, then y, then x: cryoCAT swaps axes, cryotm does not
    data = gaussian_peak((40, 40, 40))
    peak, _ = find_peak(data)
    _, cryocat_sizes = tmana.get_central_plane_labels(xyz(_thresholded(data, 0.35)), peak[::-1])
    sizes = PlaneLabeler().label(data > 0.35, peak).sizes
    assert sizes.z > sizes.y > sizes.x
    assert not (cryocat_sizes[2] > cryocat_sizes[1] > cryocat_sizes[0])
