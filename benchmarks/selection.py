"""Benchmark: automatic peak selection, cryoCAT's select_peaks vs cryotm, in one process.

Scene A (256^3, 600 planted peaks, 2000 angles, 1-based angle map as
cryoCAT's select_peaks assumes): the distance maps are computed once by
cryotm and written as EM files, then both programs read the same MRC/CSV/EM
files with the same parameters (template_radius 4 by default - one pick per
planted peak -, minimum counts 7, triangle threshold). cryoCAT's path is
correct on this scene, so the selections must be identical: the first angle
of the list is moved away from every planted orientation (cryoCAT cannot
select a particle within 1 degree of it) and no two peaks touch (see
:func:`tiled_scene`).

Scene B (512^3, 2000 peaks): cryotm alone (goal: under a minute).

Times are wall-clock inside the call; peak memory is the resident memory
the call adds at its peak (sampled every 5 ms from /proc, Linux), in the
same run. Quality figures are recall and precision against the planted
particles (2-voxel tolerance).

Usage: ``python benchmarks/selection.py [--quick] [--radius R]``
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import tempfile
import time
import threading
import warnings
from pathlib import Path

import numpy as np

from cryotm import make_scene
from cryotm.particles import ParticleList
from cryotm.synthetic import SyntheticScene
from cryotm.angles import AngleList, compare_rotations, create_distance_maps
from cryotm.evaluation import match_particles
from cryotm.picking.select import select_peaks


def tiled_scene(size: int, n_peaks: int, n_angles: int, seed: int, tile: int = 64, index_base: int = 1):
    """A cubic scene of `size` made of independent ``tile``^3 scenes (each with its own angles).

    make_scene enforces its minimum peak distance only among the last 64
    placed peaks, so large scenes hold touching peaks, where cryoCAT's opening
    (which writes each region's box back whole) erases its neighbours' voxels.
    Tiles of fewer than 64 peaks keep every peak apart (tiles are separated by
    make_scene's border margin). The angle lists are concatenated.
    """
    n_tiles = (size // tile) ** 3
    per_tile = np.full(n_tiles, n_peaks // n_tiles)
    per_tile[: n_peaks % n_tiles] += 1
    angles_per_tile = max(1, n_angles // n_tiles)
    scores = np.empty((size,) * 3, np.float32)
    angle_map = np.empty((size,) * 3, np.float32)
    angle_rows, positions, orientations, heights = [], [], [], []
    for k, origin in enumerate(np.ndindex(*(size // tile,) * 3)):
        part = make_scene(shape=(tile,) * 3, n_peaks=int(per_tile[k]), n_angles=angles_per_tile,
                          seed=seed * 100_000 + k, min_distance=16)
        box = tuple(slice(o * tile, (o + 1) * tile) for o in origin)
        scores[box] = part.scores
        angle_map[box] = part.angle_map + k * angles_per_tile + index_base
        angle_rows.append(part.angles.angles)
        positions.append(part.truth.positions + np.array(origin[::-1]) * tile)
        orientations.append(part.truth.euler_angles)
        heights.append(part.truth.scores)
    angles = AngleList(np.vstack(angle_rows), index_base=index_base)
    truth = ParticleList.from_arrays(np.vstack(positions), orientations=np.vstack(orientations),
                                     scores=np.concatenate(heights))
    return SyntheticScene(scores=scores, angle_map=angle_map, angles=angles, truth=truth)


def move_reference_angle(scene) -> None:
    """Swap the list's first angle with one at least 1.5 degrees from every planted orientation.

    cryoCAT labels whole-degree distances and takes 0 for background: it can
    never select a particle within 1 degree of the first angle.
    """
    rot = scene.angles.rotations()
    planted = scene.truth.orientations
    base = scene.angles.index_base
    for u in range(1, len(rot)):
        d = compare_rotations(rot[u], planted)
        if min(d.total.min(), d.normals.min(), d.inplane.min()) >= 1.5 and not np.any(d.total < 1e-6):
            break
    angles = scene.angles.angles.copy()
    angles[[0, u]] = angles[[u, 0]]
    amap = scene.angle_map
    first, other = amap == base, amap == u + base
    amap[first], amap[other] = u + base, base
    scene.angles = AngleList(angles, index_base=base)


class PeakRss:
    """Peak resident memory above the starting level while the block runs (sampled every 5 ms)."""

    def __enter__(self):
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def gigabytes(self) -> float:
        return (self.peak - self.base) / 1e9


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(func):
    """(result, seconds, peak memory above the start in GB) of one call."""
    gc.collect()
    with PeakRss() as memory:
        start = time.perf_counter()
        result = func()
        seconds = time.perf_counter() - start
    return result, seconds, memory.gigabytes


def quality(particles, truth) -> str:
    match = match_particles(particles, truth, tolerance=2.0)
    return f"recall {match.recall:.3f}, precision {match.precision:.3f} ({len(particles)} picks)"


def versus_cryocat(size: int, n_peaks: int, radius: float, workdir: Path) -> None:
    import cryocat.tmana as tmana

    scene = tiled_scene(size, n_peaks, 2000, seed=0)
    move_reference_angle(scene)
    paths = scene.write(workdir / "a")
    base = workdir / "a" / "dm"
    _, t_maps, _ = timed(lambda: create_distance_maps(paths["angles"], paths["angle_list"], index_base=1,
                                                   output_base=base))
    params = dict(dist_maps_name_base=str(base), template_radius=radius, min_peak_voxel_count=7,
                  min_angles_voxel_count=7)

    def theirs():
        with contextlib.redirect_stdout(io.StringIO()):
            return tmana.select_peaks(str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]),
                                      **params)

    def ours():
        return select_peaks(paths["scores"], paths["angles"], paths["angle_list"], index_base=1,
                            placement="cryocat", **params)

    (motl, their_labels), t_theirs, mem_theirs = timed(theirs)
    result, t_ours, mem_ours = timed(ours)

    their_xyz = motl.df[["x", "y", "z"]].to_numpy()
    same = (len(their_xyz) == len(result.particles)
            and np.array_equal(their_xyz, result.particles.positions)
            and np.array_equal(their_labels.transpose(2, 1, 0) > 0, result.labels > 0))
    print(f"\nScene A: {size}^3, {n_peaks} planted peaks, 2000 angles, template_radius {radius:g} "
          f"(distance maps by cryotm in {t_maps:.1f} s)")
    print(f"{'':22s}{'time (s)':>10s}{'peak mem (GB)':>15s}  particles")
    print(f"{'cryoCAT select_peaks':22s}{t_theirs:10.2f}{mem_theirs:15.2f}  {len(their_xyz)}")
    print(f"{'cryotm select_peaks':22s}{t_ours:10.2f}{mem_ours:15.2f}  {len(result.particles)}")
    print(f"time ratio cryoCAT / cryotm: {t_theirs / t_ours:.1f} x; memory ratio: {mem_theirs / mem_ours:.1f} x")
    print(f"identical selection (positions, order, label map): {same}")
    print(f"quality: {quality(result.particles, scene.truth)}")


def cryotm_alone(size: int, n_peaks: int, workdir: Path) -> None:
    scene = tiled_scene(size, n_peaks, 2000, seed=1, index_base=0)
    paths = scene.write(workdir / "b")
    truth = scene.truth
    del scene

    def ours(radius):
        # cryoCAT's angular test (the figures in docs/benchmarks.rst were measured with it)
        return select_peaks(paths["scores"], paths["angles"], paths["angle_list"], template_radius=radius,
                            index_base=0, angle_test="regions")

    result, t_ours, mem = timed(lambda: ours(2))
    wide, t_wide, mem_wide = timed(lambda: ours(4))
    print(f"\nScene B: {size}^3, {n_peaks} planted peaks, 2000 angles (distance maps computed inside)")
    print(f"{'':28s}{'time (s)':>10s}{'peak mem (GB)':>15s}")
    print(f"{'cryotm, template_radius 2':28s}{t_ours:10.2f}{mem:15.2f}  {quality(result.particles, truth)}")
    print(f"{'cryotm, template_radius 4':28s}{t_wide:10.2f}{mem_wide:15.2f}  {quality(wide.particles, truth)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scenes (a smoke run)")
    parser.add_argument("--radius", type=float, default=4,
                        help="template_radius for the comparison with cryoCAT (default 4: one pick per "
                        "planted peak; cryoCAT's default 2 picks the flanks of wide peaks too and makes "
                        "cryoCAT quadratic: about 520 s on scene A)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # cryoCAT's deprecation warnings
    a, b = ((128, 80), (128, 100)) if args.quick else ((256, 600), (512, 2000))
    with tempfile.TemporaryDirectory() as tmp:
        versus_cryocat(*a, args.radius, Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        cryotm_alone(*b, Path(tmp))


if __name__ == "__main__":
    main()
