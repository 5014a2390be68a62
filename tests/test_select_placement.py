"""select's placement: a particle sits on its peak's score maximum with that voxel's angle (not cryoCAT's)."""

from __future__ import annotations

import numpy as np
import pytest

from cryotm.angles import AngleList
from cryotm.cli import main
from cryotm.errors import InputError
from cryotm.formats import read_particles
from cryotm.maps import write_map
from cryotm.picking import PeakSelector, select_peaks

SHAPE = (32, 32, 44)
PEAK_A = (16, 16, 14)  # z, y, x: a consistent block 2-4 voxels off its maximum, inside the particle's sphere
PEAK_D = (16, 16, 32)  # broad, a consistent block 5-7 voxels off its maximum, outside the sphere
BLOCK_ROW = 7


def _gauss(centre, sigma):
    zz, yy, xx = np.indices(SHAPE, dtype=np.float64)
    return np.exp(-((zz - centre[0]) ** 2 + (yy - centre[1]) ** 2 + (xx - centre[2]) ** 2) / (2 * sigma**2))


@pytest.fixture(scope="module")
def real_like():
    """Peaks whose neighbourhoods hold other angle indices than their maxima, as in real score maps."""
    rng = np.random.default_rng(11)
    scores = (_gauss(PEAK_A, 2.0) + 0.9 * _gauss(PEAK_D, 3.0)).astype(np.float32)
    angle_map = rng.integers(0, 200, SHAPE).astype(np.float32)  # neighbouring voxels disagree
    z, y, x = PEAK_A
    angle_map[z - 1 : z + 2, y - 1 : y + 2, x + 2 : x + 5] = BLOCK_ROW  # wrong rotation, shifted, consistent
    z, y, x = PEAK_D
    angle_map[z - 1 : z + 2, y - 1 : y + 2, x + 5 : x + 8] = BLOCK_ROW
    angle_map[PEAK_A] = 100 if angle_map[PEAK_A] == BLOCK_ROW else angle_map[PEAK_A]
    angles = AngleList(np.random.default_rng(2).uniform([0, 0, 0], [360, 180, 360], (200, 3)))
    return scores, angle_map, angles


def _select(real_like, **kwargs):
    scores, angle_map, angles = real_like
    kwargs.setdefault("template_radius", 4)
    kwargs.setdefault("angle_test", "regions")  # these peaks' consistency lies in blocks off the maxima
    return select_peaks(scores, angle_map, angles, threshold="manual:0.05", **kwargs)


def test_default_places_the_particle_on_the_maximum_with_its_angle(real_like):
    scores, angle_map, angles = real_like
    result = _select(real_like)
    assert result.particles.positions.astype(int).tolist() == [list(PEAK_A[::-1])]
    np.testing.assert_allclose(result.particles.euler_angles[0], angles.angles[int(angle_map[PEAK_A])])
    assert result.particles.scores[0] == scores[PEAK_A]
    assert result.labels[PEAK_A] == 1


def test_cryocat_placement_moves_the_particle_to_the_consistent_block(real_like):
    scores, angle_map, angles = real_like
    result = _select(real_like, placement="cryocat")
    positions = result.particles.positions.astype(int).tolist()
    z, y, x = PEAK_A
    assert [x + 2, y, z] in positions and list(PEAK_A[::-1]) not in positions  # 2 voxels off, wrong angle
    z, y, x = PEAK_D
    assert [x + 5, y, z] in positions  # 5 voxels off the broad peak's maximum
    for row in result.particles.euler_angles:
        np.testing.assert_allclose(row, angles.angles[BLOCK_ROW])


def test_a_rejected_peak_places_nothing_nearby(real_like):
    # peak D's sphere around its maximum holds no consistent voxel: rejected, and its consistent
    # block (part of the same peak) does not become a particle instead
    result = _select(real_like)
    found = result.particles.positions
    assert np.min(np.linalg.norm(found - np.array(PEAK_D[::-1]), axis=1)) > 10
    # with a sphere large enough to hold the block, D is accepted, at its maximum
    wide = _select(real_like, template_radius=7)
    assert list(PEAK_D[::-1]) in wide.particles.positions.astype(int).tolist()


def _select_command(maps, folder) -> list[str]:
    """``cryotm select`` on the three maps, written into `folder`."""
    scores, angle_map, angles = maps
    write_map(folder / "s.mrc", scores)
    write_map(folder / "a.mrc", angle_map)
    angles.write(folder / "angles.csv")
    return ["select", str(folder / "s.mrc"), str(folder / "a.mrc"), str(folder / "angles.csv")]


def test_placement_is_validated_and_on_the_command_line(real_like, tmp_path):
    with pytest.raises(InputError, match="placement"):
        PeakSelector(placement="centre")
    args = _select_command(real_like, tmp_path) + ["--template-radius", "4", "--threshold", "manual:0.05"]
    assert main(args + ["-o", str(tmp_path / "max.star"), "--format", "stopgap", "--angle-test", "regions"]) == 0
    assert main(args + ["-o", str(tmp_path / "cc.star"), "--format", "stopgap", "--placement", "cryocat"]) == 0
    assert read_particles(tmp_path / "max.star").positions.astype(int).tolist() == [list(PEAK_A[::-1])]
    assert len(read_particles(tmp_path / "cc.star")) == 2


def test_contradicting_angle_test_options_are_one_line_with_the_flags(real_like, tmp_path, capsys):
    args = _select_command(real_like, tmp_path) + ["-o", str(tmp_path / "out.star")]
    capsys.readouterr()
    assert main(args + ["--angle-test", "none", "--min-agreeing-neighbours", "2"]) != 0
    error = capsys.readouterr().err.strip()
    assert error == "cryotm: error: --min-agreeing-neighbours needs --angle-test 'neighbours', got --angle-test 'none'"
    assert main(args + ["--placement", "cryocat", "--angle-test", "footprint"]) != 0
    error = capsys.readouterr().err.strip()
    assert error.startswith("cryotm: error: --angle-test 'footprint' needs --placement 'maximum'"), error
    assert not (tmp_path / "out.star").exists()


def test_angle_tolerance_compares_the_peak_voxels_with_the_maximum():
    """A cross of voxels sharing the maximum's rotation: no 2x2x2 region (cryoCAT's test fails), but they agree."""
    rng = np.random.default_rng(4)
    scores = (_gauss(PEAK_A, 2.0) + _gauss(PEAK_D, 2.0)).astype(np.float32)
    angle_map = rng.integers(0, 200, SHAPE).astype(np.float32)
    z, y, x = PEAK_A
    for dz, dy, dx in ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)):
        angle_map[z + dz, y + dy, x + dx] = angle_map[PEAK_A]
    angles = AngleList(np.random.default_rng(2).uniform([0, 0, 0], [360, 180, 360], (200, 3)))
    common = dict(template_radius=4, threshold="manual:0.05", min_angles_voxel_count=6)
    common["angle_test"] = "footprint"
    regions = select_peaks(scores, angle_map, angles, **(common | {"angle_test": "regions"}))
    assert len(regions.particles) == 0  # distance-map regions: none
    agreeing = select_peaks(scores, angle_map, angles, angle_tolerance=10, **common)
    assert agreeing.particles.positions.astype(int).tolist() == [list(PEAK_A[::-1])]  # D's voxels disagree
    np.testing.assert_allclose(agreeing.particles.euler_angles[0], angles.angles[int(angle_map[PEAK_A])])
    loose = select_peaks(scores, angle_map, angles, angle_tolerance=180, **common)  # everything agrees
    assert len(loose.particles) == 2
    with pytest.raises(InputError, match="angle_tolerance needs placement 'maximum'"):
        PeakSelector(placement="cryocat", angle_tolerance=10)
    with pytest.raises(InputError, match="angle_tolerance must be"):
        PeakSelector(angle_tolerance=-1)


def test_neighbours_test_counts_neighbours_sharing_the_maximums_rotation():
    """Peak A: 3 face neighbours hold the maximum's rotation; peak D: its neighbours' rotations all differ.
    The neighbours test keeps A only; cryoCAT's regions keep neither; the default (no angular test) both."""
    rng = np.random.default_rng(5)
    scores = (_gauss(PEAK_A, 2.0) + _gauss(PEAK_D, 2.0)).astype(np.float32)
    angle_map = rng.permutation(np.arange(np.prod(SHAPE)) % 200).reshape(SHAPE).astype(np.float32)
    z, y, x = PEAK_A
    for dz, dy, dx in ((1, 0, 0), (0, -1, 0), (0, 0, 1)):
        angle_map[z + dz, y + dy, x + dx] = angle_map[PEAK_A]
    z, y, x = PEAK_D
    angle_map[z - 1 : z + 2, y - 1 : y + 2, x - 1 : x + 2] = (np.arange(27) + 17).reshape(3, 3, 3)  # all differ
    angles = AngleList(np.random.default_rng(2).uniform([0, 0, 0], [360, 180, 360], (200, 3)))
    common = dict(template_radius=4, threshold="manual:0.05")
    default = select_peaks(scores, angle_map, angles, **common)
    assert sorted(default.particles.positions.astype(int).tolist()) == sorted([list(PEAK_A[::-1]), list(PEAK_D[::-1])])
    neighbours = select_peaks(scores, angle_map, angles, angle_test="neighbours", **common)
    assert neighbours.particles.positions.astype(int).tolist() == [list(PEAK_A[::-1])]
    # asking for agreeing neighbours asks for the neighbours test
    assert len(select_peaks(scores, angle_map, angles, min_agreeing_neighbours=1, **common).particles) == 1
    assert len(select_peaks(scores, angle_map, angles, min_agreeing_neighbours=4, **common).particles) == 0
    assert len(select_peaks(scores, angle_map, angles, min_agreeing_neighbours=0, **common).particles) == 2
    assert len(select_peaks(scores, angle_map, angles, angle_test="regions", **common).particles) == 0
    with pytest.raises(InputError, match="angle_test must be one of"):
        PeakSelector(angle_test="nearby")
    with pytest.raises(InputError, match="min_agreeing_neighbours needs angle_test 'neighbours', got .* 'none'"):
        PeakSelector(angle_test="none", min_agreeing_neighbours=2)
    with pytest.raises(InputError, match="angle_tolerance needs angle_test 'neighbours' or 'footprint', got .*'none'"):
        PeakSelector(angle_test="none", angle_tolerance=10)
    with pytest.raises(InputError, match="needs placement 'maximum'"):
        PeakSelector(placement="cryocat", angle_test="neighbours")
    assert PeakSelector(placement="cryocat").angle_test == "regions"


def test_angular_step_is_the_lists_sampling_and_sets_the_default_tolerance():
    from cryotm.picking.select.agreement import angular_step

    inplane = AngleList(np.array([[phi, 0.0, 0.0] for phi in range(0, 360, 15)]))
    assert angular_step(inplane) == pytest.approx(15.0)
    assert angular_step(AngleList(np.array([[phi, 0.0, 0.0] for phi in range(0, 90, 15)])), symmetry=4) == (
        pytest.approx(15.0)
    )
    assert PeakSelector().tolerance_for(inplane) == pytest.approx(7.5)
    assert PeakSelector(angle_tolerance=20).tolerance_for(inplane) == 20
    # neighbours one step away (15 degrees) agree only with a tolerance of at least one step
    scores = _gauss(PEAK_A, 2.0).astype(np.float32)
    angle_map = np.zeros(SHAPE, np.float32) + np.arange(SHAPE[2]) % 24  # rows change along x, one step per voxel
    common = dict(template_radius=4, threshold="manual:0.05")
    # the 8 neighbours in the maximum's x plane share its row; the 18 others are one step away
    assert len(select_peaks(scores, angle_map, inplane, min_agreeing_neighbours=8, **common).particles) == 1
    assert len(select_peaks(scores, angle_map, inplane, min_agreeing_neighbours=9, **common).particles) == 0
    wide = select_peaks(scores, angle_map, inplane, angle_tolerance=16, min_agreeing_neighbours=26, **common)
    assert len(wide.particles) == 1


def test_settings_of_cryocats_test_warn_with_the_neighbours_test(real_like, tmp_path):
    from cryotm.angles.distance_maps import create_distance_maps
    from cryotm.errors import CryotmWarning

    scores, angle_map, angles = real_like
    with pytest.warns(CryotmWarning, match="min_angles_voxel_count=12 has no effect"):
        PeakSelector(min_angles_voxel_count=12)
    maps = create_distance_maps(angle_map, angles)
    with pytest.warns(CryotmWarning, match="distance maps are used only by angle_test='regions'"):
        ignored = select_peaks(scores, angle_map, angles, dist_maps=maps, template_radius=4, threshold="manual:0.05")
    plain = select_peaks(scores, angle_map, angles, template_radius=4, threshold="manual:0.05")
    np.testing.assert_array_equal(ignored.particles.positions, plain.particles.positions)


@pytest.mark.parametrize("seed", [2, 4])
def test_default_select_keeps_what_extract_keeps_on_a_realistic_search(seed):
    """On a real masked-NCC search the maximum's neighbours often miss its rotation at true particles too:
    the neighbours test drops one here (measured), the default (no angular test) keeps extract's 12 of 12."""
    from cryotm.evaluation import match_particles
    from cryotm.picking import PeakPicker
    from cryotm.synthetic import make_search_scene
    from cryotm.thresholds import CalibratedThreshold

    scene = make_search_scene(shape=(64, 64, 64), n_particles=12, n_angles=200, seed=seed, snr=(4.0, 8.0),
                              template_size=16)
    diameter = scene.particle_diameter
    cut = f"manual:{CalibratedThreshold(particle_diameter=diameter).evaluate(scene.scores).value}"
    picker = PeakPicker(particle_diameter=diameter, threshold=cut)
    extracted = picker.pick(scene.scores, scene.angle_map, scene.angles)

    def f1(**options) -> float:
        picks = select_peaks(scene.scores, scene.angle_map, scene.angles, threshold=cut,
                             template_radius=diameter / 2, **options).particles
        return match_particles(picks, scene.truth, tolerance=diameter / 4).f1

    assert f1() == match_particles(extracted, scene.truth, tolerance=diameter / 4).f1 == 1.0
    assert f1(angle_test="neighbours") < 1.0
