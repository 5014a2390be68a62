"""The ``cryotm`` command line: a thin layer over the Python API.

Each subcommand lives in its own module of this package, listed in
:data:`COMMANDS`; a module exposes ``register(subparsers)``, which adds its
parser and sets ``func`` to the function that runs it. A user's mistake
(:class:`~cryotm.errors.CryotmError`) is printed on one line and the exit
status is 1; argparse's usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import CryotmError

__all__ = ["main", "build_parser", "COMMANDS"]

#: Subcommand modules, in the order ``cryotm --help`` lists them.
COMMANDS: tuple[str, ...] = (
    # the main job
    "extract",
    "extract-job",
    "batch",
    "select",
    # looking closer
    "threshold",
    "peak-shape",
    "distance-maps",
    "report",
    "compare",
    "project",
    # particle lists
    "convert",
    "merge",
    # about cryotm and the data
    "demo",
    "info",
    "plugins",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="cryotm",
        description="Analysis of cryo-ET template-matching results: thresholds, particle "
        "extraction, peak shapes, angular distance maps and particle-list formats.",
    )
    parser.add_argument("--version", action="version", version=f"cryotm {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name.replace('-', '_')}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        status = args.func(args)
    except CryotmError as exc:
        print(f"cryotm: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cryotm: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
