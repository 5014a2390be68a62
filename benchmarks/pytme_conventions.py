"""pyTME's conventions, decided by experiment: search a simulated tomogram with pyTME, read it with cryotm.

A tomogram with copies of an asymmetric template at known positions and
rotations (cryotm's convention: ``R = Rotation.from_euler("zxz", (phi,
theta, psi), degrees=True)`` rotates the reference into the tomogram; the
template centre is voxel ``size // 2`` of its box; positions are x, y, z
voxels of ``data[z, y, x]``) is written as MRC, searched by pyTME's own
``match_template`` (CPU backend) and its result read back twice:

* raw, under every candidate convention - array axes (z, y, x) or (x, y, z),
  rotation matrix or its transpose, template centre at ``size // 2`` or
  ``(size - 1) // 2`` - printing how far each puts the planted particles;
* through :func:`cryotm.peers.read_pytme_result`, picked by cryotm's
  PeakPicker, and compared with the planted truth (positions within 1 voxel,
  orientations within the angular step), the score maxima printed both raw
  and moved by :func:`cryotm.peers.pytme_centre.centre_correction` (an even
  template: pyTME rotates about ``(size - 1) / 2``, cryotm's centre is
  ``size // 2``; the sign ``+ (R - I) h`` against ``- (R - I) h`` is printed
  too).

Runs only where pyTME is installed (``pip install pytme``; nothing else of
cryotm needs it)::

    python benchmarks/pytme_conventions.py                 # 64^3, 6 particles, 15 degree step
    python benchmarks/pytme_conventions.py --realistic --shape 64 --particles 8   # make_search_scene's scene
    python benchmarks/pytme_conventions.py --shape 30 --particles 3 --step 20 --noise 0.1 \\
        --template-size 13 --seed 1 --keep tests/data/real/pytme   # the real files of the tests
    python benchmarks/pytme_conventions.py --shape 32 --particles 3 --step 20 --noise 0.1 \
        --template-size 12 --seed 1 --keep tests/data/real/pytme/even --pickle-only   # even template
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation

#: The template's blobs: (x, y, z) offsets from its centre voxel and amplitudes; no symmetry at all.
BLOBS = [((0, 0, 0), 1.0), ((4, 0, 0), 0.9), ((-2, 3, 0), 0.8), ((0, -1, 4), 0.7), ((1, 2, -3), 0.6)]


def make_template(size: int = 16, sigma: float = 1.1) -> np.ndarray:
    """An asymmetric density, indexed [z, y, x], centred on voxel ``size // 2``."""
    z, y, x = np.indices((size,) * 3, dtype=np.float64) - size // 2
    template = np.zeros((size,) * 3)
    for (bx, by, bz), amplitude in BLOBS:
        template += amplitude * np.exp(-((x - bx) ** 2 + (y - by) ** 2 + (z - bz) ** 2) / (2 * sigma**2))
    return template.astype(np.float32)


def place(tomogram: np.ndarray, template: np.ndarray, position_xyz, rotation: Rotation) -> None:
    """Add `template` rotated by `rotation` (reference -> tomogram) with its centre at `position_xyz`."""
    size = template.shape[0]
    centre = size // 2
    # output voxel q (x, y, z) samples the template at centre + R^T (q - position)
    flip = np.eye(3)[::-1]  # xyz <-> zyx
    inverse_zyx = flip @ rotation.as_matrix().T @ flip
    box = 2 * size
    corner = np.round(np.asarray(position_xyz)).astype(int) - box // 2  # x, y, z
    grid_origin_zyx = (corner - np.asarray(position_xyz))[::-1]  # box voxel 0 relative to the position
    offset = centre + inverse_zyx @ grid_origin_zyx
    patch = ndimage.affine_transform(template, inverse_zyx, offset=offset, output_shape=(box,) * 3, order=3)
    start = corner[::-1]  # z, y, x
    lo = np.maximum(start, 0)
    hi = np.minimum(start + box, tomogram.shape)
    inner = tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start))
    tomogram[tuple(slice(a, b) for a, b in zip(lo, hi))] += patch[inner]


def make_scene(shape: int, n_particles: int, seed: int, noise: float, template_size: int = 16):
    """Tomogram [z, y, x], template, and the planted truth (x, y, z, zxz Euler degrees)."""
    rng = np.random.default_rng(seed)
    template = make_template(template_size)
    tomogram = np.zeros((shape,) * 3, dtype=np.float32)
    margin = template_size // 2 + 1
    positions: list[np.ndarray] = []
    for _ in range(100000):
        if len(positions) == n_particles:
            break
        candidate = rng.integers(margin, shape - margin, size=3)
        if all(np.linalg.norm(candidate - p) >= 14 for p in positions):
            positions.append(candidate)
    else:
        raise SystemExit(f"cannot place {n_particles} particles 14 voxels apart in {shape}^3")
    rotations = Rotation.random(n_particles, random_state=rng)
    for position, rotation in zip(positions, rotations):
        place(tomogram, template, position, rotation)
    tomogram += ndimage.gaussian_filter(rng.normal(0, noise, tomogram.shape), 0.7).astype(np.float32)
    truth = np.column_stack([np.array(positions, dtype=float), rotations.as_euler("zxz", degrees=True)])
    return tomogram, template, truth


def run_pytme(folder: Path, step: float, output: str) -> float:
    """Run pyTME's match_template (CPU, one process); return its wall time."""
    executable = shutil.which("match_template") or str(Path(sys.executable).parent / "match_template")
    start = time.perf_counter()
    subprocess.run(
        [executable, "-m", str(folder / "tomogram.mrc"), "-i", str(folder / "template.mrc"), "-a", str(step),
         "-n", "1", "-o", str(folder / output)],
        check=True, stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def angular_error(a: Rotation, b: Rotation) -> np.ndarray:
    return np.degrees((a.inv() * b).magnitude())


def candidate_conventions(scores, rotation_index, table, template_size, truth):
    """Errors at the planted particles under each candidate convention (raw pyTME arrays)."""
    rows = []
    planted = Rotation.from_euler("zxz", truth[:, 3:], degrees=True)
    for axes in ("zyx", "xyz"):
        volume = scores if axes == "zyx" else scores.transpose(2, 1, 0)
        indices = rotation_index if axes == "zyx" else rotation_index.transpose(2, 1, 0)
        for centre_name, shift in (("size//2", template_size // 2), ("(size-1)//2", (template_size - 1) // 2)):
            found_pos, found_idx = [], []
            for x, y, z in np.round(truth[:, :3]).astype(int):
                # the maximum within 3 voxels of where this convention expects the peak
                expected = np.array([z, y, x]) - (template_size // 2 - shift)
                lo = np.maximum(expected - 3, 0)
                window = volume[lo[0] : expected[0] + 4, lo[1] : expected[1] + 4, lo[2] : expected[2] + 4]
                peak = np.array(np.unravel_index(np.argmax(window), window.shape)) + lo
                found_pos.append(peak[::-1] + (template_size // 2 - shift))
                found_idx.append(int(indices[tuple(peak)]))
            distance = np.linalg.norm(np.array(found_pos) - truth[:, :3], axis=1)  # of the planted ones, found or not
            matrices = np.array([table[i] for i in found_idx])
            for matrix_name in ("R", "R^T", "flip R flip", "flip R^T flip"):
                flip = np.eye(3)[::-1]
                m = matrices
                if "R^T" in matrix_name:
                    m = m.transpose(0, 2, 1)
                if "flip" in matrix_name:
                    m = flip @ m @ flip
                errors = angular_error(Rotation.from_matrix(m), planted)
                rows.append((axes, centre_name, matrix_name, distance.max(), np.median(errors), errors.max()))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, default=64)
    parser.add_argument("--particles", type=int, default=6)
    parser.add_argument("--step", type=float, default=15.0, help="pyTME's angular sampling in degrees")
    parser.add_argument("--noise", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--template-size", type=int, default=16, help="box of the template (even: pyTME's "
                        "rotation centre (size - 1) / 2 is half a voxel off the centre voxel)")
    parser.add_argument("--keep", metavar="DIR", help="keep the pyTME results (pickle and hdf5), the template "
                        "and the truth here")
    parser.add_argument("--pickle-only", action="store_true", help="run pyTME once, writing .pickle.gz only")
    parser.add_argument("--realistic", action="store_true", help="the tomogram and template of "
                        "cryotm.synthetic.make_search_scene (correlated noise, continuous sub-voxel positions, "
                        "varied amplitude) instead of this script's minimal scene")
    parser.add_argument("--on-voxels", action="store_true", help="--realistic: particles at whole voxels")
    parser.add_argument("--blobs", action="store_true", help="--realistic: make_search_scene's 'blobs' template "
                        "instead of this script's")
    parser.add_argument("--snr", type=float, nargs=2, default=(5.0, 9.0), metavar=("LO", "HI"),
                        help="--realistic: the particles' peak scores in make_search_scene's own search, in "
                        "standard deviations (default 5 9)")
    args = parser.parse_args(argv)
    try:
        import tme  # noqa: F401
    except ImportError:
        print("pyTME is not installed (pip install pytme); nothing to do")
        return 0
    import mrcfile

    from cryotm.peers import read_pytme_result
    from cryotm.picking import PeakPicker
    from cryotm.pipeline import Pipeline

    if args.realistic:
        from cryotm.synthetic import make_search_scene

        scene = make_search_scene(
            shape=(args.shape,) * 3, n_particles=args.particles, n_angles=24, seed=args.seed,
            template_size=args.template_size, subvoxel=not args.on_voxels, snr=tuple(args.snr),
            template="blobs" if args.blobs else make_template(args.template_size),
        )
        tomogram, template = scene.tomogram.astype(np.float32), scene.template.astype(np.float32)
        truth = scene.truth.data[["x", "y", "z", "phi", "theta", "psi"]].to_numpy(float)
        args.template_size = template.shape[0]
    else:
        tomogram, template, truth = make_scene(args.shape, args.particles, args.seed, args.noise, args.template_size)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, data in (("tomogram.mrc", tomogram), ("template.mrc", template)):
            with mrcfile.new(folder / name) as mrc:
                mrc.set_data(data)
                mrc.voxel_size = 10.0
        seconds = run_pytme(folder, args.step, "result.pickle.gz")
        seconds_h5 = float("nan") if args.pickle_only else run_pytme(folder, args.step, "result.hdf5")
        names = ("result.pickle.gz",) if args.pickle_only else ("result.pickle.gz", "result.hdf5")
        print(f"pyTME {args.shape}^3, {args.particles} particles, template {args.template_size}^3, "
              f"step {args.step} degrees: "
              f"{seconds:.1f} s (pickle.gz), {seconds_h5:.1f} s (hdf5)")

        from tme.utils.serialization import deserialize  # pyTME's own reader, for the raw arrays only

        raw = deserialize(str(folder / "result.pickle.gz"))
        scores, _offset, rotation_index, table = raw[0], raw[1], raw[2], raw[3]
        print(f"raw items: {len(raw)}; scores {scores.shape} {scores.dtype}; rotations {rotation_index.dtype}; "
              f"{len(table)} rotation matrices")
        print(f"{'axes':5} {'centre':12} {'matrix':14} {'max dist':>8} {'median err':>10} {'max err':>8}")
        for axes, centre, matrix, dist, median, worst in candidate_conventions(
            scores, rotation_index, table, template.shape[0], truth
        ):
            print(f"{axes:5} {centre:12} {matrix:14} {dist:8.2f} {median:10.1f} {worst:8.1f}")

        from cryotm.peers.pytme_centre import centre_correction

        for name in names:
            inputs = read_pytme_result(folder / name).inputs  # finds template.mrc: the box's size
            box = inputs.template_shape
            # the reader alone: the score maximum within 2 voxels of each planted particle, its angle
            scores_zyx, index_zyx = inputs.read_scores().data, inputs.read_angles().data
            angle_list = inputs.read_angle_list()
            at_truth = []
            for x, y, z, phi, theta, psi in truth:
                centre = np.round([z, y, x]).astype(int)
                lo = np.maximum(centre - 2, 0)
                window = scores_zyx[lo[0] : centre[0] + 3, lo[1] : centre[1] + 3, lo[2] : centre[2] + 3]
                peak = np.array(np.unravel_index(np.argmax(window), window.shape)) + lo
                row = int(index_zyx[tuple(peak)])
                angle = angular_error(
                    Rotation.from_euler("zxz", angle_list.angles[row], degrees=True),
                    Rotation.from_euler("zxz", [phi, theta, psi], degrees=True),
                )
                move = centre_correction(angle_list.angles[row][None], box)[0]
                at_truth.append((np.linalg.norm(peak[::-1] - [x, y, z]), np.linalg.norm(peak[::-1] + move - [x, y, z]),
                                 np.linalg.norm(peak[::-1] - move - [x, y, z]), float(angle)))
            at_truth = np.array(at_truth)
            print(f"cryotm's reader at the planted particles ({name}, template {box[::-1]} x y z): score maximum "
                  f"error max {at_truth[:, 0].max():.2f} voxels raw, {at_truth[:, 1].max():.2f} moved by + (R - I) h "
                  f"(mean {at_truth[:, 1].mean():.2f}), {at_truth[:, 2].max():.2f} by - (R - I) h; "
                  f"orientation error median {np.median(at_truth[:, 3]):.1f}, max {at_truth[:, 3].max():.1f}")
            picker = PeakPicker(particle_diameter=template.shape[0] * 0.5)
            picks = Pipeline(picker, threshold="far").run(inputs).particles.data
            errors = []  # each planted particle's nearest pick, if within 3 voxels (pyTME found it)
            for x, y, z, phi, theta, psi in truth:
                d = np.linalg.norm(picks[["x", "y", "z"]].to_numpy(float) - [x, y, z], axis=1)
                if not len(d) or d.min() > 3:
                    continue
                best = picks.iloc[int(np.argmin(d))]
                angle = angular_error(
                    Rotation.from_euler("zxz", best[["phi", "theta", "psi"]].to_numpy(float), degrees=True),
                    Rotation.from_euler("zxz", [phi, theta, psi], degrees=True),
                )
                errors.append((d.min(), float(angle)))
            errors = np.array(errors).reshape(-1, 2)
            if not len(errors):
                print(f"cryotm reading {name}: none of the {len(truth)} particles found ({len(picks)} picks)")
                continue
            print(f"cryotm reading {name} (far threshold): {len(errors)} of {len(truth)} particles found, "
                  f"{len(picks)} picks; position error max {errors[:, 0].max():.2f} voxels, "
                  f"orientation error median {np.median(errors[:, 1]):.1f}, max {errors[:, 1].max():.1f} degrees")
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            for name in (*names, "template.mrc"):
                shutil.copy(folder / name, keep / name)
            truth_rows = [dict(zip(("x", "y", "z", "phi", "theta", "psi"), map(float, row))) for row in truth]
            (keep / "truth.json").write_text(json.dumps(
                {"step": args.step, "shape": args.shape, "seed": args.seed, "noise": args.noise,
                 "template_size": int(template.shape[0]), "particles": truth_rows}, indent=1))
            print(f"kept in {keep}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
