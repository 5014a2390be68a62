"""The picker's filter options (tophat, sub-voxel), shared by ``extract``, ``batch`` and ``extract-job``."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_picker_filter_arguments", "picker_filter_options"]

#: option dest -> PeakPicker parameter
_PARAMETERS = {
    "tophat_filter": "tophat",
    "tophat_connectivity": "tophat_connectivity",
    "tophat_bins": "tophat_bins",
    "tophat_false_positives": "tophat_false_positives",
    "subvoxel": "subvoxel",
}


def add_picker_filter_arguments(parser: argparse.ArgumentParser | Any) -> None:
    """Add ``--tophat-filter`` (and its settings) and ``--subvoxel`` to `parser` (or an argument group)."""
    parser.add_argument("--tophat-filter", action="store_true", default=None,
                        help="keep only candidates on sharp peaks (white tophat of the scores map, cut-off "
                        "fitted to its histogram, as pytom-match-pick): drops gold beads, membranes, carbon edges")
    parser.add_argument("--tophat-connectivity", type=int, choices=(1, 2, 3), metavar="{1,2,3}",
                        help="connectivity of the tophat's structuring element (default 1)")
    parser.add_argument("--tophat-bins", type=int, metavar="N", help="bins of the tophat histogram (default 50)")
    parser.add_argument("--tophat-false-positives", type=float, metavar="N",
                        help="background voxels expected above the tophat cut-off (default 1)")
    parser.add_argument("--subvoxel", choices=("gaussian", "quadratic"),
                        help="refine positions by a local fit of the scores; the fraction is written as shifts")


def picker_filter_options(args: argparse.Namespace) -> dict[str, Any]:
    """The PeakPicker parameters these options set (only those given on the command line)."""
    values = {name: getattr(args, dest, None) for dest, name in _PARAMETERS.items()}
    return {name: value for name, value in values.items() if value is not None}
