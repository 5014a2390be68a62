"""AreTomo / AreTomo2 / AreTomo3 alignments (``.aln``).

The global-alignment table of an ``.aln`` file has one row per tilt image
kept (dark frames removed): ``SEC ROT GMAG TX TY SMEAN SFIT SCALE BASE TILT``;
the header gives ``RawSize = nx ny n`` and ``Thickness``. AreTomo's IMOD
output (``-OutImod``) expresses the same alignment as an ``.xf`` with
``A = [[cos ROT, -sin ROT], [sin ROT, cos ROT]]`` and ``(DX, DY) = -A @ (TX, TY)``
(as teamtomo's ``alnfile`` writes it), so cryotm reads an ``.aln`` through
exactly that ``.xf`` and the IMOD conversion of :mod:`cryotm.geometry.imod`:
``rotation_y = TILT``, ``rotation_z = -ROT``, shifts ``(TX, TY)`` (plus
the half-pixel difference of rotation centres). ``GMAG`` other than 1 is
not applied (a warning says so); local alignments are not applied.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import attrs
import numpy as np

from ..errors import InputError
from .alignment import TiltSeriesAlignment
from .imod import imod_to_model
from .readers import AlignmentReader

__all__ = ["AretomoAlignmentReader", "read_aln", "aln_to_xf"]

_COLUMNS = ("SEC", "ROT", "GMAG", "TX", "TY", "SMEAN", "SFIT", "SCALE", "BASE", "TILT")


def read_aln(path: str | os.PathLike) -> tuple[dict[str, str], np.ndarray]:
    """The header (``key -> text``) and the global-alignment rows (n, 10) of an AreTomo ``.aln``."""
    path = Path(path)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read: {exc}", path) from None
    header: dict[str, str] = {}
    rows: list[list[float]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            if rows and "local" in text.lower():
                break  # the local alignments follow
            match = re.match(r"#\s*(\w+)\s*=\s*(.*)", text)
            if match:
                key = match.group(1)
                header[key] = f"{header[key]};{match.group(2)}" if key in header else match.group(2).strip()
            continue
        words = text.split()
        if len(words) != len(_COLUMNS):
            raise InputError(f"line {number}: expected {len(_COLUMNS)} columns ({' '.join(_COLUMNS)}), "
                             f"found {len(words)}", path)
        try:
            rows.append([float(w) for w in words])
        except ValueError:
            raise InputError(f"line {number}: not a number in {text!r}", path) from None
    if not rows:
        raise InputError("no global alignment rows (SEC ROT GMAG TX TY ... TILT) in this .aln file", path)
    return header, np.asarray(rows, dtype=np.float64)


def aln_to_xf(rows: np.ndarray) -> np.ndarray:
    """The IMOD ``.xf`` transforms (n, 6) equivalent to the rows of an ``.aln`` (see the module docstring).

    Examples
    --------
    >>> rows = np.array([[1, 90.0, 1, 3.0, 4.0, 1, 1, 1, 0, 0.0]])
    >>> aln_to_xf(rows).round(6).tolist()
    [[0.0, -1.0, 1.0, 0.0, 4.0, -3.0]]
    """
    theta = np.radians(rows[:, 1])
    c, s = np.cos(theta), np.sin(theta)
    tx, ty = rows[:, 3], rows[:, 4]
    return np.column_stack([c, -s, s, c, -(c * tx - s * ty), -(s * tx + c * ty)])


@attrs.define
class AretomoAlignmentReader(AlignmentReader):
    """AreTomo ``.aln`` (global alignment).

    Parameters
    ----------
    tilt_image_shape : (ny, nx), optional
        Default: the header's ``RawSize``.
    tomogram_shape : (nz, ny, nx), optional
        Default: ``Thickness`` x ``RawSize``.
    pixel_size : float, optional
        Å per tilt-image pixel (the ``.aln`` does not state it).
    """

    name = "aretomo"
    extensions = (".aln",)
    description = "AreTomo .aln (global alignment: ROT, TX, TY, TILT)"

    tilt_image_shape: tuple[int, int] | None = None
    tomogram_shape: tuple[int, int, int] | None = None
    pixel_size: float | None = None

    def read(self, path: str | os.PathLike) -> dict[str, TiltSeriesAlignment]:
        path = Path(path)
        header, rows = read_aln(path)
        notes: list[str] = []
        image_shape = self.tilt_image_shape
        raw = header.get("RawSize", "").split()
        if image_shape is None and len(raw) >= 2:
            image_shape = (int(raw[1]), int(raw[0]))
        tomo_shape = self.tomogram_shape
        thickness = header.get("Thickness", "").split()
        if tomo_shape is None and image_shape is not None and thickness:
            tomo_shape = (int(float(thickness[0])), image_shape[0], image_shape[1])
        if np.any(np.abs(rows[:, 2] - 1) > 1e-3):
            warnings.warn(f"{path}: GMAG (magnification) other than 1 is not applied", stacklevel=2)
        alpha = float(header.get("AlphaOffset", "0").split()[0] or 0)
        if alpha:
            notes.append(f"AlphaOffset {alpha:g} of the header is taken as included in the TILT column")
        if "DarkFrame" in header:
            notes.append(f"{header['DarkFrame'].count(';') + 1} dark frame(s) removed: tilt indices count the "
                         "tilts kept")
        if not self.pixel_size:
            notes.append("AreTomo's .aln states no pixel size: 1 Å assumed (give pixel_size / --alignment-pixel-size)")
        name = path.stem
        model = imod_to_model(
            rows[:, 9], aln_to_xf(rows), image_shape, tomo_shape, name=name,
            pixel_size=self.pixel_size or 1.0, source=os.fspath(path),
        )
        alignment = TiltSeriesAlignment(
            model, tilt_image_shape=image_shape, tomogram_shape=tomo_shape, tilt_angles=rows[:, 9], name=name,
            source=os.fspath(path), program="aretomo", notes=tuple(notes),
        )
        return {name: alignment}
