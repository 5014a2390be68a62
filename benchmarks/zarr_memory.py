"""Benchmark: peak memory of extraction from OME-Zarr maps against the same maps in MRC (scene S512).

``python benchmarks/zarr_memory.py`` takes scene S512 of ``benchmarks/extraction.py`` (a 512**3
float32 scores map and angle-index map, 2000 planted peaks; generated once into
``benchmarks/_scenes/``), writes both maps once more as OME-Zarr images (``scores.zarr``,
``angles.zarr``: one full-resolution level, 64**3 Blosc-compressed chunks, as cryotm's
``write_map`` makes them), then extracts the particles (diameter 12, sigma threshold 3) from the
MRC files and from the Zarr images, each in its own Python process. It prints the peak resident
memory of each process (``VmHWM``: everything resident, memory-mapped file pages included),
against the size of the two input maps, the time inside the call, and whether the two particle
lists are identical.

The Zarr maps are read with ``mmap=True`` as the picker reads any map: decompressed chunk-slab by
chunk-slab into a scratch file (``TMPDIR``) that is memory-mapped, so the decompressed map is never
held in memory as a whole. ``--quick`` runs scene S128.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.fspath(HERE))

from extraction import DIAMETER, SIGMA, ensure_scene, peak_rss_mb, warm_page_cache  # noqa: E402


def ensure_zarr(folder: Path) -> None:
    """Write the scene's maps as OME-Zarr images beside the MRC files (once; in a child process)."""
    if (folder / "scores.zarr").exists() and (folder / "angles.zarr").exists():
        return
    code = (
        "import sys; from cryotm.maps import read_map, write_map; from pathlib import Path; f = Path(sys.argv[1])\n"
        "for name in ('scores', 'angles'):\n"
        "    data, pixel = read_map(f / f'{name}.mrc', mmap=True)\n"
        "    write_map(f / f'{name}.zarr', data, pixel_size=pixel, overwrite=True)\n"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, os.fspath(folder)], check=True)
    print(f"wrote scores.zarr and angles.zarr in {time.perf_counter() - start:.0f} s", flush=True)


def child(folder: Path, kind: str, out: Path) -> dict:
    from cryotm.maps import AngleMap, ScoresMap
    from cryotm.picking import PeakPicker
    from cryotm.plugins import get_plugin_manager

    get_plugin_manager()
    import zarr  # noqa: F401  (import time is not the reader's)

    extension = ".zarr" if kind == "zarr" else ".mrc"
    picker = PeakPicker(particle_diameter=DIAMETER, sigma_threshold=SIGMA)
    start = time.perf_counter()
    scores = ScoresMap.read(folder / f"scores{extension}", mmap=True)
    angles = AngleMap.read(folder / f"angles{extension}", mmap=True)
    result = picker.run(scores, angles, folder / "angles.csv", tomo_id=1)
    seconds = time.perf_counter() - start
    data = result.particles.data
    np.savez(out, xyz=data[["x", "y", "z"]].to_numpy(float), angles=data[["phi", "theta", "psi"]].to_numpy(float),
             score=data["score"].to_numpy(float))
    return {"seconds": seconds, "particles": len(data), "maxrss_mb": peak_rss_mb()}


def run_child(folder: Path, kind: str) -> dict:
    warm_page_cache(folder)
    out = folder / f"_zarrbench_{kind}.npz"
    command = [sys.executable, os.fspath(Path(__file__).resolve()), "--child", kind, os.fspath(folder)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    with np.load(out) as saved:
        report["result"] = {key: saved[key] for key in saved.files}
    out.unlink()
    return report


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="scene S128 instead of S512")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, folder = args.child[0], Path(args.child[1])
        print(json.dumps(child(folder, kind, folder / f"_zarrbench_{kind}.npz")))
        return
    name = "S128" if args.quick else "S512"
    folder = ensure_scene(name)
    ensure_zarr(folder)
    maps_mb = sum((folder / f).stat().st_size for f in ("scores.mrc", "angles.mrc")) / 2**20
    zarr_mb = folder_mb(folder / "scores.zarr") + folder_mb(folder / "angles.zarr")
    reports = {kind: run_child(folder, kind) for kind in ("mrc", "zarr")}
    print(f"\nscene {name}: input maps {maps_mb:.0f} MB as MRC, {zarr_mb:.0f} MB as OME-Zarr (compressed)")
    print(f"{'maps':6s} {'time in call':>13s} {'particles':>10s} {'peak RSS':>10s} {'RSS / maps':>11s}")
    for kind, rep in reports.items():
        print(f"{kind:6s} {rep['seconds']:12.3f}s {rep['particles']:10d} {rep['maxrss_mb']:9.0f}M "
              f"{rep['maxrss_mb'] / maps_mb:10.2f}x")
    mrc, zarr = reports["mrc"], reports["zarr"]
    same = all(np.array_equal(mrc["result"][k], zarr["result"][k]) for k in ("xyz", "angles", "score"))
    print(f"identical particle lists: {same}; Zarr peak below the two maps' size: {zarr['maxrss_mb'] < maps_mb}")


if __name__ == "__main__":
    main()
