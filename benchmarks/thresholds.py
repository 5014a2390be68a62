"""Benchmark: cryotm's threshold strategies on a synthetic scores map, triangle against cryoCAT.

Run ``python benchmarks/thresholds.py`` (a 512**3 map, as issue 3 states) or
``--quick`` for a 128**3 smoke run. cryoCAT's
``compute_scores_map_threshold_triangle`` runs in the same process on the same
map (handed to it transposed to x, y, z, as cryoCAT reads maps).

Peak memory is measured with ``tracemalloc``: the peak of Python/NumPy
allocations made during the call, above what was allocated before it (the
input map itself is not counted).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from cryotm import make_scene
from cryotm.thresholds import SearchStatistics, get_threshold_strategy


def timed(func, repeat: int = 1):
    """Best wall time of `repeat` calls, the last result, and the tracemalloc peak of one extra call (MB)."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, result, (peak - base) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="edge of the cubic map (default 512)")
    parser.add_argument("--quick", action="store_true", help="a 128**3 smoke run")
    parser.add_argument("--no-cryocat", action="store_true", help="skip the cryoCAT reference")
    args = parser.parse_args()
    n = 128 if args.quick else args.size
    n_angles = 1000

    start = time.perf_counter()
    scene = make_scene(shape=(n, n, n), n_peaks=max(10, n**3 // 300_000), n_angles=n_angles, seed=0)
    scores = scene.scores
    print(f"map {scores.shape} {scores.dtype} ({scores.nbytes / 2**20:.0f} MB), "
          f"{len(scene.truth)} planted peaks, made in {time.perf_counter() - start:.1f} s")
    stats = SearchStatistics(n_angles=n_angles)

    rows = []
    t_triangle, v_triangle, m_triangle = timed(lambda: get_threshold_strategy("triangle").compute(scores), repeat=3)
    ref = None
    if not args.no_cryocat:
        try:
            from cryocat import tmana
        except ImportError:
            print("cryoCAT is not installed: no reference")
        else:
            xyz = scores.transpose(2, 1, 0)
            t_ref, v_ref, m_ref = timed(lambda: float(tmana.compute_scores_map_threshold_triangle(xyz)))
            ref = (t_ref, v_ref, m_ref)
    rows.append(("triangle", t_triangle, v_triangle, m_triangle))
    for spec in ("sigma:3", "far", "hard"):
        strategy = get_threshold_strategy(spec)
        t, v, m = timed(lambda: strategy.compute(scores, statistics=stats), repeat=2)
        rows.append((spec, t, v, m))

    print()
    print(f"{'strategy':<10} {'cryotm s':>9} {'value':>12} {'peak MB':>8} {'cryoCAT s':>10} {'cryoCAT MB':>10} "
          f"{'ratio':>7} {'same value':>10}")
    for name, t, v, m in rows:
        if name == "triangle" and ref is not None:
            t_ref, v_ref, m_ref = ref
            print(f"{name:<10} {t:>9.3f} {v:>12.7g} {m:>8.0f} {t_ref:>10.2f} {m_ref:>10.0f} "
                  f"{t_ref / t:>6.1f}x {str(v == v_ref):>10}")
        else:
            print(f"{name:<10} {t:>9.3f} {v:>12.7g} {m:>8.0f} {'':>10} {'':>10} {'':>7} {'':>10}")
    print("\npeak MB: tracemalloc peak of the allocations during one call (the input map not counted)")
    print(f"far: noise std {scene.noise_std}, lowest planted peak {scene.truth.data['score'].min():.4g}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
