"""The cryotm plugin: particle-list format ``imod`` (IMOD binary model, ``.mod``).

Registered through the ``cryotm`` entry-point group (see ``pyproject.toml``);
cryotm calls the two hooks below and finds :class:`ImodWriter` and
:class:`ImodReader` under the name ``imod``.

Coordinates: IMOD puts the centre of the voxel of 0-based index (i, j, k)
at model coordinate (i + 0.5, j + 0.5, k): x and y count pixel edges, z counts
sections (a point placed by clicking in 3dmod holds x, y at .5 and z at a
whole number). The model's points are therefore cryotm's positions plus
shifts plus :data:`IMOD_OFFSET` = (0.5, 0.5, 0), plus the writer's
``offset`` (0 by default); the reader subtracts them. One scattered-point object per class (``group_by="class"``) or per
tomogram, object or not at all, each drawn as spheres of ``sphere_radius``
pixels. IMOD models hold positions only: orientations and scores are not
written, and read back as zero.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import attrs
import numpy as np

from cryotm import hookimpl
from cryotm.errors import InputError
from cryotm.formats import MotlReader, MotlWriter
from cryotm.particles import ParticleList

from .model import ImodModel, ImodObject, ModelFormatError, palette, read_model, write_model

__all__ = ["ImodWriter", "ImodReader", "GROUPS", "IMOD_OFFSET"]

#: IMOD model coordinate minus cryotm's 0-based voxel position (x, y, z): voxel centres sit at .5 in x and y.
IMOD_OFFSET = np.array([0.5, 0.5, 0.0])

GROUPS = ("class", "tomo_id", "object_id", "none")
#: IMOD's own name for a new model (used when the list has no experiment id).
DEFAULT_NAME = "IMOD-NewModel"
_GROUP_NAME = re.compile(r"^(class|tomo_id|object_id) (-?\d+)$")


def _check_group(instance, attribute, value) -> None:
    if value not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}, got {value!r}")


def _check_radius(instance, attribute, value) -> None:
    if value < 1:
        raise ValueError(f"sphere_radius must be at least 1 pixel, got {value}")


@attrs.define
class ImodWriter(MotlWriter):
    """Write the picks as an IMOD model that 3dmod opens over the tomogram.

    Parameters
    ----------
    sphere_radius : int
        Radius in pixels of the sphere 3dmod draws at each point (say, the
        particle radius).
    group_by : {'class', 'tomo_id', 'object_id', 'none'}
        One object per value of this column (objects named ``"class 2"``
        etc.), or a single object.
    offset : float
        Added to every coordinate on top of IMOD's own (0: a particle at the
        voxel of index (i, j, k) sits at model coordinate (i + 0.5, j + 0.5, k)).

    Examples
    --------
    >>> import tempfile, os
    >>> from cryotm.formats import write_particles, read_particles
    >>> picks = ParticleList.from_arrays([[10, 20, 30], [40, 50, 60]])
    >>> path = os.path.join(tempfile.mkdtemp(), "picks.mod")
    >>> write_particles(picks, path, sphere_radius=6)
    >>> read_particles(path).positions.tolist()
    [[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]]
    """

    name = "imod"
    extensions = (".mod",)
    description = "IMOD binary model (.mod) of the picks, scattered points for 3dmod (plugin cryotm-imod)"

    sphere_radius: int = attrs.field(default=5, converter=int, validator=_check_radius)
    group_by: Literal["class", "tomo_id", "object_id", "none"] = attrs.field(default="class", validator=_check_group)
    offset: float = attrs.field(default=0.0, converter=float)

    def model(self, particles: ParticleList) -> ImodModel:
        """The :class:`~cryotm_imod.model.ImodModel` of `particles`."""
        points = particles.positions + particles.shifts + IMOD_OFFSET + self.offset
        if self.group_by == "none" or len(particles) == 0:
            groups = [("particles", np.arange(len(particles)))]
        else:
            values = particles.data[self.group_by].to_numpy()
            groups = [(f"{self.group_by} {v}", np.flatnonzero(values == v)) for v in np.unique(values)]
        colours = palette(len(groups))
        objects = [
            ImodObject(points[rows], name=name, colour=colour, sphere_radius=self.sphere_radius)
            for (name, rows), colour in zip(groups, colours)
        ]
        if particles.tomogram_shape is not None:
            size = tuple(int(s) for s in particles.tomogram_shape[::-1])
        else:
            size = tuple(int(v) for v in np.maximum(np.ceil(points.max(axis=0)) + 1, 1)) if len(points) else (1, 1, 1)
        title = particles.experiment_id or DEFAULT_NAME
        return ImodModel(objects, image_size=size, pixel_size=particles.pixel_size, name=title)

    def write_file(self, particles: ParticleList, path: Path) -> None:
        write_model(path, self.model(particles))


@attrs.define
class ImodReader(MotlReader):
    """Read the points of an IMOD model as particles (positions only).

    Objects named ``"class N"`` (as :class:`ImodWriter` names them) give
    their points class N; otherwise each object's number becomes the
    ``object_id`` of its points.

    Parameters
    ----------
    offset : float
        Subtracted from every coordinate (the writer's offset), after IMOD's
        own (0.5, 0.5, 0).
    """

    name = "imod"
    extensions = (".mod",)
    description = ImodWriter.description

    offset: float = attrs.field(default=0.0, converter=float)

    @classmethod
    def sniff(cls, path: Path) -> bool:
        try:
            with open(path, "rb") as handle:
                return handle.read(8).startswith(b"IMODV1.")
        except OSError:
            return False

    def read(self, path: str | os.PathLike) -> ParticleList:
        import pandas as pd  # here: writing a list (cryotm extract) does not need it

        path = Path(path)
        if not path.is_file():
            raise InputError("no such file", path)
        try:
            model = read_model(path)
        except ModelFormatError as exc:
            raise InputError(str(exc).split(": ", 1)[-1]) from None
        frames = []
        for number, obj in enumerate(model.objects, start=1):
            frame = pd.DataFrame(obj.points - IMOD_OFFSET - self.offset, columns=["x", "y", "z"])
            match = _GROUP_NAME.match(obj.name)
            if match:
                frame[match.group(1)] = int(match.group(2))
            else:
                frame["object_id"] = number
            frames.append(frame)
        data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["x", "y", "z"])
        data["subtomo_id"] = np.arange(1, len(data) + 1)
        shape = tuple(int(v) for v in model.image_size[::-1])
        return ParticleList(
            data,
            pixel_size=model.pixel_size,
            experiment_id="" if model.name == DEFAULT_NAME else model.name,
            tomogram_shape=shape if min(shape) > 1 else None,
        )


@hookimpl
def cryotm_motl_writers():
    return [ImodWriter]


@hookimpl
def cryotm_motl_readers():
    return [ImodReader]
