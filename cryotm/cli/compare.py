"""``cryotm compare``: precision, recall, F1 and angular errors of picks against a reference."""

from __future__ import annotations

import argparse
import json

from ..errors import CryotmError


def _symmetry(text: str) -> int:
    value = text.strip().lower().lstrip("c")
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"symmetry must be like C1, C6 or 6, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"symmetry must be C1 or higher, got {text!r}")
    return number


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
    parser.add_argument("--symmetry", type=_symmetry, default=1, metavar="Cn", help="C_n symmetry for angular errors (default C1)")
    parser.add_argument("--pixel-size", type=float, metavar="A", help="pixel size in Å for lists stored in Å (RELION)")
    parser.add_argument("--all-together", action="store_true", help="ignore tomogram names/ids: compare as one tomogram")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE ('-' for stdout)")
    parser.set_defaults(func=run)


def _read(path: str, fmt: str | None, pixel_size: float | None):
    from ..formats import read_particles, reader_for

    if pixel_size is None:
        return read_particles(path, format=fmt)
    reader = reader_for(path, fmt)
    try:
        import attrs

        if attrs.has(type(reader)) and "pixel_size" in attrs.fields_dict(type(reader)):
            reader = attrs.evolve(reader, pixel_size=pixel_size)
    except (TypeError, ValueError) as exc:
        raise CryotmError(f"--pixel-size: {exc}") from None
    particles = reader.read(path)
    if particles.pixel_size is None:
        particles = attrs.evolve(particles, pixel_size=pixel_size)
    return particles


def run(args: argparse.Namespace) -> int:
    from .._atomic import atomic_path
    from ..comparison import compare_particles

    picks = _read(args.picks, args.picks_format, args.pixel_size)
    reference = _read(args.reference, args.reference_format, args.pixel_size)
    result = compare_particles(
        picks, reference, tolerance=args.tolerance, symmetry=args.symmetry, per_tomogram=not args.all_together
    )
    text = json.dumps(result.as_dict(), indent=2)
    if args.json == "-":
        print(text)
        return 0
    print(result.format())
    if args.json:
        with atomic_path(args.json, overwrite=True) as tmp:
            tmp.write_text(text + "\n")
    return 0
