"""Geometric pick filters: what the tilt series rules out.

Both are pick filters of :mod:`cryotm.pipeline.filters` (``filter(particles,
context) -> ParticleList``), registered through the ``cryotm_pick_filters``
hook, so a pipeline config names them (``[[filters]] name = "visible_tilts"``)
and ``extract``, ``select`` and ``batch`` take them as options:

* :class:`VisibleTilts` keeps particles that project inside the tilt image,
  at least ``margin`` pixels from its border, in at least ``min_tilts`` tilts
  (or a ``min_fraction`` of them);
* :class:`FiducialExclusion` drops particles whose projection lies within
  ``radius`` pixels of a fiducial (gold bead) in at least ``min_tilts`` tilts.
  The fiducials are 2D positions per tilt from an IMOD fiducial model
  (``.fid``/``.mod``), or 3D bead positions (an IMOD model with
  ``fiducials_3d``, or any particle list) projected with the same alignment.

The particles a filter sees are in the voxels of the map they were picked
from: give ``pixel_size`` (Å) when the alignment's tilt-series pixels differ
(a binned tomogram), and ``tomogram_shape`` when the map is not the whole
tomogram (the default is the map's shape).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import attrs
import numpy as np

from ..errors import CryotmError, InputError
from ..pipeline.filters import FilterContext, PickFilter

__all__ = ["VisibleTilts", "FiducialExclusion", "visible_tilt_counts", "fiducial_hit_counts"]


def _optional_shape(value: Any) -> tuple[int, ...] | None:
    return None if value is None else tuple(int(v) for v in value)


@attrs.define
class _GeometricFilter(PickFilter):
    """Shared options: the alignment file and the sizes the particles refer to."""

    name: ClassVar[str] = ""

    alignment: str = ""
    alignment_format: str | None = attrs.field(default=None, kw_only=True)
    tomo_name: str | None = attrs.field(default=None, kw_only=True)
    pixel_size: float | None = attrs.field(default=None, kw_only=True)
    alignment_pixel_size: float | None = attrs.field(default=None, kw_only=True)
    tomogram_shape: tuple[int, int, int] | None = attrs.field(default=None, kw_only=True, converter=_optional_shape)
    tilt_image_shape: tuple[int, int] | None = attrs.field(default=None, kw_only=True, converter=_optional_shape)

    def _alignments(self) -> Any:
        from .readers import alignment_reader_class, read_alignments

        if not self.alignment:
            raise CryotmError(f"pick filter {self.name!r} needs an alignment file (alignment=)")
        cls = alignment_reader_class(self.alignment, self.alignment_format)
        options: dict[str, Any] = {}
        fields = {f.name for f in attrs.fields(cls)} if attrs.has(cls) else set()
        if self.alignment_pixel_size is not None and "pixel_size" in fields:
            options["pixel_size"] = self.alignment_pixel_size
        if self.tilt_image_shape is not None and "tilt_image_shape" in fields:
            options["tilt_image_shape"] = self.tilt_image_shape
        return read_alignments(self.alignment, cls.name, **options)

    def _with_context(self, particles: Any, context: FilterContext | None) -> Any:
        changes: dict[str, Any] = {}
        if self.pixel_size is not None:
            changes["pixel_size"] = float(self.pixel_size)
        shape = self.tomogram_shape or (None if context is None else tuple(context.shape))
        if shape is not None:
            changes["tomogram_shape"] = tuple(int(v) for v in shape)
        return attrs.evolve(particles, **changes) if changes else particles

    def project(self, particles: Any, context: FilterContext | None = None, margin: float = 0.0) -> Any:
        """The projection table of `particles` (see :func:`cryotm.geometry.project_particles`)."""
        from .projection import project_particles

        alignments = self._alignments()
        tomo_name = self.tomo_name
        named = "tomo_name" in particles.data.columns or bool(particles.experiment_id)
        if tomo_name is None and not named and context is not None and context.name and len(alignments) > 1:
            tomo_name = context.name  # the run's tomogram chooses among the tilt series of the file
        return project_particles(
            self._with_context(particles, context),
            alignments,
            tilt_image_shape=self.tilt_image_shape,
            margin=margin,
            tomo_name=tomo_name,
        )


def visible_tilt_counts(table: Any, n_particles: int) -> tuple[np.ndarray, np.ndarray]:
    """(tilts inside, tilts in all) per particle from a projection table in list order."""
    if n_particles == 0:
        return np.zeros(0, int), np.zeros(0, int)
    n_tilts = len(table) // n_particles
    inside = table["inside"].to_numpy(bool).reshape(n_particles, n_tilts)
    return inside.sum(axis=1), np.full(n_particles, n_tilts)


@attrs.define
class VisibleTilts(_GeometricFilter):
    """Keep particles inside the tilt image (with `margin` pixels) in at least `min_tilts` tilts or `min_fraction`.

    Parameters
    ----------
    alignment : str
        Tilt-series alignment file (any format :func:`~cryotm.geometry.read_alignment` reads).
    min_tilts : int, optional
        Least number of tilts in which a particle must be visible.
    min_fraction : float, optional
        Least fraction (0-1) of the tilts; with both, both must hold. With
        neither, every tilt is required.
    margin : float
        Pixels from the tilt image's border (for example half the box size
        you will extract).
    """

    name: ClassVar[str] = "visible_tilts"

    min_tilts: int | None = attrs.field(default=None, kw_only=True)
    min_fraction: float | None = attrs.field(default=None, kw_only=True)
    margin: float = attrs.field(default=0.0, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.min_fraction is not None and not 0 <= self.min_fraction <= 1:
            raise CryotmError(f"visible_tilts: min_fraction must be between 0 and 1, got {self.min_fraction}")
        if self.min_tilts is not None and self.min_tilts < 0:
            raise CryotmError(f"visible_tilts: min_tilts must be >= 0, got {self.min_tilts}")
        if self.margin < 0:
            raise CryotmError(f"visible_tilts: margin must be >= 0, got {self.margin}")

    def keep(self, particles: Any, context: FilterContext | None = None) -> np.ndarray:
        """Boolean mask of the particles kept."""
        table = self.project(particles, context, margin=self.margin)
        counts, total = visible_tilt_counts(table, len(particles))
        keep = np.ones(len(particles), dtype=bool)
        if self.min_tilts is None and self.min_fraction is None:
            keep &= counts == total
        if self.min_tilts is not None:
            keep &= counts >= self.min_tilts
        if self.min_fraction is not None:
            keep &= counts >= np.ceil(self.min_fraction * total - 1e-9)
        return keep

    def __call__(self, particles: Any, context: FilterContext) -> Any:
        return particles.with_data(particles.data[self.keep(particles, context)].reset_index(drop=True))


def fiducial_hit_counts(table: Any, fiducials: Any, radius: float, n_particles: int) -> np.ndarray:
    """Per particle, the number of tilts in which it lies within `radius` pixels of a fiducial.

    Parameters
    ----------
    table : DataFrame
        A projection table in list order (``tilt_index``, ``x``, ``y``).
    fiducials : DataFrame
        ``tilt_index``, ``x``, ``y`` of the fiducials in each tilt.
    """
    from scipy.spatial import cKDTree  # scipy.spatial: only where fiducials are looked at

    hits = np.zeros(n_particles, dtype=np.int64)
    if n_particles == 0 or len(fiducials) == 0:
        return hits
    n_tilts = len(table) // n_particles
    xy = table[["x", "y"]].to_numpy(float).reshape(n_particles, n_tilts, 2)
    tilt_of_fiducial = fiducials["tilt_index"].to_numpy(int)
    fxy = fiducials[["x", "y"]].to_numpy(float)
    for tilt in np.unique(tilt_of_fiducial):
        if not 0 <= tilt < n_tilts:
            continue
        tree = cKDTree(fxy[tilt_of_fiducial == tilt])
        distance, _ = tree.query(xy[:, tilt, :], k=1)
        hits += distance <= radius
    return hits


@attrs.define
class FiducialExclusion(_GeometricFilter):
    """Drop particles within `radius` pixels of a fiducial in at least `min_tilts` tilts.

    Parameters
    ----------
    alignment : str
        Tilt-series alignment file.
    fiducials : str
        An IMOD fiducial model (2D points per tilt: x, y, section), or with
        `fiducials_3d` the beads' 3D positions (an IMOD model or a particle
        list, in the particles' voxels) projected with the alignment.
    radius : float
        In tilt-image pixels.
    min_tilts : int
        Tilts with a near fiducial that make a particle suspect (default 1).
    fiducials_3d : bool
        The fiducial file holds 3D positions.
    fiducial_transform : str, optional
        An IMOD ``.prexg`` to undo on 2D fiducials tracked on the prealigned stack.
    """

    name: ClassVar[str] = "fiducials"

    fiducials: str = attrs.field(default="", kw_only=True)
    radius: float = attrs.field(default=10.0, kw_only=True)
    min_tilts: int = attrs.field(default=1, kw_only=True)
    fiducials_3d: bool = attrs.field(default=False, kw_only=True)
    fiducial_transform: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not self.fiducials:
            raise CryotmError("pick filter 'fiducials' needs a fiducial file (fiducials=)")
        if self.radius < 0:
            raise CryotmError(f"fiducials: radius must be >= 0, got {self.radius}")

    def fiducial_table(self, particles: Any, context: FilterContext | None = None) -> Any:
        """``tilt_index, x, y`` of the fiducials in each tilt image."""
        from .imod import read_fiducial_model

        path = self.fiducials
        if not self.fiducials_3d:
            shape = self.tilt_image_shape
            if self.fiducial_transform is not None and shape is None:
                alignments = self._alignments()
                first = next(iter(alignments.values()))
                shape = first.tilt_image_shape
            return read_fiducial_model(path, self.fiducial_transform, shape)
        beads = _read_beads(path, particles)
        table = self.project(beads, context)
        return table[["tilt_index", "x", "y"]]

    def keep(self, particles: Any, context: FilterContext | None = None) -> np.ndarray:
        """Boolean mask of the particles kept."""
        table = self.project(particles, context)
        hits = fiducial_hit_counts(table, self.fiducial_table(particles, context), self.radius, len(particles))
        return hits < max(1, self.min_tilts)

    def __call__(self, particles: Any, context: FilterContext) -> Any:
        return particles.with_data(particles.data[self.keep(particles, context)].reset_index(drop=True))


def _read_beads(path: str | os.PathLike, particles: Any) -> Any:
    """3D bead positions as a particle list with the particles' metadata."""
    from ..particles import ParticleList

    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix in (".mod", ".fid"):
        from .imod import _model_points
        from pathlib import Path

        if not Path(path).is_file():
            raise InputError("no such file", path)
        xyz = _model_points(Path(path))[["x", "y", "z"]].to_numpy(float)
        beads = ParticleList.from_arrays(xyz)
    else:
        from ..formats import read_particles

        beads = read_particles(path, pixel_size=particles.pixel_size, tomogram_shape=particles.tomogram_shape)
    return attrs.evolve(
        beads.with_data(beads.data.drop(columns=["tomo_name"], errors="ignore")),
        pixel_size=particles.pixel_size,
        experiment_id=particles.experiment_id,
        tomogram_shape=particles.tomogram_shape,
    )
