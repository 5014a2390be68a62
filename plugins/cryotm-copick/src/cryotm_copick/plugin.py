"""The cryotm plugin: the particle-list format ``copick`` and the batch source ``copick://``.

Registered through the ``cryotm`` entry-point group (see ``pyproject.toml``).
copick itself is imported where it is used, so that ``cryotm --help`` stays quick.
"""

from __future__ import annotations

from cryotm import hookimpl

from .batch import CopickSource
from .formats import CopickReader, CopickWriter


@hookimpl
def cryotm_motl_writers():
    return [CopickWriter]


@hookimpl
def cryotm_motl_readers():
    return [CopickReader]


@hookimpl
def cryotm_batch_sources():
    return [CopickSource]
