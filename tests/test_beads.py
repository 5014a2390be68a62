"""Gold beads: found in the tomogram, masked out of the picking (``cryotm.beads``, ``cryotm mask-beads``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from cryotm.beads import bead_exclusion_mask, find_gold_beads
from cryotm.cli import main
from cryotm.errors import InputError
from cryotm.evaluation import match_particles
from cryotm.maps import read_map, write_map
from cryotm.picking import PeakPicker
from cryotm.synthetic import make_search_scene


@pytest.fixture(scope="module")
def gold_scene():
    """A realistic search with two dense beads (200 noise SDs: gold is many times denser than protein)."""
    return make_search_scene(shape=(64, 64, 64), n_particles=6, n_angles=40, seed=3, snr=(6.0, 9.0), gold=2,
                             gold_contrast=200.0, template="hook")


def test_the_beads_are_found_where_they_were_planted_and_no_particle_is_taken_for_one(gold_scene):
    beads = find_gold_beads(gold_scene.tomogram, bead_radius=2.5)
    assert len(beads) == 2 and beads.polarity == "bright"
    distance, _ = cKDTree(gold_scene.gold).query(beads.positions)
    assert distance.max() <= 1.0
    assert beads.contrast.min() > 5 * beads.next_contrast  # far above everything else in the volume
    # as reconstructed (dense = dark) the same beads, found by the auto polarity
    dark = find_gold_beads(-gold_scene.tomogram, bead_radius=2.5)
    assert dark.polarity == "dark"
    np.testing.assert_allclose(dark.positions, beads.positions)
    # asked for the wrong sign, nothing is found
    assert len(find_gold_beads(gold_scene.tomogram, bead_radius=2.5, polarity="dark")) == 0


def test_masking_the_beads_removes_their_picks_and_keeps_the_particles(gold_scene):
    d = gold_scene.particle_diameter
    picker = PeakPicker(particle_diameter=d)
    beads = find_gold_beads(gold_scene.tomogram, bead_radius=2.5)
    mask = bead_exclusion_mask(gold_scene.shape, beads.positions, radius=2.5 + d / 2)
    plain = picker.pick(gold_scene.scores, gold_scene.angle_map, gold_scene.angles)
    masked = picker.pick(gold_scene.scores, gold_scene.angle_map, gold_scene.angles, tomo_mask=mask)

    def at_beads(picks):
        return int(np.sum(cKDTree(gold_scene.gold).query(picks.positions)[0] <= d / 2))

    assert at_beads(plain) >= 1  # the bead is picked like a particle ...
    assert at_beads(masked) == 0  # ... and not once masked
    tolerance = d / 4
    assert (match_particles(masked, gold_scene.truth, tolerance=tolerance).true_positives
            >= match_particles(plain, gold_scene.truth, tolerance=tolerance).true_positives)


def test_the_exclusion_mask_is_a_ball_around_each_bead_clipped_at_the_border():
    mask = bead_exclusion_mask((10, 12, 14), np.array([[0.0, 0.0, 0.0], [7.0, 6.0, 5.0]]), radius=2.0)
    z, y, x = np.indices(mask.shape)
    expected = ~((x**2 + y**2 + z**2 <= 4) | ((x - 7) ** 2 + (y - 6) ** 2 + (z - 5) ** 2 <= 4))
    np.testing.assert_array_equal(mask, expected.astype(np.float32))
    assert mask.dtype == np.float32


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: find_gold_beads(np.zeros((4, 4)), 2.0), "3D"),
        (lambda: find_gold_beads(np.zeros((8, 8, 8)), 2.0), "flat"),
        (lambda: find_gold_beads(np.ones((8, 8, 8)), -1.0), "bead radius"),
        (lambda: find_gold_beads(np.ones((8, 8, 8)), 2.0, polarity="up"), "polarity"),
        (lambda: find_gold_beads(np.ones((8, 8, 8)), 2.0, separation=1.0), "separation"),
        (lambda: find_gold_beads(np.where(np.eye(8, dtype=bool)[None], np.nan, 1.0) * np.ones((8, 8, 8)), 2.0),
         "NaN"),
        (lambda: bead_exclusion_mask((4, 4, 4), np.zeros((1, 3)), -2.0), "exclusion radius"),
    ],
)
def test_bad_parameters_are_one_clear_error(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_cli_writes_the_mask_and_the_bead_list(gold_scene, tmp_path, capsys):
    tomogram = tmp_path / "tomo.mrc"
    write_map(tomogram, gold_scene.tomogram, pixel_size=13.6)
    out, table = tmp_path / "mask.mrc", tmp_path / "beads.csv"
    argv = ["mask-beads", str(tomogram), "-o", str(out), "--bead-radius", "2.5", "-d", "10", "--beads", str(table)]
    assert main(argv) == 0
    assert "2 bead(s)" in capsys.readouterr().out
    mask, pixel_size = read_map(out)
    assert mask.shape == gold_scene.shape and pixel_size == pytest.approx(13.6, abs=0.01)
    expected = bead_exclusion_mask(gold_scene.shape, find_gold_beads(gold_scene.tomogram, 2.5).positions, 7.5)
    np.testing.assert_array_equal(mask, expected)
    import pandas as pd

    beads = pd.read_csv(table)
    assert list(beads.columns) == ["x", "y", "z", "contrast"] and len(beads) == 2
    # an existing output is refused (one line, exit 1) and left as it was
    before = out.read_bytes()
    assert main(argv) == 1
    assert "exists" in capsys.readouterr().err and out.read_bytes() == before


def test_cli_needs_a_particle_size_and_warns_when_no_bead_stands_out(tmp_path, capsys):
    tomogram = tmp_path / "noise.mrc"
    write_map(tomogram, np.random.default_rng(1).normal(size=(24, 24, 24)).astype(np.float32), pixel_size=10.0)
    assert main(["mask-beads", str(tomogram), "-o", str(tmp_path / "m.mrc"), "--bead-radius", "2"]) == 1
    err = capsys.readouterr().err
    assert "-d/--diameter" in err and "Traceback" not in err and not (tmp_path / "m.mrc").exists()
    assert main(["mask-beads", str(tomogram), "-o", str(tmp_path / "m.mrc"), "--bead-radius", "2", "-d", "8"]) == 0
    err = capsys.readouterr().err
    assert "no bead found" in err and len(err.strip().splitlines()) == 1
    assert read_map(tmp_path / "m.mrc")[0].min() == 1.0  # nothing excluded


def test_cli_takes_the_bead_size_in_nm_with_the_pixel_size(gold_scene, tmp_path, capsys):
    tomogram = tmp_path / "tomo.mrc"
    write_map(tomogram, gold_scene.tomogram, pixel_size=10.0)  # 5 nm beads at 10 Å: radius 2.5 voxels
    by_size, by_radius = tmp_path / "a.mrc", tmp_path / "b.mrc"
    assert main(["mask-beads", str(tomogram), "-o", str(by_size), "--bead-diameter-nm", "5", "-d", "10"]) == 0
    assert main(["mask-beads", str(tomogram), "-o", str(by_radius), "--bead-radius", "2.5", "-d", "10"]) == 0
    np.testing.assert_array_equal(read_map(by_size)[0], read_map(by_radius)[0])
    capsys.readouterr()
    # a pixel size that makes no sense for gold is named
    assert main(["mask-beads", str(tomogram), "-o", str(tmp_path / "c.mrc"), "--bead-diameter-nm", "5", "-d", "10",
                 "--pixel-size", "0.25"]) == 0  # a 100-voxel radius
    assert "is the pixel size right" in capsys.readouterr().err
