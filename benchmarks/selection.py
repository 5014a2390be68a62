"""Benchmark: automatic peak selection, cryoCAT's select_peaks vs cryotm, in one process.

Scene A (256^3, 600 planted peaks, 2000 angles, 1-based angle map as
cryoCAT's select_peaks assumes): the distance maps are computed once by cryotm
and written as EM files, then both programs read the same MRC/CSV/EM files
with the same parameters (cryoCAT's defaults: template_radius 2, minimum
counts 7, triangle threshold). The scene's first angle is moved away from
every planted orientation (cryoCAT cannot select a particle within 1 degree
of it), so cryoCAT's path is correct and the selections must be identical.

Scene B (512^3, 2000 peaks): cryotm alone (goal: under a minute).

Times are wall-clock inside the call; peak memory is the resident memory the
call adds at its peak (sampled every 5 ms, Linux /proc), in the same run. Quality figures
are recall and precision against the planted particles (2-voxel tolerance).

Usage: ``python benchmarks/selection.py [--quick]``
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
from cryotm.angles import AngleList, compare_rotations, create_distance_maps
from cryotm.evaluation import match_particles
from cryotm.picking.select import select_peaks


def parity_scene(shape, n_peaks, n_angles, seed, index_base=1):
    """A scene whose first angle is at least 1.5 degrees from every planted orientation."""
    scene = make_scene(shape=shape, n_peaks=n_peaks, n_angles=n_angles, seed=seed, index_base=index_base)
    rot = scene.angles.rotations()
    peak_rows = np.unique(scene.truth.data["angle_row"].to_numpy())
    for u in range(1, n_angles):
        d = compare_rotations(rot[u], rot[peak_rows])
        if u not in peak_rows and min(d.total.min(), d.normals.min(), d.inplane.min()) >= 1.5:
            break
    angles = scene.angles.angles.copy()
    angles[[0, u]] = angles[[u, 0]]
    amap = scene.angle_map
    first, other = amap == index_base, amap == u + index_base
    amap[first], amap[other] = u + index_base, index_base
    scene.angles = AngleList(angles, index_base=index_base)
    return scene


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


def versus_cryocat(size: int, n_peaks: int, workdir: Path) -> None:
    import cryocat.tmana as tmana

    scene = parity_scene((size,) * 3, n_peaks, 2000, seed=0)
    paths = scene.write(workdir / "a")
    base = workdir / "a" / "dm"
    _, t_maps, _ = timed(lambda: create_distance_maps(paths["angles"], paths["angle_list"], index_base=1,
                                                   output_base=base))
    params = dict(dist_maps_name_base=str(base), template_radius=2, min_peak_voxel_count=7,
                  min_angles_voxel_count=7)

    def theirs():
        with contextlib.redirect_stdout(io.StringIO()):
            return tmana.select_peaks(str(paths["scores"]), str(paths["angles"]), str(paths["angle_list"]),
                                      **params)

    def ours():
        return select_peaks(paths["scores"], paths["angles"], paths["angle_list"], index_base=1, **params)

    (motl, their_labels), t_theirs, mem_theirs = timed(theirs)
    result, t_ours, mem_ours = timed(ours)

    their_xyz = motl.df[["x", "y", "z"]].to_numpy()
    same = (len(their_xyz) == len(result.particles)
            and np.array_equal(their_xyz, result.particles.positions)
            and np.array_equal(their_labels.transpose(2, 1, 0) > 0, result.labels > 0))
    print(f"\nScene A: {size}^3, {n_peaks} planted peaks, 2000 angles, template_radius 2 "
          f"(distance maps by cryotm in {t_maps:.1f} s)")
    print(f"{'':22s}{'time (s)':>10s}{'peak mem (GB)':>15s}  particles")
    print(f"{'cryoCAT select_peaks':22s}{t_theirs:10.2f}{mem_theirs:15.2f}  {len(their_xyz)}")
    print(f"{'cryotm select_peaks':22s}{t_ours:10.2f}{mem_ours:15.2f}  {len(result.particles)}")
    print(f"time ratio cryoCAT / cryotm: {t_theirs / t_ours:.1f} x; memory ratio: {mem_theirs / mem_ours:.1f} x")
    print(f"identical selection (positions, order, label map): {same}")
    print(f"quality, radius 2 (as cryoCAT's default; wide peaks give several picks): "
          f"{quality(result.particles, scene.truth)}")
    wide = select_peaks(paths["scores"], paths["angles"], paths["angle_list"], index_base=1,
                        dist_maps_name_base=str(base), template_radius=4)
    print(f"quality, template_radius 4: {quality(wide.particles, scene.truth)}")


def cryotm_alone(size: int, n_peaks: int, workdir: Path) -> None:
    scene = make_scene(shape=(size,) * 3, n_peaks=n_peaks, n_angles=2000, seed=1)
    paths = scene.write(workdir / "b")
    truth = scene.truth
    del scene

    def ours(radius):
        return select_peaks(paths["scores"], paths["angles"], paths["angle_list"], template_radius=radius)

    result, t_ours, mem = timed(lambda: ours(2))
    wide, t_wide, mem_wide = timed(lambda: ours(4))
    print(f"\nScene B: {size}^3, {n_peaks} planted peaks, 2000 angles (distance maps computed inside)")
    print(f"{'':28s}{'time (s)':>10s}{'peak mem (GB)':>15s}")
    print(f"{'cryotm, template_radius 2':28s}{t_ours:10.2f}{mem:15.2f}  {quality(result.particles, truth)}")
    print(f"{'cryotm, template_radius 4':28s}{t_wide:10.2f}{mem_wide:15.2f}  {quality(wide.particles, truth)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scenes (a smoke run)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # cryoCAT's deprecation warnings
    a, b = ((96, 40), (128, 100)) if args.quick else ((256, 600), (512, 2000))
    with tempfile.TemporaryDirectory() as tmp:
        versus_cryocat(*a, Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        cryotm_alone(*b, Path(tmp))


if __name__ == "__main__":
    main()
