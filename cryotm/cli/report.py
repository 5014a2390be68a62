"""``cryotm report``: PNG figures that show why a run picked what it picked."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import CryotmError


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
        "scores map (then give --particles for picks and --n-angles or --angle-list for the far threshold). "
        "Needs matplotlib (pip install 'cryotm[plot]').",
    )
    parser.add_argument("input", metavar="INPUT", help="run record (*.cryotm.json) or scores map")
    parser.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="folder for the PNG files")
    parser.add_argument("--particles", metavar="FILE", help="picks to draw (any readable format)")
    parser.add_argument("--from", dest="particles_format", metavar="F", help="format of --particles (default: detected)")
    parser.add_argument(
        "--thresholds",
        default="far,triangle,sigma:3",
        metavar="LIST",
        help="comma-separated strategies to draw (default far,triangle,sigma:3)",
    )
    parser.add_argument("--mask", metavar="MAP", help="tomogram mask (scores map input)")
    parser.add_argument("--n-angles", type=int, metavar="N", help="rotations searched (for far; scores map input)")
    parser.add_argument("--angle-list", metavar="CSV", help="the angle list, to count the rotations searched")
    parser.add_argument("--slice", type=_triple, metavar="Z,Y,X", help="where the slices cut (default: the best pick)")
    parser.add_argument("--peaks", type=int, default=3, metavar="N", help="profiles of the N best picks (default 3)")
    parser.add_argument("--prefix", default=None, metavar="TEXT", help="prefix of the file names")
    parser.add_argument("--overwrite", action="store_true", help="replace existing figures")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report import make_report, report_run

    thresholds = [t.strip() for t in args.thresholds.split(",") if t.strip()]
    options = {"position": args.slice, "n_peaks": args.peaks}
    if args.input.endswith(".json"):
        if args.particles or args.mask or args.n_angles or args.angle_list:
            raise CryotmError("a run record names its own picks, mask and angles; give only -o and the drawing options")
        if args.prefix is not None:
            options["prefix"] = args.prefix
        report = report_run(args.input, args.output_dir, thresholds=thresholds, overwrite=args.overwrite, **options)
    else:
        from ..angles import AngleList
        from ..formats import read_particles

        particles = read_particles(args.particles, format=args.particles_format) if args.particles else None
        n_angles = args.n_angles
        if n_angles is None and args.angle_list:
            n_angles = len(AngleList.read(args.angle_list))
        report = make_report(
            args.input,
            particles,
            thresholds=thresholds,
            mask=args.mask,
            n_angles=n_angles,
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
