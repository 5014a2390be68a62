"""Peak-shape evaluation: profiles, slices, labelers (central, plane, ellipsoid), evaluate, the peak-shape command."""

from __future__ import annotations

import numpy as np
import pytest

import cryotm
from cryotm.cli import main
from cryotm.errors import CryotmError, InputError
from cryotm.labeling import (
    AxisSizes,
    CentralLabeler,
    EllipsoidLabeler,
    Labeler,
    Labeling,
    PlaneLabeler,
    central_component,
    fit_ellipsoid,
    get_labeler,
    labelers,
)
from cryotm.maps import ScoresMap, write_map
from cryotm.plugins import hookimpl
from cryotm.peakshape import central_slices, evaluate_peak_shape, find_peak, peak_profiles


def gaussian_peak(shape, sigmas=(6.0, 4.0, 3.0), centre=None, height=0.7, noise=0.01, seed=0):
    """A single anisotropic Gaussian peak on weak noise; `sigmas` and `centre` are (z, y, x)."""
    zz, yy, xx = np.indices(shape, dtype=float)
    c = [n // 2 for n in shape] if centre is None else centre
    r2 = sum(((g - ci) / s) ** 2 for g, ci, s in zip((zz, yy, xx), c, sigmas))
    rng = np.random.default_rng(seed)
    return (height * np.exp(-0.5 * r2) + rng.normal(0, noise, shape)).astype(np.float32)


def solid_ellipsoid(shape, radii_zyx, centre_zyx):
    zz, yy, xx = np.indices(shape, dtype=float)
    return sum(((g - c) / r) ** 2 for g, c, r in zip((zz, yy, xx), centre_zyx, radii_zyx)) <= 1.0


# --------------------------------------------------------------------------- profiles and slices


def test_profiles_and_slices_keep_the_axis_order_on_a_non_cubic_map():
    data = gaussian_peak((30, 40, 50), sigmas=(2, 3, 4), centre=(14, 21, 26), noise=0)
    peak, height = find_peak(data)
    assert peak == (14, 21, 26)
    assert height == pytest.approx(0.7)
    profiles = peak_profiles(data)
    assert (profiles.x.size, profiles.y.size, profiles.z.size) == (50, 40, 30)
    assert int(np.argmax(profiles.x)) == 26 and int(np.argmax(profiles.z)) == 14
    np.testing.assert_array_equal(profiles.y, data[14, :, 26])
    slices = central_slices(data)
    assert slices.xy.shape == (40, 50) and slices.yz.shape == (30, 40) and slices.xz.shape == (30, 50)
    np.testing.assert_array_equal(slices.yz, data[:, :, 26])
    given = central_slices(data, peak_zyx=(14, 20, 26))
    assert given.peak_height == float(data[14, 20, 26])


def test_find_peak_searches_the_central_sphere_only():
    data = np.zeros((41, 41, 41), np.float32)
    data[20, 21, 22] = 0.5  # near the centre
    data[2, 2, 2] = 0.9  # higher, but outside the sphere
    peak, height = find_peak(data, peak_tolerance=10)
    assert peak == (20, 21, 22)
    assert height == pytest.approx(0.9)  # the height is the map's maximum, as in cryoCAT


def test_find_peak_ties_go_to_the_smallest_x_then_y_then_z():
    data = np.zeros((21, 21, 21), np.float32)
    data[12, 9, 11] = data[9, 12, 10] = data[8, 8, 10] = 1.0
    assert find_peak(data)[0] == (8, 8, 10)


@pytest.mark.parametrize(
    "data, match",
    [
        (np.zeros((16, 16, 16), np.float32), "no positive score"),
        (np.full((16, 16, 16), np.nan, np.float32), "non-finite"),
    ],
    ids=["all zero", "nan"],
)
def test_find_peak_bad_maps(data, match):
    with pytest.raises(InputError, match=match):
        find_peak(data)


def test_peak_on_the_border_is_an_error_unless_allowed():
    data = gaussian_peak((20, 20, 20), sigmas=(2, 2, 2), centre=(10, 10, 0), noise=0)
    with pytest.raises(InputError, match="border"):
        find_peak(data)
    assert find_peak(data, allow_border=True)[0] == (10, 10, 0)


# --------------------------------------------------------------------------- labelers


def test_labelers_registered_and_chosen_by_name():
    assert {"central", "plane", "ellipsoid"} <= set(labelers())
    assert isinstance(get_labeler("ellipsoid"), EllipsoidLabeler)
    with pytest.raises(CryotmError, match="unknown labeler"):
        get_labeler("sphere")


@pytest.mark.parametrize("shape", [(31, 33, 35), (25, 41, 57), (45, 31, 21)])
def test_labelers_measure_a_known_ellipsoid_in_x_y_z_order(shape):
    centre = tuple(n // 2 for n in shape)
    radii_zyx = (5.0, 7.0, 9.5)
    above = solid_ellipsoid(shape, radii_zyx, centre)
    truth = {"x": 2 * radii_zyx[2], "y": 2 * radii_zyx[1], "z": 2 * radii_zyx[0]}

    central = CentralLabeler().label(above, centre)
    np.testing.assert_array_equal(central.mask, above)
    assert central.sizes == (19.0, 15.0, 11.0)  # voxel counts on the lines through the centre

    ellipsoid = EllipsoidLabeler().label(above, centre)
    for axis, length in truth.items():
        assert getattr(ellipsoid.sizes, axis) == pytest.approx(length, abs=0.75)
    assert ellipsoid.surface is not None and ellipsoid.surface.any()
    assert abs(int(ellipsoid.mask.sum()) - int(above.sum())) < 0.1 * above.sum()
    assert np.allclose(ellipsoid.details["center"], centre[::-1], atol=0.05)

    plane = PlaneLabeler().label(above, centre)
    for axis, length in truth.items():
        assert getattr(plane.sizes, axis) == pytest.approx(length, abs=0.75)
    assert plane.mask[centre[0]].any() and plane.mask[:, :, centre[2]].any()
    assert not plane.mask[centre[0] + 1, centre[1] + 1, centre[2] + 1]  # three planes only


def test_plane_labeler_is_the_same_in_a_cubic_and_a_non_cubic_box():
    """cryoCAT's plane labels assume a cubic map; here the box shape does not matter."""
    radii = (4.0, 6.0, 8.0)
    cubic = solid_ellipsoid((41, 41, 41), radii, (20, 20, 20))
    flat = cubic[8:33, 5:36, :]  # (25, 31, 41), the same ellipsoid
    in_cube = PlaneLabeler().label(cubic, (20, 20, 20))
    in_box = PlaneLabeler().label(flat, (12, 15, 20))
    assert in_box.sizes == pytest.approx(in_cube.sizes)
    np.testing.assert_array_equal(in_box.mask, in_cube.mask[8:33, 5:36, :])


def test_plane_labeler_gives_the_major_axis_to_the_nearer_axis():
    """cryoCAT assigns by the sign of the orientation; a peak elongated along x must report x longest."""
    above = solid_ellipsoid((31, 31, 31), (3.0, 4.0, 10.0), (15, 15, 15))
    above[15, 15 + 1, 15 + 6] = True  # a nub that tilts the xy ellipse a hair
    sizes = PlaneLabeler().label(above, (15, 15, 15)).sizes
    assert sizes.x > sizes.y > sizes.z
    for plane in PlaneLabeler().label(above, (15, 15, 15)).details["planes"].values():
        assert plane["major"] >= plane["minor"]


def test_ellipsoid_axis_assignment_is_one_to_one_for_an_oblique_ellipsoid():
    shape = (41, 41, 41)
    zz, yy, xx = np.indices(shape, dtype=float) - 20
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    u, v = c * xx + s * yy, -s * xx + c * yy  # 45 degrees in the xy plane
    above = (u / 10) ** 2 + (v / 4) ** 2 + (zz / 6) ** 2 <= 1
    labeling = EllipsoidLabeler().label(above, (20, 20, 20))
    assert sorted(labeling.sizes) == pytest.approx([8, 12, 20], abs=0.75)
    assert labeling.sizes.z == pytest.approx(12, abs=0.75)


def test_labelers_reject_a_peak_below_the_threshold():
    above = np.zeros((9, 9, 9), bool)
    above[2, 2, 2] = True
    for labeler in (CentralLabeler(), PlaneLabeler(), EllipsoidLabeler()):
        with pytest.raises(InputError, match="not above the threshold"):
            labeler.label(above, (4, 4, 4))


def test_ellipsoid_fit_rejects_degenerate_input():
    with pytest.raises(InputError):
        fit_ellipsoid(np.zeros((5, 3)))
    flat = np.c_[np.random.default_rng(0).normal(size=(50, 2)), np.zeros(50)]
    with pytest.raises(InputError):
        fit_ellipsoid(flat)
    one_voxel = np.zeros((9, 9, 9), bool)
    one_voxel[4, 4, 4] = True
    with pytest.raises(InputError, match="single voxel"):
        EllipsoidLabeler().label(one_voxel, (4, 4, 4))


def test_component_touching_the_border_is_flagged():
    above = np.zeros((20, 20, 20), bool)
    above[10, 10, 3:20] = True
    assert CentralLabeler().label(above, (10, 10, 10)).touches_border
    above[10, 10, 19] = False
    assert not CentralLabeler().label(above, (10, 10, 10)).touches_border


# --------------------------------------------------------------------------- evaluate


@pytest.mark.parametrize("labeler", ["central", "plane", "ellipsoid"])
@pytest.mark.parametrize("threshold", ["gauss", "triangle", "hard"])
def test_evaluate_reports_sizes_in_x_y_z_order(labeler, threshold):
    data = gaussian_peak((40, 48, 56), sigmas=(9, 6, 3.5), noise=0.002)  # longest along z, shortest along x
    result = evaluate_peak_shape(data, threshold=threshold, labeler=labeler)
    assert result.sizes.z > result.sizes.y > result.sizes.x
    assert result.peak_zyx == (20, 24, 28) and result.peak_xyz == (28, 24, 20)
    assert result.labeler == labeler
    np.testing.assert_array_equal(result.labeled_map, np.where(result.label_mask, data, 0))
    np.testing.assert_array_equal(result.thresholded_map, np.where(data > result.threshold, data, 0))
    assert (result.surface is not None) == (labeler == "ellipsoid")


def test_evaluate_applies_cryocats_std_offsets():
    data = gaussian_peak((40, 40, 40))
    std = float(np.std(data))
    gauss = evaluate_peak_shape(data, "gauss", "central")
    assert gauss.threshold == pytest.approx(gauss.threshold_result.value - std)
    triangle = evaluate_peak_shape(data, "triangle", "central")
    assert triangle.threshold == pytest.approx(triangle.threshold_result.value + std)
    hard = evaluate_peak_shape(data, "hard", "central")
    assert hard.threshold == hard.threshold_result.value == pytest.approx(float(data.max()) / 2)
    plain = evaluate_peak_shape(data, "triangle", "central", std_offset=0)
    assert plain.threshold == plain.threshold_result.value


def test_evaluate_bad_input():
    with pytest.raises(InputError, match="no positive score"):
        evaluate_peak_shape(np.zeros((20, 20, 20), np.float32), "hard")
    nan_map = gaussian_peak((20, 20, 20))
    nan_map[3, 3, 3] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        evaluate_peak_shape(nan_map, "hard")
    border = gaussian_peak((20, 20, 20), sigmas=(2, 2, 2), centre=(10, 0, 10), noise=0)
    with pytest.raises(InputError, match="border"):
        evaluate_peak_shape(border, "hard")
    with pytest.raises(InputError, match="not below the peak height"):
        evaluate_peak_shape(gaussian_peak((20, 20, 20)), threshold=5.0)
    noise = np.random.default_rng(0).normal(0, 0.1, (40, 40, 40)).astype(np.float32)
    with pytest.raises(InputError, match="Gaussian"):
        evaluate_peak_shape(noise, "gauss", peak_tolerance=10)


# --------------------------------------------------------------------------- command line


def test_peak_shape_command_prints_sizes_and_writes_the_labeled_map(tmp_path, capsys):
    data = gaussian_peak((36, 44, 52))
    write_map(tmp_path / "peak.mrc", data, pixel_size=5.0)
    out_path = tmp_path / "labeled.mrc"
    argv = ["peak-shape", str(tmp_path / "peak.mrc"), "-t", "hard", "-l", "ellipsoid", "-o", str(out_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    expected = evaluate_peak_shape(data, "hard", "ellipsoid")
    s = expected.sizes
    assert f"ellipsoid size (voxels): x {s.x:.2f}, y {s.y:.2f}, z {s.z:.2f}" in out
    assert f"x {s.x * 5:.1f}" in out
    assert "peak at x=26, y=22, z=18" in out
    written = ScoresMap.read(out_path)
    np.testing.assert_array_equal(written.data, expected.labeled_map)
    assert written.pixel_size == pytest.approx(5.0)

    assert main(argv) == 1  # exists
    assert "exists" in capsys.readouterr().err
    assert main(argv + ["--overwrite", "-l", "central"]) == 0


def test_peak_shape_command_user_errors(tmp_path, capsys):
    write_map(tmp_path / "zero.mrc", np.zeros((16, 16, 16), np.float32))
    write_map(tmp_path / "peak.mrc", gaussian_peak((24, 24, 24)))
    for argv in (
        ["peak-shape", str(tmp_path / "zero.mrc")],
        ["peak-shape", str(tmp_path / "missing.mrc")],
        ["peak-shape", str(tmp_path / "peak.mrc"), "-l", "sphere"],
        ["peak-shape", str(tmp_path / "peak.mrc"), "-t", "manual:9"],
    ):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("cryotm: error:") and err.count("\n") == 1


# --------------------------------------------------------------------------- a user's labeler


class BoxLabeler(Labeler):
    """A user's labeling: the bounding box of the peak's component."""

    name = "box"
    description = "bounding box of the component around the peak"

    def label(self, above, peak_zyx):
        component = central_component(above, peak_zyx)
        zyx = np.argwhere(component)
        lo, hi = zyx.min(axis=0), zyx.max(axis=0) + 1
        mask = np.zeros(component.shape, bool)
        mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = True
        span = (hi - lo).astype(float)
        return Labeling(mask=mask, sizes=AxisSizes(x=span[2], y=span[1], z=span[0]))


class BoxPlugin:
    @hookimpl
    def cryotm_labelers(self):
        return [BoxLabeler]


def test_user_labeler_by_name(fresh_plugins, tmp_path, capsys):
    cryotm.get_plugin_manager().register(BoxPlugin())
    data = gaussian_peak((30, 34, 38), noise=0.002)
    result = evaluate_peak_shape(data, threshold="hard", labeler="box")
    central = evaluate_peak_shape(data, threshold="hard", labeler="central")
    assert result.labeler == "box"
    assert result.sizes == central.labeling.details["bounding_box"]
    write_map(tmp_path / "peak.mrc", data)
    assert main(["peak-shape", str(tmp_path / "peak.mrc"), "-t", "hard", "-l", "box"]) == 0
    s = result.sizes
    assert f"box size (voxels): x {s.x:.2f}, y {s.y:.2f}, z {s.z:.2f}" in capsys.readouterr().out


def test_plane_labeler_on_a_one_voxel_wide_component_labels_the_line_without_warnings():
    import warnings

    from cryotm.labeling.plane import PlaneLabeler

    above = np.zeros((9, 9, 9), dtype=bool)
    above[4, 4, 2:7] = True  # a line of five voxels along x
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labeling = PlaneLabeler().label(above, (4, 4, 4))
    assert labeling.mask.sum() == 5 and labeling.mask[4, 4, 2:7].all()
    # moment length along x: 4 * sqrt(var) of 5 unit-spaced voxels = 4 * sqrt(2); zero across
    assert labeling.sizes.x == pytest.approx(4 * np.sqrt(2))
    assert labeling.sizes.y == 0.0 and labeling.sizes.z == 0.0


def test_gauss_fits_the_peak_that_evaluate_labels():
    # a higher peak 11.7 voxels off centre: peak_tolerance=5 excludes it, for the fit as for the label
    scores = gaussian_peak((41, 41, 41), sigmas=(2, 2, 2), height=0.5, noise=0.0)
    scores += gaussian_peak((41, 41, 41), sigmas=(2, 2, 2), centre=(26, 26, 28), height=1.0, noise=0.0)
    result = evaluate_peak_shape(scores, "gauss", labeler="central", peak_tolerance=5)
    assert result.peak_zyx == (20, 20, 20)
    assert result.threshold_result.details["peak_zyx"] == (20, 20, 20)
    assert result.threshold_result.value == pytest.approx(0.5, abs=0.01)
    # the strategy's own tolerance is the default for both
    narrow = evaluate_peak_shape(scores, "gauss:5", labeler="central")
    assert narrow.peak_zyx == narrow.threshold_result.details["peak_zyx"] == (20, 20, 20)


def test_labeler_errors_name_the_map_file(tmp_path):
    # the map's maximum lies outside the search sphere; the threshold is below it but above the central peak
    scores = gaussian_peak((41, 41, 41), sigmas=(2, 2, 2), height=0.5, noise=0.0)
    scores += gaussian_peak((41, 41, 41), sigmas=(2, 2, 2), centre=(26, 26, 28), height=1.0, noise=0.0)
    path = tmp_path / "two_peaks.mrc"
    write_map(path, scores)
    with pytest.raises(InputError, match="two_peaks.mrc: the peak voxel .* is not above the threshold"):
        evaluate_peak_shape(path, threshold=0.7, labeler="central", peak_tolerance=5)
