"""Benchmark: picking quality of the threshold rules on realistic template-matching searches.

``python benchmarks/quality.py`` simulates (once; cached in
``benchmarks/_scenes/quality/``, git-ignored) realistic searches with
:func:`cryotm.synthetic.make_search_scene` - 96**3 tomograms searched over
1,000 rotations with a masked normalised cross-correlation - and measures:

1. **Particle scenes** (12): two template shapes, weakest particles from about
   4 to 9 standard deviations of the search statistics, with and without
   membranes, gold beads and a missing wedge. For each scene, the F1 of the
   picks (matched to the planted truth within a quarter of the particle
   diameter) of the default extraction (the ``calibrated`` threshold, then
   the shape filter), of every threshold rule alone - ``calibrated``, ``far``,
   ``sigma:3``, ``triangle`` - and of cryoCAT's default extraction
   (``scores_extract_particles`` with its default triangle threshold) if
   cryoCAT is importable, against the oracle: the best F1 any single score
   threshold reaches on the same candidate list (the picker's list after
   suppression with a threshold below every score).
2. **Noise-only searches** (24): the number of particles each rule keeps (all
   false) against the number it declares: ``calibrated:1`` and
   ``calibrated:10`` (false peaks per tomogram) and ``far:1``.

It writes the tables to ``benchmarks/results/quality.md`` (``--output``).
``--quick`` runs 4 particle scenes and 6 noise scenes; ``--scenes`` and
``--noise`` choose how many. ``--timing`` times one 128**3 search over 1,000
rotations instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SCENES = HERE / "_scenes" / "quality"
RESULTS = HERE / "results"
SHAPE = (96, 96, 96)
N_ANGLES = 1000
N_PARTICLES = 30

#: particle scenes: name -> make_search_scene parameters (besides shape, angles and the seed)
SCENE_SPECS: dict[str, dict] = {}
for _i, (_weakest, _template, _membranes, _gold, _wedge) in enumerate(
    [
        (4, "blobs", 0, 0, None),
        (4, "hook", 2, 4, 60),
        (5, "hook", 0, 0, None),
        (5, "blobs", 1, 3, 60),
        (6, "blobs", 0, 0, 60),
        (6, "hook", 2, 0, None),
        (7, "hook", 0, 4, 60),
        (7, "blobs", 2, 4, None),
        (8, "blobs", 1, 0, None),
        (8, "hook", 0, 3, 60),
        (9, "hook", 1, 2, None),
        (9, "blobs", 2, 4, 60),
    ]
):
    SCENE_SPECS[f"P{_i:02d}"] = dict(
        seed=100 + _i,
        template=_template,
        snr=(float(_weakest), float(_weakest + 4)),
        membranes=_membranes,
        gold=_gold,
        tilt_range=_wedge,
        n_particles=N_PARTICLES,
    )
#: dense particle scenes (hundreds of particles per tomogram, as ribosomes in a cell): the top-ranked local maxima
#: are then mostly particles; chosen before the rule was changed for them, not tuned on
DENSE_SPECS: dict[str, dict] = {
    "D00": dict(seed=300, template="blobs", snr=(5.0, 9.0), membranes=0, gold=0, tilt_range=None, n_particles=80,
                min_distance=13.0),
    "D01": dict(seed=301, template="hook", snr=(5.0, 9.0), membranes=1, gold=2, tilt_range=60, n_particles=100,
                min_distance=16.0, shape=(128, 128, 128)),
    "D02": dict(seed=302, template="blobs", snr=(4.0, 8.0), membranes=0, gold=3, tilt_range=60, n_particles=150,
                min_distance=13.0, shape=(128, 128, 128)),
}
SCENE_SPECS.update(DENSE_SPECS)
#: noise-only scenes: name -> parameters
NOISE_SPECS: dict[str, dict] = {
    f"N{_i:02d}": dict(
        seed=200 + _i,
        template=("blobs", "hook")[_i % 2],
        tilt_range=(None, 60)[(_i // 2) % 2],
        n_particles=0,
    )
    for _i in range(24)
}


def scene_path(name: str) -> Path:
    return SCENES / name


def ensure_scene(name: str, spec: dict) -> Path:
    """Simulate and write the scene unless it is cached."""
    from cryotm.synthetic import make_search_scene

    folder = scene_path(name)
    if (folder / "statistics.json").is_file() and (folder / "distractors.json").is_file():
        return folder
    start = time.perf_counter()
    spec = dict(spec)
    shape = tuple(spec.pop("shape", SHAPE))
    scene = make_search_scene(shape=shape, n_angles=N_ANGLES, keep_tomogram=False, **spec)
    scene.write(folder, overwrite=True)
    (folder / "spec.json").write_text(json.dumps({**spec, "shape": list(shape)}) + "\n")
    print(f"simulated {name} in {time.perf_counter() - start:.0f} s", flush=True)
    return folder


RULES = ("calibrated", "far", "sigma:3", "triangle")
NOISE_RULES = ("calibrated:1", "calibrated:10", "far:1")


def load(name: str):
    """Scores, angle map, angle list, truth, statistics of a cached scene."""
    import pandas as pd

    from cryotm.angles import AngleList
    from cryotm.maps import AngleMap, ScoresMap
    from cryotm.particles import ParticleList

    folder = scene_path(name)
    scores = ScoresMap.read(folder / "scores.mrc")
    angle_map = AngleMap.read(folder / "angles.mrc")
    angles = AngleList.read(folder / "angles.csv")
    frame = pd.read_csv(folder / "truth.csv")
    truth = ParticleList(frame, tomogram_shape=scores.shape) if len(frame) else ParticleList.empty()
    statistics = json.loads((folder / "statistics.json").read_text())
    return scores, angle_map, angles, truth, statistics


def candidates(scores, angle_map, angles, diameter: float):
    """The picker's candidate list: every suppressed peak above the map's median, highest first."""
    from cryotm.picking import PeakPicker

    floor = float(np.median(scores.data))
    return PeakPicker(particle_diameter=diameter, threshold=f"manual:{floor}").pick(scores, angle_map, angles)


def default_extraction(scores, angle_map, angles, truth, diameter: float):
    """``extract``'s default (``calibrated`` and the shape filter): its F1, picks and the picker's result."""
    from cryotm.evaluation import match_particles
    from cryotm.picking import PeakPicker

    result = PeakPicker(particle_diameter=diameter).run(scores, angle_map, angles)
    return float(match_particles(result.particles, truth, tolerance=diameter / 4).f1), result


def thresholds(scores, angles, rules, diameter: float) -> dict[str, float]:
    """Each rule's threshold, computed as the picker computes it (statistics: the angle count only)."""
    from cryotm.thresholds import SearchStatistics, get_threshold_strategy

    statistics = SearchStatistics(n_angles=len(angles))
    values = {}
    for rule in rules:
        strategy = get_threshold_strategy(rule)
        if callable(getattr(strategy, "with_particle_diameter", None)):  # as PeakPicker does
            strategy = strategy.with_particle_diameter(diameter)
        values[rule] = strategy.evaluate(scores, statistics=statistics).value
    return values


def f1_curve(picks, truth, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """F1 of every prefix of the (score-sorted) candidates: picks above each possible threshold."""
    from cryotm.evaluation import match_particles

    match = match_particles(picks, truth, tolerance=tolerance)
    hit = np.zeros(len(picks), dtype=bool)
    hit[match.pairs[:, 0]] = True
    true_positives = np.cumsum(hit)
    k = np.arange(1, len(picks) + 1)
    f1 = 2 * true_positives / (k + len(truth))
    return np.concatenate([[0.0], f1]), picks.scores


def f1_at(threshold: float, f1: np.ndarray, scores: np.ndarray) -> float:
    return float(f1[int(np.sum(scores > threshold))])


def cryocat_f1(name: str, diameter: float, truth, tolerance: float) -> float | None:
    """F1 of cryoCAT's default extraction (triangle threshold), or None without cryoCAT."""
    try:
        import cryocat.tmana as tmana
    except Exception:  # noqa: BLE001 - any failure to import means: not available
        return None
    from cryotm.evaluation import match_particles
    from cryotm.particles import ParticleList

    folder = scene_path(name)
    motl = tmana.scores_extract_particles(
        str(folder / "scores.mrc"), str(folder / "angles.mrc"), str(folder / "angles.csv"),
        tomo_id=1, particle_diameter=diameter, output_path=None,
    )
    if motl is None:
        return 0.0
    picks = ParticleList.from_arrays(motl.df[["x", "y", "z"]].to_numpy(float) - 1)  # cryoCAT: index + 1
    return match_particles(picks, truth, tolerance=tolerance).f1


#: a false pick this close to a bead centre (voxels) is the bead's; this close to a membrane's mid-plane, the membrane's
GOLD_DISTANCE = 6.0
MEMBRANE_DISTANCE = 4.0
CAUSES = ("gold", "membrane", "elsewhere")


def false_pick_causes(positions: np.ndarray, name: str) -> list[str]:
    """Why each false pick (0-based x, y, z) is there: the nearest planted thing that explains it.

    ``gold`` within :data:`GOLD_DISTANCE` of a bead, ``membrane`` within
    :data:`MEMBRANE_DISTANCE` of a membrane's mid-plane, else ``elsewhere``:
    noise or a side peak of a particle - the two cannot be told apart by
    position, as 95-100 % of these scenes' volume lies within two diameters
    of a particle.
    """
    record = json.loads((scene_path(name) / "distractors.json").read_text())
    gold = np.asarray(record["gold"], dtype=float).reshape(-1, 3)
    causes = []
    for p in np.asarray(positions, dtype=float).reshape(-1, 3):
        if len(gold) and np.min(np.linalg.norm(gold - p, axis=1)) <= GOLD_DISTANCE:
            causes.append("gold")
        elif any(abs(np.dot(p - np.asarray(m["point"]), m["normal"])) <= MEMBRANE_DISTANCE for m in record["membranes"]):
            causes.append("membrane")
        else:
            causes.append("elsewhere")
    return causes


def evaluate_scene(name: str, with_cryocat: bool = True) -> dict:
    scores, angle_map, angles, truth, statistics = load(name)
    diameter = float(statistics["particle_diameter"])
    tolerance = diameter / 4
    picks = candidates(scores, angle_map, angles, diameter)
    f1, values = f1_curve(picks, truth, tolerance)
    row = {"scene": name, **{k: SCENE_SPECS[name][k] for k in ("template", "membranes", "gold", "tilt_range")}}
    z = truth.data["score"].to_numpy() / statistics["std"]
    row["weakest_z"] = float(np.sort(z)[2])  # the third weakest particle's score / std (robust to one outlier)
    row["oracle"] = float(f1.max())
    row["oracle_threshold"] = float(values[int(np.argmax(f1)) - 1]) if np.argmax(f1) > 0 else float("inf")
    for rule, value in thresholds(scores, angles, RULES, diameter).items():
        row[rule] = f1_at(value, f1, values)
        row[f"{rule} threshold"] = value
    row["cryocat"] = cryocat_f1(name, diameter, truth, tolerance) if with_cryocat else None
    row["default"], result = default_extraction(scores, angle_map, angles, truth, diameter)
    row["shape dropped"] = int(result.filters.get("peak_shape", {}).get("dropped", 0))
    # the default's false picks by cause, and what removing the gold candidates (knowing the truth) would give
    from cryotm.evaluation import match_particles

    hit = np.zeros(len(picks), dtype=bool)
    hit[match_particles(picks, truth, tolerance=tolerance).pairs[:, 0]] = True
    positions = picks.data[["x", "y", "z"]].to_numpy(float)
    chosen = {tuple(p) for p in result.particles.data[["x", "y", "z"]].to_numpy(float)}
    kept = np.array([tuple(p) in chosen for p in positions], dtype=bool)  # the default's picks among the candidates
    causes = np.array(false_pick_causes(positions, name))
    row["missed"] = int(len(truth) - np.sum(hit & kept))
    for cause in CAUSES:
        row[f"false {cause}"] = int(np.sum(kept & ~hit & (causes == cause)))
    # select's default against extract's: F1 and orientation error (both calibrated, with the shape filter)
    from cryotm.picking import select_peaks

    selected = select_peaks(scores, angle_map, angles, template_radius=diameter / 2).particles
    for label, chosen in (("extract", result.particles), ("select", selected)):
        match = match_particles(chosen, truth, tolerance=tolerance)
        row[f"{label} f1"] = float(match.f1)
        row[f"{label} angle errors"] = [float(e) for e in match.angular_errors]
    no_gold = picks.with_data(picks.data[causes != "gold"].reset_index(drop=True))
    f1_no_gold, values_no_gold = f1_curve(no_gold, truth, tolerance)
    row["no-gold oracle"] = float(f1_no_gold.max())
    row["no-gold calibrated"] = f1_at(row["calibrated threshold"], f1_no_gold, values_no_gold)
    print(f"{name}: oracle {row['oracle']:.3f}, default {row['default']:.3f}, calibrated {row['calibrated']:.3f}, "
          f"far {row['far']:.3f}", flush=True)
    return row


def evaluate_noise(name: str) -> dict:
    scores, angle_map, angles, _, statistics = load(name)
    diameter = float(statistics["particle_diameter"])
    picks = candidates(scores, angle_map, angles, diameter)
    row = {"scene": name, "template": NOISE_SPECS[name]["template"], "tilt_range": NOISE_SPECS[name]["tilt_range"]}
    for rule, value in thresholds(scores, angles, NOISE_RULES, diameter).items():
        row[rule] = int(np.sum(picks.scores > value))
    print(name, {k: row[k] for k in NOISE_RULES}, flush=True)
    return row


def scene_table(rows: list[dict]) -> list[str]:
    """The F1 table of particle scenes, with its mean row and the smallest and mean ratios."""
    lines = [
        "| scene | particles | template | membranes | gold | wedge | weakest (z) | oracle | default | ratio | "
        "shape filter dropped | calibrated threshold alone | far | sigma:3 | triangle | cryoCAT default |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for r in rows:
        ratio = r["default"] / r["oracle"] if r["oracle"] else float("nan")
        ratios.append(ratio)
        cryocat = "n/a" if r["cryocat"] is None else f"{r['cryocat']:.3f}"
        wedge = "-" if r["tilt_range"] is None else f"+-{r['tilt_range']}"
        spec = SCENE_SPECS[r["scene"]]
        size = "x".join(str(n) for n in spec.get("shape", SHAPE)[:1]) + "^3"
        lines.append(
            f"| {r['scene']} | {spec['n_particles']} in {size} | {r['template']} | {r['membranes']} | {r['gold']} | "
            f"{wedge} | {r['weakest_z']:.1f} | {r['oracle']:.3f} | {r['default']:.3f} | {ratio:.3f} | "
            f"{r['shape dropped']} | {r['calibrated']:.3f} | {r['far']:.3f} | {r['sigma:3']:.3f} | "
            f"{r['triangle']:.3f} | {cryocat} |"
        )
    if rows:
        keys = ("oracle", "default", "calibrated", "far", "sigma:3", "triangle")
        mean = {k: np.mean([r[k] for r in rows]) for k in keys}
        lines.append(
            f"| mean | | | | | | | {mean['oracle']:.3f} | {mean['default']:.3f} | {np.mean(ratios):.3f} | "
            f"{sum(r['shape dropped'] for r in rows)} | {mean['calibrated']:.3f} | {mean['far']:.3f} | "
            f"{mean['sigma:3']:.3f} | {mean['triangle']:.3f} | |"
        )
        lines += ["", f"Smallest ratio: {min(ratios):.3f}; mean ratio: {np.mean(ratios):.3f}."]
    return lines


def causes_table(rows: list[dict]) -> list[str]:
    """The default's errors by cause, and its F1 with the gold candidates removed by the truth (an upper bound)."""
    lines = [
        "| scene | gold | membranes | missed | false: gold | false: membrane | false: elsewhere | F1 | "
        "calibrated without gold | its oracle | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["no-gold calibrated"] / r["no-gold oracle"] if r["no-gold oracle"] else float("nan")
        lines.append(
            f"| {r['scene']} | {r['gold']} | {r['membranes']} | {r['missed']} | "
            + " | ".join(str(r[f"false {c}"]) for c in CAUSES)
            + f" | {r['default']:.3f} | {r['no-gold calibrated']:.3f} | {r['no-gold oracle']:.3f} | {ratio:.3f} |"
        )
    if rows:
        total = {c: sum(r[f"false {c}"] for r in rows) for c in CAUSES}
        ratios = [r["no-gold calibrated"] / r["no-gold oracle"] for r in rows if r["no-gold oracle"]]
        lines.append(
            f"| all | | | {sum(r['missed'] for r in rows)} | "
            + " | ".join(str(total[c]) for c in CAUSES)
            + f" | {np.mean([r['default'] for r in rows]):.3f} | "
            f"{np.mean([r['no-gold calibrated'] for r in rows]):.3f} | "
            f"{np.mean([r['no-gold oracle'] for r in rows]):.3f} | {np.mean(ratios):.3f} |"
        )
    return lines


def select_table(rows: list[dict]) -> list[str]:
    """select (default mode) against extract at the default threshold: F1 and median orientation error."""
    lines = [
        "| scene | extract F1 | select F1 | extract median angle error (deg) | select median angle error (deg) |",
        "|---|---|---|---|---|",
    ]

    def median(values: list[float]) -> str:
        return f"{np.median(values):.1f}" if values else "-"

    for r in rows:
        lines.append(f"| {r['scene']} | {r['extract f1']:.3f} | {r['select f1']:.3f} | "
                     f"{median(r['extract angle errors'])} | {median(r['select angle errors'])} |")
    if rows:
        pooled = {k: [e for r in rows for e in r[f"{k} angle errors"]] for k in ("extract", "select")}
        lines.append(f"| mean F1; pooled median error | {np.mean([r['extract f1'] for r in rows]):.3f} | "
                     f"{np.mean([r['select f1'] for r in rows]):.3f} | {median(pooled['extract'])} | "
                     f"{median(pooled['select'])} |")
    return lines


def report(rows: list[dict], noise_rows: list[dict]) -> str:
    sparse = [r for r in rows if r["scene"] not in DENSE_SPECS]
    dense = [r for r in rows if r["scene"] in DENSE_SPECS]
    lines = [
        f"# Picking quality on realistic searches ({SHAPE[0]}^3, {N_ANGLES} rotations, {N_PARTICLES} particles)",
        "",
        "F1 against the planted particles (within a quarter of the particle diameter); oracle: the best single",
        "threshold on the same candidate list; default: `extract`'s default (the `calibrated` threshold, then the",
        "shape filter, which drops peaks broader than the highest half's); ratio: default / oracle.",
        "",
        *scene_table(sparse),
    ]
    lines += [
        "",
        "## What the default gets wrong, by cause",
        "",
        f"The default extraction's particles missed, and its false picks traced to a gold bead (within "
        f"{GOLD_DISTANCE:g} voxels of its centre), a membrane (within {MEMBRANE_DISTANCE:g} voxels of its mid-plane) "
        "or elsewhere (noise or a side peak of a particle: 95-100 % of these volumes lie within two diameters of "
        "a particle, so position cannot tell them apart; `calibrated` declares one noise peak per tomogram). The last "
        "columns remove the candidates at gold beads using the truth (what a perfect bead filter would give) and "
        "recompute the `calibrated` threshold's F1 (no shape filter), the oracle and their ratio.",
        "",
        *causes_table(sparse),
    ]
    lines += [
        "",
        "## select (default mode) against extract",
        "",
        "`select_peaks` with its defaults (`calibrated`, placement at the score maximum, no angular test, any peak "
        "region, the shape filter) against `extract`'s default; orientation error: the angle between "
        "the picked and the planted rotation of each matched particle.",
        "",
        *select_table(sparse),
    ]
    if dense:
        lines += [
            "",
            f"## Dense scenes ({len(dense)}): up to 150 particles per tomogram, {N_ANGLES} rotations",
            "",
            *scene_table(dense),
        ]
    lines += [
        "",
        f"## Noise-only searches ({len(noise_rows)} scenes): false particles kept against the number declared",
        "",
        "| rule | declared per tomogram | mean kept | ratio | min | max |",
        "|---|---|---|---|---|---|",
    ]
    for rule in NOISE_RULES:
        kept = np.array([r[rule] for r in noise_rows], dtype=float)
        declared = float(rule.split(":")[1])
        lines.append(
            f"| {rule} | {declared:g} | {kept.mean():.2f} | {kept.mean() / declared:.2f} | {kept.min():g} | "
            f"{kept.max():g} |"
        )
    return "\n".join(lines) + "\n"


def write_results(output: Path, text: str, data) -> None:
    """Print the markdown tables and write them to `output`, with `data` as JSON beside them (``.json``)."""
    print(text)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    output.with_suffix(".json").write_text(json.dumps(data, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 particle scenes and 6 noise scenes")
    parser.add_argument("--scenes", type=int, help="number of particle scenes (default all 12)")
    parser.add_argument("--noise", type=int, help="number of noise scenes (default all 24)")
    parser.add_argument("--generate-only", action="store_true", help="simulate the scenes and stop")
    parser.add_argument("--timing", action="store_true",
                        help="time one 128^3 search over 1,000 rotations (30 particles, a membrane, gold, wedge) and stop")
    parser.add_argument("--no-cryocat", action="store_true", help="skip cryoCAT's extraction")
    parser.add_argument("--output", type=Path, default=RESULTS / "quality.md", help="the results table (markdown)")
    args = parser.parse_args(argv)
    if args.timing:
        from cryotm.synthetic import make_search_scene, masked_ncc_search

        start = time.perf_counter()
        scene = make_search_scene(shape=(128, 128, 128), n_particles=30, n_angles=1000, seed=1, membranes=1, gold=3,
                                  tilt_range=60)
        total = time.perf_counter() - start
        start = time.perf_counter()
        masked_ncc_search(scene.tomogram, scene.template, scene.angles.rotations())
        search = time.perf_counter() - start
        print(f"make_search_scene 128^3, 1000 rotations: {total:.1f} s in all, {search:.1f} s for the search alone")
        return 0
    n_scenes = args.scenes if args.scenes is not None else (4 if args.quick else len(SCENE_SPECS))
    n_noise = args.noise if args.noise is not None else (6 if args.quick else len(NOISE_SPECS))
    scenes = list(SCENE_SPECS)[:n_scenes]
    noise = list(NOISE_SPECS)[:n_noise]
    for name in scenes:
        ensure_scene(name, SCENE_SPECS[name])
    if not args.generate_only:
        rows = [evaluate_scene(name, with_cryocat=not args.no_cryocat) for name in scenes]
    for name in noise:
        ensure_scene(name, NOISE_SPECS[name])
    if args.generate_only:
        return 0
    noise_rows = [evaluate_noise(name) for name in noise]
    write_results(args.output, report(rows, noise_rows), {"scenes": rows, "noise": noise_rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
