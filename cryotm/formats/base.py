"""Particle-list formats: the writer and reader interfaces, and lookup by name or file.

A format plugin contributes :class:`MotlWriter` and/or :class:`MotlReader`
subclasses through the ``cryotm_motl_writers`` / ``cryotm_motl_readers``
hooks. Options of a format (a RELION version's binning, the centre
definition, ...) are attrs fields of its class, given as keyword arguments
to :func:`write_particles` / :func:`read_particles`.

Two facts about the particles are not options of a format but metadata of
the :class:`~cryotm.particles.ParticleList`: its ``pixel_size`` (Å) and its
``tomogram_shape`` ``(nz, ny, nx)``. :func:`write_particles` and
:func:`read_particles` accept them as keywords and set them on the list;
a writer that needs one (``requires_pixel_size``,
``requires_tomogram_shape``) refuses with an :class:`~cryotm.errors.InputError`
naming the missing option. A reader class that declares a ``pixel_size`` or
``tomogram_shape`` field receives them as well, overriding what the file says
(RELION 3.1 and 4 need the pixel size for their origins in Å, RELION 5 both
to undo the centring).

Outputs and inputs need not be plain files: a format may declare URL
``schemes`` (the ``copick`` plugin declares ``copick``), and a *target* such
as ``copick:///data/project/config.json?run=TS_01&object=ribosome`` is then
handed, as the string it is, to that format's writer or reader, which
overrides :meth:`MotlWriter.write` / :meth:`MotlWriter.check_output` or
:meth:`MotlReader.read` to deal with it (:func:`target_scheme`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs

from .._atomic import atomic_path, check_writable
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
    "option_names",
    "writer_class",
    "reader_class",
    "with_metadata",
    "target_scheme",
    "CONTEXT_OPTIONS",
]

#: Options that describe the data rather than a format; each format takes those it declares.
CONTEXT_OPTIONS: tuple[str, ...] = ("pixel_size", "tomogram_shape", "binning")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")


def target_scheme(path: str | os.PathLike | None) -> str | None:
    """The URL scheme of a target such as ``copick:///p/config.json?run=TS_01`` (lower case), else None.

    Plain paths have none (a Windows drive letter is one character, so ``C:\\x`` is a path).

    Examples
    --------
    >>> target_scheme("copick:///data/config.json?run=TS_01"), target_scheme("picks.star")
    ('copick', None)
    """
    if path is None or not isinstance(path, str):
        return None
    match = _SCHEME.match(path)
    return match.group(1).lower() if match else None


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
    #: True when the format cannot be written without the tomogram's shape.
    requires_tomogram_shape: ClassVar[bool] = False
    #: URL schemes of targets that are not plain files (``copick``), handled by :meth:`write`.
    schemes: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def check_output(cls, path: str | os.PathLike, overwrite: bool = False) -> None:
        """Raise :class:`InputError` if `path` may not be written (before any work is done).

        A plain file must not exist unless `overwrite`, and its folder must;
        a format with :attr:`schemes` overrides this for its targets.
        """
        check_writable(path, overwrite)

    def write_file(self, particles: ParticleList, path: Path) -> None:
        """Write `particles` to `path` (a temporary file; the caller renames it)."""
        raise NotImplementedError

    def check(self, particles: ParticleList, path: str | os.PathLike | None = None) -> None:
        """Raise :class:`InputError` if `particles` lack metadata this format needs."""
        if self.requires_pixel_size and not particles.pixel_size:
            raise InputError(f"format {self.name!r} needs a pixel size (give --pixel-size / pixel_size=)", path)
        if self.requires_tomogram_shape and particles.tomogram_shape is None:
            raise InputError(
                f"format {self.name!r} needs the tomogram's shape (give --tomogram-shape Z Y X, "
                "--tomogram-size X Y Z / tomogram_shape=(nz, ny, nx))",
                path,
            )

    def write(self, particles: ParticleList, path: str | os.PathLike, overwrite: bool = False) -> None:
        """Write `particles` to `path` atomically.

        Raises
        ------
        InputError
            If `path` exists and `overwrite` is false, or the format needs a
            pixel size or tomogram shape the particle list lacks.
        """
        self.check(particles, path)
        with atomic_path(path, overwrite=overwrite) as tmp:
            self.write_file(particles, tmp)


@attrs.define
class MotlReader:
    """Base class of a particle-list input format."""

    name: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    #: URL schemes of sources that are not plain files (``copick``), handled by :meth:`read`.
    schemes: ClassVar[tuple[str, ...]] = ()

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


def option_names(cls: type) -> tuple[str, ...]:
    """The options (attrs fields) a writer or reader class accepts.

    Examples
    --------
    >>> from cryotm.formats.relion4 import Relion4Writer
    >>> "binning" in option_names(Relion4Writer)
    True
    """
    if not attrs.has(cls):
        return ()
    return tuple(field.name for field in attrs.fields(cls))


def _instantiate(cls: type, options: Mapping[str, Any], kind: str) -> Any:
    unknown = sorted(set(options) - set(option_names(cls)))
    if unknown:
        known = ", ".join(option_names(cls)) or "none"
        raise CryotmError(
            f"{kind} {cls.name!r} has no option {', '.join(map(repr, unknown))} (its options: {known})"
        )
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        raise CryotmError(f"bad options for {kind} {cls.name!r}: {exc}") from None


def _split_context(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """Keep the context options `cls` declares, drop the others; keep every other option."""
    accepted = set(option_names(cls))
    return {k: v for k, v in options.items() if k not in CONTEXT_OPTIONS or k in accepted}


def with_metadata(
    particles: ParticleList,
    pixel_size: float | None = None,
    tomogram_shape: tuple[int, int, int] | None = None,
) -> ParticleList:
    """Return `particles` with the given pixel size / tomogram shape (z, y, x) set.

    Values that are None leave the list's own metadata alone.
    """
    changes: dict[str, Any] = {}
    if pixel_size is not None:
        if not pixel_size > 0:
            raise CryotmError(f"the pixel size must be positive, got {pixel_size}")
        changes["pixel_size"] = float(pixel_size)
    if tomogram_shape is not None:
        shape = tuple(int(v) for v in tomogram_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise CryotmError(f"the tomogram shape must be three positive sizes (z, y, x), got {tomogram_shape}")
        changes["tomogram_shape"] = shape
    return attrs.evolve(particles, **changes) if changes else particles


def writer_class(path: str | os.PathLike | None = None, format: str | None = None) -> type[MotlWriter]:
    """The writer class named `format`, else the one that writes `path`'s extension.

    Raises
    ------
    CryotmError
        Unknown name; no format, or several, for the extension (``.star``
        is written by STOPGAP and every RELION version: name one).
    """
    writers = motl_writers()
    if format is not None:
        if format not in writers:
            raise CryotmError(f"unknown particle-list format {format!r} (known: {', '.join(sorted(writers))})")
        return writers[format]
    if path is None:
        raise CryotmError("give a format name or an output file with a known extension")
    scheme = target_scheme(path)
    if scheme is not None:
        return _by_scheme(writers, scheme, path)
    suffix = Path(path).suffix.lower()
    candidates = [name for name, cls in writers.items() if suffix in cls.extensions]
    if len(candidates) == 1:
        return writers[candidates[0]]
    if candidates:
        raise InputError(
            f"several particle-list formats write {suffix!r} ({', '.join(candidates)}); "
            "choose one by name (--to / --format)",
            path,
        )
    raise InputError(
        f"no particle-list format writes {suffix or 'files without extension'!r}; "
        f"choose one with --format ({', '.join(sorted(writers))})",
        path,
    )


def reader_class(path: str | os.PathLike, format: str | None = None) -> type[MotlReader]:
    """The reader class named `format`, else the first whose ``sniff`` accepts `path`."""
    readers = motl_readers()
    if format is not None:
        if format not in readers:
            raise CryotmError(f"unknown particle-list format {format!r} (known: {', '.join(sorted(readers))})")
        return readers[format]
    scheme = target_scheme(path)
    if scheme is not None:
        return _by_scheme(readers, scheme, path)
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    for cls in readers.values():
        if cls.sniff(path):
            return cls
    raise InputError(
        f"cannot tell the particle-list format; choose one with --format ({', '.join(sorted(readers))})",
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


def writer_for(path: str | os.PathLike | None = None, format: str | None = None, **options: Any) -> MotlWriter:
    """Return a writer chosen by `format` name, else by the extension of `path`.

    Raises
    ------
    CryotmError
        Unknown format name, no writer for the extension, or an option the
        format does not have.
    """
    return _instantiate(writer_class(path, format), options, "format")


def reader_for(path: str | os.PathLike, format: str | None = None, **options: Any) -> MotlReader:
    """Return a reader chosen by `format` name, else the first whose ``sniff`` accepts `path`."""
    return _instantiate(reader_class(path, format), options, "format")


def write_particles(
    particles: ParticleList,
    path: str | os.PathLike,
    format: str | None = None,
    overwrite: bool = False,
    *,
    pixel_size: float | None = None,
    tomogram_shape: tuple[int, int, int] | None = None,
    **options: Any,
) -> None:
    """Write a particle list atomically, in `format` or the format of `path`'s extension.

    Parameters
    ----------
    particles : ParticleList
        The particles (0-based voxel positions).
    path : str or path-like
        Output file; an existing file is kept unless `overwrite`.
    format : str, optional
        A registered format name (``emmotl``, ``relion5``, ...); by default
        chosen from the extension.
    overwrite : bool
        Replace an existing file.
    pixel_size : float, optional
        Pixel size in Å (overrides the list's own).
    tomogram_shape : tuple of int, optional
        ``(nz, ny, nx)`` of the tomogram (overrides the list's own).
    **options
        Options of the format (its attrs fields, e.g. ``binning=4``); a
        ``binning`` the format does not use is ignored.

    Examples
    --------
    >>> import tempfile, os
    >>> from cryotm import ParticleList
    >>> plist = ParticleList.from_arrays([[10.0, 20.0, 30.0]], orientations=[[30, 40, 50]], scores=[0.5])
    >>> out = os.path.join(tempfile.mkdtemp(), "p.star")
    >>> write_particles(plist, out, format="relion5", pixel_size=10.0, tomogram_shape=(100, 100, 100))
    >>> read_particles(out, pixel_size=10.0, tomogram_shape=(100, 100, 100)).positions
    array([[10., 20., 30.]])
    """
    particles = with_metadata(particles, pixel_size, tomogram_shape)
    cls = writer_class(path, format)
    options = {k: v for k, v in options.items() if not (k == "binning" and v is None)}
    writer = _instantiate(cls, _split_context(cls, options), "format")
    writer.write(particles, path, overwrite=overwrite)


def read_particles(
    path: str | os.PathLike,
    format: str | None = None,
    *,
    pixel_size: float | None = None,
    tomogram_shape: tuple[int, int, int] | None = None,
    **options: Any,
) -> ParticleList:
    """Read a particle list in any registered format (detected from the file unless given).

    Parameters
    ----------
    path : str or path-like
        The file.
    format : str, optional
        A registered reader name; by default the file is sniffed.
    pixel_size, tomogram_shape : optional
        Given to readers that declare them (the pixel size to RELION 3.1, 4
        and 5, the tomogram shape to RELION 5) and set on the result; both
        override what the file says.
    **options
        Options of the reader (its attrs fields); ``binning`` is ignored by
        formats that do not use it.
    """
    cls = reader_class(path, format)
    context = {"pixel_size": pixel_size, "tomogram_shape": tomogram_shape}
    options = dict(options)
    for key, value in context.items():
        if value is not None and key in option_names(cls):
            options[key] = value
    options = {k: v for k, v in options.items() if not (k == "binning" and v is None)}
    reader = _instantiate(cls, _split_context(cls, options), "format")
    try:
        particles = reader.read(path)
    except InputError as exc:
        if exc.source is None:  # a problem found in the values (a bad column): name the file
            raise InputError(exc.problem, path) from None
        raise
    return with_metadata(particles, pixel_size, tomogram_shape)
