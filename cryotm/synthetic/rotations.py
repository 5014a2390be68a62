"""A near-uniform list of rotations for simulated searches (super-Fibonacci spiral).

Alexa (2022), "Super-Fibonacci spirals: fast, low-discrepancy sampling of
SO(3)": ``n`` unit quaternions on two interleaved Fibonacci spirals cover the
rotation group nearly uniformly for any ``n``, with no random seed.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from ..angles import AngleList
from ..errors import CryotmError

__all__ = ["uniform_rotations", "uniform_angle_list"]

_PHI = np.sqrt(2.0)
_PSI = 1.533751168755204288118041


def uniform_rotations(n: int) -> Rotation:
    """`n` rotations spread nearly uniformly over SO(3) (deterministic).

    Examples
    --------
    >>> r = uniform_rotations(1000)
    >>> len(r)
    1000
    """
    if int(n) < 1:
        raise CryotmError(f"the number of rotations must be at least 1, got {n}")
    s = np.arange(int(n), dtype=np.float64) + 0.5
    t = s / int(n)
    d = np.sqrt(t)
    r = np.sqrt(1.0 - t)
    alpha = 2.0 * np.pi * s / _PHI
    beta = 2.0 * np.pi * s / _PSI
    quaternions = np.column_stack([d * np.sin(alpha), d * np.cos(alpha), r * np.sin(beta), r * np.cos(beta)])
    return Rotation.from_quat(quaternions)


def uniform_angle_list(n: int, index_base: int = 0) -> AngleList:
    """:func:`uniform_rotations` as an :class:`~cryotm.angles.AngleList` (extrinsic zxz, degrees).

    Examples
    --------
    >>> angles = uniform_angle_list(500)
    >>> len(angles), angles.angles.shape
    (500, (500, 3))
    """
    return AngleList(uniform_rotations(n).as_euler("zxz", degrees=True), index_base=index_base)
