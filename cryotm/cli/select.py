"""``cryotm select``: automatic, angle-consistent peak selection (cryoCAT's select_peaks)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import CryotmError
from ._geometry_args import add_geometry_arguments, apply_geometry_filters, geometry_filters
from ._margins import edge_margins
from ._picker_options import add_shape_filter_arguments
from ._options import (
    add_angle_convention_arguments,
    add_format_argument,
    add_mask_argument,
    add_n_particles_argument,
    add_symmetry_argument,
    add_threshold_argument,
    flags_in_messages,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "select",
        help="select peaks whose scores and angles are consistent (select_peaks)",
        description="Threshold the scores map (calibrated by default; triangle with --placement cryocat), drop "
        "small peak regions, then take the peaks in score order, each at its score maximum with that voxel's "
        "angle, if its template mask (rotated to the peak's orientation) or sphere does not overlap an "
        "accepted particle (and, with --angle-test neighbours, if enough of the maximum's neighbours found the "
        "same rotation). --placement cryocat is cryoCAT's select_peaks (distance-map regions). Positions "
        "are written in the output format's own convention.",
    )
    parser.add_argument("scores", metavar="SCORES", help="scores map (.mrc, .em, ...)")
    parser.add_argument("angles", metavar="ANGLES", help="angle-index map")
    parser.add_argument("angle_list", metavar="ANGLE_LIST", help="angle list (CSV, degrees)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="particle list to write")
    add_format_argument(parser)
    parser.add_argument("--labels", metavar="MAP", help="also write the label map (particle masks) here")
    add_n_particles_argument(parser, old=("--peak-number",))
    maps = parser.add_mutually_exclusive_group()
    maps.add_argument("--dist-maps", metavar="BASE",
                      help="read BASE_dist_all.em etc. (from cryotm distance-maps); default: compute them")
    maps.add_argument("--write-dist-maps", metavar="BASE", help="compute the distance maps and write them to BASE")
    parser.add_argument("--dist-maps-list", default="all,normals,inplane", metavar="NAMES",
                        help="distance maps that must agree, comma-separated from all, normals, inplane "
                        "(default all three)")
    parser.add_argument("--min-peak-voxels", type=int, default=None, metavar="N",
                        help="smallest peak region in voxels (min_peak_voxel_count; default 1, cryoCAT's 7 with "
                        "--placement cryocat)")
    parser.add_argument("--min-angles-voxels", type=int, default=7, metavar="N",
                        help="smallest angle-consistent region in voxels (min_angles_voxel_count, default 7)")
    mask = parser.add_mutually_exclusive_group()
    mask.add_argument("--template-mask", metavar="MAP", help="binary template mask, rotated to each peak")
    mask.add_argument("--template-radius", type=float, default=2, metavar="R",
                      help="radius of the sphere used without a template mask (default 2)")
    parser.add_argument("--edge-margin", type=edge_margins, metavar="N|X,Y,Z",
                        help="voxels to exclude at the faces: N on every axis, or X,Y,Z per axis")
    add_mask_argument(parser)
    parser.add_argument("--tomo-id", type=int, metavar="N", help="tomo_id written into the particle list")
    add_threshold_argument(parser, default=None,
                           note="; triangle, as cryoCAT, with --placement cryocat; computed on the whole scores map, "
                           "far counts ANGLE_LIST's rotations")
    add_symmetry_argument(parser, what=", for the distance maps computed here")
    add_angle_convention_arguments(parser)
    parser.add_argument("--placement", choices=("maximum", "cryocat"), default="maximum",
                        help="maximum (default): each particle on its peak's score maximum with that voxel's "
                        "angle, the angular test only accepts or rejects the peak; cryocat: cryoCAT's rule (the "
                        "best angle-consistent voxel, often off the maximum with a wrong angle on real maps)")
    parser.add_argument("--angle-test", choices=("none", "neighbours", "footprint", "regions"),
                        help="with --placement maximum: none (default; neighbours when --min-agreeing-neighbours or "
                        "--angle-tolerance is given), neighbours (enough of the maximum's 26 neighbours hold its "
                        "rotation, within --angle-tolerance), footprint (enough of the peak's voxels in the "
                        "footprint do) or regions (cryoCAT's distance-map regions, the only test of "
                        "--placement cryocat)")
    parser.add_argument("--angle-tolerance", type=float, metavar="DEG",
                        help="degrees within which a rotation agrees with the maximum's (neighbours, footprint; "
                        "default half the angle list's step)")
    parser.add_argument("--min-agreeing-neighbours", type=int, default=None, metavar="N",
                        help="agreeing neighbours (of 26) the neighbours test needs (default: from the angle list's "
                        "length, 1 for 1,000 rotations or more); implies --angle-test neighbours")
    add_shape_filter_arguments(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    add_geometry_arguments(parser)
    parser.set_defaults(func=run)


#: select_peaks' keywords -> select's flags, for messages
_FLAGS = {
    "peak_number": "--n-particles", "edge_masking": "--edge-margin", "min_peak_voxel_count": "--min-peak-voxels",
    "min_angles_voxel_count": "--min-angles-voxels", "template_radius": "--template-radius",
    "template_mask": "--template-mask", "dist_maps_list": "--dist-maps-list", "tomo_number": "--tomo-id",
    "tomo_mask": "--mask", "angles_order": "--angles-order", "index_base": "--index-base",
    "output_format": "--format", "dist_maps_name_base": "--dist-maps", "angle_tolerance": "--angle-tolerance",
    "angle_test": "--angle-test", "min_agreeing_neighbours": "--min-agreeing-neighbours", "placement": "--placement",
    "shape_filter": "--shape-filter", "shape_tolerance": "--shape-tolerance",
}


def run(args: argparse.Namespace) -> int:
    with flags_in_messages(**_FLAGS):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from .._atomic import check_writable, output_set
    from ..naming import tomogram_name
    from ..maps import ScoresMap, write_map
    from ..picking.select import select_peaks
    from ..sanity import check_files

    if args.labels is not None:
        check_writable(args.labels, args.overwrite)
    check_files(args.scores, args.angles, args.angle_list, order=args.angles_order, index_base=args.index_base)
    if geometry_filters(args):
        check_writable(args.output, args.overwrite)
    names = [n.strip() for n in args.dist_maps_list.split(",") if n.strip()]
    if not names:
        raise CryotmError("--dist-maps-list names no distance map")
    # the tomogram's name in the list: --tomo-name, else as extract and batch name it
    name = args.tomo_name if args.tomo_name is not None else tomogram_name(Path(args.scores))
    scores = ScoresMap.read(args.scores, experiment_id=name)
    with output_set():  # the particle list, the labels and distance maps: all written, or none
        result = select_peaks(
            scores,
            args.angles,
            args.angle_list,
            peak_number=args.n_particles,
            create_dist_maps=args.dist_maps is None,
            dist_maps_list=names,
            dist_maps_name_base=args.dist_maps or args.write_dist_maps,
            write_dist_maps=args.write_dist_maps is not None,
            min_peak_voxel_count=args.min_peak_voxels,
            min_angles_voxel_count=args.min_angles_voxels,
            template_mask=args.template_mask,
            template_radius=args.template_radius,
            edge_masking=args.edge_margin,
            tomo_mask=args.mask,
            output_motl_name=None if geometry_filters(args) else args.output,
            tomo_number=args.tomo_id,
            angles_order=args.angles_order,
            index_base=args.index_base,
            symmetry=args.symmetry,
            threshold=args.threshold,
            output_format=args.format,
            overwrite=args.overwrite,
            placement=args.placement,
            angle_test=args.angle_test,
            angle_tolerance=args.angle_tolerance,
            min_agreeing_neighbours=args.min_agreeing_neighbours,
            shape_filter=args.shape_filter,
            **({} if args.shape_tolerance is None else {"shape_tolerance": args.shape_tolerance}),
        )
        if geometry_filters(args):  # filtered before writing (the label map keeps every selected particle)
            import attrs

            from ..formats import write_particles

            shape = result.particles.tomogram_shape or result.labels.shape
            result = attrs.evolve(result, particles=apply_geometry_filters(args, result.particles, shape))
            write_particles(result.particles, args.output, format=args.format, overwrite=args.overwrite)
        if args.labels is not None:
            write_map(args.labels, result.labels, pixel_size=result.particles.pixel_size, overwrite=args.overwrite)
    print(f"selected {len(result.particles)} particles (threshold {result.threshold:.6g}, "
          f"{result.n_candidates} candidate voxels) -> {args.output}")
    return 0
