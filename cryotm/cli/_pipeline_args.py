"""Command-line options that build a pipeline (shared by ``batch`` and ``extract-job``)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import CryotmError

__all__ = ["add_pipeline_arguments", "pipeline_from_args", "config_from_args"]

DEFAULT_FORMAT = "relion5"


def add_pipeline_arguments(parser: argparse.ArgumentParser, diameter_required: bool = False) -> None:
    group = parser.add_argument_group("pipeline (or give them all in --config)")
    group.add_argument(
        "--config",
        metavar="FILE",
        help="pipeline config (TOML: [threshold], [picker], [[filters]], [writer], [inputs]) or a run "
        "record (*.cryotm.json) to repeat; the options below override it",
    )
    group.add_argument("--diameter", type=float, metavar="D", help="particle diameter in voxels (the picker's particle_diameter)")
    group.add_argument(
        "--threshold",
        metavar="NAME[:VALUE]",
        help="threshold strategy, e.g. far, far:2, sigma:3, triangle, or a number (default: far)",
    )
    group.add_argument(
        "--format",
        metavar="F",
        help=f"output format (relion5, relion4, relion31, relion30, stopgap, emmotl, dynamo, table, ...; default {DEFAULT_FORMAT})",
    )


def config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The config file's contents (empty without --config)."""
    from ..pipeline import load_config

    return load_config(args.config) if args.config else {}


def pipeline_from_args(args: argparse.Namespace, config: dict[str, Any] | None = None, diameter: float | None = None):
    """Build the pipeline from --config and the options that override it.

    Parameters
    ----------
    diameter : float, optional
        Fallback particle diameter (voxels) when neither --diameter nor the config gives one
        (for example from a peer's job file).
    """
    from ..formats import writer_for
    from ..pipeline import pipeline_from_config
    from ..thresholds import get_threshold_strategy

    config = dict(config if config is not None else config_from_args(args))
    picker_section = config.get("picker")
    chosen = args.diameter if args.diameter is not None else None
    if picker_section is None:
        chosen = chosen if chosen is not None else diameter
        if chosen is None:
            raise CryotmError("give the particle diameter (--diameter D, in voxels) or a --config with a [picker]")
        config["picker"] = {"particle_diameter": chosen}
    elif chosen is not None:
        section = dict(picker_section)
        if "parameters" in section:
            section["parameters"] = dict(section["parameters"], particle_diameter=chosen)
        else:
            section["particle_diameter"] = chosen
        config["picker"] = section
    overrides: dict[str, Any] = {}
    if args.threshold is not None:
        overrides["threshold"] = get_threshold_strategy(args.threshold)
    if args.format is not None:
        overrides["writer"] = writer_for(format=args.format)
    elif config.get("writer") is None:
        overrides["writer"] = writer_for(format=DEFAULT_FORMAT)
    return pipeline_from_config(config, **overrides)
