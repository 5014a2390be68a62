"""Benchmark: gold beads - found in the tomogram and masked out (``cryotm mask-beads``), against picking without.

``python benchmarks/quality_gold.py`` re-simulates the seven scenes of
``benchmarks/quality.py`` that hold gold beads (P01, P03, P06, P07, P09,
P10, P11: same seeds, templates, membranes and wedges) with two bead
densities:

- ``quality``: the beads of ``quality.py`` (20 noise standard deviations,
  ``make_search_scene``'s default), about as dense as the small built-in
  templates' particles, which is not realistic;
- ``dense``: 200 noise standard deviations - gold scatters many times more
  than protein, and in these scenes the particles' densest voxels reach
  4-30.

For each it runs ``find_gold_beads`` on the tomogram (bead radius 2.5,
default minimum contrast and separation) and reports the beads found and missed, then
the default extraction's F1 (``calibrated``) and its ratio to the oracle
(the best single threshold on the same candidates) three ways: on the maps
as they are, with the mask ``cryotm mask-beads`` writes (zero within the
bead radius plus half a particle diameter of each bead found), and with the
same mask around the planted beads (a perfect finder). The scenes are cached
in ``benchmarks/_scenes/quality_gold/`` (git-ignored, about 15 s each to
simulate); results go to ``benchmarks/results/quality_gold.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.fspath(HERE))

import quality  # noqa: E402  (the scene specifications and the F1 machinery)

SCENES = HERE / "_scenes" / "quality_gold"
RESULTS = HERE / "results"
BEAD_RADIUS = 2.5
DENSITIES = {"quality": 20.0, "dense": 200.0}


def scene_names() -> list[str]:
    return [name for name, spec in quality.SCENE_SPECS.items() if spec.get("gold") and name.startswith("P")]


def ensure_scene(name: str, density: str) -> Path:
    """Simulate (once) the scene `name` of quality.py with beads of `density`, keeping the tomogram."""
    from cryotm.maps import write_map
    from cryotm.synthetic import make_search_scene

    folder = SCENES / f"{name}_{density}"
    if (folder / "tomogram.mrc").is_file():
        return folder
    spec = dict(quality.SCENE_SPECS[name])
    shape = tuple(spec.pop("shape", quality.SHAPE))
    start = time.perf_counter()
    scene = make_search_scene(shape=shape, n_angles=quality.N_ANGLES, gold_contrast=DENSITIES[density], **spec)
    scene.write(folder, overwrite=True)
    write_map(folder / "tomogram.mrc", scene.tomogram, pixel_size=scene.pixel_size, overwrite=True)
    print(f"simulated {name} ({density} beads) in {time.perf_counter() - start:.0f} s", flush=True)
    return folder


def load(folder: Path):
    import pandas as pd

    from cryotm.angles import AngleList
    from cryotm.maps import AngleMap, ScoresMap, read_map
    from cryotm.particles import ParticleList

    scores = ScoresMap.read(folder / "scores.mrc")
    truth = ParticleList(pd.read_csv(folder / "truth.csv"), tomogram_shape=scores.shape)
    return (
        scores, AngleMap.read(folder / "angles.mrc"), AngleList.read(folder / "angles.csv"), truth,
        json.loads((folder / "statistics.json").read_text()), json.loads((folder / "distractors.json").read_text()),
        read_map(folder / "tomogram.mrc", mmap=True)[0],
    )


def default_f1(scores, angle_map, angles, truth, diameter: float, mask=None) -> tuple[float, float]:
    """F1 of the default extraction and the oracle F1 on the same (masked) candidates."""
    from cryotm.evaluation import match_particles
    from cryotm.picking import PeakPicker

    picks = PeakPicker(particle_diameter=diameter).pick(scores, angle_map, angles, tomo_mask=mask)
    floor = float(np.median(scores.data))
    candidates = PeakPicker(particle_diameter=diameter, threshold=f"manual:{floor}").pick(
        scores, angle_map, angles, tomo_mask=mask
    )
    f1, _ = quality.f1_curve(candidates, truth, diameter / 4)
    return match_particles(picks, truth, tolerance=diameter / 4).f1, float(f1.max())


def evaluate(name: str, density: str) -> dict:
    from scipy.spatial import cKDTree

    from cryotm.beads import bead_exclusion_mask, find_gold_beads

    scores, angle_map, angles, truth, statistics, distractors, tomogram = load(ensure_scene(name, density))
    diameter = float(statistics["particle_diameter"])
    planted = np.asarray(distractors["gold"], dtype=float).reshape(-1, 3)
    beads = find_gold_beads(tomogram, BEAD_RADIUS)
    found = cKDTree(beads.positions).query(planted)[0] <= 1.5 if len(beads) else np.zeros(len(planted), bool)
    spurious = int(np.sum(cKDTree(planted).query(beads.positions)[0] > 1.5)) if len(beads) else 0
    radius = BEAD_RADIUS + diameter / 2
    row = {"scene": name, "density": density, "beads": len(planted), "found": int(found.sum()), "spurious": spurious,
           "weakest bead": float(beads.contrast.min()) if len(beads) else None, "next": beads.next_contrast}
    for label, mask in (
        ("maps", None),
        ("mask-beads", bead_exclusion_mask(scores.shape, beads.positions, radius) if len(beads) else None),
        ("planted", bead_exclusion_mask(scores.shape, planted, radius)),
    ):
        f1, oracle = default_f1(scores, angle_map, angles, truth, diameter, mask)
        row[label] = f1
        row[f"{label} oracle"] = oracle
    print(name, density, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    return row


def report(rows: list[dict]) -> str:
    lines = [
        "# Gold beads: found in the tomogram and masked out",
        "",
        "Scenes of `quality.py` with gold (96^3, 1000 rotations, 30 particles), beads of 20 (as there) or 200 noise "
        "standard deviations. Finder: `find_gold_beads(bead_radius=2.5)` (defaults: spots from 10 robust SDs up, "
        "beads above the largest density break of 2x or more); found = within 1.5 voxels of a planted bead. F1 of "
        "the default extraction (the `calibrated` threshold, then the shape filter) and, in brackets, its ratio to "
        "the oracle on the same candidates: on the maps as they are, with the mask of the beads found "
        "(what `cryotm mask-beads` writes) and with the same mask around the planted beads.",
        "",
        "| scene | beads | found | spurious | weakest bead / next spot (robust SD) | maps | mask-beads | planted |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        contrast = "-" if r["weakest bead"] is None else f"{r['weakest bead']:.0f} / {r['next']:.1f}"
        cells = [f"{r[k]:.3f} ({r[k] / r[k + ' oracle']:.3f})" for k in ("maps", "mask-beads", "planted")]
        lines.append(f"| {r['scene']} {r['density']} | {r['beads']} | {r['found']} | {r['spurious']} | {contrast} | "
                     + " | ".join(cells) + " |")
    for density in DENSITIES:
        sel = [r for r in rows if r["density"] == density]
        if sel:
            means = {k: np.mean([r[k] for r in sel]) for k in ("maps", "mask-beads", "planted")}
            ratios = {k: np.mean([r[k] / r[k + " oracle"] for r in sel]) for k in means}
            lines.append(f"| mean, {density} | {sum(r['beads'] for r in sel)} | {sum(r['found'] for r in sel)} | "
                         f"{sum(r['spurious'] for r in sel)} | | "
                         + " | ".join(f"{means[k]:.3f} ({ratios[k]:.3f})" for k in means) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, help="number of gold scenes (default all 7)")
    parser.add_argument("--output", type=Path, default=RESULTS / "quality_gold.md")
    args = parser.parse_args(argv)
    names = scene_names()[: args.scenes]
    rows = [evaluate(name, density) for density in DENSITIES for name in names]
    quality.write_results(args.output, report(rows), rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
