"""``cryotm extract``: particles from a scores map, an angle map and an angle list."""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import TextIO

import attrs

from ..errors import CryotmError
from ._geometry_args import add_geometry_arguments, apply_geometry_filters, geometry_filters
from ._margins import edge_margins
from ._options import (
    add_angle_convention_arguments,
    add_diameter_argument,
    add_format_argument,
    add_mask_argument,
    add_n_particles_argument,
    add_symmetry_argument,
    add_threshold_argument,
    flags_in_messages,
)
from ._picker_options import PICKER_FILTER_FLAGS, add_picker_filter_arguments, picker_filter_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="extract particles from template-matching results",
        description="Threshold the scores map, keep the highest peak within each particle diameter "
        "(cryoCAT's scores_extract_particles, same particles), give each its orientation from the angle "
        "map and write the particle list. The default threshold is 'calibrated' (one noise peak expected "
        "above it per tomogram, from a model of the map's own maxima); cryoCAT's default is 'triangle'.",
    )
    parser.add_argument("scores", metavar="SCORES", help="scores map (MRC, EM)")
    parser.add_argument("angles", metavar="ANGLES", help="angle-index map (MRC, EM)")
    parser.add_argument("angle_list", metavar="ANGLE_LIST", help="angle list (CSV, degrees)")
    add_diameter_argument(parser, required=True)
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output particle list")
    add_threshold_argument(parser, default="calibrated")
    add_mask_argument(parser)
    parser.add_argument("--mask-mode", choices=("product", "inside"), default="product",
                        help="product: scores times mask before everything, as cryoCAT (default); inside: "
                        "threshold from and picks in the masked region only")
    add_format_argument(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_angle_convention_arguments(parser)
    parser.add_argument("--radius", type=float, metavar="R", help="suppression radius (default: the diameter)")
    add_n_particles_argument(parser)
    parser.add_argument("--edge-margin", type=edge_margins, default=0, metavar="N|X,Y,Z",
                        help="ignore voxels closer than N to the border, or X,Y,Z per axis (x, y, z order; "
                        "default 0)")
    parser.add_argument("--cluster-size", type=int, metavar="N",
                        help="drop above-threshold regions smaller than N voxels before suppression")
    add_symmetry_argument(parser, what=": each pick's phi gets a random turn by k*360/N")
    parser.add_argument("--seed", type=int, metavar="S", help="seed of the symmetry's random choice")
    add_picker_filter_arguments(parser)
    parser.add_argument("--max-candidates", type=int, metavar="N",
                        help="refuse a threshold that keeps more than N voxels (default: what half the free "
                        "memory holds)")
    parser.add_argument("--tomo-id", type=int, default=1, metavar="N", help="tomogram number (default 1)")
    parser.add_argument("--object-id", type=int, default=1, metavar="N", help="object number (default 1)")
    parser.add_argument("--pixel-size", type=float, metavar="A", help="pixel size in Å (default: the map's header)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    add_geometry_arguments(parser)  # its --tomo-name also names the tomogram in the list (RELION 5 rlnTomoName;
    # default as batch names a tomogram: the scores file's name without 'scores', else its folder's name)
    parser.set_defaults(func=run)


class ProgressLine:
    """Progress of a long extraction on one line of `stream`, shown once a run takes over `delay` s.

    Parameters
    ----------
    stream : file
        Where to write (stderr).
    delay : float
        Seconds before anything is shown (short runs stay silent).
    """

    def __init__(self, stream: TextIO, delay: float = 1.0) -> None:
        self.stream = stream
        self.delay = delay
        self.start = time.monotonic()
        self.shown = False
        self.last = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self.start < self.delay or now - self.last < 0.2:
            return
        self.last = now
        self.shown = True
        end = "\r" if self.stream.isatty() else "\n"
        self.stream.write(f"extract: {stage} {100 * min(max(fraction, 0.0), 1.0):3.0f}% "
                          f"({now - self.start:.0f} s){end}")
        self.stream.flush()

    def close(self) -> None:
        """End the progress line (if one was shown)."""
        if self.shown and self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()


#: the picker's keywords -> extract's flags, for messages
_FLAGS = {
    "particle_diameter": "--diameter", "n_particles": "--n-particles", "cluster_size": "--cluster-size",
    "edge_margin": "--edge-margin", "mask_mode": "--mask-mode", "angles_order": "--angles-order",
    "index_base": "--index-base", "object_id": "--object-id", "tomo_id": "--tomo-id", "tomo_mask": "--mask",
    "max_candidates": "--max-candidates", **PICKER_FILTER_FLAGS,
}


def run(args: argparse.Namespace) -> int:
    with flags_in_messages(**_FLAGS):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from ..naming import tomogram_name
    from ..formats import writer_for
    from ..picking import PeakPicker
    from ..sanity import check_files

    picker = PeakPicker(
        particle_diameter=args.diameter,
        threshold=args.threshold,
        radius=args.radius,
        cluster_size=args.cluster_size,
        n_particles=args.n_particles,
        edge_margin=args.edge_margin,
        symmetry=args.symmetry,
        seed=args.seed,
        angles_order=args.angles_order,
        index_base=args.index_base,
        object_id=args.object_id,
        mask_mode=args.mask_mode,
        max_candidates=args.max_candidates,
        **picker_filter_options(args),
    )
    writer = writer_for(args.output, args.format)  # an unknown format fails before the work
    writer.check_output(args.output, args.overwrite)
    geometry_filters(args)  # a filter option without --alignment fails before the work
    check_files(args.scores, args.angles, args.angle_list, order=args.angles_order, index_base=args.index_base,
                diameter=args.diameter, pixel_size=args.pixel_size)
    progress = None if args.quiet else ProgressLine(sys.stderr)
    # a command's process ends with it: what exists now (modules, classes, plugins) lives until then, and no
    # garbage collection, during the pick or at exit, needs to look at it again (about 0.03 s of 0.7 s)
    gc.freeze()
    try:
        result = picker.run(
            args.scores, args.angles, args.angle_list, tomo_id=args.tomo_id, tomo_mask=args.mask,
            pixel_size=args.pixel_size, progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    name = args.tomo_name if args.tomo_name is not None else tomogram_name(Path(args.scores))
    if not name.strip():
        raise CryotmError("--tomo-name must not be empty")
    result = attrs.evolve(result, particles=attrs.evolve(result.particles, experiment_id=name))
    if geometry_filters(args):
        shape = result.particles.tomogram_shape
        result = attrs.evolve(result, particles=apply_geometry_filters(args, result.particles, shape))
    if writer.requires_pixel_size and not result.particles.pixel_size:
        raise CryotmError(f"format {writer.name!r} needs a pixel size: the map has none, give --pixel-size")
    writer.write(result.particles, args.output, overwrite=args.overwrite)
    print(f"{result.summary()}; wrote {args.output} ({writer.name})")
    return 0
