"""Pick filters: small rules applied to a particle list after picking.

A filter is any callable ``filter(particles, context) -> ParticleList``; the
built-ins below are attrs classes with a ``name`` so a pipeline can record
them and rebuild them from a config file (``[[filters]] name = "min_score"``).
Write your own by subclassing :class:`PickFilter` (or pass any object with a
``__call__`` of that signature; it is recorded by its class path). Plugins
contribute named filters through the ``cryotm_pick_filters`` hook (cryotm's
geometric filters, :mod:`cryotm.geometry.filters`, come that way);
:func:`pick_filters` lists them all.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

from ..errors import CryotmError
from ..particles import ParticleList

__all__ = [
    "PickFilter",
    "FilterContext",
    "MinScore",
    "MaxParticles",
    "EdgeMargin",
    "MaskFilter",
    "BUILTIN_FILTERS",
    "get_filter",
    "pick_filters",
]


@attrs.frozen
class FilterContext:
    """What a filter may need besides the particles.

    Attributes
    ----------
    shape : tuple of int
        ``(nz, ny, nx)`` of the scores map the particles were picked from.
    mask : ndarray or None
        The tomogram mask (nonzero inside), indexed ``[z, y, x]``, if any.
    name : str
        The tomogram's name (its tilt series in an alignment file), if known.
    """

    shape: tuple[int, int, int]
    mask: np.ndarray | None = None
    name: str = ""


@attrs.define
class PickFilter:
    """Base class of the built-in filters (a ``name`` and attrs parameters)."""

    #: The word used in config files.
    name: ClassVar[str] = ""

    def __call__(self, particles: ParticleList, context: FilterContext) -> ParticleList:
        raise NotImplementedError


def _keep(particles: ParticleList, keep: np.ndarray) -> ParticleList:
    return particles.with_data(particles.data[np.asarray(keep, dtype=bool)].reset_index(drop=True))


@attrs.define
class MinScore(PickFilter):
    """Keep particles whose score is at least `value`.

    Examples
    --------
    >>> plist = ParticleList.from_arrays([[1, 1, 1], [2, 2, 2]], scores=[0.1, 0.5])
    >>> len(MinScore(0.3)(plist, FilterContext((4, 4, 4))))
    1
    """

    name = "min_score"
    value: float = 0.0

    def __call__(self, particles: ParticleList, context: FilterContext) -> ParticleList:
        return _keep(particles, particles.scores >= self.value)


@attrs.define
class MaxParticles(PickFilter):
    """Keep the `count` highest-scoring particles (stable: ties keep their order)."""

    name = "max_particles"
    count: int = attrs.field(default=1000, converter=int)

    def __call__(self, particles: ParticleList, context: FilterContext) -> ParticleList:
        if self.count < 0:
            raise CryotmError(f"max_particles needs a count >= 0, got {self.count}")
        order = np.argsort(-particles.scores, kind="stable")[: self.count]
        keep = np.zeros(len(particles), dtype=bool)
        keep[order] = True
        return _keep(particles, keep)


@attrs.define
class EdgeMargin(PickFilter):
    """Drop particles closer than `margin` voxels to any face of the map (as pytom-match-pick does)."""

    name = "edge_margin"
    margin: float = 0.0

    def __call__(self, particles: ParticleList, context: FilterContext) -> ParticleList:
        xyz = particles.positions
        upper = np.array(context.shape[::-1], dtype=float) - 1  # x, y, z
        inside = np.all((xyz >= self.margin) & (xyz <= upper - self.margin), axis=1)
        return _keep(particles, inside)


@attrs.define
class MaskFilter(PickFilter):
    """Keep particles whose (rounded) voxel lies inside the tomogram mask of the run."""

    name = "mask"

    def __call__(self, particles: ParticleList, context: FilterContext) -> ParticleList:
        if context.mask is None or len(particles) == 0:
            return particles
        xyz = np.rint(particles.positions).astype(np.int64)
        shape = np.array(context.mask.shape[::-1])
        valid = np.all((xyz >= 0) & (xyz < shape), axis=1)
        keep = np.zeros(len(particles), dtype=bool)
        x, y, z = xyz[valid].T
        keep[valid] = np.asarray(context.mask[z, y, x]) != 0
        return _keep(particles, keep)


#: Built-in filters by config name.
BUILTIN_FILTERS: dict[str, type[PickFilter]] = {
    cls.name: cls for cls in (MinScore, MaxParticles, EdgeMargin, MaskFilter)
}


def pick_filters() -> dict[str, type]:
    """Every named pick filter: the built-ins above and those of plugins (``cryotm_pick_filters``)."""
    from ..plugins import contributions

    found: dict[str, type] = dict(BUILTIN_FILTERS)
    found.update({name: item.obj for name, item in contributions("cryotm_pick_filters").items()})
    return found


def get_filter(name: str, **parameters: Any) -> PickFilter:
    """Return the filter `name` (built-in or a plugin's) with `parameters`.

    Raises
    ------
    CryotmError
        Unknown name or parameters.
    """
    known = pick_filters()
    try:
        cls = known[name]
    except KeyError:
        raise CryotmError(f"unknown pick filter {name!r} (known: {', '.join(sorted(known))})") from None
    try:
        return cls(**parameters)
    except TypeError as exc:
        raise CryotmError(f"bad parameters for pick filter {name!r}: {exc}") from None
