"""``table``: the particle list as a plain CSV (``.csv``) or tab-separated (``.tsv``) table.

The columns are those of :class:`~cryotm.particles.ParticleList` (``score,
subtomo_id, tomo_id, object_id, x, y, z, shift_x..z, phi, theta, psi,
class`` and any extra column such as ``tomo_name``), with cryotm's own
conventions: positions are 0-based voxels, angles extrinsic zxz degrees.
Floats are written at full precision. The list's metadata precede the table
as comment lines (``# pixel_size: 10.0``, ``# experiment_id: TS_01``,
``# tomogram_shape: 200 400 400`` (z y x)); a table without them (say, one
written by pandas) reads as well. Only ``x, y, z`` are required on reading;
missing columns take their defaults.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .._lazy import lazy_module
from ..errors import InputError
from ..particles import CORE_COLUMNS, ParticleList
from .base import MotlReader, MotlWriter

pd = lazy_module("pandas")

__all__ = ["TableWriter", "TableReader"]

_SEPARATORS = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
_TEXT_COLUMNS = ("tomo_name", "halfset")


def _separator(path: Path, sep: str | None) -> str:
    return sep if sep is not None else _SEPARATORS.get(Path(path).suffix.lower(), ",")


@attrs.define
class TableWriter(MotlWriter):
    """Write the particle list as CSV/TSV (separator from the extension unless `sep` is given)."""

    name = "table"
    extensions = (".csv", ".tsv")
    description = "plain CSV/TSV table of cryotm's columns (0-based positions, zxz angles)"

    sep: str | None = None

    def kept_columns(self, particles: ParticleList) -> set[str] | None:
        return None  # every column

    def write(self, particles: ParticleList, path: str | os.PathLike, overwrite: bool = False) -> None:
        # the separator follows the target's extension, not the temporary file's
        if self.sep is None:
            attrs.evolve(self, sep=_separator(Path(path), None)).write(particles, path, overwrite=overwrite)
            return
        super().write(particles, path, overwrite=overwrite)

    def write_file(self, particles: ParticleList, path: Path) -> None:
        lines = ["# cryotm particle list (0-based voxel positions; phi, theta, psi extrinsic zxz, degrees)"]
        if particles.pixel_size:
            lines.append(f"# pixel_size: {particles.pixel_size!r}")
        if particles.experiment_id:
            lines.append(f"# experiment_id: {particles.experiment_id}")
        if particles.tomogram_shape is not None:
            lines.append(f"# tomogram_shape: {' '.join(str(int(s)) for s in particles.tomogram_shape)}")
        body = particles.data.to_csv(sep=_separator(path, self.sep), index=False, lineterminator="\n")
        Path(path).write_text("\n".join(lines) + "\n" + body, encoding="utf-8")


def _metadata(lines: list[str], path: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for line in lines:
        key, sep, value = line.lstrip("#").strip().partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        try:
            if key == "pixel_size":
                found["pixel_size"] = float(value)
            elif key == "experiment_id":
                found["experiment_id"] = value
            elif key == "tomogram_shape":
                found["tomogram_shape"] = tuple(int(v) for v in value.split())
        except ValueError:
            raise InputError(f"bad metadata line {line.strip()!r}", path) from None
    return found


@attrs.define
class TableReader(MotlReader):
    """Read a CSV/TSV particle table (separator from the extension unless `sep` is given)."""

    name = "table"
    extensions = (".csv", ".tsv")
    description = TableWriter.description

    sep: str | None = None

    def read(self, path: str | os.PathLike) -> ParticleList:
        path = Path(path)
        if not path.is_file():
            raise InputError("no such file", path)
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.splitlines(keepends=True)
        n_comments = 0
        while n_comments < len(lines) and lines[n_comments].startswith("#"):
            n_comments += 1
        metadata = _metadata(lines[:n_comments], path)
        body = "".join(lines[n_comments:])
        if not body.strip():
            raise InputError("no table header in this file", path)
        try:
            frame = pd.read_csv(
                io.StringIO(body),
                sep=_separator(path, self.sep),
                converters={c: str for c in _TEXT_COLUMNS},
            )
        except (ValueError, pd.errors.ParserError) as exc:
            raise InputError(f"cannot read as a particle table: {exc}", path) from None
        missing = [c for c in ("x", "y", "z") if c not in frame.columns]
        if missing:
            raise InputError(
                f"a particle table needs columns x, y, z; missing {', '.join(missing)} "
                f"(found: {', '.join(map(str, frame.columns))})",
                path,
            )
        for column in CORE_COLUMNS:
            if column in frame.columns:
                values = pd.to_numeric(frame[column], errors="coerce")
                if values.isna().any():
                    row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
                    raise InputError(f"column {column!r} of row {row} is not a number", path)
                frame[column] = values
        try:
            return ParticleList(frame, **metadata)
        except (ValueError, TypeError) as exc:
            raise InputError(f"bad particle table: {exc}", path) from None
