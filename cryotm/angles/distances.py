"""Angular distances between rotations, with cyclic (C_n) symmetry.

Three measures, as cryoCAT's ``geom.compare_rotations`` defines them:

- **total**: the angle of the rotation that turns one orientation into the
  other (0..180 degrees);
- **normals**: the angle between the rotated z axes (the particles'
  normals, 0..180 degrees; "cone distance");
- **in-plane**: the difference of the first Euler angle ``phi`` (extrinsic
  ``zxz``, the rotation about the particle's own z axis) of the two
  rotations, each taken from ``Rotation.as_euler("zxz")``.

With C_n symmetry about the particle's z axis, rotation ``R`` is the same
orientation as ``R * Rz(360 k / n)``. cryoCAT's implementation has two
defects that cryotm does not copy:

- its total angle ``2 arccos(|q1 . q2|)`` is not clipped, so rounding makes
  ``|q1 . q2|`` slightly above 1 and the result NaN for about a fifth of
  identical pairs; here the angle is the magnitude of the relative rotation
  (``2 atan2(|v|, |w|)``), which is exact for identical pairs and accurate
  near zero;
- under C_n it reduces each ``phi`` modulo ``360 / n`` but does not wrap the
  difference at ``360 / n`` (``phi`` of 1 and 119 degrees under C3 are 2
  degrees apart, cryoCAT says 118); its total angle uses the same reduced
  ``phi`` and so is not the smallest angle over the symmetry copies. Here the
  in-plane distance wraps at ``360 / n`` and the total angle is the minimum
  over the ``n`` symmetry copies.

All functions take ``Rotation`` objects; a single rotation broadcasts
against many.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..errors import InputError
from .angle_list import rotation_to_euler

__all__ = [
    "AngularDistances",
    "parse_symmetry",
    "total_angle",
    "normal_angle",
    "inplane_angle",
    "compare_rotations",
]

if TYPE_CHECKING:
    from scipy.spatial.transform import Rotation

_Z_AXIS = np.array([0.0, 0.0, 1.0])


def parse_symmetry(symmetry: int | str | None) -> int:
    """The order ``n`` of a cyclic symmetry given as ``n``, ``"n"``, ``"Cn"``/``"cn"`` or None (C1).

    The one parser of symmetries in cryotm: picking, selection, distance
    maps and comparisons all read their `symmetry` through it.

    Raises
    ------
    InputError
        For anything that is not a positive cyclic symmetry (``"D2"``,
        ``"O"``, ``0``, ``2.5``, ...).

    Examples
    --------
    >>> parse_symmetry("C3"), parse_symmetry(1), parse_symmetry("c6"), parse_symmetry("4"), parse_symmetry(None)
    (3, 1, 6, 4, 1)
    """
    if symmetry is None:
        return 1
    if isinstance(symmetry, (int, np.integer)) and not isinstance(symmetry, bool):
        order = int(symmetry)
    else:
        match = re.fullmatch(r"\s*[cC]?\s*(\d+)\s*", str(symmetry))
        if match is None:
            raise InputError(
                f"symmetry {symmetry!r} is not supported: only cyclic symmetries, given as N or CN "
                "(e.g. 3 or 'C3')"
            )
        order = int(match.group(1))
    if order < 1:
        raise InputError(f"the order of a C_n symmetry must be at least 1, got {symmetry!r}")
    return order


def _check_rotation(value: Any, what: str) -> Rotation:
    from scipy.spatial.transform import Rotation  # loaded by whoever made `value`

    if not isinstance(value, Rotation):
        raise InputError(f"{what} must be a scipy Rotation, got {type(value).__name__}")
    return value


def total_angle(reference: Rotation, rotations: Rotation, symmetry: int | str = 1) -> np.ndarray:
    """Angle (degrees) of the rotation between `reference` and `rotations`.

    Under C_n symmetry the smallest angle over the ``n`` symmetry copies
    ``rotations * Rz(360 k / n)``.

    Parameters
    ----------
    reference, rotations : Rotation
        Single or stacked rotations (a single one broadcasts).
    symmetry : int or str
        Order of the cyclic symmetry about the particle's z axis (``3`` or ``"C3"``).

    Returns
    -------
    ndarray
        Degrees in [0, 180], one per pair (a 1-element array for two single rotations).

    Examples
    --------
    >>> from scipy.spatial.transform import Rotation
    >>> ref = Rotation.identity()
    >>> r = Rotation.from_euler("zxz", [[0, 0, 100], [0, 40, 0]], degrees=True)
    >>> np.round(total_angle(ref, r), 6)
    array([100.,  40.])
    >>> np.round(total_angle(ref, r, symmetry=3), 6)   # 100 degrees about z is 20 from a C3 copy
    array([20., 40.])
    """
    from scipy.spatial.transform import Rotation

    order = parse_symmetry(symmetry)
    relative = _check_rotation(reference, "reference").inv() * _check_rotation(rotations, "rotations")
    best = np.atleast_1d(relative.magnitude())
    for k in range(1, order):
        copy = relative * Rotation.from_rotvec(_Z_AXIS * (2 * np.pi * k / order))
        best = np.minimum(best, np.atleast_1d(copy.magnitude()))
    return np.degrees(best)


def normal_angle(reference: Rotation, rotations: Rotation) -> np.ndarray:
    """Angle (degrees) between the rotated z axes (normals); C_n symmetry leaves it unchanged.

    Examples
    --------
    >>> from scipy.spatial.transform import Rotation
    >>> r = Rotation.from_euler("zxz", [[70, 0, 10], [0, 35, 80]], degrees=True)
    >>> np.round(normal_angle(Rotation.identity(), r), 6)
    array([ 0., 35.])
    """
    a = np.atleast_2d(_check_rotation(reference, "reference").apply(_Z_AXIS))
    b = np.atleast_2d(_check_rotation(rotations, "rotations").apply(_Z_AXIS))
    # atan2 of |a x b| and a . b: accurate near 0 and 180, never NaN
    cross = np.linalg.norm(np.cross(a, b), axis=1)
    dot = np.sum(a * b, axis=1)
    return np.degrees(np.arctan2(cross, dot))


def _phi(rotations: Rotation) -> np.ndarray:
    # at gimbal lock scipy puts phi + psi all in phi
    return np.atleast_2d(rotation_to_euler(rotations))[:, 0]


def inplane_angle(reference: Rotation, rotations: Rotation, symmetry: int | str = 1) -> np.ndarray:
    """Difference (degrees) of the in-plane angle ``phi`` (extrinsic ``zxz``), wrapped.

    ``phi`` is read from ``Rotation.as_euler("zxz")`` of each rotation (so at
    ``theta = 0`` it holds ``phi + psi``, as in cryoCAT). The difference is
    wrapped at the symmetry period ``360 / n``: the result lies in
    ``[0, 180 / n]``.

    Examples
    --------
    >>> from scipy.spatial.transform import Rotation
    >>> r = Rotation.from_euler("zxz", [[1, 30, 0], [119, 30, 0]], degrees=True)
    >>> np.round(inplane_angle(Rotation.identity(), r, symmetry=3), 6)
    array([1., 1.])
    """
    order = parse_symmetry(symmetry)
    period = 360.0 / order
    diff = np.abs(_phi(_check_rotation(rotations, "rotations")) - _phi(_check_rotation(reference, "reference")))
    diff = np.mod(diff, period)
    return np.minimum(diff, period - diff)


@attrs.frozen
class AngularDistances:
    """The three angular distances, in degrees, one value per compared pair.

    Attributes
    ----------
    total, normals, inplane : ndarray
        See :func:`total_angle`, :func:`normal_angle`, :func:`inplane_angle`.
    """

    total: np.ndarray
    normals: np.ndarray
    inplane: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """``{"total": ..., "normals": ..., "inplane": ...}``."""
        return {"total": self.total, "normals": self.normals, "inplane": self.inplane}


def compare_rotations(reference: Rotation, rotations: Rotation, symmetry: int | str = 1) -> AngularDistances:
    """All three distances between `reference` and `rotations` (cryoCAT's ``compare_rotations``).

    Examples
    --------
    >>> from scipy.spatial.transform import Rotation
    >>> d = compare_rotations(Rotation.identity(), Rotation.from_euler("zxz", [[45, 45, 0]], degrees=True))
    >>> [round(float(v[0]), 6) for v in (d.total, d.normals, d.inplane)]
    [62.79943, 45.0, 45.0]
    """
    return AngularDistances(
        total=total_angle(reference, rotations, symmetry),
        normals=normal_angle(reference, rotations),
        inplane=inplane_angle(reference, rotations, symmetry),
    )
