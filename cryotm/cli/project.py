"""``cryotm project``: where each particle lands in each tilt image of an aligned tilt series."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from ._geometry_args import add_alignment_arguments
from ._options import add_data_arguments


def alignment_options(args: argparse.Namespace) -> dict:
    """Reader options from :func:`add_alignment_arguments` (those the reader declares are used)."""
    import attrs

    from ..geometry.readers import alignment_reader_class

    cls = alignment_reader_class(args.alignment, args.alignment_format)
    fields = {f.name for f in attrs.fields(cls)} if attrs.has(cls) else set()
    options = {}
    if args.tilt_image_shape is not None and "tilt_image_shape" in fields:
        options["tilt_image_shape"] = tuple(args.tilt_image_shape)
    if args.alignment_pixel_size is not None and "pixel_size" in fields:
        options["pixel_size"] = args.alignment_pixel_size
    return {"format": cls.name, **options}


def _tomograms_star(args: argparse.Namespace, reader: type, alignment_format: str) -> bool:
    """True when ALIGNMENT is a RELION 5 tomograms star file that can also size the particles' tomograms."""
    from ..formats import option_names
    from ..formats._star import scan_star
    from ._options import tomogram_shape

    if alignment_format != "relion5" or "tomograms" not in option_names(reader):
        return False
    if getattr(args, "tomograms", None) is not None or tomogram_shape(args) is not None:
        return False
    return "global" in scan_star(args.alignment)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "project",
        help="project particles into the tilt images of an aligned tilt series",
        description="Read a particle list and a tilt-series alignment (RELION 5 tomograms/tilt-series star, "
        "IMOD .xf/.tlt/tilt.com, AreTomo .aln, Warp XML, or a plugin's format), project every particle "
        "into every tilt image with the cryotypes projection model and write a table: particle, tomo_name, "
        "tilt_index, tilt_angle, x, y (tilt-image pixels, 0-based) and whether the point is inside the "
        "image (with --margin). Positions are scaled from the particles' pixel size to the alignment's.",
    )
    parser.add_argument("particles", metavar="PARTICLES", help="particle list (any format cryotm reads)")
    parser.add_argument("alignment", metavar="ALIGNMENT", help="tilt-series alignment file (or IMOD folder)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="table to write (.csv or .tsv)")
    parser.add_argument("--from", dest="from_format", metavar="F", help="particle-list format (default: detected)")
    add_data_arguments(parser)
    add_alignment_arguments(parser)
    parser.add_argument("--margin", type=float, default=0.0, metavar="PX",
                        help="pixels from the tilt-image border within which a point counts as outside (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    parser.set_defaults(func=run)


class Progress:
    """``project: N/M particles`` on `stream`, shown once a run takes over `delay` seconds."""

    def __init__(self, stream: TextIO, delay: float = 1.0) -> None:
        self.stream = stream
        self.delay = delay
        self.start = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.start
        if elapsed < self.delay:
            return
        self.shown = True
        end = "\r" if self.stream.isatty() else "\n"
        self.stream.write(f"project: {done}/{total} particles ({elapsed:.0f} s){end}")
        self.stream.flush()

    def close(self) -> None:
        if self.shown and self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .._atomic import atomic_path, check_writable
    from ..errors import CryotmError
    from ..geometry import project_particles, read_alignments
    from ._options import read_list, shared_options

    suffix = Path(args.output).suffix.lower()
    if suffix not in (".csv", ".tsv", ".txt"):
        raise CryotmError(f"{args.output}: write the table as .csv or .tsv")
    check_writable(args.output, args.overwrite)
    options = alignment_options(args)
    alignments = read_alignments(args.alignment, **options)
    from ..formats import reader_class

    reader = reader_class(args.particles, args.from_format)
    if _tomograms_star(args, reader, options["format"]):  # RELION 5 picks: their tomograms' sizes from ALIGNMENT
        args.tomograms = args.alignment
    read_options, _ = shared_options(args, [reader])
    particles = read_list(args.particles, reader.name, args, reader_options=read_options)
    progress = None if args.quiet else Progress(sys.stderr)
    try:
        table = project_particles(particles, alignments, tilt_image_shape=args.tilt_image_shape,
                                  margin=args.margin, tomo_name=args.tomo_name, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    with atomic_path(args.output, overwrite=args.overwrite) as tmp:
        table.to_csv(tmp, sep="\t" if suffix == ".tsv" else ",", index=False, float_format="%.3f")
    used = sorted(set(table["tomo_name"].astype(str))) if len(table) else []
    for name in used:
        for note in alignments[name].notes if name in alignments else ():
            print(f"note ({name}): {note}", file=sys.stderr)
    n_tilts = int(table.groupby("particle", sort=False).size().max()) if len(table) else 0
    inside_all = int(table.groupby("particle", sort=False)["inside"].all().sum()) if len(table) else 0
    print(f"projected {len(particles)} particles into {n_tilts} tilts ({', '.join(used) or '-'}); "
          f"{inside_all} inside every tilt image; wrote {args.output}")
    return 0
