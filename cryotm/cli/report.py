"""``cryotm report``: PNG figures that show why a run picked what it picked."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import CryotmError
from ._options import (
    add_angle_count_arguments,
    add_data_arguments,
    angle_count,
    read_list,
    shared_options,
    tomogram_shape,
)


def _triple(text: str) -> tuple[int, int, int]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected Z,Y,X (three integers), got {text!r}") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected Z,Y,X (three integers), got {text!r}")
    return values  # type: ignore[return-value]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="draw the figures of a run (histogram with thresholds, slices with picks, peak profiles)",
        description="Write PNG figures into OUTDIR: the scores histogram on a log scale with each threshold "
        "strategy's line and the fitted background Gaussian, orthogonal slices of the scores map with the picks "
        "drawn on them, and profiles through the best picks with their Gaussian fits. INPUT is a run record "
        "(<output>.cryotm.json, written by extract-job and batch: its maps, picks and threshold are used) or a "
        "scores map (then give --particles for picks and --n-angles or --angle-list for the far threshold; the "
        "picks are read with the scores map's shape and pixel size unless --tomogram-shape/--pixel-size say "
        "otherwise, so RELION 5 lists need no more). "
        "Needs matplotlib (pip install 'cryotm[plot]').",
    )
    parser.add_argument("input", metavar="INPUT", help="run record (*.cryotm.json) or scores map")
    parser.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="folder for the PNG files")
    parser.add_argument("--particles", metavar="FILE", help="picks to draw (any readable format)")
    parser.add_argument("--from", dest="particles_format", metavar="F", help="format of --particles (default: detected)")
    parser.add_argument("-t", "--threshold", action="append", metavar="NAME[:VALUE]",
                        help="a threshold strategy to draw; repeat for several (default calibrated, far, triangle, sigma:3)")
    parser.add_argument("--thresholds", metavar="LIST", help=argparse.SUPPRESS)  # the old comma-separated spelling
    parser.add_argument("--mask", metavar="MAP", help="tomogram mask (scores map input)")
    parser.add_argument("-d", "--diameter", type=float, metavar="D",
                        help="particle diameter in voxels, as given to extract (scores map input; 'calibrated' and "
                        "the threshold figure then count the particles extract keeps)")
    add_angle_count_arguments(parser, note="; scores map input")
    parser.add_argument("--slice", type=_triple, metavar="Z,Y,X", help="where the slices cut (default: the best pick)")
    parser.add_argument("--peaks", type=int, default=3, metavar="N", help="profiles of the N best picks (default 3)")
    parser.add_argument("--prefix", default=None, metavar="TEXT", help="prefix of the file names")
    parser.add_argument("--overwrite", action="store_true", help="replace existing figures")
    parser.add_argument("--alignment", metavar="FILE", help="tilt-series alignment: also draw the best picks' "
                        "tracks (x, y in the tilt images against the tilt angle; scores map input)")
    parser.add_argument("--tracks", type=int, default=3, metavar="N", help="tracks of the N best picks (default 3)")
    add_data_arguments(
        parser.add_argument_group("reading --particles (scores map input; shape and pixel size default to the map's)"),
        defaults_from="the scores map",
    )
    parser.set_defaults(func=run)


def _read_particles(args: argparse.Namespace, scores):
    """--particles, with the tomogram shape and pixel size of the scores map unless the options give them."""
    from ..formats import reader_class

    reader = reader_class(args.particles, args.particles_format)
    read_options, _ = shared_options(args, [reader])
    return read_list(
        args.particles, reader.name, args, reader_options=read_options,
        pixel_size=scores.pixel_size, shape=tuple(scores.shape),
    )


def run(args: argparse.Namespace) -> int:
    from ..report import make_report, report_run

    given = [*(args.threshold or []), *(args.thresholds.split(",") if args.thresholds else [])]
    thresholds = [t.strip() for t in given if t.strip()] or ["calibrated", "far", "triangle", "sigma:3"]
    options = {"position": args.slice, "n_peaks": args.peaks, "alignment": args.alignment, "n_tracks": args.tracks}
    if args.input.endswith(".json"):
        reading = (args.pixel_size, tomogram_shape(args), args.binning, args.centre, args.tomograms,
                   args.particles_format)
        if args.particles or args.mask or args.n_angles or args.angle_list or args.diameter or any(
            v is not None for v in reading
        ):
            raise CryotmError(
                "a run record names its own picks, mask, angles and their reading options; "
                "give only -o and the drawing options"
            )
        if args.prefix is not None:
            options["prefix"] = args.prefix
        report = report_run(args.input, args.output_dir, thresholds=thresholds, overwrite=args.overwrite, **options)
    else:
        from ..maps import ScoresMap

        scores = ScoresMap.read(args.input, mmap=True)
        particles = _read_particles(args, scores) if args.particles else None
        n_angles = angle_count(args)
        report = make_report(
            scores,
            particles,
            thresholds=thresholds,
            mask=args.mask,
            n_angles=n_angles,
            particle_diameter=args.diameter,
            output_dir=args.output_dir,
            prefix=args.prefix or f"{Path(args.input).name.split('.')[0]}_",
            overwrite=args.overwrite,
            **options,
        )
    for result in report.thresholds:
        print(f"{result.strategy}: {result.value:.6g}")
    for spec, reason in report.skipped.items():
        print(f"{spec}: not drawn ({reason})")
    for name, path in report.paths.items():
        print(f"{name}: {path}")
    return 0
