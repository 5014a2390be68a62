"""The IMOD binary model format (``.mod``), enough of it for point models: write and read.

Layout (IMOD's ``binspec``; every number big-endian, ints 4 bytes, floats
IEEE float32)::

    "IMOD" "V1.2"                       8 bytes: file id and version
    model header                        232 bytes (MODEL_HEADER below)
    for each object:
        "OBJT" + object header          4 + 176 bytes (OBJECT_HEADER)
        for each contour:
            "CONT" psize flags time surf    4 + 16 bytes
            psize x (x, y, z) float32       the points, in image pixels
        [other chunks: MESH, SIZE, IMAT, ...]
    [model chunks: VIEW, MINX, ...]
    "IEOF"                              end of file

Chunks newer than OBJT/CONT/MESH carry their byte count after the id
(``"IMAT" <int nbytes> <data>``), which is how the reader skips what it does
not use. Point objects written here are *scattered-point* objects
(``IMOD_OBJFLAG_SCAT`` with ``IMOD_OBJFLAG_OPEN``): 3dmod draws each point
as a sphere of radius ``pdrawsize`` pixels and never joins them with lines.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path

import attrs
import numpy as np

__all__ = [
    "ImodObject",
    "ImodModel",
    "write_model",
    "read_model",
    "ModelFormatError",
    "OBJFLAG_OPEN",
    "OBJFLAG_SCAT",
    "MODEL_HEADER",
    "OBJECT_HEADER",
]

#: Model header after "IMODV1.2": name[128], xmax ymax zmax objsize, flags, drawmode mousemode
#: blacklevel whitelevel, xoffset yoffset zoffset, xscale yscale zscale, object contour point res
#: thresh, pixsize, units, csum, alpha beta gamma (232 bytes).
MODEL_HEADER = struct.Struct(">128s4iI4i3f3f5ifii3f")
#: Object header after "OBJT": name[64], extra[16 uint], contsize, flags, axis, drawmode,
#: red green blue, pdrawsize, symbol symsize linewidth2 linewidth linesty symflags sympad trans,
#: meshsize, surfsize (176 bytes).
OBJECT_HEADER = struct.Struct(">64s16IiIii3fi8Bii")
#: Contour header after "CONT": psize, flags, time, surf.
CONTOUR_HEADER = struct.Struct(">iIii")
#: Mesh header after "MESH": vsize, lsize, flag, time (short), surf (short).
MESH_HEADER = struct.Struct(">iiIhh")

OBJFLAG_OPEN = 1 << 3  # IMOD_OBJFLAG_OPEN: contours are open
OBJFLAG_SCAT = 1 << 9  # IMOD_OBJFLAG_SCAT: scattered points, drawn as spheres
UNITS_NM = -9  # the model header's units code for nanometres

assert MODEL_HEADER.size == 232 and OBJECT_HEADER.size == 176


class ModelFormatError(ValueError):
    """The file is not an IMOD binary model, or is truncated."""


@attrs.define
class ImodObject:
    """One object: its points (N, 3; x, y, z in pixels), name, colour and sphere radius."""

    points: np.ndarray = attrs.field(converter=lambda p: np.asarray(p, dtype=np.float64).reshape(-1, 3))
    name: str = ""
    colour: tuple[float, float, float] = (0.0, 1.0, 0.0)
    sphere_radius: int = 3
    flags: int = OBJFLAG_OPEN | OBJFLAG_SCAT


@attrs.define
class ImodModel:
    """A point model: objects, the image size (x, y, z) and the pixel size (Å)."""

    objects: list[ImodObject] = attrs.field(factory=list)
    image_size: tuple[int, int, int] = (1, 1, 1)
    pixel_size: float | None = None
    name: str = "IMOD-NewModel"


def _text(value: str, size: int) -> bytes:
    return value.encode("utf-8")[: size - 1].ljust(size, b"\0")


def model_bytes(model: ImodModel) -> bytes:
    """The binary model file of `model`.

    Examples
    --------
    >>> data = model_bytes(ImodModel([ImodObject([[1.0, 2.0, 3.0]])], image_size=(10, 10, 10)))
    >>> data[:8], data[-4:], len(data)
    (b'IMODV1.2', b'IEOF', 456)
    """
    xmax, ymax, zmax = (int(v) for v in model.image_size)
    pixel_nm = (model.pixel_size or 0.0) / 10.0
    parts = [
        b"IMODV1.2",
        MODEL_HEADER.pack(
            _text(model.name, 128),
            xmax, ymax, zmax, len(model.objects),
            0,  # flags
            1, 1, 0, 255,  # drawmode, mousemode, blacklevel, whitelevel
            0.0, 0.0, 0.0,  # offsets
            1.0, 1.0, 1.0,  # scales
            0, 0, 0,  # current object, contour, point
            3, 128,  # res, thresh
            pixel_nm if pixel_nm > 0 else 1.0,
            UNITS_NM if pixel_nm > 0 else 0,  # pixsize in nm, or in pixels (units 0)
            0,  # csum
            0.0, 0.0, 0.0,
        ),
    ]  # fmt: skip
    for obj in model.objects:
        red, green, blue = (float(c) for c in obj.colour)
        n_contours = 1 if len(obj.points) else 0
        parts.append(b"OBJT")
        parts.append(
            OBJECT_HEADER.pack(
                _text(obj.name, 64),
                *([0] * 16),
                n_contours, obj.flags,
                0, 1,  # axis, drawmode
                red, green, blue,
                int(obj.sphere_radius),
                # symbol (circle), symsize, linewidth2, linewidth, linesty, symflags, sympad, trans
                0, 3, 1, 1, 0, 0, 0, 0,
                0, 0,  # meshsize, surfsize
            )
        )  # fmt: skip
        if n_contours:
            parts.append(b"CONT")
            parts.append(CONTOUR_HEADER.pack(len(obj.points), 0, 0, 0))
            parts.append(np.ascontiguousarray(obj.points, dtype=">f4").tobytes())
    parts.append(b"IEOF")
    return b"".join(parts)


def write_model(path: str | os.PathLike, model: ImodModel) -> None:
    """Write `model` to `path` (not atomic by itself; cryotm's writer makes it so)."""
    Path(path).write_bytes(model_bytes(model))


class _Reader:
    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise ModelFormatError(f"{self.source}: truncated IMOD model (at byte {self.pos})")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, layout: struct.Struct) -> tuple:
        return layout.unpack(self.take(layout.size))


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def read_model(path: str | os.PathLike) -> ImodModel:
    """Read the objects and points of an IMOD binary model (meshes and views are skipped).

    Every contour's points are joined into their object's points.

    Raises
    ------
    ModelFormatError
        If the file is not an IMOD model or ends early.
    """
    source = os.fspath(path)
    reader = _Reader(Path(path).read_bytes(), source)
    if reader.take(4) != b"IMOD":
        raise ModelFormatError(f"{source}: not an IMOD model (no 'IMOD' id)")
    version = reader.take(4)
    if not version.startswith(b"V1."):
        raise ModelFormatError(f"{source}: unsupported IMOD model version {version!r}")
    header = reader.unpack(MODEL_HEADER)
    name, xmax, ymax, zmax, n_objects = _name(header[0]), *header[1:5]
    pixsize, units = header[21], header[22]
    # units: 0 pixels, else a power of ten of metres (-9 nm, -10 Å); float32 keeps 7 digits
    pixel_size = float(f"{pixsize * 10.0 ** (units + 10):.7g}") if units and pixsize > 0 else None
    objects: list[ImodObject] = []
    points: list[list[np.ndarray]] = []
    while True:
        tag = reader.take(4)
        if tag == b"IEOF":
            break
        if tag == b"OBJT":
            values = reader.unpack(OBJECT_HEADER)
            objects.append(
                ImodObject(
                    np.zeros((0, 3)),
                    name=_name(values[0]),
                    colour=tuple(values[21:24]),
                    sphere_radius=values[24],
                    flags=values[18],
                )
            )
            points.append([])
        elif tag == b"CONT":
            psize = reader.unpack(CONTOUR_HEADER)[0]
            if not objects:
                raise ModelFormatError(f"{source}: contour before any object")
            raw = np.frombuffer(reader.take(12 * psize), dtype=">f4").reshape(psize, 3)
            points[-1].append(raw.astype(np.float64))
        elif tag == b"MESH":
            vsize, lsize = reader.unpack(MESH_HEADER)[:2]
            reader.take(12 * vsize + 4 * lsize)
        else:  # a sized chunk (SIZE, IMAT, VIEW, MINX, ...)
            (nbytes,) = struct.unpack(">i", reader.take(4))
            if nbytes < 0:
                raise ModelFormatError(f"{source}: bad size {nbytes} of chunk {tag!r}")
            reader.take(nbytes)
    if len(objects) != n_objects:
        raise ModelFormatError(f"{source}: header says {n_objects} objects, found {len(objects)}")
    for obj, chunks in zip(objects, points):
        obj.points = np.vstack(chunks) if chunks else np.zeros((0, 3))
    return ImodModel(objects, image_size=(xmax, ymax, zmax), pixel_size=pixel_size, name=name)


def palette(n: int) -> Sequence[tuple[float, float, float]]:
    """`n` distinct colours (green first, as 3dmod's first object)."""
    base = [(0.0, 1.0, 0.0), (1.0, 0.0, 1.0), (0.0, 1.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.5, 0.0), (0.5, 0.5, 1.0)]
    return [base[i % len(base)] for i in range(n)]
