"""The picker's filter options (tophat, peak shape, side peaks, sub-voxel): ``extract``, ``batch``, ``extract-job``."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = [
    "add_picker_filter_arguments", "add_shape_filter_arguments", "picker_filter_options", "PICKER_FILTER_FLAGS",
]

#: option dest -> PeakPicker parameter
_PARAMETERS = {
    "tophat_filter": "tophat",
    "tophat_mode": "tophat_mode",
    "tophat_fraction": "tophat_fraction",
    "tophat_connectivity": "tophat_connectivity",
    "tophat_bins": "tophat_bins",
    "tophat_false_positives": "tophat_false_positives",
    "shape_filter": "shape_filter",
    "shape_tolerance": "shape_tolerance",
    "side_peak_filter": "side_peaks",
    "side_peak_distance": "side_peak_distance",
    "side_peak_fraction": "side_peak_fraction",
    "subvoxel": "subvoxel",
}

#: PeakPicker parameter -> its flag, for messages that name a parameter
PICKER_FILTER_FLAGS = {name: "--" + dest.replace("_", "-") for dest, name in _PARAMETERS.items()}


def add_picker_filter_arguments(parser: argparse.ArgumentParser | Any) -> None:
    """Add ``--tophat-filter``, ``--no-shape-filter``, ``--side-peak-filter`` (with settings), ``--subvoxel``."""
    parser.add_argument("--tophat-filter", action="store_true", default=None,
                        help="drop candidates on peaks broader than a particle's (white tophat of the scores "
                        "map): gold beads, membranes, carbon edges")
    parser.add_argument("--tophat-mode", choices=("particle", "pytom"),
                        help="particle (default): a ball of a quarter of the diameter, keep a candidate whose "
                        "tophat is at least --tophat-fraction of its height above the median; pytom: "
                        "pytom-match-pick's filter (3x3x3 element, cut-off fitted to the tophat histogram)")
    parser.add_argument("--tophat-fraction", type=float, metavar="F",
                        help="particle mode: smallest tophat, as a fraction of the peak's height, kept (default 0.35)")
    parser.add_argument("--tophat-connectivity", type=int, choices=(1, 2, 3), metavar="{1,2,3}",
                        help="pytom mode: connectivity of the tophat's structuring element (default 1)")
    parser.add_argument("--tophat-bins", type=int, metavar="N",
                        help="pytom mode: bins of the tophat histogram (default 50)")
    parser.add_argument("--tophat-false-positives", type=float, metavar="N",
                        help="pytom mode: background voxels expected above the tophat cut-off (default 1)")
    add_shape_filter_arguments(parser)
    parser.add_argument("--side-peak-filter", action="store_true", default=None,
                        help="drop side lobes of the correlation: a peak within --side-peak-distance diameters of a "
                        "stronger kept peak and below --side-peak-fraction of its score")
    parser.add_argument("--side-peak-distance", type=float, metavar="K",
                        help="side-peak filter: largest distance to the main peak, in particle diameters (default 2)")
    parser.add_argument("--side-peak-fraction", type=float, metavar="F",
                        help="side-peak filter: largest score of a side lobe, as a fraction of its main peak's "
                        "(default 0.5)")
    parser.add_argument("--subvoxel", choices=("gaussian", "quadratic"),
                        help="refine positions by a local fit of the scores; the fraction is written as shifts")


def add_shape_filter_arguments(parser: argparse.ArgumentParser | Any) -> None:
    """Add ``--shape-filter`` / ``--no-shape-filter`` and ``--shape-tolerance`` (also used by ``select``)."""
    parser.add_argument("--shape-filter", action=argparse.BooleanOptionalAction, default=None,
                        help="drop peaks broader than the highest half's: gold beads, membranes (default: when the "
                        "threshold rule expects at most a quarter of the peaks to be noise, as calibrated and far)")
    parser.add_argument("--shape-tolerance", type=float, metavar="K",
                        help="shape filter: largest excess kept, in robust spreads of the reference peaks' "
                        "(default 5)")


def picker_filter_options(args: argparse.Namespace) -> dict[str, Any]:
    """The PeakPicker parameters these options set (only those given on the command line)."""
    values = {name: getattr(args, dest, None) for dest, name in _PARAMETERS.items()}
    return {name: value for name, value in values.items() if value is not None}
