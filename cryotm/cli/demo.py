"""``cryotm demo``: synthesise a small template-matching result and run the main job on it."""

from __future__ import annotations

import argparse
import sys
import time

from ..errors import CryotmError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="make a small synthetic example and pick its particles",
        description="Write a synthetic template-matching result (scores map, angle map, angle list "
        "and the planted ground truth) into DIR, extract the particles with the default threshold, "
        "write them as a RELION 5 star file and an EM motive list, and compare them with the truth.",
    )
    parser.add_argument("directory", metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--size", type=int, default=96, help="edge length of the cubic maps (default 96)")
    parser.add_argument("--peaks", type=int, default=40, help="number of planted particles (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--realistic",
        action="store_true",
        help="simulate a tomogram and search it with a real masked cross-correlation over 1000 rotations "
        "(make_search_scene; seconds to a minute) instead of painting peaks",
    )
    parser.add_argument(
        "--snr",
        type=float,
        nargs=2,
        default=(8.0, 14.0),
        metavar=("LOW", "HIGH"),
        help="with --realistic: the particles' peak scores, in standard deviations of the search (default 8 14; "
        "below about 8 the orientation at the peak is mostly another rotation's)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace files from an earlier demo")
    parser.set_defaults(func=run)


#: Edge lengths the demo accepts (the largest keeps the scene's maps at 64 MB each).
MIN_SIZE, MAX_SIZE = 32, 256
#: Distance between planted peaks, voxels.
PEAK_DISTANCE = 16.0


def run(args: argparse.Namespace) -> int:
    from ..angles import AngleList
    from ..evaluation import match_particles
    from ..formats import write_particles
    from ..maps import AngleMap, ScoresMap
    from ..picking import PeakPicker
    from ..synthetic import make_scene

    from .._atomic import make_output_folder

    if not MIN_SIZE <= args.size <= MAX_SIZE:
        raise CryotmError(f"--size must be between {MIN_SIZE} and {MAX_SIZE} voxels, got {args.size}")
    room = (args.size // int(PEAK_DISTANCE)) ** 3  # peaks 16 voxels apart that fit, at most
    if not 1 <= args.peaks <= room:
        raise CryotmError(f"--peaks must be between 1 and {room} for --size {args.size} (peaks are placed "
                          f"{PEAK_DISTANCE:g} voxels apart), got {args.peaks}")
    directory = make_output_folder(args.directory)
    start = time.perf_counter()
    try:
        if args.realistic:
            from ..synthetic import make_search_scene

            low, high = args.snr
            if not 0 < low <= high < 1000:
                raise CryotmError(f"--snr must be two numbers 0 < LOW <= HIGH < 1000, got {low:g} {high:g}")
            scene = make_search_scene(shape=(args.size,) * 3, n_particles=args.peaks, n_angles=1000,
                                      seed=args.seed, snr=(low, high))
            diameter, tolerance = scene.particle_diameter, scene.particle_diameter / 4
        else:
            scene = make_scene(shape=(args.size,) * 3, n_peaks=args.peaks, n_angles=500, seed=args.seed,
                               min_distance=PEAK_DISTANCE)
            diameter, tolerance = 12, 2.0
    except ValueError as exc:  # the random placement found no room for them all
        raise CryotmError(f"{exc}; ask for fewer --peaks or a larger --size") from None
    paths = scene.write(directory, overwrite=args.overwrite)
    print(f"wrote a synthetic scene with {args.peaks} planted particles to {directory}/")
    for key in paths:
        print(f"  {key:10s} {paths[key]}")

    from ..naming import tomogram_name

    # the tomogram's name as extract and batch give it by default (the folder's, for DIR/scores.mrc)
    scores = ScoresMap.read(paths["scores"], experiment_id=tomogram_name(paths["scores"]))
    angle_map = AngleMap.read(paths["angles"])
    angle_list = AngleList.read(paths["angle_list"])
    picker = PeakPicker(particle_diameter=diameter, threshold="calibrated")
    particles = picker.pick(scores, angle_map, angle_list, tomo_id=1)
    outputs = {"relion5": directory / "particles.star", "emmotl": directory / "particles.em"}
    for fmt, path in outputs.items():
        write_particles(particles, path, format=fmt, overwrite=args.overwrite)
    match = match_particles(particles, scene.truth, tolerance=tolerance)
    print(f"extracted {len(particles)} particles ({time.perf_counter() - start:.1f} s in all)")
    print(f"  RELION 5 star     {outputs['relion5']}")
    print(f"  EM motive list    {outputs['emmotl']}")
    print(f"against the planted truth: {match.summary()}")
    from ..geometry.demo import write_demo_geometry

    geometry = write_demo_geometry(directory, scene.truth, scene.shape, scene.pixel_size, scores.experiment_id,
                                   overwrite=args.overwrite)
    print(f"a tilt-series alignment (RELION 5) {geometry['tomograms']} and gold beads {geometry['beads']}: try\n"
          f"  cryotm project {outputs['relion5']} {geometry['tomograms']} -o {directory / 'projections.csv'}")
    sys.stdout.flush()
    return 0
