"""``cryotm merge``: join the particle lists of many tomograms into one file."""

from __future__ import annotations

import argparse

from ..errors import CryotmError
from ._options import add_metadata_arguments, options_for, shared_options, tomogram_shape


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="join the particle lists of many tomograms into one",
        description="Join particle lists (for example one per tomogram, in any mix of formats) into one "
        "file. Particles are renumbered 1..N (subtomo_id); each keeps its tomogram's name (tomogram ids "
        "are kept unless two inputs use the same id for different tomograms, then they are renumbered "
        "from the names). The output format is --to, else the one that writes OUT's extension, else "
        "the inputs' common format. Written atomically; an existing output is kept unless --overwrite.",
    )
    parser.add_argument("inputs", metavar="IN", nargs="+", help="input particle lists")
    parser.add_argument("-o", "--output", metavar="OUT", required=True, help="output file")
    parser.add_argument("--from", dest="from_format", metavar="F", help="format of every input")
    parser.add_argument("--to", "-f", "--format", dest="to_format", metavar="NAME",
                        help="output format name (default: from the extension of OUT)")
    add_metadata_arguments(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..formats import merge_lists, read_particles, reader_class, write_particles
    from .convert import output_writer

    readers = [reader_class(path, args.from_format) for path in args.inputs]
    names = {cls.name for cls in readers}
    common = names.pop() if len(names) == 1 else None
    writer = output_writer(args.output, args.to_format, common)
    writer.check_output(args.output, args.overwrite)
    read_options, write_options = shared_options(args, readers, writer)
    shape = tomogram_shape(args)
    lists = []
    for path, cls in zip(args.inputs, readers):
        try:
            lists.append(
                read_particles(
                    path, cls.name, pixel_size=args.pixel_size, tomogram_shape=shape,
                    **options_for(cls, read_options),
                )
            )
        except CryotmError as exc:
            raise CryotmError(f"cannot merge: {exc}") from None
    merged = merge_lists(lists, sources=args.inputs)
    if shape is not None:
        from ..formats import with_metadata

        merged = with_metadata(merged, tomogram_shape=shape)
    write_particles(merged, args.output, writer.name, overwrite=args.overwrite, **write_options)
    n_tomos = merged.data["tomo_name"].nunique() if len(merged) else 0
    print(f"merged {len(merged)} particles of {n_tomos} tomogram(s) from {len(lists)} file(s) "
          f"into {args.output} ({writer.name})")
    return 0
