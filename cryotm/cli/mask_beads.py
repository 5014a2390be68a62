"""``cryotm mask-beads``: find the gold beads in a tomogram and write a mask that keeps picks away from them."""

from __future__ import annotations

import argparse

from ._options import add_diameter_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mask-beads",
        help="find gold beads in a tomogram and write a mask for --mask",
        description="Find the gold beads in TOMOGRAM (regions whose density, smoothed at the bead's scale, lies "
        "more than --min-contrast robust standard deviations from the median) and write a mask of the "
        "tomogram's shape: 0 within the exclusion radius of each bead (the bead's radius plus the particle's), "
        "1 elsewhere. Give it to extract, select or batch with --mask. Template matching scores a bead as high "
        "as a particle; the shape filter drops only beads whose peak is broader than the particles'.",
    )
    parser.add_argument("tomogram", metavar="TOMOGRAM", help="the tomogram the scores map was searched in")
    parser.add_argument("-o", "--output", required=True, metavar="MASK", help="mask to write (.mrc or .em)")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--bead-radius", type=float, metavar="R",
                      help="bead radius in voxels of TOMOGRAM (10 nm gold at 13.6 Å per voxel: 3.7)")
    size.add_argument("--bead-diameter-nm", type=float, metavar="NM",
                      help="bead diameter in nm (5, 10, 15, ...), turned into voxels with TOMOGRAM's pixel size "
                      "(or --pixel-size)")
    parser.add_argument("--pixel-size", type=float, metavar="A",
                        help="TOMOGRAM's pixel size in Å (default: its header), for --bead-diameter-nm")
    add_diameter_argument(parser, note="; the exclusion radius is the bead radius plus half of it")
    parser.add_argument("--exclusion-radius", type=float, metavar="R",
                        help="voxels around each bead where no particle is picked (instead of -d)")
    parser.add_argument("--min-contrast", type=float, default=10.0, metavar="K",
                        help="spots from K robust standard deviations of density up are considered (default 10)")
    parser.add_argument("--separation", type=float, default=2.0, metavar="F",
                        help="the beads are the spots above the largest density break between consecutive spots, "
                        "if it is a factor F or more (default 2)")
    parser.add_argument("--polarity", choices=("auto", "dark", "bright"), default="auto",
                        help="which values are dense: dark (as reconstructed), bright (inverted) or auto, the "
                        "tail that reaches farther (default auto)")
    parser.add_argument("--beads", metavar="CSV", help="also write the beads found (x, y, z 0-based, contrast)")
    parser.add_argument("--overwrite", action="store_true", help="replace MASK (and CSV) if they exist")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    import numpy as np

    from .._atomic import atomic_path, check_writable
    from ..beads import bead_exclusion_mask, find_gold_beads
    from ..errors import CryotmError, CryotmWarning
    from ..maps import read_map, write_map

    if args.exclusion_radius is None and args.diameter is None:
        raise CryotmError("mask-beads: give -d/--diameter (the particle diameter) or --exclusion-radius")
    check_writable(args.output, args.overwrite)
    if args.beads is not None:
        check_writable(args.beads, args.overwrite)
    volume, pixel_size = read_map(args.tomogram, mmap=True)
    pixel_size = args.pixel_size if args.pixel_size is not None else pixel_size
    bead_radius = args.bead_radius
    if bead_radius is None:
        if not pixel_size or pixel_size <= 0:
            raise CryotmError(f"{args.tomogram}: no pixel size in its header: give --pixel-size A, or --bead-radius "
                              "in voxels")
        bead_radius = args.bead_diameter_nm * 10.0 / pixel_size / 2
        if not 0.5 <= bead_radius <= 50:
            warnings.warn(
                f"{args.tomogram}: a {args.bead_diameter_nm:g} nm bead at {pixel_size:g} Å per voxel is "
                f"{bead_radius:.2f} voxels in radius: is the pixel size right (--pixel-size, in Å)?",
                CryotmWarning, stacklevel=1,
            )
    radius = args.exclusion_radius if args.exclusion_radius is not None else bead_radius + args.diameter / 2
    try:
        beads = find_gold_beads(volume, bead_radius, min_contrast=args.min_contrast,
                                separation=args.separation, polarity=args.polarity)
    except CryotmError as error:
        raise CryotmError(f"{args.tomogram}: {error}") from None
    if not len(beads):
        warnings.warn(
            f"{args.tomogram}: no spot stands {args.separation:g} times denser than the rest ({beads.polarity} taken "
            f"as dense; the densest reaches {beads.next_contrast:.1f} robust SD): no bead found, the mask excludes "
            "nothing (check --polarity)",
            CryotmWarning, stacklevel=1,
        )
    mask = bead_exclusion_mask(volume.shape, beads.positions, radius)
    write_map(args.output, mask, pixel_size=pixel_size, overwrite=args.overwrite)
    if args.beads is not None:
        import pandas as pd

        table = pd.DataFrame(beads.positions, columns=["x", "y", "z"]).assign(contrast=beads.contrast)
        with atomic_path(args.beads, overwrite=args.overwrite) as tmp:
            table.to_csv(tmp, index=False, float_format="%.2f")
    excluded = int(mask.size - np.count_nonzero(mask))
    contrast = f" at {beads.contrast.min():.0f}-{beads.contrast.max():.0f} robust SD" if len(beads) else ""
    print(f"mask-beads: {len(beads)} bead(s){contrast} ({beads.polarity} taken as dense; densest other spot "
          f"{beads.next_contrast:.1f}); {excluded} voxels within {radius:g} of them excluded in {args.output}")
    return 0
