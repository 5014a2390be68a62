"""Which format a particle-list file is in, or which writes an output: by name, scheme, content and order.

:func:`writer_class` and :func:`reader_class` ask the formats the plugins
contribute (cryotm's own among them, registered ``trylast``), in the order
pluggy calls the hooks: ``tryfirst`` plugins first, cryotm's built-ins last.

- A writer is chosen by name, else by a ``scheme://`` target, else by the
  output's extension. When several plugins' writers claim the extension, the
  first in that order is used and a :class:`~cryotm.errors.FormatChoiceWarning`
  states the choice; only when that plugin itself has several (``.star``:
  STOPGAP and every RELION version) must a name be given.
- A reader is chosen by name, else by scheme, else by :meth:`MotlReader.sniff`:
  readers that recognise the content (that override ``sniff``) beat those that
  only match the extension; among several of a kind the order decides, and the
  choice is stated.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import CryotmError, FormatChoiceWarning, InputError
from .base import MotlReader, MotlWriter, target_scheme

__all__ = ["motl_writers", "motl_readers", "writer_class", "reader_class"]

_DEFAULT_SNIFF = MotlReader.sniff.__func__


def motl_writers() -> dict[str, type[MotlWriter]]:
    """Every registered writer, by name."""
    from ..plugins import contributions

    return {name: item.obj for name, item in contributions("cryotm_motl_writers").items()}


def motl_readers() -> dict[str, type[MotlReader]]:
    """Every registered reader, by name."""
    from ..plugins import contributions

    return {name: item.obj for name, item in contributions("cryotm_motl_readers").items()}


def _named(hook: str, format: str | None, path: str | os.PathLike | None) -> tuple[Mapping[str, Any], Any]:
    """The contributions of `hook`, and the class the `format` name or the target's scheme chooses (else None)."""
    from ..plugins import contributions

    found = contributions(hook)
    classes = {name: item.obj for name, item in found.items()}
    if format is not None:
        if format not in classes:
            raise CryotmError(f"unknown particle-list format {format!r} (known: {', '.join(sorted(classes))})")
        return found, classes[format]
    if path is None:
        raise CryotmError("give a format name or an output file with a known extension")
    scheme = target_scheme(path)
    return found, (_by_scheme(classes, scheme, path) if scheme is not None else None)


def writer_class(path: str | os.PathLike | None = None, format: str | None = None) -> type[MotlWriter]:
    """The writer class named `format`, else the one that writes `path`'s extension.

    When several writers claim the extension, the plugins' order decides
    (pluggy's: ``tryfirst`` plugins first, cryotm's built-ins last) and a
    :class:`~cryotm.errors.FormatChoiceWarning` states the choice; only when
    the first plugin itself has several (``.star`` is written by STOPGAP and
    every RELION version) is a name needed.

    Raises
    ------
    CryotmError
        Unknown name; no format for the extension, or several of one plugin.
    """
    found, chosen = _named("cryotm_motl_writers", format, path)
    if chosen is not None:
        return chosen
    writers = {name: item.obj for name, item in found.items()}
    suffix = Path(path).suffix.lower()
    candidates = [name for name, cls in writers.items() if suffix in cls.extensions]
    if len(candidates) == 1:
        return writers[candidates[0]]
    if candidates:
        first_plugin = found[candidates[0]].plugin
        tied = [name for name in candidates if found[name].plugin == first_plugin]
        if len(tied) > 1:
            raise InputError(
                f"several particle-list formats write {suffix!r} ({', '.join(tied)}); "
                "choose one by name (-f/--format)",
                path,
            )
        _state_choice(f"write {suffix!r}", candidates, found, path)
        return writers[candidates[0]]
    raise InputError(
        f"no particle-list format writes {suffix or 'files without extension'!r}; "
        f"choose one with -f/--format ({', '.join(sorted(writers))})",
        path,
    )


def _state_choice(what: str, candidates: list[str], found: Mapping[str, Any], path: Any) -> None:
    others = ", ".join(f"{name} ({found[name].plugin})" for name in candidates[1:])
    warnings.warn(
        f"{os.fspath(path)}: several particle-list formats {what}; using {candidates[0]!r} "
        f"(plugin {found[candidates[0]].plugin!r}) before {others}; choose with -f/--format",
        FormatChoiceWarning,
        stacklevel=3,
    )


def reader_class(path: str | os.PathLike, format: str | None = None) -> type[MotlReader]:
    """The reader class named `format`, else the one whose ``sniff`` accepts `path`.

    Readers that look at the content (that override :meth:`MotlReader.sniff`)
    and accept the file are preferred to those that only match its extension;
    among several of the same kind, the plugins' order decides (plugins before
    cryotm's built-ins) and a :class:`~cryotm.errors.FormatChoiceWarning`
    states the choice.
    """
    found, chosen = _named("cryotm_motl_readers", format, path)
    if chosen is not None:
        return chosen
    readers = {name: item.obj for name, item in found.items()}
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    accepted = [name for name, cls in readers.items() if cls.sniff(path)]
    by_content = [name for name in accepted if getattr(readers[name].sniff, "__func__", None) is not _DEFAULT_SNIFF]
    ranked = by_content or accepted  # a reader that recognised the content beats the extension
    if len(ranked) > 1:
        _state_choice("can read it", ranked, found, path)
    if ranked:
        return readers[ranked[0]]
    raise InputError(
        f"cannot tell the particle-list format; choose one with -f/--format ({', '.join(sorted(readers))})",
        path,
    )


def _by_scheme(classes: Mapping[str, type], scheme: str, target: str | os.PathLike) -> type:
    """The one class of `classes` that declares `scheme`."""
    for cls in classes.values():
        if scheme in getattr(cls, "schemes", ()):
            return cls
    known = sorted({s for cls in classes.values() for s in getattr(cls, "schemes", ())})
    raise InputError(
        f"no particle-list format handles {scheme}:// targets (known: {', '.join(known) or 'none'}; "
        "is its plugin installed?)",
        target,
    )
