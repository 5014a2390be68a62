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
        "as a particle, and nothing in the scores map tells them apart.",
    )
    parser.add_argument("tomogram", metavar="TOMOGRAM", help="the tomogram the scores map was searched in")
    parser.add_argument("-o", "--output", required=True, metavar="MASK", help="mask to write (.mrc or .em)")
    parser.add_argument("--bead-radius", type=float, required=True, metavar="R",
                        help="bead radius in voxels of TOMOGRAM (10 nm gold at 13.6 Å per voxel: 3.7)")
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
    radius = args.exclusion_radius if args.exclusion_radius is not None else args.bead_radius + args.diameter / 2
    check_writable(args.output, args.overwrite)
    if args.beads is not None:
        check_writable(args.beads, args.overwrite)
    volume, pixel_size = read_map(args.tomogram, mmap=True)
    try:
        beads = find_gold_beads(volume, args.bead_radius, min_contrast=args.min_contrast,
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
