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

A ``class`` is imported only if it belongs to cryotm or an installed plugin,
or with ``allow_import=True`` (``--allow-import``, ``CRYOTM_ALLOW_IMPORT=1``),
and it must be of its part's kind (:func:`part_kind`) before it is called;
the ``[inputs]`` values are checked when the config is read.

The ``pipeline`` part of a run record (``*.cryotm.json``) has the same shape
(each part as ``{"name", "class", "parameters"}``), so a record is also a
config. TOML is read with :mod:`tomllib` (Python >= 3.11) or the ``tomli``
package on Python 3.10.
"""

from __future__ import annotations

import contextvars
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import CryotmError, InputError
from .serialize import import_class

#: Whether the config being built may import modules outside cryotm and its plugins (see :func:`import_class`).
_ALLOW_IMPORT: contextvars.ContextVar[bool | None] = contextvars.ContextVar("cryotm_allow_import", default=None)

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


def _defines(cls: type, method: str) -> bool:
    return any(method in vars(klass) for klass in cls.__mro__ if klass is not object)


def part_kind(what: str) -> Any:
    """What a class named for the part `what` must be (checked before it is called)."""
    import attrs

    from ..formats.base import MotlWriter
    from ..picking import PeakPicker
    from ..thresholds.base import ThresholdStrategy
    from .filters import PickFilter

    def picker(cls: type) -> bool:
        return issubclass(cls, PeakPicker) or _defines(cls, "pick")

    def pick_filter(cls: type) -> bool:
        return issubclass(cls, PickFilter) or _defines(cls, "__call__")

    def nested(cls: type) -> bool:
        return attrs.has(cls)

    picker.__name__ = "PeakPicker (or a class with a pick method)"
    pick_filter.__name__ = "PickFilter (or a class whose objects are callable)"
    nested.__name__ = "an attrs class"
    return {"threshold": ThresholdStrategy, "writer": MotlWriter, "picker": picker, "filter": pick_filter}.get(
        what, nested
    )


def _import(path: str, what: str) -> type:
    return import_class(path, part_kind(what), what=what, allow_import=_ALLOW_IMPORT.get())


def _build(section: Mapping[str, Any], what: str) -> Any:
    _, cls, parameters = _split(section, what)
    return _instantiate(_import(cls, what), parameters, what)  # type: ignore[arg-type]


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
        return _instantiate(_import(cls, "threshold"), parameters, "threshold")
    if not name:
        raise CryotmError("the threshold section needs a name (for example name = \"far\")")
    return get_threshold_strategy(name, **parameters)


def _picker(section: Any) -> Any:
    if section is None:
        raise CryotmError("a pipeline config needs a [picker] section (at least particle_diameter)")
    _, cls, parameters = _split(section, "picker")
    return _instantiate(_import(cls or DEFAULT_PICKER, "picker"), parameters, "picker")


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
            filters.append(_instantiate(_import(cls, "filter"), parameters, "filter"))
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
        return _instantiate(_import(cls, "writer"), parameters, "writer")
    if not name:
        raise CryotmError("the writer section needs a format (for example format = \"relion5\")")
    return writer_for(format=name, **parameters)


def pipeline_from_config(
    config: Mapping[str, Any] | str | os.PathLike, *, allow_import: bool | None = None, **overrides: Any
):
    """Build a :class:`~cryotm.pipeline.Pipeline` from a config (dict or file).

    Parameters
    ----------
    config : dict or path
        The sections described in this module's docstring, or a file holding them.
    allow_import : bool, optional
        Let ``class = "module:Name"`` name modules outside cryotm and its
        installed plugins (importing runs their code; see
        :func:`~cryotm.pipeline.serialize.import_class`). Default: the
        environment variable ``CRYOTM_ALLOW_IMPORT``. Every named class must
        be of its part's kind (a ThresholdStrategy, a picker, a filter, a
        MotlWriter) before it is called, with or without this.
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
    token = _ALLOW_IMPORT.set(allow_import)
    try:
        parts = {
            "threshold": overrides.get("threshold") or _threshold(config.get("threshold", DEFAULT_THRESHOLD)),
            "picker": overrides.get("picker") or _picker(config.get("picker")),
            "filters": overrides["filters"] if "filters" in overrides else _filters(config.get("filters")),
            "writer": overrides.get("writer") or _writer(config.get("writer")),
        }
    finally:
        _ALLOW_IMPORT.reset(token)
    return Pipeline(**parts)


def load_pipeline(path: str | os.PathLike, *, allow_import: bool | None = None, **overrides: Any):
    """Build a pipeline from a TOML config or a JSON run record (see :func:`pipeline_from_config`)."""
    return pipeline_from_config(load_config(path), allow_import=allow_import, **overrides)


def input_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[inputs]`` section: defaults (angles_order, index_base, ...) for batch rows."""
    section = dict(config.get("inputs") or {})
    allowed = {"angles_order", "index_base", "angle_list_format", "pixel_size"}
    unknown = set(section) - allowed
    if unknown:
        raise CryotmError(f"unknown [inputs] key(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(allowed))})")
    from .inputs import ANGLE_LIST_FORMATS, _optional_float

    if "pixel_size" in section:
        try:
            section["pixel_size"] = _optional_float(section["pixel_size"])
        except InputError as exc:
            raise CryotmError(f"[inputs] {exc}") from None
    if "index_base" in section and section["index_base"] not in (0, 1):
        raise CryotmError(f"[inputs] index_base must be 0 or 1, got {section['index_base']!r}")
    if "angles_order" in section and section["angles_order"] not in ("zxz", "zzx"):
        raise CryotmError(f"[inputs] angles_order must be zxz or zzx, got {section['angles_order']!r}")
    if "angle_list_format" in section and section["angle_list_format"] not in ANGLE_LIST_FORMATS:
        raise CryotmError(f"[inputs] angle_list_format must be one of {', '.join(ANGLE_LIST_FORMATS)}, "
                          f"got {section['angle_list_format']!r}")
    return section
