"""``cryotm convert``: convert a particle list from one format into another."""

from __future__ import annotations

import argparse

from ._options import add_metadata_arguments, read_list, shared_options


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
    parser.add_argument("--to", "-f", "--format", dest="to_format", metavar="NAME",
                        help="output format name (default: from the extension of OUT)")
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
    from ..formats import reader_class, write_particles

    reader = reader_class(args.input, args.from_format)
    writer = output_writer(args.output, args.to_format, reader.name)
    writer.check_output(args.output, args.overwrite)
    read_options, write_options = shared_options(args, [reader], writer)
    particles = read_list(args.input, reader.name, args, reader_options=read_options)
    write_particles(particles, args.output, writer.name, overwrite=args.overwrite, **write_options)
    print(f"wrote {len(particles)} particles ({reader.name} -> {writer.name}) to {args.output}")
    return 0
