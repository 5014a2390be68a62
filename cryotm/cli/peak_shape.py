"""``cryotm peak-shape``: threshold a single-peak scores map, label the peak and print its size."""

from __future__ import annotations

import argparse
import sys



def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "peak-shape",
        help="measure the shape of the central peak of a scores map",
        description="Threshold a scores map of a single peak (a template matched against itself or a "
        "subtomogram), label the peak and print its size along x, y and z in voxels (and in Angstrom when "
        "the map has a pixel size). As cryoCAT's evaluate_scores_map: the gauss threshold is lowered and "
        "the triangle threshold raised by one standard deviation of the map (see --std-offset).",
    )
    parser.add_argument("map", metavar="MAP", help="scores map (MRC, EM)")
    parser.add_argument(
        "-t", "--threshold", default="gauss", metavar="NAME[:VALUE]", help="threshold strategy (default: gauss)"
    )
    parser.add_argument(
        "-l", "--labeler", default="plane", metavar="NAME", help="plane (default), ellipsoid, central or a plugin's"
    )
    parser.add_argument("-o", "--output", metavar="LABELED_MAP", help="write the labeled map (scores inside the label)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.add_argument(
        "--peak-tolerance",
        type=float,
        default=None,
        metavar="R",
        help="search the peak within R voxels of the centre (default: the threshold's own, e.g. gauss:10, else 20)",
    )
    parser.add_argument(
        "--std-offset", type=float, metavar="K", help="add K std of the map to the threshold (default: as cryoCAT)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._atomic import check_writable
    from ..maps import ScoresMap, write_map
    from ..peakshape import evaluate_peak_shape

    if args.output:
        check_writable(args.output, args.overwrite)
    scores = ScoresMap.read(args.map)
    result = evaluate_peak_shape(
        scores,
        threshold=args.threshold,
        labeler=args.labeler,
        peak_tolerance=args.peak_tolerance,
        std_offset=args.std_offset,
    )
    x, y, z = result.peak_xyz
    print(f"{args.map}: peak at x={x}, y={y}, z={z} (0-based voxels), height {result.peak_height:.6g}")
    offset = f" {result.std_offset:+g} x std of the map" if result.std_offset else ""
    print(
        f"threshold: {result.threshold_result.strategy} {result.threshold_result.value:.6g}{offset} "
        f"= {result.threshold:.6g}"
    )
    sizes = result.sizes
    print(f"{result.labeler} size (voxels): x {sizes.x:.2f}, y {sizes.y:.2f}, z {sizes.z:.2f}")
    if scores.pixel_size:
        px = scores.pixel_size
        print(f"{result.labeler} size (A): x {sizes.x * px:.1f}, y {sizes.y * px:.1f}, z {sizes.z * px:.1f}")
    if result.touches_border:
        print("cryotm: warning: the peak's component reaches the map border; sizes may be cut short", file=sys.stderr)
    if args.output:
        write_map(args.output, result.labeled_map, pixel_size=scores.pixel_size, overwrite=args.overwrite)
        print(f"labeled map written to {args.output}")
    return 0
