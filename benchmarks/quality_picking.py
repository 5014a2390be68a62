"""Benchmark: picking quality on realistic search scenes - the tophat filter and select's placement.

Scenes: :func:`cryotm.synthetic.make_search_scene` - a simulated tomogram
(correlated noise, copies of an asymmetric template at continuous random
rotations, gold beads and lipid membranes) searched with a real masked
normalised cross-correlation over a near-uniform list of 1,000 rotations.
Every figure is measured against the planted particles (one-to-one matching
within a quarter of the particle diameter; orientation error = angle between
the picked and the planted rotation, degrees).

Measured per scene, all at the same threshold (``far``, one false voxel
expected per search, from the search statistics a peer records; or the
rule of ``--threshold``, e.g. ``calibrated``):

- **tophat**: F1 of ``extract`` without and with ``tophat=True`` (the
  default ``tophat_mode="particle"``: a ball of a quarter of the diameter,
  tophat at least 0.35 of the peak's height) and with
  ``tophat_mode="pytom"`` (pytom-match-pick's filter, 1 false positive in
  the tophat histogram), and the oracle F1 of each (the best single score
  cut-off on the same suppressed candidate list, i.e. what a perfect
  threshold would reach). Two more scenes without gold or membranes (seeds
  200, 201) check that the filter keeps the particles where there is
  nothing to remove; they are left out of the means;
- **select**: F1 and median orientation error of ``extract`` and of
  ``select``: the default (placement at the peak's score maximum, no
  angular test, any peak region), the same with cryoCAT's 7-voxel peak
  regions, then with them and the ``neighbours`` test (at least 1 of the
  maximum's 26 neighbours holds its rotation, within half the list's step:
  the default until this change), with 3 agreeing neighbours (the default
  before that), cryoCAT's distance-map regions at the maximum
  (``angle_test="regions"``), cryoCAT's placement (``cryocat``), and the
  footprint test (``angle_test="footprint"``, ``angle_tolerance=10``, 2
  voxels). The selection's footprint is a sphere of the particle's radius.
  The summary also gives each method's median orientation error over the
  matched particles of all scenes pooled.

Usage: ``python benchmarks/quality_picking.py [--scenes N] [--size S] [--angles A] [--cache DIR]``;
writes ``benchmarks/results/quality_picking.json`` and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import pickle
import platform
import time
from pathlib import Path

import numpy as np

from cryotm.evaluation import match_particles
from cryotm.picking import PeakPicker, select_peaks
from cryotm.synthetic import make_search_scene

RESULTS = Path(__file__).parent / "results" / "quality_picking.json"


def scene_settings(n: int) -> list[dict]:
    """`n` scenes: 18 particles, both built-in templates, 6-10 gold beads, 1-2 membranes, 5-9 sigma."""
    return [
        dict(seed=100 + i, template=("blobs", "hook")[i % 2], gold=6 + 2 * (i % 3), membranes=1 + i % 2)
        for i in range(n)
    ]


#: Scenes without gold or membranes (the tophat filter must keep their particles).
CLEAN_SCENES = [
    dict(seed=200, template="blobs", gold=0, membranes=0),
    dict(seed=201, template="hook", gold=0, membranes=0),
]


def score(picks, scene, tolerance: float) -> dict:
    match = match_particles(picks, scene.truth, tolerance)
    errors = match.angular_errors
    return {
        "angle_errors": [round(float(e), 2) for e in errors],
        "n": len(picks),
        "f1": round(float(match.f1), 4),
        "precision": round(float(match.precision), 4),
        "recall": round(float(match.recall), 4),
        "median_angle_error": round(float(np.median(errors)), 2) if len(errors) else None,
        "median_distance": round(float(np.median(match.distances)), 2) if len(match.distances) else None,
    }


def oracle_f1(picks, scene, tolerance: float) -> float:
    """Best F1 over every score cut-off of a ranked particle list (highest score first)."""
    if len(picks) == 0:
        return 0.0
    match = match_particles(picks, scene.truth, tolerance)
    hit = np.zeros(len(picks), bool)
    hit[match.pairs[:, 0]] = True
    order = np.argsort(-picks.scores, kind="stable")
    tp = np.cumsum(hit[order])
    n = np.arange(1, len(picks) + 1)
    f1 = 2 * tp / (n + len(scene.truth))
    return round(float(f1.max()), 4)


def load_scene(settings: dict, size: int, n_angles: int, cache: Path | None):
    """The scene (searched now, or read from `cache` where an earlier run left it) and the search's seconds."""
    name = f"scene_{size}_{n_angles}_" + "_".join(f"{k}{v}" for k, v in sorted(settings.items())) + ".pickle"
    if cache is not None and (cache / name).is_file():
        with open(cache / name, "rb") as handle:
            return pickle.load(handle)
    clock = time.perf_counter()
    scene = make_search_scene(
        shape=(size,) * 3, n_particles=18, n_angles=n_angles, snr=(5.0, 9.0), keep_tomogram=False, **settings
    )
    made = time.perf_counter() - clock
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        with open(cache / name, "wb") as handle:
            pickle.dump((scene, made), handle)
    return scene, made


def run_scene(settings: dict, size: int, n_angles: int, cache: Path | None = None, rule: str = "far") -> dict:
    scene, made = load_scene(settings, size, n_angles, cache)
    d = float(scene.particle_diameter)
    tolerance = max(2.0, d / 4)
    maps = (scene.scores, scene.angle_map, scene.angles)
    out: dict = {"settings": settings, "particle_diameter": round(d, 2), "search_seconds": round(made, 1)}

    picker = PeakPicker(particle_diameter=d, threshold=rule)
    plain = picker.run(*maps, statistics=scene.statistics)
    threshold = plain.threshold.value
    tophat = PeakPicker(particle_diameter=d, threshold=rule, tophat=True).run(*maps, statistics=scene.statistics)
    pytom = PeakPicker(particle_diameter=d, threshold=rule, tophat=True, tophat_mode="pytom").run(
        *maps, statistics=scene.statistics
    )
    low = f"manual:{scene.statistics.mean + 3 * scene.statistics.std}"  # every candidate a cut-off could keep
    ranked = PeakPicker(particle_diameter=d, threshold=low).pick(*maps)
    ranked_tophat = PeakPicker(particle_diameter=d, threshold=low, tophat=True).pick(*maps)
    ranked_pytom = PeakPicker(particle_diameter=d, threshold=low, tophat=True, tophat_mode="pytom").pick(*maps)
    out["threshold"] = round(threshold, 4)
    out["extract"] = score(plain.particles, scene, tolerance)
    out["extract_tophat"] = score(tophat.particles, scene, tolerance)
    out["extract_tophat_pytom"] = score(pytom.particles, scene, tolerance)
    out["tophat_cutoff_pytom"] = round(pytom.filters["tophat"]["value"], 4) if "tophat" in pytom.filters else None
    out["oracle_f1"] = oracle_f1(ranked, scene, tolerance)
    out["oracle_f1_tophat"] = oracle_f1(ranked_tophat, scene, tolerance)
    out["oracle_f1_tophat_pytom"] = oracle_f1(ranked_pytom, scene, tolerance)

    # the same threshold, and the shape filter where extract's default ran it (a manual threshold would turn it off)
    common = dict(threshold=f"manual:{threshold}", template_radius=d / 2, shape_filter="peak_shape" in plain.filters)
    for name, options in {
        "select_maximum": dict(placement="maximum"),
        "select_maximum_min_peak_7": dict(placement="maximum", min_peak_voxel_count=7),
        "select_maximum_neighbours_1": dict(placement="maximum", angle_test="neighbours", min_peak_voxel_count=7),
        "select_maximum_agree_3": dict(placement="maximum", min_agreeing_neighbours=3, min_peak_voxel_count=7),
        "select_maximum_regions": dict(placement="maximum", angle_test="regions", min_peak_voxel_count=7),
        "select_cryocat": dict(placement="cryocat", shape_filter=False),
        "select_maximum_footprint": dict(angle_test="footprint", angle_tolerance=10, min_angles_voxel_count=2),
    }.items():
        clock = time.perf_counter()
        result = select_peaks(*maps, **{**common, **options})
        out[name] = score(result.particles, scene, tolerance) | {"seconds": round(time.perf_counter() - clock, 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--angles", type=int, default=1000)
    parser.add_argument("--cache", type=Path, help="keep the searched scenes here (pickles) and reuse them")
    parser.add_argument("--threshold", default="far",
                        help="threshold rule of every method (default far; another rule writes "
                        "quality_picking_<rule>.json)")
    args = parser.parse_args()
    rows, clean = [], []
    for settings in scene_settings(args.scenes) + CLEAN_SCENES:
        row = run_scene(settings, args.size, args.angles, args.cache, args.threshold)
        (clean if settings in CLEAN_SCENES else rows).append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "angle_errors"}))
    results = RESULTS if args.threshold == "far" else RESULTS.with_name(f"quality_picking_{args.threshold}.json")
    results.parent.mkdir(parents=True, exist_ok=True)
    methods = ("extract", "extract_tophat", "extract_tophat_pytom", "select_maximum", "select_maximum_min_peak_7",
               "select_maximum_neighbours_1", "select_maximum_agree_3", "select_maximum_regions", "select_cryocat",
               "select_maximum_footprint")
    pooled = {}
    for key in methods:
        errors = [e for r in rows for e in r[key]["angle_errors"]]
        pooled[key] = round(float(np.median(errors)), 2) if errors else None
    summary = {
        "machine": platform.platform(),
        "size": args.size,
        "n_angles": args.angles,
        "threshold": args.threshold,
        "scenes": rows,
        "mean": {
            key: round(float(np.mean([r[key]["f1"] if isinstance(r[key], dict) else r[key] for r in rows])), 4)
            for key in methods + ("oracle_f1", "oracle_f1_tophat", "oracle_f1_tophat_pytom")
        },
        "scenes_without_gold_or_membranes": clean,
        "pooled_median_angle_error": pooled,
    }
    results.write_text(json.dumps(summary, indent=1) + "\n")
    print("\nmean F1:", summary["mean"])
    print("pooled median orientation error:", pooled)
    print(f"wrote {results}")


if __name__ == "__main__":
    main()
