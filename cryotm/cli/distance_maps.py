"""``cryotm distance-maps``: angular distance maps of an angle map (cryoCAT's create_angular_distance_maps)."""

from __future__ import annotations

import argparse

from ._options import add_angle_convention_arguments, add_symmetry_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "distance-maps",
        help="write angular distance maps of an angle map",
        description="For each voxel of the angle map, the angular distance of its angle from the first "
        "angle of the list: total rotation angle (BASE_dist_all), angle between the normals "
        "(BASE_dist_normals) and in-plane angle (BASE_dist_inplane), in degrees, float32. "
        "cryotm select reads them with --dist-maps BASE.",
    )
    parser.add_argument("angles", metavar="ANGLES", help="angle-index map (.mrc, .em, ...)")
    parser.add_argument("angle_list", metavar="ANGLE_LIST", help="angle list (CSV, degrees)")
    parser.add_argument("-o", "--output", metavar="BASE", required=True,
                        help="output base: writes BASE_dist_all.em (or .mrc) and the two others")
    add_symmetry_argument(parser)
    add_angle_convention_arguments(parser)
    parser.add_argument("-f", "--format", choices=("em", "mrc"), default="em", help="output map format (default em)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..angles.distance_maps import create_distance_maps, distance_map_paths

    create_distance_maps(
        args.angles,
        args.angle_list,
        symmetry=args.symmetry,
        angles_order=args.angles_order,
        index_base=args.index_base,
        output_base=args.output,
        format=args.format,
        overwrite=args.overwrite,
    )
    for name, path in distance_map_paths(args.output, args.format).items():
        print(f"{name:8s} {path}")
    return 0
