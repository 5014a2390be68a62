"""Particle-list formats: the writer and reader interfaces, and lookup by name or file.

A format plugin contributes :class:`MotlWriter` and/or :class:`MotlReader`
subclasses through the ``cryotm_motl_writers`` / ``cryotm_motl_readers``
hooks. Options of a format (a RELION version's binning, the centre
definition, ...) are attrs fields of its class, given as keyword arguments
to :func:`write_particles` / :func:`read_particles`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import attrs

from .._atomic import atomic_path
from ..errors import CryotmError, InputError
from ..particles import ParticleList

__all__ = [
    "MotlWriter",
    "MotlReader",
    "writer_for",
    "reader_for",
    "write_particles",
    "read_particles",
    "motl_writers",
    "motl_readers",
]


@attrs.define
class MotlWriter:
    """Base class of a particle-list output format.

    Subclasses set ``name`` and ``extensions`` and implement :meth:`write_file`;
    :meth:`write` takes care of atomic writing and refusing to overwrite.
    """

    #: The word users type (``--format relion5``).
    name: ClassVar[str] = ""
    #: File extensions (lower case, with dot); the first is the default.
    extensions: ClassVar[tuple[str, ...]] = ()
    #: One line for ``cryotm plugins`` and ``--help``.
    description: ClassVar[str] = ""
    #: True when the format cannot be written without a pixel size.
    requires_pixel_size: ClassVar[bool] = False

    def write_file(self, particles: ParticleList, path: Path) -> None:
        """Write `particles` to `path` (a temporary file; the caller renames it)."""
        raise NotImplementedError

    def write(self, particles: ParticleList, path: str | os.PathLike, overwrite: bool = False) -> None:
        """Write `particles` to `path` atomically.

        Raises
        ------
        InputError
            If `path` exists and `overwrite` is false, or the format needs a
            pixel size the particle list lacks.
        """
        if self.requires_pixel_size and not particles.pixel_size:
            raise InputError(f"format {self.name!r} needs a pixel size (give --pixel-size)", path)
        with atomic_path(path, overwrite=overwrite) as tmp:
            self.write_file(particles, tmp)


@attrs.define
class MotlReader:
    """Base class of a particle-list input format."""

    name: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """True if `path` looks like this format (used when extensions are shared)."""
        return Path(path).suffix.lower() in cls.extensions

    def read(self, path: str | os.PathLike) -> ParticleList:
        """Read `path` into a :class:`ParticleList` (0-based voxel positions)."""
        raise NotImplementedError


def motl_writers() -> dict[str, type[MotlWriter]]:
    """Every registered writer, by name."""
    from ..plugins import contributions

    return {name: item.obj for name, item in contributions("cryotm_motl_writers").items()}


def motl_readers() -> dict[str, type[MotlReader]]:
    """Every registered reader, by name."""
    from ..plugins import contributions

    return {name: item.obj for name, item in contributions("cryotm_motl_readers").items()}


def _instantiate(cls: type, options: dict[str, Any], kind: str) -> Any:
    try:
        return cls(**options)
    except TypeError as exc:
        raise CryotmError(f"bad options for {kind} {cls.name!r}: {exc}") from None


def writer_for(path: str | os.PathLike | None = None, format: str | None = None, **options: Any) -> MotlWriter:
    """Return a writer chosen by `format` name, else by the extension of `path`.

    Raises
    ------
    CryotmError
        Unknown format name, or no writer for the extension.
    """
    writers = motl_writers()
    if format is not None:
        if format not in writers:
            raise CryotmError(f"unknown particle-list format {format!r} (known: {', '.join(sorted(writers))})")
        return _instantiate(writers[format], options, "format")
    if path is None:
        raise CryotmError("give a format name or an output file with a known extension")
    suffix = Path(path).suffix.lower()
    for cls in writers.values():
        if suffix in cls.extensions:
            return _instantiate(cls, options, "format")
    raise InputError(
        f"no particle-list format writes {suffix or 'files without extension'!r}; "
        f"choose one with --format ({', '.join(sorted(writers))})",
        path,
    )


def reader_for(path: str | os.PathLike, format: str | None = None, **options: Any) -> MotlReader:
    """Return a reader chosen by `format` name, else the first whose ``sniff`` accepts `path`."""
    readers = motl_readers()
    if format is not None:
        if format not in readers:
            raise CryotmError(f"unknown particle-list format {format!r} (known: {', '.join(sorted(readers))})")
        return _instantiate(readers[format], options, "format")
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    for cls in readers.values():
        if cls.sniff(path):
            return _instantiate(cls, options, "format")
    raise InputError(
        f"cannot tell the particle-list format; choose one with --format ({', '.join(sorted(readers))})",
        path,
    )


def write_particles(
    particles: ParticleList,
    path: str | os.PathLike,
    format: str | None = None,
    overwrite: bool = False,
    **options: Any,
) -> None:
    """Write a particle list atomically, in `format` or the format of `path`'s extension."""
    writer_for(path, format, **options).write(particles, path, overwrite=overwrite)


def read_particles(path: str | os.PathLike, format: str | None = None, **options: Any) -> ParticleList:
    """Read a particle list in any registered format (detected from the file unless given)."""
    return reader_for(path, format, **options).read(path)
