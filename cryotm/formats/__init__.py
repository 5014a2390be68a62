"""Particle-list formats: one module per format, found through the plugin manager."""

from .base import (
    MotlReader,
    MotlWriter,
    motl_readers,
    motl_writers,
    read_particles,
    reader_for,
    write_particles,
    writer_for,
)

__all__ = [
    "MotlWriter",
    "MotlReader",
    "motl_writers",
    "motl_readers",
    "writer_for",
    "reader_for",
    "write_particles",
    "read_particles",
]
