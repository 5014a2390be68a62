"""Benchmark: side-peak filter, larger suppression radius and tophat against the default extraction.

``python benchmarks/quality_sidepeaks.py`` reuses the cached scenes of
``benchmarks/quality.py`` (run that first; nothing is simulated here) and,
for the 12 sparse and 3 dense particle scenes, measures the F1 of the
default rule (``calibrated``) after each variant of the picker:

- ``base``: the default (suppression radius = particle diameter);
- ``side k/f``: the side-peak filter (``side_peak_distance = k`` diameters,
  ``side_peak_fraction = f``);
- ``radius 1.5``: suppression radius 1.5 diameters;
- ``tophat``: the tophat filter (particle mode).

Each variant changes the candidate list, so both ratios are given: to the
original oracle (best single threshold on the default candidate list, as in
``quality.py``) and to the variant's own oracle. Writes
``benchmarks/results/quality_sidepeaks.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality as q  # noqa: E402

RESULTS = q.RESULTS


def candidate_list(scores, angle_map, angles, diameter: float, **options):
    from cryotm.picking import PeakPicker

    floor = float(np.median(scores.data))
    return PeakPicker(particle_diameter=diameter, threshold=f"manual:{floor}", **options).pick(
        scores, angle_map, angles)


def variants(diameter: float, grid: bool) -> dict[str, dict]:
    out: dict[str, dict] = {"base": {}}
    pairs = [(2.0, 0.5), (2.0, 0.6), (2.5, 0.5)]
    if grid:
        pairs = [(k, f) for k in (1.5, 2.0, 2.5) for f in (0.5, 0.6, 0.7, 0.8)]
    for k, f in pairs:
        out[f"side {k:g}/{f:g}"] = dict(side_peaks=True, side_peak_distance=k, side_peak_fraction=f)
    out["radius 1.5"] = dict(radius=1.5 * diameter)
    out["tophat"] = dict(tophat=True)
    out["tophat + side 2/0.5"] = dict(tophat=True, side_peaks=True, side_peak_distance=2.0, side_peak_fraction=0.5)
    return out


def evaluate(name: str, grid: bool) -> dict:
    scores, angle_map, angles, truth, statistics = q.load(name)
    diameter = float(statistics["particle_diameter"])
    tolerance = diameter / 4
    threshold = q.thresholds(scores, angles, ("calibrated",), diameter)["calibrated"]
    row: dict = {"scene": name}
    for label, options in variants(diameter, grid).items():
        picks = candidate_list(scores, angle_map, angles, diameter, **options)
        f1, values = q.f1_curve(picks, truth, tolerance)
        row[label] = (q.f1_at(threshold, f1, values), float(f1.max()))
    base_oracle = row["base"][1]
    print(name, " ".join(f"{k}: {v[0] / base_oracle:.3f}" for k, v in row.items() if k != "scene"), flush=True)
    return row


def table(rows: list[dict], labels: list[str]) -> list[str]:
    lines = ["| scene | oracle | " + " | ".join(labels) + " |", "|---" * (len(labels) + 2) + "|"]
    ratios = {label: [r[label][0] / r["base"][1] for r in rows] for label in labels}
    for i, r in enumerate(rows):
        cells = [f"{ratios[label][i]:.3f} ({r[label][0]:.3f})" for label in labels]
        lines.append(f"| {r['scene']} | {r['base'][1]:.3f} | " + " | ".join(cells) + " |")
    lines.append("| mean | | " + " | ".join(f"{np.mean(ratios[label]):.3f}" for label in labels) + " |")
    lines.append("| smallest | | " + " | ".join(f"{np.min(ratios[label]):.3f}" for label in labels) + " |")
    lines.append("| own oracle (mean F1) | | " + " | ".join(
        f"{np.mean([r[label][1] for r in rows]):.3f}" for label in labels) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", action="store_true", help="every k in 1.5, 2, 2.5 and f in 0.5-0.8")
    parser.add_argument("--output", type=Path, default=RESULTS / "quality_sidepeaks.md")
    args = parser.parse_args(argv)
    names = [n for n in q.SCENE_SPECS if (q.scene_path(n) / "statistics.json").is_file()]
    rows = [evaluate(name, args.grid) for name in names]
    labels = [k for k in rows[0] if k != "scene"]
    sparse = [r for r in rows if r["scene"] not in q.DENSE_SPECS]
    dense = [r for r in rows if r["scene"] in q.DENSE_SPECS]
    lines = [
        "# Side peaks: F1 of the default rule (calibrated) after each picker variant",
        "",
        "Cell: ratio to the oracle of the default candidate list (as in quality.md), absolute F1 in brackets.",
        "side k/f: a peak within k diameters of a stronger kept peak and below f times its score is dropped.",
        "",
        "## Sparse scenes (30 particles in 96^3)",
        "",
        *table(sparse, labels),
        "",
        "## Dense scenes",
        "",
        *table(dense, labels),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
