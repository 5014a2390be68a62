"""The picker's tophat filter, sub-voxel positions, index-base check and candidate limit, on maps with known answers."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from scipy import ndimage

from cryotm import make_scene
from cryotm.angles import AngleList
from cryotm.cli import main
from cryotm.errors import CryotmError, InputError
from cryotm.formats import read_particles
from cryotm.maps import write_map
from cryotm.picking import PeakPicker
from cryotm.picking.candidates import estimate_candidates
from cryotm.picking.subvoxel import refine_peaks
from cryotm.picking.tophat import tophat_cutoff, white_tophat

SHAPE = (48, 48, 48)


def _near(positions_xyz, zyx, tolerance=2.0):
    """True if a particle lies within `tolerance` voxels of voxel `zyx`."""
    return bool(len(positions_xyz)) and np.min(np.linalg.norm(positions_xyz - np.array(zyx[::-1]), axis=1)) <= tolerance


def _blob(shape, centre, sigma, amplitude):
    zz, yy, xx = np.indices(shape, dtype=np.float64)
    z, y, x = centre
    return amplitude * np.exp(-((zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma**2))


@pytest.fixture(scope="module")
def broad_and_sharp():
    """Correlated noise, eight sharp peaks (sigma 0.7) and one broad blob (sigma 4) that scores higher than all."""
    rng = np.random.default_rng(5)
    noise = ndimage.gaussian_filter(rng.normal(0, 1, SHAPE), 0.8)
    scores = 0.03 * noise / noise.std()
    sharp = [(8, 8, 8), (8, 8, 38), (8, 38, 8), (38, 8, 8), (38, 38, 8), (38, 8, 38), (8, 38, 38), (38, 38, 30)]
    for centre in sharp:
        scores += _blob(SHAPE, centre, 0.7, 0.4)
    broad = (24, 24, 24)
    scores += _blob(SHAPE, broad, 4.0, 0.6)
    angle_map = rng.integers(0, 30, SHAPE).astype(np.float32)
    angles = AngleList(rng.uniform(0, 180, (30, 3)))
    return scores.astype(np.float32), angle_map, angles, sharp, broad


# -- tophat --------------------------------------------------------------------------------
def test_white_tophat_in_slabs_is_scipys(broad_and_sharp):
    scores = broad_and_sharp[0]
    for connectivity in (1, 3):
        whole = ndimage.white_tophat(scores, footprint=ndimage.generate_binary_structure(3, connectivity))
        np.testing.assert_array_equal(white_tophat(scores, connectivity, slab_voxels=5 * 48 * 48), whole)


def test_tophat_cutoff_of_noise_expects_what_it_declares():
    # half-normal values: the fitted Gaussian's tail above the cut-off holds about n_false_positives values
    rng = np.random.default_rng(1)
    values = np.abs(rng.normal(0, 1, 400_000))
    for n in (1.0, 100.0):
        cut = tophat_cutoff(values, n_false_positives=n)
        assert 0.3 * n <= np.count_nonzero(values > cut.value) <= 3 * n
    with pytest.raises(InputError, match="no background"):
        tophat_cutoff(np.zeros(1000))


def test_tophat_drops_the_broad_peak_and_keeps_the_sharp_ones(broad_and_sharp):
    scores, angle_map, angles, sharp, broad = broad_and_sharp
    plain = PeakPicker(particle_diameter=8, threshold="manual:0.2").run(scores, angle_map, angles)
    kept = {tuple(p) for p in plain.particles.positions[:, ::-1].astype(int)}
    assert set(sharp) <= kept and len(kept) == len(sharp) + 1
    assert _near(plain.particles.positions[:1], broad)  # without the filter the broad blob is the best particle
    filtered = PeakPicker(particle_diameter=8, threshold="manual:0.2", tophat=True, tophat_mode="pytom").run(
        scores, angle_map, angles
    )
    kept = {tuple(p) for p in filtered.particles.positions[:, ::-1].astype(int)}
    assert kept == set(sharp) and not _near(filtered.particles.positions, broad)
    assert filtered.filters["tophat"]["dropped"] > 0 and "tophat dropped" in filtered.summary()


def test_extract_tophat_flag(broad_and_sharp, tmp_path, extract_command):
    scores, angle_map, angles, sharp, broad = broad_and_sharp
    base = extract_command(scores, angle_map, angles) + ["-d", "8", "-t", "manual:0.2", "-q"]
    assert main(base + ["-o", str(tmp_path / "plain.em")]) == 0
    assert main(base + ["-o", str(tmp_path / "tophat.em"), "--tophat-filter", "--tophat-mode", "pytom"]) == 0
    plain, tophat = read_particles(tmp_path / "plain.em"), read_particles(tmp_path / "tophat.em")
    assert len(tophat) == len(plain) - 1
    assert _near(plain.positions, broad) and not _near(tophat.positions, broad)


def test_particle_tophat_keeps_broad_particle_peaks_and_drops_broader_halos():
    """Particles whose own peaks are broad (sigma 3, a low-pass template; diameter 12) and two halos
    broader than any particle's peak (sigma 8, gold beads). pytom-match-pick's filter drops most particles;
    the default keeps every particle and drops the halos with their flanks."""
    rng = np.random.default_rng(7)
    noise = ndimage.gaussian_filter(rng.normal(0, 1, SHAPE), 1.0)
    scores = 0.03 * noise / noise.std()
    particles = [(10, 10, 10), (10, 10, 37), (10, 37, 10), (37, 10, 10), (37, 37, 37), (37, 37, 12)]
    for i, centre in enumerate(particles):
        scores += _blob(SHAPE, centre, 3.0, 0.3 + 0.05 * i)  # weak and strong alike
    halos = [(24, 24, 24), (12, 36, 34)]
    for centre in halos:
        scores += _blob(SHAPE, centre, 8.0, 0.6)
    angle_map = rng.integers(0, 30, SHAPE).astype(np.float32)
    angles = AngleList(rng.uniform(0, 180, (30, 3)))
    common = dict(particle_diameter=12, threshold="manual:0.2")
    maps = (scores.astype(np.float32), angle_map, angles)
    plain = PeakPicker(**common).run(*maps).particles
    assert all(_near(plain.positions, c) for c in particles + halos)
    kept = PeakPicker(**common, tophat=True).run(*maps)
    found = kept.particles.positions
    assert all(_near(found, c) for c in particles)
    assert not any(_near(found, c, 4) for c in halos)
    # judged after suppression: the noise bumps on the halos' flanks go with them, nothing else
    dropped = [p for p in plain.positions if not np.any(np.all(found == p, axis=1))]
    assert len(dropped) == kept.filters["tophat"]["dropped"] > len(halos)
    assert all(min(np.linalg.norm(p[::-1] - np.array(c)) for c in halos) < 20 for p in dropped)
    assert kept.filters["tophat"]["mode"] == "particle" and kept.filters["tophat"]["radius"] == 3
    pytom = PeakPicker(**common, tophat=True, tophat_mode="pytom").run(*maps).particles
    assert sum(_near(pytom.positions, c) for c in particles) <= 2
    # a fraction above the particles' own (1 - exp(-2 * 3**2 / 3**2) = 0.86) drops them too
    strict = PeakPicker(**common, tophat=True, tophat_fraction=0.95).run(*maps).particles
    assert not any(_near(strict.positions, c) for c in particles)
    with pytest.raises(CryotmError, match="tophat_mode"):
        PeakPicker(particle_diameter=12, tophat_mode="sharp")


# -- sub-voxel positions -------------------------------------------------------------------
@pytest.mark.parametrize("method", ["gaussian", "quadratic"])
def test_subvoxel_recovers_analytic_centres(method):
    rng = np.random.default_rng(3)
    shape = (20, 20, 20)
    zz, yy, xx = np.indices(shape, dtype=np.float64)
    for _ in range(20):
        centre = np.array([10, 10, 10]) + rng.uniform(-0.5, 0.5, 3)  # z, y, x
        d = np.stack([zz - centre[0], yy - centre[1], xx - centre[2]], axis=-1)
        if method == "gaussian":  # anisotropic, rotated Gaussian: exact for the log fit
            a = rng.normal(size=(3, 3))
            precision = a @ a.T / 4 + np.eye(3) * 0.3
            peak = np.exp(-0.5 * np.einsum("...i,ij,...j->...", d, precision, d))
        else:  # a quadratic dome: exact for the quadratic fit
            peak = 10.0 - np.einsum("...i,...i->...", d, d * np.array([1.0, 0.6, 1.4]))
        voxel = np.unravel_index(np.argmax(peak), shape)
        shift = refine_peaks(peak, *[np.array([v]) for v in voxel], method=method)[0]
        found = np.array(voxel[::-1]) + shift  # x, y, z
        assert np.max(np.abs(found - centre[::-1])) < 0.05


def test_subvoxel_shifts_are_written_by_the_picker(tmp_path):
    shape = (32, 32, 32)
    centres = [(8.3, 9.6, 10.2), (20.7, 22.4, 8.9), (10.1, 24.8, 22.6)]  # z, y, x
    scores = sum(_blob(shape, c, 1.2, 1.0) for c in centres).astype(np.float32)
    amap = np.zeros(shape, np.float32)
    picker = PeakPicker(particle_diameter=6, threshold="manual:0.5", subvoxel="gaussian")
    particles = picker.pick(scores, amap, AngleList(np.zeros((1, 3))), output=tmp_path / "p.star", format="stopgap")
    found = particles.positions + particles.shifts
    for centre in centres:
        assert np.min(np.max(np.abs(found - np.array(centre[::-1])), axis=1)) < 0.05
    assert np.all(np.abs(particles.shifts) <= 0.5)
    back = read_particles(tmp_path / "p.star")
    np.testing.assert_allclose(back.positions + back.shifts, found, atol=1e-4)
    unrefined = PeakPicker(particle_diameter=6, threshold="manual:0.5").pick(scores, amap, AngleList(np.zeros((1, 3))))
    assert np.all(unrefined.shifts == 0)


def test_subvoxel_keeps_zero_where_there_is_no_maximum():
    flat = np.ones((5, 5, 5))
    edge = np.zeros((5, 5, 5))
    edge[0, 2, 2] = 1.0
    assert refine_peaks(flat, np.array([2]), np.array([2]), np.array([2])).tolist() == [[0.0, 0.0, 0.0]]
    assert refine_peaks(edge, np.array([0]), np.array([2]), np.array([2])).tolist() == [[0.0, 0.0, 0.0]]
    with pytest.raises(CryotmError, match="subvoxel"):
        PeakPicker(particle_diameter=6, subvoxel="cubic")


# -- the angle map's index base ----------------------------------------------------------------
def test_a_base_the_whole_angle_map_contradicts_is_refused():
    scene = make_scene(shape=(32, 32, 32), n_peaks=3, n_angles=40, seed=4, min_distance=10)
    amap = scene.angle_map.astype(np.float32)
    # a 0-based map whose picked voxels all hold indices >= 1: only the whole map shows index 0
    picked = PeakPicker(particle_diameter=8, threshold="sigma:4").pick(scene.scores, amap, scene.angles)
    x, y, z = picked.positions.astype(int).T
    amap[z, y, x] = np.maximum(amap[z, y, x], 1)
    assert amap.min() == 0
    with pytest.raises(InputError, match="holds index 0, which a 1-based angle list"):
        PeakPicker(particle_diameter=8, threshold="sigma:4", index_base=1).pick(scene.scores, amap, scene.angles)
    # a 1-based map holds the list's length somewhere: base 0 is refused
    one_based = amap + 1
    with pytest.raises(InputError, match="only a 1-based map holds it|only a 1-based\\s+map holds"):
        PeakPicker(particle_diameter=8, threshold="sigma:4", index_base=0).pick(scene.scores, one_based, scene.angles)
    assert len(PeakPicker(particle_diameter=8, threshold="sigma:4", index_base=1).pick(
        scene.scores, one_based, scene.angles)) == len(picked)
    # voxels that were not searched (score exactly 0) may hold index 0 in a 1-based map
    unsearched = scene.scores.copy()
    unsearched[:2] = 0
    one_based[:2] = 0
    assert len(PeakPicker(particle_diameter=8, threshold="sigma:4", index_base=1).pick(
        unsearched, one_based, scene.angles)) > 0


def test_the_index_base_checked_meanwhile_is_reported_first(tmp_path):
    # small slabs: the angle map's range is checked in a second thread while the threshold reads the scores
    scene = make_scene(shape=(32, 32, 32), n_peaks=3, n_angles=40, seed=4, min_distance=10)
    paths = scene.write(tmp_path / "t")
    picker = PeakPicker(particle_diameter=8, threshold="sigma:4", index_base=1, slab_voxels=1024)
    inputs = picker.read_inputs(paths["scores"], paths["angles"], paths["angle_list"])
    with pytest.raises(InputError, match="holds index 0, which a 1-based angle list"):
        inputs.angle_map  # waits for the check
    with pytest.raises(InputError, match="holds index 0, which a 1-based angle list"):
        picker.pick(paths["scores"], paths["angles"], paths["angle_list"])
    # NaN in the scores as well: the index base, found first when checked first, is still what is reported
    broken = scene.scores.copy()
    broken[20, 5, 5] = np.nan
    write_map(tmp_path / "nan.mrc", broken)
    for rule in ("sigma:4", "triangle"):
        with pytest.raises(InputError, match="holds index 0, which a 1-based angle list"):
            attrs.evolve(picker, threshold=rule).pick(tmp_path / "nan.mrc", paths["angles"], paths["angle_list"])
    # the right base: the same particles as with whole-plane slabs
    good = attrs.evolve(picker, index_base=0)
    assert np.array_equal(good.pick(paths["scores"], paths["angles"], paths["angle_list"]).positions,
                          attrs.evolve(good, slab_voxels=1 << 20).pick(scene.scores, scene.angle_map,
                                                                       scene.angles).positions)


def test_extract_index_base_error_is_one_line(tmp_path, capsys):
    scene = make_scene(shape=(32, 32, 32), n_peaks=3, n_angles=40, seed=4, min_distance=10)
    paths = scene.write(tmp_path / "t")
    code = main(["extract", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "-d", "8",
                 "-o", str(tmp_path / "out.em"), "--index-base", "1", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err and "--index-base 0" in err and str(paths["angles"]) in err
    assert not (tmp_path / "out.em").exists()


# -- the candidates' memory --------------------------------------------------------------------
def test_a_threshold_below_the_noise_is_refused_before_collecting(tmp_path, capsys):
    scene = make_scene(shape=(32, 32, 32), n_peaks=3, n_angles=40, seed=4, min_distance=10)
    assert estimate_candidates(scene.scores, -10) == scene.scores.size
    with pytest.raises(CryotmError, match=r"keeps about 32,768 of 32,768 voxels .*Raise it"):
        PeakPicker(particle_diameter=8, threshold="manual:-10", max_candidates=1000).run(
            scene.scores, scene.angle_map, scene.angles)
    # the sigma rule collects its candidates in its own pass: refused there
    with pytest.raises(CryotmError, match="keeps more than .* the limit is 1,000"):
        PeakPicker(particle_diameter=8, threshold="sigma:-3", max_candidates=1000).run(
            scene.scores, scene.angle_map, scene.angles)
    assert len(PeakPicker(particle_diameter=8, threshold="sigma:3", max_candidates=1000).pick(
        scene.scores, scene.angle_map, scene.angles)) > 0
    paths = scene.write(tmp_path / "t")
    code = main(["extract", str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]), "-d", "8",
                 "-o", str(tmp_path / "out.em"), "-t", "manual:-10", "--max-candidates", "5000", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err and "32,768" in err and not (tmp_path / "out.em").exists()


def test_batch_passes_the_filter_options_to_the_picker(broad_and_sharp, tmp_path, extract_command):
    from cryotm.pipeline import read_record, record_path_for

    scores, angle_map, angles, sharp, broad = broad_and_sharp
    files = extract_command(scores, angle_map, angles)[1:]
    table = tmp_path / "tomos.csv"
    table.write_text("name,scores,angles,angle_list\nt," + ",".join(files) + "\n")
    args = ["batch", str(table), "--diameter", "8", "--threshold", "manual:0.2", "--format", "stopgap",
            "--progress", "off", "--tophat-filter", "--tophat-mode", "pytom", "--subvoxel", "quadratic"]
    assert main(args + ["-o", str(tmp_path / "out")]) == 0
    picked = read_particles(tmp_path / "out" / "t.star")
    assert len(picked) == len(sharp) and not _near(picked.positions, broad)
    assert np.any(picked.shifts != 0)
    parameters = read_record(record_path_for(tmp_path / "out" / "t.star"))["pipeline"]["picker"]["parameters"]
    assert parameters["tophat"] is True and parameters["subvoxel"] == "quadratic"
    assert parameters["tophat_mode"] == "pytom"


def test_local_tophat_is_the_whole_maps_at_the_voxels(broad_and_sharp):
    from cryotm.picking.tophat import local_tophat, narrow_peaks

    scores = broad_and_sharp[0]
    rng = np.random.default_rng(2)
    at = tuple(np.concatenate([[0, 47, 1], rng.integers(0, 48, 20)]) for _ in range(3))  # faces included
    whole = white_tophat(scores, radius=3)
    np.testing.assert_array_equal(local_tophat(scores, at, 3), whole[at])
    few, _ = narrow_peaks(scores, at, 12)  # 23 boxes of 13^3 voxels: computed around each
    many, _ = narrow_peaks(scores, tuple(np.tile(c, 8) for c in at), 12)  # more than the map: transformed whole
    np.testing.assert_array_equal(np.tile(few, 8), many)


@pytest.mark.parametrize("shape, radius", [((20, 20, 20), 2.5), ((17, 23, 19), 3.0), ((30, 12, 15), 1.0),
                                           ((4, 9, 9), 3.0), ((25, 25, 25), 4.2)])
def test_local_tophat_is_the_whole_map_transform_at_the_voxels(shape, radius):
    """Exact, also at the faces and in maps thinner than the element (scipy's reflect boundary)."""
    from cryotm.picking.tophat import local_tophat, white_tophat

    rng = np.random.default_rng(0)
    data = rng.normal(size=shape).astype(np.float32)
    at = tuple(rng.integers(0, n, 300) for n in shape)
    np.testing.assert_array_equal(local_tophat(data, at, radius, batch_values=5000),
                                  white_tophat(data, radius=radius)[at])
