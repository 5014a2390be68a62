"""The per-axis edge option ``--edge-margin`` of ``extract`` and ``select``.

Both take one number (the same on every axis) or three in ``X,Y,Z`` order,
the order of particle positions (and of cryoCAT's ``edge_masking``).
"""

from __future__ import annotations

import argparse

__all__ = ["edge_margins"]


def edge_margins(text: str) -> int | tuple[int, int, int]:
    """``"N"`` -> N, ``"X,Y,Z"`` -> (X, Y, Z): whole voxels, for argparse's ``type=``.

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else (argparse prints it as a usage error).

    Examples
    --------
    >>> edge_margins("4"), edge_margins("2, 0,5")
    (4, (2, 0, 5))
    """
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or X,Y,Z (whole voxels), got {text!r}") from None
    if len(values) not in (1, 3):
        raise argparse.ArgumentTypeError(f"expected N or X,Y,Z, got {text!r}")
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"edge margins must be >= 0, got {text!r}")
    return values[0] if len(values) == 1 else (values[0], values[1], values[2])
