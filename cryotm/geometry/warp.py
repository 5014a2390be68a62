"""Warp / WarpTools tilt-series alignments (the tilt series' ``.xml``).

Warp keeps, per tilt image, the tilt angle (``<Angles>``), the tilt-axis
angle (``<AxisAngle>``) and the tilt-axis offsets in Å (``<AxisOffsetX>``,
``<AxisOffsetY>``); ``UseTilt`` marks the tilts kept. Warp's
``TiltSeries.GetPositionInAllTilts`` rotates a point about the volume's
centre with ``Matrix3.Euler(0, angle, -axis_angle)`` (RELION's ZYZ Euler
matrix), which is ``Rz(axis_angle) @ Ry(-angle)`` in active rotations, then
adds the axis offset and the image centre (and subtracts the
``GridMovement`` stage shifts). In cryotypes terms: ``rotation_y = -angle``,
``rotation_z = axis_angle``, ``dx, dy = AxisOffsetX, AxisOffsetY / pixel
size``. ``AreAnglesInverted`` changes only the depth (defocus) there, not x
and y, so it is ignored here. The deformation grids (``GridMovement``,
``GridVolumeWarp``, ...) are not applied. The XML states neither the pixel
size nor the image size: give them.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import numpy as np

from ..errors import InputError
from .alignment import TiltSeriesAlignment, make_projection_model
from .readers import AlignmentReader

__all__ = ["WarpAlignmentReader", "read_warp_xml"]


def read_warp_xml(path: str | os.PathLike) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """The root attributes and the per-tilt lists of a Warp tilt-series XML (UTF-8 or UTF-16)."""
    import xml.etree.ElementTree as ET  # only where a Warp file is read

    path = Path(path)
    try:
        root = ET.fromstring(path.read_bytes())
    except (OSError, ET.ParseError) as exc:
        raise InputError(f"cannot read as XML: {exc}", path) from None
    if root.tag != "TiltSeries":
        raise InputError(f"not a Warp tilt-series XML (root <{root.tag}>, expected <TiltSeries>)", path)
    lists: dict[str, np.ndarray] = {}
    for tag in ("Angles", "AxisAngle", "AxisOffsetX", "AxisOffsetY", "UseTilt"):
        element = root.find(tag)
        if element is None or element.text is None:
            continue
        words = element.text.split()
        if tag == "UseTilt":
            lists[tag] = np.array([w.lower() == "true" for w in words])
        else:
            try:
                lists[tag] = np.array([float(w) for w in words])
            except ValueError:
                raise InputError(f"<{tag}> holds a non-number", path) from None
    return dict(root.attrib), lists


@attrs.define
class WarpAlignmentReader(AlignmentReader):
    """Warp / WarpTools tilt-series XML.

    Parameters
    ----------
    pixel_size : float, optional
        Å per tilt-image pixel (needed for the shifts, which Warp keeps in Å).
    tilt_image_shape : (ny, nx), optional
        Size of the tilt images.
    tomogram_shape : (nz, ny, nx), optional
        In tilt-series pixels.
    all_tilts : bool
        Keep the tilts marked ``UseTilt = False`` too (default: drop them).
    """

    name = "warp"
    extensions = (".xml",)
    description = "Warp / WarpTools tilt-series .xml (Angles, AxisAngle, AxisOffsetX/Y)"

    pixel_size: float | None = None
    tilt_image_shape: tuple[int, int] | None = None
    tomogram_shape: tuple[int, int, int] | None = None
    all_tilts: bool = False

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if Path(path).suffix.lower() != ".xml":
            return False
        try:
            head = Path(path).read_bytes()[:600]
        except OSError:
            return False
        for encoding in ("utf-8-sig", "utf-16"):
            try:
                if "<TiltSeries" in head.decode(encoding, errors="ignore"):
                    return True
            except UnicodeError:
                continue
        return False

    def read(self, path: str | os.PathLike) -> dict[str, TiltSeriesAlignment]:
        path = Path(path)
        _, lists = read_warp_xml(path)
        if "Angles" not in lists:
            raise InputError("no <Angles> in this tilt-series XML", path)
        angles = lists["Angles"]
        n = len(angles)
        for tag in ("AxisAngle", "AxisOffsetX", "AxisOffsetY", "UseTilt"):
            if tag in lists and len(lists[tag]) != n:
                raise InputError(f"<{tag}> has {len(lists[tag])} values for {n} tilt angles (missing tilts?)", path)
        if "AxisAngle" not in lists:
            raise InputError("no <AxisAngle> in this tilt-series XML (not aligned yet?)", path)
        notes: list[str] = []
        keep = lists.get("UseTilt", np.ones(n, dtype=bool))
        if self.all_tilts:
            keep = np.ones(n, dtype=bool)
        elif not keep.all():
            notes.append(f"{int((~keep).sum())} tilt(s) with UseTilt False dropped: tilt indices count the tilts kept")
        stated = angles
        pixel = self.pixel_size
        if not pixel:
            pixel = 1.0
            notes.append("Warp's XML states no pixel size: 1 Å assumed, shifts taken as pixels "
                         "(give pixel_size / --alignment-pixel-size)")
        zeros = np.zeros(n)
        model = make_projection_model(
            rotation_y=-stated[keep],
            rotation_z=lists["AxisAngle"][keep],
            dx=(lists.get("AxisOffsetX", zeros) / pixel)[keep],
            dy=(lists.get("AxisOffsetY", zeros) / pixel)[keep],
            experiment_id=path.stem,
            pixel_spacing=pixel,
            source=os.fspath(path),
        )
        notes.append("Warp's deformation grids are not applied")
        alignment = TiltSeriesAlignment(
            model, tilt_image_shape=self.tilt_image_shape, tomogram_shape=self.tomogram_shape,
            tilt_angles=stated[keep], name=path.stem, source=os.fspath(path), program="warp", notes=tuple(notes),
        )
        return {path.stem: alignment}
