"""Command-line options that build a pipeline (shared by ``batch`` and ``extract-job``).

Both commands build their pipeline with :func:`pipeline_for_jobs`: the
options override the config, and what peers' job files state (particle
diameter, symmetry; :func:`cryotm.peers.picker_parameters`) fills in the
picker parameters that neither gives.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

from ..errors import CryotmError
from ._geometry_args import add_geometry_arguments, geometry_filters
from ._options import add_diameter_argument, add_format_argument, add_symmetry_argument, add_threshold_argument
from ._picker_options import add_picker_filter_arguments, picker_filter_options

__all__ = ["add_pipeline_arguments", "pipeline_from_args", "pipeline_for_jobs", "config_from_args"]

DEFAULT_FORMAT = "relion5"

#: Keys of a config section that are not parameters of the part.
_SPECIAL = ("name", "class", "parameters", "format")


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pipeline (or give them all in --config)")
    group.add_argument(
        "--config",
        metavar="FILE",
        help="pipeline config (TOML: [threshold], [picker], [[filters]], [writer], [inputs]) or a run "
        "record (*.cryotm.json) to repeat; the options below override it",
    )
    group.add_argument(
        "--allow-import",
        action="store_true",
        help="let --config name classes (class = \"module:Name\") of modules outside cryotm and its installed "
        "plugins; importing runs their code, so only for configs you trust (also: CRYOTM_ALLOW_IMPORT=1)",
    )
    add_diameter_argument(group, note="; default: the job file's, if any")
    add_symmetry_argument(group, default=None, what=": each pick's phi gets a random turn by k*360/N")
    add_threshold_argument(group, default=None)
    add_picker_filter_arguments(group)
    add_format_argument(group, shown=f"default: the config's [writer], else {DEFAULT_FORMAT}")
    group.add_argument(
        "--option",
        "-O",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the output format (e.g. -O object=ribosome for copick); repeatable",
    )
    add_geometry_arguments(parser)


def config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The config file's contents (empty without --config)."""
    from ..pipeline import load_config

    return load_config(args.config) if args.config else {}


def _option_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Picker parameters set on the command line."""
    overrides: dict[str, Any] = {}
    if getattr(args, "diameter", None) is not None:
        overrides["particle_diameter"] = args.diameter
    if getattr(args, "symmetry", None) is not None:
        overrides["symmetry"] = args.symmetry
    overrides.update(picker_filter_options(args))
    return overrides


def _flat_picker(section: Any) -> tuple[str | None, dict[str, Any]] | None:
    """(class path, parameters) of a config's picker section; None when it is not a table."""
    if section is None:
        return None, {}
    if not isinstance(section, Mapping):
        return None
    parameters = dict(section.get("parameters") or {})
    parameters.update({k: v for k, v in section.items() if k not in _SPECIAL})
    return section.get("class"), parameters


def _allow_import(args: argparse.Namespace) -> bool | None:
    return True if getattr(args, "allow_import", False) else None


def _picker_fields(class_path: str | None, allow_import: bool | None = None) -> set[str]:
    """The init parameters of the picker class (the default PeakPicker unless named)."""
    import attrs

    from ..pipeline.config import DEFAULT_PICKER, part_kind
    from ..pipeline.serialize import import_class

    cls = import_class(class_path or DEFAULT_PICKER, part_kind("picker"), what="picker", allow_import=allow_import)
    return {f.name for f in attrs.fields(cls) if f.init} if attrs.has(cls) else set()


def user_picker_parameters(args: argparse.Namespace, config: Mapping[str, Any]) -> set[str]:
    """Names of the picker parameters the user sets (options and the config's [picker])."""
    flat = _flat_picker(config.get("picker"))
    stated = set(flat[1]) if flat is not None else set()
    return stated | set(_option_overrides(args))


def pipeline_from_args(
    args: argparse.Namespace,
    config: dict[str, Any] | None = None,
    picker_defaults: Mapping[str, Any] | None = None,
):
    """Build the pipeline from --config and the options that override it.

    Parameters
    ----------
    args : argparse.Namespace
        The options of :func:`add_pipeline_arguments`.
    config : dict, optional
        The config (default: read from ``--config``).
    picker_defaults : mapping, optional
        Picker parameters for those that neither the options nor the config
        give (for example from peers' job files); only those the picker
        class has are used.

    Raises
    ------
    CryotmError
        No particle diameter for the default picker, or any error of the parts.
    """
    from ..formats import writer_for
    from ..pipeline import pipeline_from_config
    from ._options import parse_options
    from ..thresholds import get_threshold_strategy

    config = dict(config if config is not None else config_from_args(args))
    flat = _flat_picker(config.get("picker"))
    if flat is not None:
        class_path, parameters = flat
        fields = _picker_fields(class_path, _allow_import(args))
        for key, value in (picker_defaults or {}).items():
            if key not in parameters and key in fields:
                parameters[key] = value
        parameters.update(_option_overrides(args))
        if class_path is None and "particle_diameter" not in parameters:
            raise CryotmError("give the particle diameter (--diameter D, in voxels) or a --config with a [picker]")
        config["picker"] = dict(parameters, **({"class": class_path} if class_path else {}))
    overrides: dict[str, Any] = {}
    if args.threshold is not None:
        overrides["threshold"] = get_threshold_strategy(args.threshold)
    options = parse_options(getattr(args, "option", None) or [])
    if args.format is not None:
        overrides["writer"] = writer_for(format=args.format, **options)
    elif config.get("writer") is None:
        overrides["writer"] = writer_for(format=DEFAULT_FORMAT, **options)
    elif options:
        raise CryotmError("--option sets options of the output format: give the format too (--format)")
    extra = geometry_filters(args)
    if extra:  # --alignment with --min-visible-* / --fiducials: after the config's own filters
        own = pipeline_from_config(config, allow_import=_allow_import(args)).filters if config.get("filters") else []
        overrides["filters"] = [*own, *extra]
    return pipeline_from_config(config, allow_import=_allow_import(args), **overrides)


def pipeline_for_jobs(
    args: argparse.Namespace,
    config: dict[str, Any],
    jobs: Sequence[Any],
    log: IO[str] | None = None,
):
    """The pipeline for tomograms among which are peers' `jobs` (``batch`` and ``extract-job``).

    The options and the config set what they give; the picker parameters the
    jobs state (:func:`cryotm.peers.picker_parameters`: particle diameter,
    symmetry) fill in the rest, and each one taken from the jobs is said on
    `log` (default stderr). Without jobs this is :func:`pipeline_from_args`.
    """
    from ..peers import picker_parameters

    log = log if log is not None else sys.stderr
    defaults = picker_parameters(jobs, given=user_picker_parameters(args, config)) if jobs else {}
    pipeline = pipeline_from_args(args, config, picker_defaults=defaults)
    source = "the job file" if len({getattr(job, "source", "") for job in jobs}) <= 1 else "the job files"
    picker = pipeline.picker
    if "particle_diameter" in defaults and getattr(picker, "particle_diameter", None) == defaults["particle_diameter"]:
        print(f"particle diameter from {source}: {defaults['particle_diameter']:g} voxels", file=log)
    symmetry = defaults.get("symmetry")
    if symmetry not in (None, "c1") and getattr(picker, "symmetry", None) == symmetry:
        print(f"symmetry from {source}: {symmetry} (seed {getattr(picker, 'seed', None)})", file=log)
    return pipeline
