"""``cryotm info``: what a map file holds (shape, dtype, pixel size, value range)."""

from __future__ import annotations

import argparse



def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="describe map files",
        description="Print the shape (z, y, x), dtype, pixel size and value statistics of map files "
        "(MRC, EM or a plugin's format).",
    )
    parser.add_argument("maps", nargs="+", metavar="MAP", help="map files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..maps import Volume

    for path in args.maps:
        volume = Volume.read(path, mmap=True)
        data = volume.data
        lo, hi = float(np.min(data)), float(np.max(data))
        mean = float(np.mean(data, dtype=np.float64))
        pixel = f"{volume.pixel_size:g} A" if volume.pixel_size else "unknown"
        print(
            f"{path}: shape (z, y, x) {volume.shape}, {data.dtype}, pixel size {pixel}, "
            f"min {lo:.6g}, max {hi:.6g}, mean {mean:.6g}"
        )
    return 0
