"""``cryotm compare``: precision, recall, F1 and angular errors of picks against a reference."""

from __future__ import annotations

import argparse
import json

from ..errors import CryotmError
from ._options import add_data_arguments, add_symmetry_argument, read_list, shared_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare picks with a reference particle list (precision, recall, F1, angular errors)",
        description="Match the particles of PICKS to those of REFERENCE one-to-one within --tolerance voxels "
        "and report precision, recall, F1 and the distribution of angular errors of the matched pairs, per "
        "tomogram when the lists hold several (matched by tomogram name, else by tomo_id). Both lists may be in "
        "any format cryotm reads.",
    )
    parser.add_argument("picks", metavar="PICKS", help="the particle list to judge")
    parser.add_argument("reference", metavar="REFERENCE", help="the reference (ground truth or another program's picks)")
    parser.add_argument("--tolerance", type=float, required=True, metavar="T", help="match distance in voxels")
    parser.add_argument("--from", dest="picks_format", metavar="F", help="format of PICKS (default: detected)")
    parser.add_argument("--reference-format", metavar="F", help="format of REFERENCE (default: detected)")
    add_symmetry_argument(parser, what=", for the angular errors")
    parser.add_argument("--all-together", action="store_true", help="ignore tomogram names/ids: compare as one tomogram")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE ('-' for stdout)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json FILE")
    add_data_arguments(parser.add_argument_group(
        "reading the lists (RELION 5 lists need the tomogram shape; both lists get these)"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._atomic import atomic_path, check_writable
    from ..comparison import compare_particles
    from ..formats import reader_class

    if args.json and args.json != "-":
        check_writable(args.json, args.overwrite)
    picks_reader = reader_class(args.picks, args.picks_format)
    reference_reader = reader_class(args.reference, args.reference_format)
    read_options, _ = shared_options(args, [picks_reader, reference_reader])
    picks = read_list(args.picks, picks_reader.name, args, reader_options=read_options)
    reference = read_list(args.reference, reference_reader.name, args, reader_options=read_options)
    result = compare_particles(
        picks, reference, tolerance=args.tolerance, symmetry=args.symmetry, per_tomogram=not args.all_together
    )
    text = json.dumps(result.as_dict(), indent=2)
    if args.json == "-":
        print(text)
        return 0
    print(result.format())
    if args.json:
        with atomic_path(args.json, overwrite=args.overwrite) as tmp:
            tmp.write_text(text + "\n")
    return 0
