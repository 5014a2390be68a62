"""``cryotm convert``: convert a particle list from one format into another."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import CryotmError


def add_metadata_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that describe the data: pixel size, tomogram shape, binning, format options."""
    parser.add_argument("--pixel-size", type=float, metavar="A", help="voxel size in Å of the tomogram the "
                        "positions refer to (needed by RELION 3.1/4/5 unless the input file has it)")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--tomogram-shape", type=int, nargs=3, metavar=("Z", "Y", "X"),
                       help="tomogram size in voxels, z y x (needed by RELION 5)")
    shape.add_argument("--tomogram-size", type=int, nargs=3, metavar=("X", "Y", "Z"),
                       help="the same, given x y z")
    parser.add_argument("--binning", type=float, metavar="B",
                        help="binning of the tomogram relative to the tilt series (RELION 4/5)")
    parser.add_argument("--centre", choices=("relion", "pytom"),
                        help="RELION 5 tomogram centre: size/2 (relion, default) or size/2 - 1 (pytom)")
    parser.add_argument("--option", "-O", action="append", default=[], metavar="KEY=VALUE",
                        help="an option of the output format (e.g. score_label=rlnLCCmax); repeatable")


def tomogram_shape(args: argparse.Namespace) -> tuple[int, int, int] | None:
    """(nz, ny, nx) from --tomogram-shape or --tomogram-size."""
    if getattr(args, "tomogram_shape", None):
        shape = tuple(args.tomogram_shape)
    elif getattr(args, "tomogram_size", None):
        shape = tuple(reversed(args.tomogram_size))
    else:
        return None
    if min(shape) < 1:
        raise CryotmError(f"tomogram sizes must be positive, got {shape}")
    return shape  # type: ignore[return-value]


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` -> ``{"key": value}`` (numbers converted)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CryotmError(f"--option needs KEY=VALUE, got {pair!r}")
        options[key.strip().replace("-", "_")] = _value(value.strip())
    return options


def shared_options(args: argparse.Namespace, reader_classes: list[type], writer_class: type) -> tuple[dict, dict]:
    """Split --binning/--centre between the reader(s) and the writer (each gets what it declares)."""
    from ..formats import option_names

    given = {k: v for k, v in (("binning", args.binning), ("centre", args.centre)) if v is not None}
    read_options: dict[str, Any] = {}
    write_options = parse_options(args.option)
    for key, value in given.items():
        takers = [cls for cls in [*reader_classes, writer_class] if key in option_names(cls)]
        if not takers:
            names = sorted({cls.name for cls in [*reader_classes, writer_class]})
            raise CryotmError(f"--{key} is not used by the format(s) {', '.join(names)}")
        if any(key in option_names(cls) for cls in reader_classes):
            read_options[key] = value
        if key in option_names(writer_class):
            write_options[key] = value
    return read_options, write_options


def options_for(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """The subset of `options` that the reader/writer class `cls` declares."""
    from ..formats import option_names

    return {k: v for k, v in options.items() if k in option_names(cls)}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert a particle list between formats",
        description="Convert a particle list (motive list) between formats: emmotl, stopgap, relion30, "
        "relion31, relion4, relion5, dynamo, table and any plugin's. The input format is detected "
        "from the file unless --from is given; the output format is --to, else the input format if it "
        "writes OUT's extension, else the one format that writes it. The output is written atomically "
        "and an existing file is kept unless --overwrite.",
    )
    parser.add_argument("input", metavar="IN", help="input particle list")
    parser.add_argument("output", metavar="OUT", help="output file")
    parser.add_argument("--from", dest="from_format", metavar="F", help="input format name")
    parser.add_argument("--to", dest="to_format", metavar="F", help="output format name")
    add_metadata_arguments(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.set_defaults(func=run)


def output_writer(output: str, to_format: str | None, from_format: str | None) -> type:
    """--to, else the input's format if it writes OUT's extension, else the extension's one format."""
    from pathlib import Path

    from ..formats import motl_writers, writer_class

    if to_format is None and from_format is not None:
        writers = motl_writers()
        same = writers.get(from_format)
        if same is not None and Path(output).suffix.lower() in same.extensions:
            return same
    return writer_class(output, to_format)


def run(args: argparse.Namespace) -> int:
    from .._atomic import check_writable
    from ..formats import read_particles, reader_class, write_particles

    check_writable(args.output, args.overwrite)
    reader = reader_class(args.input, args.from_format)
    writer = output_writer(args.output, args.to_format, reader.name)
    read_options, write_options = shared_options(args, [reader], writer)
    shape = tomogram_shape(args)
    particles = read_particles(
        args.input, reader.name, pixel_size=args.pixel_size, tomogram_shape=shape,
        **options_for(reader, read_options),
    )
    write_particles(particles, args.output, writer.name, overwrite=args.overwrite, **write_options)
    print(f"wrote {len(particles)} particles ({reader.name} -> {writer.name}) to {args.output}")
    return 0
