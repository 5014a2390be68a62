"""The picker's side-peak filter on a hand-made map: a side lobe is dropped, touching particles are kept."""

from __future__ import annotations

import numpy as np
import pytest

from cryotm.angles import AngleList
from cryotm.cli import main
from cryotm.formats import read_particles
from cryotm.picking import PeakPicker
from cryotm.picking.sidepeaks import side_peaks

SHAPE = (48, 48, 48)
DIAMETER = 8
MAIN = (24, 24, 10)  # z, y, x
LOBE = (24, 24, 22)  # 12 voxels = 1.5 diameters from MAIN, 0.4 of its score
TOUCHING = [(10, 36, 36), (10, 36, 27)]  # 9 voxels apart, scores 0.9 and 0.85; > 2 diameters from MAIN and LOBE


def _blob(centre, amplitude, sigma=1.5):
    zz, yy, xx = np.indices(SHAPE, dtype=np.float64)
    z, y, x = centre
    return amplitude * np.exp(-((zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma**2))


@pytest.fixture(scope="module")
def lobe_map():
    scores = _blob(MAIN, 1.0) + _blob(LOBE, 0.4) + _blob(TOUCHING[0], 0.9) + _blob(TOUCHING[1], 0.85)
    rng = np.random.default_rng(3)
    angle_map = rng.integers(0, 10, SHAPE).astype(np.float32)
    return scores.astype(np.float32), angle_map, AngleList(rng.uniform(0, 180, (10, 3)))


def _voxels(particles):
    return {tuple(int(v) for v in p) for p in np.rint(particles.positions[:, ::-1])}


def test_side_lobe_dropped_touching_particles_kept(lobe_map):
    scores, angle_map, angles = lobe_map
    plain = PeakPicker(DIAMETER, threshold="manual:0.2").run(scores, angle_map, angles)
    assert _voxels(plain.particles) == {MAIN, LOBE, *TOUCHING}  # suppression within one diameter keeps the lobe
    filtered = PeakPicker(DIAMETER, threshold="manual:0.2", side_peaks=True).run(scores, angle_map, angles)
    assert _voxels(filtered.particles) == {MAIN, *TOUCHING}
    assert filtered.filters["side_peaks"] == {"dropped": 1, "distance": 16.0, "fraction": 0.5}
    assert "side peaks dropped 1" in filtered.summary()


def test_side_peak_limits(lobe_map):
    scores, angle_map, angles = lobe_map
    # the lobe lies 1.5 diameters away: a 1.4-diameter filter keeps it, and so does a fraction below its 0.4
    for options in (dict(side_peak_distance=1.4), dict(side_peak_fraction=0.39)):
        kept = PeakPicker(DIAMETER, threshold="manual:0.2", side_peaks=True, **options).pick(scores, angle_map, angles)
        assert LOBE in _voxels(kept)
    # a fraction above 0.85 / 0.9 drops the weaker touching particle too
    kept = PeakPicker(DIAMETER, threshold="manual:0.2", side_peaks=True, side_peak_fraction=0.95).pick(
        scores, angle_map, angles)
    assert _voxels(kept) == {MAIN, TOUCHING[0]}


def test_dropped_peak_drops_no_other():
    # b is a side lobe of a; c is below 0.5 of b but 25 voxels from a: kept, as b was dropped
    positions = np.array([[0, 0, 0], [15, 0, 0], [28, 0, 0]], dtype=float)
    drop = side_peaks(positions, np.array([1.0, 0.45, 0.2]), distance=16, fraction=0.5)
    assert drop.tolist() == [False, True, False]
    assert side_peaks(positions[:1], np.array([1.0]), 16, 0.5).tolist() == [False]


def test_extract_side_peak_flag(lobe_map, tmp_path, extract_command):
    scores, angle_map, angles = lobe_map
    base = extract_command(scores, angle_map, angles) + ["-d", "8", "-t", "manual:0.2", "-q"]
    assert main(base + ["-o", str(tmp_path / "plain.em")]) == 0
    assert main(base + ["-o", str(tmp_path / "side.em"), "--side-peak-filter", "--side-peak-distance", "2",
                        "--side-peak-fraction", "0.5"]) == 0
    assert len(read_particles(tmp_path / "plain.em")) == 4
    assert _voxels(read_particles(tmp_path / "side.em")) == {MAIN, *TOUCHING}
