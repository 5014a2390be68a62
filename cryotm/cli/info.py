"""``cryotm info``: what a map file holds (shape, dtype, pixel size, value range)."""

from __future__ import annotations

import argparse
import sys

from ..errors import CryotmError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="describe map files",
        description="Print the shape (z, y, x), dtype, pixel size and value statistics of map files "
        "(MRC, EM or a plugin's format). Every file is reported: one that cannot be read gets one line "
        "on stderr and the exit status is 1.",
    )
    parser.add_argument("maps", nargs="+", metavar="MAP", help="map files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.maps:
        try:
            describe(path)
        except CryotmError as exc:
            failed += 1
            print(f"cryotm: error: {exc}", file=sys.stderr)
    if failed and len(args.maps) > 1:
        print(f"cryotm: {failed} of {len(args.maps)} files could not be read", file=sys.stderr)
    return 1 if failed else 0


def describe(path: str) -> None:
    """Print one line about the map file `path` (raises :class:`CryotmError` if it cannot be read)."""
    import numpy as np

    from ..maps import Volume

    volume = Volume.read(path, mmap=True)
    data = volume.data
    lo, hi = float(np.min(data)), float(np.max(data))
    mean = float(np.mean(data, dtype=np.float64))
    pixel = f"{volume.pixel_size:g} A" if volume.pixel_size else "unknown"
    print(
        f"{path}: shape (z, y, x) {volume.shape}, {data.dtype}, pixel size {pixel}, "
        f"min {lo:.6g}, max {hi:.6g}, mean {mean:.6g}"
    )
