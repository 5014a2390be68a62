"""Benchmark of ``cryotm batch``: 16 scenes of 256^3, two worker processes against one.

Generates the scenes with the built-in generator (into a temporary folder,
removed afterwards), then runs the same batch - far threshold, PeakPicker
with diameter 12, STOPGAP star output, merged list - once with ``workers=1``
(in-process) and once with ``workers=2`` (worker processes), each in a fresh
Python process so that peak memory is measured per configuration. Prints wall
time, the speed-up of 2 workers over 1, the peak resident memory of the main
process and of the largest worker, and checks that both runs wrote the same
particles. A third, optional run (``--dask``) uses a local Dask cluster of
two worker processes.

Usage::

    python benchmarks/batch.py            # 16 x 256^3 (about 2 GB of maps on disk)
    python benchmarks/batch.py --quick    # 4 x 96^3 smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def cpu_ceiling(n: int = 4, size: int = 4_000_000) -> float:
    """Speed-up of 2 processes over 1 on pure CPU work: the most this machine allows."""
    from concurrent.futures import ProcessPoolExecutor

    start = time.perf_counter()
    for _ in range(n):
        _spin(size)
    one = time.perf_counter() - start
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_spin, [10] * 2))
        start = time.perf_counter()
        list(pool.map(_spin, [size] * n))
        two = time.perf_counter() - start
    return one / two


def make_scenes(folder: Path, n: int, size: int, peaks: int) -> Path:
    from cryotm import make_scene

    lines = ["name,scores,angles,angle_list,tomo_id"]
    for i in range(n):
        scene = make_scene(shape=(size,) * 3, n_peaks=peaks, n_angles=1000, seed=100 + i, min_distance=14)
        paths = scene.write(folder / f"tomo_{i:02d}")
        lines.append(f"tomo_{i:02d},{paths['scores']},{paths['angles']},{paths['angle_list']},{i + 1}")
        del scene
    table = folder / "tomograms.csv"
    table.write_text("\n".join(lines) + "\n")
    return table


def run_one(table: str, out: str, workers: int, scheduler: str) -> None:
    """Run one configuration (in this process) and print its figures as JSON."""
    from cryotm.batch import read_table, run_batch
    from cryotm.picking import PeakPicker
    from cryotm.pipeline import Pipeline

    pipeline = Pipeline(PeakPicker(particle_diameter=12), threshold="far", writer="stopgap")
    tasks = read_table(table)
    cluster = client = None
    if scheduler == "dask":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    start = time.perf_counter()
    summary = run_batch(pipeline, tasks, out, workers=workers, scheduler=client, resume=False, progress="off")
    seconds = time.perf_counter() - start
    worker_peak = 0.0
    if client is not None:
        worker_peak = max(client.run(peak_rss_mb).values())
        client.close()
        cluster.close()
    main_peak = peak_rss_mb()
    # forked pool workers: ru_maxrss of the largest (it counts the pages shared with this process at the fork)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "ok": summary.ok,
                "particles": summary.merged_count,
                "main_peak_mb": main_peak,
                "worker_peak_mb": max(children, worker_peak),
                "failed": [o.error for o in summary.failed],
            }
        )
    )


def measure(table: Path, out: Path, workers: int, scheduler: str = "") -> dict:
    command = [sys.executable, __file__, "--run-one", os.fspath(table), os.fspath(out), str(workers), scheduler]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def same_outputs(a: Path, b: Path) -> bool:
    def content(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if not line.startswith("#")]

    names = sorted(p.name for p in a.glob("*.star"))
    return names == sorted(p.name for p in b.glob("*.star")) and all(content(a / n) == content(b / n) for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 scenes of 96^3 (smoke run)")
    parser.add_argument("--scenes", type=int, help="number of scenes (default 16)")
    parser.add_argument("--size", type=int, help="edge of each cubic scene (default 256)")
    parser.add_argument("--dask", action="store_true", help="also run on a local Dask cluster of 2 worker processes")
    parser.add_argument("--run-one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        table, out, workers, scheduler = args.run_one
        run_one(table, out, int(workers), scheduler)
        return
    n = args.scenes or (4 if args.quick else 16)
    size = args.size or (96 if args.quick else 256)
    peaks = max(10, int(300 * (size / 256) ** 3))
    folder = Path(tempfile.mkdtemp(prefix="cryotm-bench-batch-"))
    try:
        start = time.perf_counter()
        table = make_scenes(folder / "scenes", n, size, peaks)
        print(f"{n} scenes of {size}^3 ({peaks} peaks, 1000 angles each) made in {time.perf_counter() - start:.0f} s")
        rows = [("1 worker (in-process)", measure(table, folder / "w1", 1))]
        rows.append(("2 worker processes", measure(table, folder / "w2", 2)))
        if args.dask:
            rows.append(("Dask LocalCluster, 2 processes", measure(table, folder / "dask", 1, "dask")))
        base = rows[0][1]["seconds"]
        ceiling = cpu_ceiling()
        map_mb = size**3 * 4 / 2**20
        print(f"\n{'configuration':32s} {'seconds':>8s} {'speed-up':>9s} {'main peak MB':>13s} {'worker peak MB':>15s} {'particles':>10s}")
        for name, row in rows:
            print(
                f"{name:32s} {row['seconds']:8.1f} {base / row['seconds']:8.2f}x {row['main_peak_mb']:13.0f} "
                f"{row['worker_peak_mb']:15.0f} {row['particles']:10d}"
            )
        print(f"\npure-CPU speed-up of 2 processes over 1 on this machine right now: {ceiling:.2f}x (the ceiling)")
        print(f"(one scores map is {map_mb:.0f} MB; outputs identical between runs: "
              f"{all(same_outputs(folder / 'w1', folder / d) for d in ['w2'] + (['dask'] if args.dask else []))})")
        if not all(row["ok"] for _, row in rows):
            print("some runs failed:", [row["failed"] for _, row in rows])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
