"""The labeler interface of peak-shape evaluation, and how a labeler is chosen by name.

A labeler turns the voxels above a threshold (a boolean map) and the peak's
position into a label mask of the peak's shape and its size along x, y and z.
To write your own, subclass :class:`Labeler`, give it a ``name`` and
implement :meth:`Labeler.label`, then register the class through the
``cryotm_labelers`` hook.

Axis order: maps are ``data[z, y, x]`` and the peak is given as a
``(z, y, x)`` index; sizes are reported as :class:`AxisSizes` with named
fields ``x``, ``y``, ``z`` (in this order, as cryoCAT reports them).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import attrs
import numpy as np

from ..errors import CryotmError, InputError

__all__ = ["AxisSizes", "Labeling", "Labeler", "get_labeler", "labelers", "central_component"]


class AxisSizes(NamedTuple):
    """Sizes of a labeled peak along the x, y and z axes, in voxels (this order)."""

    x: float
    y: float
    z: float


@attrs.frozen(eq=False)
class Labeling:
    """What a labeler found.

    Attributes
    ----------
    mask : ndarray of bool, shape (nz, ny, nx)
        The label: True inside the peak's shape.
    sizes : AxisSizes
        Size along x, y, z in voxels (each labeler says what it measures).
    surface : ndarray of bool, optional
        A surface the labeler fitted to (the ellipsoid labeler's marching-cubes
        surface), else None.
    component : ndarray of bool, optional
        The connected component around the peak, when the labeler used one.
    touches_border : bool
        The component around the peak reaches the border of the map, so the
        sizes may be cut short.
    details : dict
        Labeler-specific findings (fitted ellipse or ellipsoid parameters, ...).
    """

    mask: np.ndarray
    sizes: AxisSizes
    surface: np.ndarray | None = None
    component: np.ndarray | None = None
    touches_border: bool = False
    details: dict[str, Any] = attrs.field(factory=dict)


def _check_inputs(above: np.ndarray, peak_zyx: tuple[int, int, int]) -> tuple[np.ndarray, tuple[int, int, int]]:
    above = np.asarray(above, dtype=bool)
    if above.ndim != 3:
        raise InputError(f"expected a 3D map, got {above.ndim}D of shape {above.shape}")
    peak = tuple(int(v) for v in peak_zyx)
    if len(peak) != 3 or any(not 0 <= c < n for c, n in zip(peak, above.shape)):
        raise InputError(f"peak {peak_zyx} (z, y, x) lies outside the map of shape {above.shape}")
    if not above[peak]:
        raise InputError(
            f"the peak voxel (x={peak[2]}, y={peak[1]}, z={peak[0]}) is not above the threshold: "
            "the threshold is at or above the peak height"
        )
    return above, peak  # type: ignore[return-value]


def central_component(above: np.ndarray, peak_zyx: tuple[int, int, int]) -> np.ndarray:
    """The face-connected (6-neighbour) component of `above` that contains the peak voxel.

    Examples
    --------
    >>> above = np.zeros((3, 3, 5), dtype=bool)
    >>> above[1, 1, :2] = above[1, 1, 3:] = True
    >>> int(central_component(above, (1, 1, 0)).sum())
    2
    """
    above, peak = _check_inputs(above, peak_zyx)
    from skimage import measure  # scikit-image loads only where a labeling runs

    labels = measure.label(above, background=0, connectivity=1)
    return labels == labels[peak]


def touches_border(component: np.ndarray) -> bool:
    """True if any voxel of `component` lies on a face of the map."""
    return any(
        component.take(index, axis=axis).any() for axis in range(component.ndim) for index in (0, -1)
    )


@attrs.define
class Labeler:
    """Base class of peak-shape labelings; subclass it and give the subclass a ``name``."""

    #: The word users type to choose this labeler.
    name: ClassVar[str] = ""
    #: One line for ``cryotm plugins`` and ``--help``.
    description: ClassVar[str] = ""

    def label(self, above: np.ndarray, peak_zyx: tuple[int, int, int]) -> Labeling:
        """Label the peak's shape.

        Parameters
        ----------
        above : ndarray of bool, shape (nz, ny, nx)
            The voxels above the threshold.
        peak_zyx : (int, int, int)
            Index of the peak, ``(z, y, x)``; it must be above the threshold.

        Returns
        -------
        Labeling
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement label()")


def labelers() -> dict[str, type[Labeler]]:
    """Every registered labeler, by name (built-ins and plugins)."""
    from ..plugins import contributions

    return {name: item.obj for name, item in contributions("cryotm_labelers").items()}


def get_labeler(spec: str | Labeler, **parameters: Any) -> Labeler:
    """Return a labeler object for a name (``"ellipsoid"``, ``"plane"``, ``"central"``) or a labeler.

    Raises
    ------
    CryotmError
        Unknown name or parameters the labeler does not have.
    """
    if isinstance(spec, Labeler):
        return attrs.evolve(spec, **parameters) if parameters else spec
    from ..plugins import lookup

    cls = lookup("cryotm_labelers", str(spec).strip())
    try:
        return cls(**parameters)
    except CryotmError:
        raise
    except (TypeError, ValueError) as exc:  # attrs' own checks and the labeler's validators
        raise CryotmError(f"bad parameters for labeler {spec!r}: {exc}") from None
