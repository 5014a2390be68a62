"""The ``cryotm`` command line: a thin layer over the Python API.

Each subcommand lives in its own module of this package, listed in
:data:`COMMANDS`; a module exposes ``register(subparsers)``, which adds its
parser and sets ``func`` to the function that runs it. A user's mistake
(:class:`~cryotm.errors.CryotmError`) is printed on one line and the exit
status is 1; so is an operating-system error (disk full, read-only folder,
file size limit), printed as the file and the system's reason. A closed
output pipe (``cryotm threshold ... | head``) ends the command quietly with
status 141. A usage error prints the subcommand's usage and exits with 2.
``cryotm -p no:NAME COMMAND ...`` runs without the plugin NAME. Nothing here
imports numpy, pandas or scipy: ``--help`` and ``--version`` answer at once,
and each subcommand imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import CryotmError, show_warnings_as_lines
from ._options import check_numbers

__all__ = ["main", "build_parser", "COMMANDS"]

#: Subcommand modules, in the order ``cryotm --help`` lists them.
COMMANDS: tuple[str, ...] = (
    # the main job
    "extract",
    "extract-job",
    "batch",
    "select",
    "mask-beads",
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
    parser.add_argument("-p", dest="plugin_options", action="append", default=[], metavar="no:NAME",
                        help="do not load the plugin NAME (repeatable; see 'cryotm plugins')")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name.replace('-', '_')}").register(subparsers)
    return parser


def _block(parser: argparse.ArgumentParser, options: list[str]) -> None:
    names = []
    for option in options:
        if not option.startswith("no:") or not option[3:].strip():
            parser.error(f"-p takes no:NAME (a plugin not to load), got {option!r}")
        names.append(option[3:].strip())
    if names:
        from ..plugins import block_plugins

        block_plugins(*names)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    command = getattr(args, "command", None)
    if extras:
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        target = subparsers.choices.get(command, parser) if command else parser
        target.error(f"unrecognized arguments: {' '.join(extras)}")
    _block(parser, args.plugin_options)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    show_warnings_as_lines()
    try:
        check_numbers(args)
        status = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        return _broken_pipe()
    except CryotmError as exc:
        print(f"cryotm: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cryotm: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the file system's answer (disk full, read-only, file size limit, ...)
        print(f"cryotm: error: {os_error_text(exc)}", file=sys.stderr)
        return 1
    return int(status or 0)


def os_error_text(exc: OSError) -> str:
    """One line for an operating-system error: the file(s) and the system's reason."""
    reason = exc.strerror or str(exc)
    files = [os.fspath(f) for f in (exc.filename, exc.filename2) if f is not None]
    return f"{' -> '.join(files)}: {reason}" if files else reason


def _broken_pipe() -> int:
    """The reader of our output went away (``cryotm ... | head``): stop quietly, as other tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # so that the interpreter's final flush does not fail again
    return 141  # 128 + SIGPIPE, what a shell reports for a program stopped by the broken pipe


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
