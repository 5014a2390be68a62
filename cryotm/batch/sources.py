"""Batch sources that are neither tables, patterns nor job files: found through a plugin hook.

A plugin contributes :class:`BatchSource` subclasses through the
``cryotm_batch_sources`` hook. Each says which inputs it reads (by URL
scheme, ``copick://...``, or by its own :meth:`BatchSource.claims`) and turns
one into the tomograms of a batch (:class:`~cryotm.batch.table.BatchInputs`).
:func:`~cryotm.batch.table.read_tasks` asks them before it tries a pattern,
a job file or a table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import CryotmError

if TYPE_CHECKING:
    from .table import BatchInputs

__all__ = ["BatchSource", "batch_sources", "source_for"]


class BatchSource:
    """Base class of a batch input read by a plugin (subclass it).

    Subclasses set ``name`` and ``schemes`` (or override :meth:`claims`) and
    implement :meth:`read`.
    """

    #: The source's name, shown by ``cryotm plugins``.
    name: ClassVar[str] = ""
    #: URL schemes of the sources it reads (``copick`` reads ``copick://...``).
    schemes: ClassVar[tuple[str, ...]] = ()
    #: One line for ``cryotm plugins``.
    description: ClassVar[str] = ""

    @classmethod
    def claims(cls, source: str) -> bool:
        """True if this class reads `source` (by default: its URL scheme is one of :attr:`schemes`)."""
        from ..formats.base import target_scheme

        return target_scheme(source) in cls.schemes

    @classmethod
    def read(
        cls,
        source: str,
        angle_list: str | os.PathLike | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> BatchInputs:
        """The tomograms of `source` (arguments as for :func:`~cryotm.batch.table.read_tasks`)."""
        raise NotImplementedError


def batch_sources() -> dict[str, type[BatchSource]]:
    """Every registered batch source, by name."""
    from ..plugins import contributions

    return {name: item.obj for name, item in contributions("cryotm_batch_sources").items()}


def source_for(source: str | os.PathLike) -> type[BatchSource] | None:
    """The batch source that reads `source`, None for a plain table, pattern or job file.

    Raises
    ------
    CryotmError
        If `source` is a URL (``scheme://...``) that no installed source reads.
    """
    from ..formats.base import target_scheme

    text = os.fspath(source)
    for cls in batch_sources().values():
        if cls.claims(text):
            return cls
    scheme = target_scheme(text)
    if scheme is not None:
        raise CryotmError(f"{text}: no batch source reads {scheme}:// inputs (is its plugin installed?)")
    return None
