"""Particle-list formats: the writer and reader interfaces, and reading and writing through them.

Which format a file is in is decided in :mod:`cryotm.formats.detect`.

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
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs
import numpy as np

from .._atomic import atomic_path, check_writable
from ..errors import CryotmError, CryotmWarning, InputError
from ..particles import CORE_COLUMNS, ParticleList

__all__ = [
    "MotlWriter",
    "MotlReader",
    "writer_for",
    "reader_for",
    "write_particles",
    "read_particles",
    "option_names",
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
    #: One line for ``cryotm plugins -v``.
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

    def kept_columns(self, particles: ParticleList) -> set[str] | None:
        """The extra (non-core) columns of `particles` this format writes; None for all.

        :meth:`write` warns about the others: they are lost.
        """
        return set()

    def lost_columns(self, particles: ParticleList) -> list[str]:
        """Extra columns of `particles` (beyond :data:`~cryotm.particles.CORE_COLUMNS`) this format cannot hold.

        Geometry read from a RELION file (``rlnCoordinateX``, ``rlnAngleRot``,
        ...) is not counted: cryotm's own fields carry it.
        """
        from ._relion import derived_labels

        kept = self.kept_columns(particles)
        if kept is None:
            return []
        extra = [c for c in particles.column_names if c not in CORE_COLUMNS and c not in kept]
        if not extra:  # (a list made from arrays has none: its DataFrame is not needed)
            return []
        skip = derived_labels(particles)
        return [str(c) for c in extra if c not in skip]

    def _one_pixel_size(self, particles: ParticleList, path: str | os.PathLike) -> ParticleList:
        """Particles of several pixel sizes rescaled to the finest (with a warning) for formats that hold one."""
        kept = self.kept_columns(particles)
        if "pixel_size" not in particles.column_names or kept is None or "pixel_size" in kept:
            return particles
        sizes = particles.pixel_sizes()
        if sizes is None or not len(sizes) or not np.isfinite(sizes).all():
            return particles
        target = float(sizes.min())
        warnings.warn(
            f"{os.fspath(path)}: particles of pixel sizes {', '.join(f'{s:g}' for s in sorted(set(sizes.tolist())))}"
            f" Å (RELION optics groups); format {self.name!r} holds one: positions and shifts rescaled to "
            f"{target:g} Å",
            CryotmWarning,
            stacklevel=3,
        )
        return particles.rescaled(target)

    def check(self, particles: ParticleList, path: str | os.PathLike | None = None) -> None:
        """Raise :class:`InputError` if `particles` lack metadata this format needs."""
        sizes = particles.pixel_sizes()
        has_pixel_size = sizes is not None and len(sizes) == len(particles) and bool(
            np.isfinite(sizes).all() and (sizes > 0).all()
        )
        if self.requires_pixel_size and not (particles.pixel_size or (has_pixel_size and len(particles))):
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
        particles = self._one_pixel_size(particles, path)
        self.check(particles, path)
        lost = self.lost_columns(particles)
        with atomic_path(path, overwrite=overwrite) as tmp:
            self.write_file(particles, tmp)
        if lost:
            shown = ", ".join(lost[:8]) + (f" and {len(lost) - 8} more" if len(lost) > 8 else "")
            warnings.warn(
                f"{os.fspath(path)}: format {self.name!r} cannot hold column(s) {shown}: not written",
                CryotmWarning,
                stacklevel=2,
            )


@attrs.define
class MotlReader:
    """Base class of a particle-list input format.

    Subclasses set ``name`` and ``extensions`` and implement :meth:`read_file`;
    :meth:`read` checks the path first, so a missing file is one
    :class:`~cryotm.errors.InputError` naming it. Override :meth:`sniff` to
    recognise the format by content (preferred to extension-only readers when
    a file could be read by several).
    """

    name: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    #: One line for ``cryotm plugins -v``.
    description: ClassVar[str] = ""
    #: URL schemes of sources that are not plain files (``copick``), handled by :meth:`read`.
    schemes: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """True if `path` looks like this format (by default: its extension is one of ``extensions``)."""
        return Path(path).suffix.lower() in cls.extensions

    def read(self, path: str | os.PathLike) -> ParticleList:
        """Read `path` into a :class:`ParticleList` (0-based voxel positions).

        Raises
        ------
        InputError
            If `path` is not a file, or (from :meth:`read_file`) its content is bad.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError("no such file" if not path.exists() else "not a file", path)
        return self.read_file(path)

    def read_file(self, path: Path) -> ParticleList:
        """Read the existing file `path`; raise :class:`InputError` (naming `path`) for bad content."""
        raise NotImplementedError(f"{type(self).__name__} implements neither read nor read_file")


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
        if not (np.isfinite(pixel_size) and pixel_size > 0):
            raise CryotmError(f"the pixel size must be a positive number, got {pixel_size}")
        changes["pixel_size"] = float(pixel_size)
        if "pixel_size" in particles.column_names:  # one pixel size for every particle now
            changes["data"] = particles.data.drop(columns="pixel_size")
    if tomogram_shape is not None:
        shape = tuple(int(v) for v in tomogram_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise CryotmError(f"the tomogram shape must be three positive sizes (z, y, x), got {tomogram_shape}")
        changes["tomogram_shape"] = shape
    return attrs.evolve(particles, **changes) if changes else particles


def writer_for(path: str | os.PathLike | None = None, format: str | None = None, **options: Any) -> MotlWriter:
    """Return a writer chosen by `format` name, else by the extension of `path`.

    Raises
    ------
    CryotmError
        Unknown format name, no writer for the extension, or an option the
        format does not have.
    """
    from .detect import writer_class

    return _instantiate(writer_class(path, format), options, "format")


def reader_for(path: str | os.PathLike, format: str | None = None, **options: Any) -> MotlReader:
    """Return a reader chosen by `format` name, else the first whose ``sniff`` accepts `path`."""
    from .detect import reader_class

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
    from .detect import writer_class

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
    from .detect import reader_class

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
        particles.check_finite(path)
    except InputError as exc:
        if exc.source is None:  # a problem found in the values (a bad column): name the file
            raise InputError(exc.problem, path) from None
        raise
    if pixel_size is None:
        particles = check_pixel_size(particles, path)
    elif "pixel_size" not in option_names(cls):
        _warn_relabel(particles, float(pixel_size), path)
    return with_metadata(particles, pixel_size, tomogram_shape)


def _warn_relabel(particles: ParticleList, pixel_size: float, path: str | os.PathLike) -> None:
    """Warn when a given pixel size replaces a different one of the file (positions stay in its voxels)."""
    own = particles.pixel_sizes()
    if own is None or not len(own) or not np.isfinite(own).all():
        return
    if np.allclose(own, pixel_size, rtol=1e-3, atol=0):
        return
    warnings.warn(
        f"{os.fspath(path)}: the file says {own[0]:g} Å per voxel, --pixel-size says {pixel_size:g} Å: the "
        "positions are kept as they are (in the file's voxels) and labelled with the given pixel size",
        CryotmWarning,
        stacklevel=3,
    )


def check_pixel_size(particles: ParticleList, source: str | os.PathLike | None = None) -> ParticleList:
    """`particles`, without a pixel size outside 0.1-1000 Å (with a warning); per-particle ones are refused.

    A motive list's EM header with junk in it (8,084,644 Å) would otherwise
    flow into RELION output.

    Raises
    ------
    InputError
        If a per-particle (optics group) pixel size is implausible.
    """
    from ..maps.formats import PLAUSIBLE_PIXEL_SIZE, plausible_pixel_size

    if "pixel_size" in particles.column_names:
        sizes = particles.pixel_sizes()
        low, high = PLAUSIBLE_PIXEL_SIZE
        bad = sizes[~((sizes >= low) & (sizes <= high))]
        if len(bad):
            raise InputError(
                f"implausible pixel size {bad[0]:g} Å (expected {low:g}-{high:g} Å): give the right one "
                "with --pixel-size",
                source,
            )
        return particles
    kept = plausible_pixel_size(particles.pixel_size, source)
    return particles if kept == particles.pixel_size else attrs.evolve(particles, pixel_size=kept)
