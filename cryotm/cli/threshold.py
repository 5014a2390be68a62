"""``cryotm threshold``: the threshold one or several strategies give a scores map, and what each saw."""

from __future__ import annotations

import argparse
from typing import Any

from ._options import add_angle_count_arguments, add_mask_argument, angle_count


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "threshold",
        help="compute thresholds of a scores map",
        description="Print the threshold that each chosen strategy gives a scores map, with what the "
        "strategy saw (fitted parameters, statistics). Useful for choosing a threshold before extraction. "
        "Strategies: calibrated[:N_FALSE_PEAKS], triangle, sigma:K, far[:N_FALSE_POSITIVES], hard[:FRACTION], "
        "gauss, manual:VALUE "
        "or a plugin's name (see 'cryotm plugins').",
    )
    parser.add_argument("scores", metavar="SCORES", help="scores map (MRC, EM)")
    parser.add_argument(
        "-t",
        "--threshold",
        action="append",
        metavar="NAME[:VALUE]",
        help="a strategy; repeat for several (default: calibrated, as extract)",
    )
    add_mask_argument(parser, note="; only voxels where it is nonzero count")
    parser.add_argument(
        "-d",
        "--diameter",
        type=float,
        metavar="D",
        help="particle diameter in voxels, as given to extract ('calibrated' then counts peaks as extract keeps them)",
    )
    add_angle_count_arguments(parser)
    parser.add_argument("--job-std", type=float, metavar="S", help="background std from the matching job ('far')")
    parser.add_argument(
        "--job-mean",
        type=float,
        metavar="M",
        help="background mean from the matching job ('far'; default 0 with --job-std)",
    )
    parser.set_defaults(func=run)


def _format(value: Any) -> str | None:
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"array{value.shape}" if value.size > 6 else np.array2string(value, precision=6)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(str(_format(v)) for v in value) + ")"
    return str(value)


def _print_details(details: dict[str, Any], indent: str = "    ") -> None:
    for key, value in details.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_details(value, indent + "    ")
        else:
            print(f"{indent}{key}: {_format(value)}")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..errors import InputError
    from ..maps import MaskMap, ScoresMap
    from ..sanity import check_scores_and_angles
    from ..thresholds import SearchStatistics, get_threshold_strategy

    scores = ScoresMap.read(args.scores, mmap=True)
    check_scores_and_angles(scores)
    mask = None
    if args.mask:
        mask_map = MaskMap.read(args.mask, mmap=True)
        scores.check_same_shape(mask_map, "mask")
        mask = np.asarray(mask_map.data) != 0
        if not mask.any():
            raise InputError("the mask selects no voxel", args.mask)
    statistics = SearchStatistics(n_angles=angle_count(args), mean=args.job_mean, std=args.job_std)
    for spec in args.threshold or ["calibrated"]:
        strategy = get_threshold_strategy(spec)
        if args.diameter is not None and callable(getattr(strategy, "with_particle_diameter", None)):
            strategy = strategy.with_particle_diameter(args.diameter)
        result = strategy.evaluate(scores, mask=mask, statistics=statistics)
        print(f"{strategy.spec()}: {result.value:.6g}")
        _print_details(result.details)
    return 0
