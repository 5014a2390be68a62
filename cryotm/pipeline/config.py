"""Pipelines from config files (TOML) and from records (JSON).

A config file names each part and its parameters, in the same words as the
Python API and the command line::

    # pipeline.toml
    [threshold]
    name = "far"                 # any registered strategy, or class = "my_pkg.rules:MyRule"
    n_false_positives = 1.0

    [picker]                     # cryotm.picking.PeakPicker unless class = "..."
    particle_diameter = 12

    [[filters]]                  # optional, applied in order
    name = "min_score"
    value = 0.2

    [writer]
    format = "relion5"           # options of the format follow, e.g. binning = 1

    [inputs]                     # optional defaults for batch tables and globs
    angles_order = "zxz"
    index_base = 0

The ``pipeline`` part of a run record (``*.cryotm.json``) has the same shape
(each part as ``{"name", "class", "parameters"}``), so a record is also a
config. TOML is read with :mod:`tomllib` (Python >= 3.11) or the ``tomli``
package on Python 3.10.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import CryotmError, InputError
from .serialize import import_class

__all__ = ["load_config", "pipeline_from_config", "load_pipeline", "input_defaults", "DEFAULT_PICKER"]

#: The picker class used when a config does not name one.
DEFAULT_PICKER = "cryotm.picking:PeakPicker"

_SPECIAL = ("name", "class", "parameters", "format")


def _toml_module():
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - Python 3.10 only
        import tomli

        return tomli
    except ImportError:  # pragma: no cover
        raise CryotmError("reading TOML on Python 3.10 needs the 'tomli' package (pip install tomli)") from None


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read a pipeline config: TOML, or JSON (a config or a run record).

    Raises
    ------
    InputError
        Missing file, or a file that is not valid TOML/JSON.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such config file", path)
    text = path.read_text()
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc}", path) from None
        if isinstance(data, dict) and "pipeline" in data and "cryotm_version" in data:
            # a run record: its pipeline, and its tomogram's reading options as defaults
            recorded = data.get("inputs") or {}
            defaults = {k: recorded[k] for k in ("angles_order", "index_base") if k in recorded}
            data = dict(data["pipeline"], inputs=defaults)
    else:
        toml = _toml_module()
        try:
            data = toml.loads(text)
        except toml.TOMLDecodeError as exc:
            raise InputError(f"not valid TOML: {exc}", path) from None
    if not isinstance(data, dict):
        raise InputError("a pipeline config must be a table of sections", path)
    return data


def _split(section: Any, what: str) -> tuple[str | None, str | None, dict[str, Any]]:
    """(name, class path, parameters) of a config section."""
    if isinstance(section, str):
        return section, None, {}
    if not isinstance(section, Mapping):
        raise CryotmError(f"the {what} section must be a table, got {section!r}")
    name = section.get("name") or section.get("format")
    cls = section.get("class")
    parameters = dict(section.get("parameters") or {})
    parameters.update({k: v for k, v in section.items() if k not in _SPECIAL})
    return name, cls, {k: _rebuild(v) for k, v in parameters.items()}


def _rebuild(value: Any) -> Any:
    """Rebuild nested parts described as ``{"class": ..., "parameters": ...}``."""
    if isinstance(value, Mapping) and "class" in value and "parameters" in value:
        return _build(value, "nested part")
    return value


def _build(section: Mapping[str, Any], what: str) -> Any:
    _, cls, parameters = _split(section, what)
    return _instantiate(import_class(cls), parameters, what)  # type: ignore[arg-type]


def _instantiate(cls: type, parameters: dict[str, Any], what: str) -> Any:
    try:
        return cls(**parameters)
    except CryotmError:
        raise
    except (TypeError, ValueError) as exc:  # attrs' own checks and the class's validators
        raise CryotmError(f"bad parameters for the {what} {cls.__name__}: {exc}") from None


def _threshold(section: Any) -> Any:
    from ..thresholds import get_threshold_strategy

    if isinstance(section, (int, float)) and not isinstance(section, bool):
        return get_threshold_strategy(section)
    name, cls, parameters = _split(section, "threshold")
    if cls is not None:
        return _instantiate(import_class(cls), parameters, "threshold")
    if not name:
        raise CryotmError("the threshold section needs a name (for example name = \"far\")")
    return get_threshold_strategy(name, **parameters)


def _picker(section: Any) -> Any:
    if section is None:
        raise CryotmError("a pipeline config needs a [picker] section (at least particle_diameter)")
    _, cls, parameters = _split(section, "picker")
    return _instantiate(import_class(cls or DEFAULT_PICKER), parameters, "picker")


def _filters(sections: Any) -> list[Any]:
    from .filters import get_filter

    if sections is None:
        return []
    if isinstance(sections, Mapping):
        sections = [sections]
    filters = []
    for section in sections:
        name, cls, parameters = _split(section, "filter")
        if cls is not None:
            filters.append(_instantiate(import_class(cls), parameters, "filter"))
        elif name:
            filters.append(get_filter(name, **parameters))
        else:
            raise CryotmError("each [[filters]] entry needs a name or a class")
    return filters


def _writer(section: Any) -> Any:
    from ..formats import writer_for

    if section is None:
        return None
    name, cls, parameters = _split(section, "writer")
    if cls is not None:
        return _instantiate(import_class(cls), parameters, "writer")
    if not name:
        raise CryotmError("the writer section needs a format (for example format = \"relion5\")")
    return writer_for(format=name, **parameters)


def pipeline_from_config(config: Mapping[str, Any] | str | os.PathLike, **overrides: Any):
    """Build a :class:`~cryotm.pipeline.Pipeline` from a config (dict or file).

    Parameters
    ----------
    config : dict or path
        The sections described in this module's docstring, or a file holding them.
    **overrides
        Parts given directly (``threshold=``, ``picker=``, ``filters=``,
        ``writer=``) replace the config's.

    Raises
    ------
    CryotmError
        Unknown names, bad parameters, or a missing picker section.
    """
    from .pipeline import DEFAULT_THRESHOLD, Pipeline

    if not isinstance(config, Mapping):
        config = load_config(config)
    unknown = set(config) - {"threshold", "picker", "filters", "writer", "inputs"}
    if unknown:
        raise CryotmError(
            f"unknown pipeline config section(s): {', '.join(sorted(unknown))} "
            "(known: threshold, picker, filters, writer, inputs)"
        )
    parts = {
        "threshold": overrides.get("threshold") or _threshold(config.get("threshold", DEFAULT_THRESHOLD)),
        "picker": overrides.get("picker") or _picker(config.get("picker")),
        "filters": overrides["filters"] if "filters" in overrides else _filters(config.get("filters")),
        "writer": overrides.get("writer") or _writer(config.get("writer")),
    }
    return Pipeline(**parts)


def load_pipeline(path: str | os.PathLike, **overrides: Any):
    """Build a pipeline from a TOML config or a JSON run record (see :func:`pipeline_from_config`)."""
    return pipeline_from_config(load_config(path), **overrides)


def input_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[inputs]`` section: defaults (angles_order, index_base, ...) for batch rows."""
    section = dict(config.get("inputs") or {})
    allowed = {"angles_order", "index_base", "angle_list_format", "pixel_size"}
    unknown = set(section) - allowed
    if unknown:
        raise CryotmError(f"unknown [inputs] key(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(allowed))})")
    return section
