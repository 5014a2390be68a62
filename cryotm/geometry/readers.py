"""Readers of tilt-series alignments, found through the ``cryotm_alignment_readers`` hook.

An alignment reader is an attrs class with a ``name`` (``relion5``,
``imod``, ``aretomo``, ``warp``, or a plugin's), ``extensions``, a ``sniff``
classmethod and ``read(path) -> dict[name, TiltSeriesAlignment]`` (one entry
for most files; a RELION 5 tomograms star file holds many tilt series). Its
attrs fields are its options (``tilt_image_shape=``, ``tilt_com=``, ...).
cryotm's own readers are registered through the hook like any plugin's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs

from ..errors import CryotmError, InputError
from .alignment import TiltSeriesAlignment

__all__ = ["AlignmentReader", "alignment_readers", "alignment_reader_class", "read_alignments", "read_alignment"]


@attrs.define
class AlignmentReader:
    """Base class of a tilt-series alignment format."""

    #: The word users type (``--alignment-format imod``).
    name: ClassVar[str] = ""
    #: File extensions (lower case, with dot).
    extensions: ClassVar[tuple[str, ...]] = ()
    #: One line for ``cryotm plugins`` and ``--help``.
    description: ClassVar[str] = ""

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """True if `path` looks like this format."""
        return Path(path).suffix.lower() in cls.extensions

    def read(self, path: str | os.PathLike) -> dict[str, TiltSeriesAlignment]:
        """Read `path` into ``{tilt-series name: alignment}``."""
        raise NotImplementedError


def alignment_readers() -> dict[str, type[AlignmentReader]]:
    """Every registered alignment reader, by name."""
    from ..plugins import contributions

    return {name: item.obj for name, item in contributions("cryotm_alignment_readers").items()}


def alignment_reader_class(path: str | os.PathLike, format: str | None = None) -> type[AlignmentReader]:
    """The reader named `format`, else the first whose ``sniff`` accepts `path`.

    Raises
    ------
    CryotmError
        Unknown name, a missing file, or a file no reader recognises.
    """
    readers = alignment_readers()
    if format is not None:
        if format not in readers:
            raise CryotmError(f"unknown alignment format {format!r} (known: {', '.join(sorted(readers))})")
        return readers[format]
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    for cls in readers.values():
        if cls.sniff(path):
            return cls
    raise InputError(
        f"cannot tell the alignment format; choose one with --alignment-format ({', '.join(sorted(readers))})", path
    )


def read_alignments(
    path: str | os.PathLike, format: str | None = None, **options: Any
) -> Mapping[str, TiltSeriesAlignment]:
    """Read every tilt-series alignment in `path`: ``{name: TiltSeriesAlignment}``.

    Parameters
    ----------
    path : str or path-like
        A RELION 5 tomograms or tilt-series star file, an IMOD ``.xf``,
        ``.tlt`` or ``tilt.com`` (or the folder holding them), an AreTomo
        ``.aln``, a Warp/WarpTools tilt-series ``.xml``, or a plugin's format.
    format : str, optional
        The reader's name (default: detected from the file).
    **options
        Options of the reader (its attrs fields), e.g. ``tilt_image_shape=(ny, nx)``.
    """
    cls = alignment_reader_class(path, format)
    known = {f.name for f in attrs.fields(cls)} if attrs.has(cls) else set()
    unknown = sorted(k for k, v in options.items() if k not in known and v is not None)
    if unknown:
        raise CryotmError(
            f"alignment format {cls.name!r} has no option {', '.join(map(repr, unknown))} "
            f"(its options: {', '.join(sorted(known)) or 'none'})"
        )
    reader = cls(**{k: v for k, v in options.items() if k in known and v is not None})
    try:
        return reader.read(path)
    except InputError as exc:
        if exc.source is None:
            raise InputError(exc.problem, path) from None
        raise


def read_alignment(
    path: str | os.PathLike, format: str | None = None, tomo_name: str | None = None, **options: Any
) -> TiltSeriesAlignment:
    """Read one tilt-series alignment (`tomo_name` chooses among several).

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "ts.tlt"), "w") as f:
    ...     _ = f.write("-3\\n0\\n3\\n")
    >>> ali = read_alignment(os.path.join(folder, "ts.tlt"), tilt_image_shape=(100, 100))
    >>> ali.angles.tolist(), ali.program
    ([-3.0, 0.0, 3.0], 'imod')
    """
    from .projection import alignment_for

    alignments = read_alignments(path, format, **options)
    return alignment_for(tomo_name, alignments, os.fspath(path))
