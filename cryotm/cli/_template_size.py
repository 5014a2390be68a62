"""The pyTME option ``--template-size`` of ``extract-job`` and ``batch`` (one flag, one meaning)."""

from __future__ import annotations

import argparse

__all__ = ["add_template_size_argument", "template_shape_from_args"]


def add_template_size_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--template-size N | X Y Z``: the box of the template a pyTME result was searched with."""
    parser.add_argument(
        "--template-size",
        type=int,
        nargs="+",
        metavar="N",
        help="pyTME only: the template's box in voxels, N (a cube) or X Y Z, when the template file the result "
        "names is not there (an even box moves each position by up to 1.7 voxels)",
    )


def template_shape_from_args(args: argparse.Namespace) -> int | tuple[int, int, int] | None:
    """``--template-size`` as :func:`cryotm.peers.read_jobs` takes it: N, (nz, ny, nx), or None if not given.

    Raises
    ------
    InputError
        If it gives neither one nor three numbers.
    """
    from ..errors import InputError

    size = getattr(args, "template_size", None)
    if not size:
        return None
    if len(size) not in (1, 3):
        raise InputError(f"--template-size takes N or X Y Z, got {len(size)} numbers")
    return size[0] if len(size) == 1 else (size[2], size[1], size[0])
