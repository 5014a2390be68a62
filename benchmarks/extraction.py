"""Benchmark: PeakPicker against cryoCAT's ``scores_extract_particles`` on scene S512.

``python benchmarks/extraction.py`` generates scene S512 with the built-in
generator (a 512**3 float32 scores map and angle-index map as MRC files,
2000 planted peaks, a 2000-entry angle list) into ``benchmarks/_scenes/``
(git-ignored; reused on later runs), then extracts the particles with
diameter 12 and sigma threshold 3 (about 22 000 particles), once with cryoCAT
0.7.1 and once with cryotm, each in its own subprocess so that each one's
peak memory (``VmHWM``: everything resident, memory-mapped file pages
included) can be measured. It checks that the two particle lists are
identical and prints the time inside the call, the speed-up, the peak memory
of each process against the size of the two input maps, and cryotm's time per
stage.

``--large`` also runs the 1024 x 1024 x 512 scene (8000 peaks; about 2 GB per
map, ~20 GB of memory for cryoCAT; generate it once) and prints its time
against the 512**3 time. ``--quick`` is a 128**3 smoke run. Imports (and
cryotm's plugin discovery) happen before the clock starts, in both processes;
the input files are read once before each run so that both start with them
in the page cache. cryotm's figure is the median of three runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SCENES = HERE / "_scenes"
DIAMETER = 12
SIGMA = 3

#: name -> (shape (z, y, x), planted peaks, angles)
SCENE_SPECS = {
    "S128": ((128, 128, 128), 40, 500),
    "S512": ((512, 512, 512), 2000, 2000),
    "L1024x1024x512": ((512, 1024, 1024), 8000, 2000),
}


def generate_scene(name: str) -> None:
    """Write the scene's MRC files (run in a child: the generator needs several times a map's size)."""
    from cryotm import make_scene

    shape, n_peaks, n_angles = SCENE_SPECS[name]
    start = time.perf_counter()
    scene = make_scene(shape=shape, n_peaks=n_peaks, n_angles=n_angles, seed=0)
    scene.write(SCENES / name, overwrite=True)
    print(f"generated {name} {shape} in {time.perf_counter() - start:.0f} s -> {SCENES / name}", flush=True)


def ensure_scene(name: str) -> Path:
    """The scene's folder, generated (once) in a child process."""
    folder = SCENES / name
    if not (folder / "truth.csv").exists():
        subprocess.run([sys.executable, os.fspath(Path(__file__).resolve()), "--generate", name], check=True)
    return folder


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: file pages mapped included), in MB.

    ``ru_maxrss`` is not used: Linux carries it over ``exec`` from the forked
    parent, so a child of a big parent would report the parent's size.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the two contenders, each run in a child process -----------------------------------
def child_cryocat(folder: Path, out: Path) -> dict:
    import cryocat.tmana as tmana

    start = time.perf_counter()
    motl = tmana.scores_extract_particles(
        str(folder / "scores.mrc"), str(folder / "angles.mrc"), str(folder / "angles.csv"),
        tomo_id=1, particle_diameter=DIAMETER, sigma_threshold=SIGMA, output_path=None,
    )
    seconds = time.perf_counter() - start
    df = motl.df
    # cryoCAT's motive list holds index + 1
    np.savez(out, xyz=df[["x", "y", "z"]].to_numpy(float) - 1, angles=df[["phi", "theta", "psi"]].to_numpy(float),
             score=df["score"].to_numpy(float))
    return {"seconds": seconds, "particles": len(df)}


def child_cryotm(folder: Path, out: Path) -> dict:
    from cryotm.picking import PeakPicker
    from cryotm.plugins import get_plugin_manager

    get_plugin_manager()  # plugin discovery is import-time work, as cryoCAT's imports are
    picker = PeakPicker(particle_diameter=DIAMETER, sigma_threshold=SIGMA)
    start = time.perf_counter()
    result = picker.run(folder / "scores.mrc", folder / "angles.mrc", folder / "angles.csv", tomo_id=1)
    seconds = time.perf_counter() - start
    data = result.particles.data
    np.savez(out, xyz=data[["x", "y", "z"]].to_numpy(float), angles=data[["phi", "theta", "psi"]].to_numpy(float),
             score=data["score"].to_numpy(float))
    return {"seconds": seconds, "particles": len(data), "stages": result.timings}


def warm_page_cache(folder: Path) -> None:
    """Read the input files once, so that every contender starts with them in the page cache."""
    for name in ("scores.mrc", "angles.mrc", "angles.csv"):
        with open(folder / name, "rb") as handle:
            while handle.read(1 << 24):
                pass


def run_child(which: str, folder: Path) -> dict:
    warm_page_cache(folder)
    out = folder / f"_{which}_particles.npz"
    command = [sys.executable, os.fspath(Path(__file__).resolve()), "--child", which, os.fspath(folder)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{which} failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    with np.load(out) as saved:
        report["result"] = {key: saved[key] for key in saved.files}
    out.unlink()
    return report


def identical(a: dict, b: dict) -> bool:
    return all(np.array_equal(a[key], b[key]) for key in ("xyz", "angles", "score"))


def bench_scene(name: str, with_cryocat: bool, repeat: int = 3) -> dict:
    folder = ensure_scene(name)
    maps_mb = sum((folder / f).stat().st_size for f in ("scores.mrc", "angles.mrc")) / 2**20
    runs = [run_child("cryotm", folder) for _ in range(repeat)]
    ours = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]  # the median run
    theirs = run_child("cryocat", folder) if with_cryocat else None
    print(f"\nscene {name}: {SCENE_SPECS[name][0]} (z, y, x), diameter {DIAMETER}, sigma {SIGMA}; "
          f"input maps {maps_mb:.0f} MB")
    runs_text = f"median of {repeat} runs" if repeat > 1 else "one run"
    print(f"cryotm: {runs_text}" + ("; cryoCAT: one run" if theirs else ""))
    print(f"{'':10s} {'time in call':>13s} {'particles':>10s} {'peak RSS':>10s} {'RSS / maps':>11s}")
    rows = [("cryotm", ours)] + ([("cryoCAT", theirs)] if theirs else [])
    for label, rep in rows:
        print(f"{label:10s} {rep['seconds']:12.3f}s {rep['particles']:10d} {rep['maxrss_mb']:9.0f}M "
              f"{rep['maxrss_mb'] / maps_mb:10.2f}x")
    stages = ", ".join(f"{k} {v:.3f}s" for k, v in ours["stages"].items())
    print(f"cryotm stages: {stages}")
    if theirs:
        same = identical(ours["result"], theirs["result"])
        print(f"speed-up {theirs['seconds'] / ours['seconds']:.1f}x; identical particle lists: {same}")
    return {"cryotm": ours, "cryocat": theirs, "maps_mb": maps_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 128**3 smoke run instead of S512")
    parser.add_argument("--large", action="store_true", help="also the 1024 x 1024 x 512 scene (cryotm only)")
    parser.add_argument("--large-cryocat", action="store_true", help="run cryoCAT on the large scene too (~20 GB)")
    parser.add_argument("--no-cryocat", action="store_true", help="skip cryoCAT")
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", metavar="SCENE", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.generate:
        generate_scene(args.generate)
        return
    if args.child:
        which, folder = args.child[0], Path(args.child[1])
        func = child_cryocat if which == "cryocat" else child_cryotm
        report = func(folder, folder / f"_{which}_particles.npz")
        report["maxrss_mb"] = peak_rss_mb()
        print(json.dumps(report))
        return

    base = bench_scene("S128" if args.quick else "S512", not args.no_cryocat)
    if args.large and not args.quick:
        large = bench_scene("L1024x1024x512", args.large_cryocat, repeat=1)
        ratio = large["cryotm"]["seconds"] / base["cryotm"]["seconds"]
        print(f"\n1024x1024x512 / 512^3 time (cryotm): {ratio:.2f}x (4x the voxels)")


if __name__ == "__main__":
    main()
