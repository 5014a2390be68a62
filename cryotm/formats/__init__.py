"""Particle-list formats: one module per format, found through the plugin manager.

Built-in formats (names as users type them): ``emmotl``, ``stopgap``,
``relion30``, ``relion31``, ``relion4``, ``relion5``, ``dynamo``, ``table``;
plugins add more through the ``cryotm_motl_writers`` / ``cryotm_motl_readers``
hooks. Each format module documents its columns, its coordinate offset and
its Euler-angle conversion.
"""

from .base import (
    MotlReader,
    MotlWriter,
    option_names,
    read_particles,
    reader_for,
    with_metadata,
    write_particles,
    writer_for,
)
from .detect import motl_readers, motl_writers, reader_class, writer_class
from .merge import merge_lists

__all__ = [
    "MotlWriter",
    "MotlReader",
    "motl_writers",
    "motl_readers",
    "writer_for",
    "reader_for",
    "writer_class",
    "reader_class",
    "option_names",
    "with_metadata",
    "write_particles",
    "read_particles",
    "merge_lists",
]
