"""Cyclic symmetry: a random one of the n equivalent in-plane rotations per particle.

For a C_n-symmetric particle the n rotations by ``k * 360 / n`` degrees about
its own z axis are the same particle. cryoCAT's ``scores_extract_particles``
adds a random multiple of ``360 / n`` to phi (with extrinsic zxz angles, phi
is the rotation about the particle's own z axis), so that averaging does
not inherit the bias of the angle list; it uses the global numpy random
state and can leave phi above 360. Here the draw comes from a seeded
generator (reproducible) and phi is wrapped back into the angle list's range.
The symmetry itself is read by :func:`cryotm.angles.parse_symmetry`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["randomise_in_plane", "phi_range_start"]


def phi_range_start(phi: np.ndarray) -> float:
    """-180 if the list uses phi in [-180, 180) (any negative value), else 0 (phi in [0, 360))."""
    phi = np.asarray(phi, dtype=np.float64)
    return -180.0 if phi.size and float(phi.min()) < 0 else 0.0


def randomise_in_plane(
    phi: np.ndarray, order: int, rng: np.random.Generator, start: float = 0.0
) -> np.ndarray:
    """Add a random multiple of ``360 / order`` to each phi, wrapped into ``[start, start + 360)``.

    Parameters
    ----------
    phi : ndarray
        In-plane angles (degrees), extrinsic zxz phi.
    order : int
        n of C_n; 1 returns `phi` unchanged.
    rng : numpy.random.Generator
        The source of the random choice (seed it for reproducible output).
    start : float
        Lower end of the output range (see :func:`phi_range_start`).

    Examples
    --------
    >>> out = randomise_in_plane(np.array([10.0, 350.0]), 4, np.random.default_rng(0))
    >>> bool(np.all((out >= 0) & (out < 360))), sorted(((out - [10, 350]) % 90).round(6).tolist())
    (True, [0.0, 0.0])
    """
    phi = np.asarray(phi, dtype=np.float64)
    if order == 1:
        return phi.copy()
    steps = rng.integers(0, order, size=phi.shape)
    turned = phi + steps * (360.0 / order)
    wrapped = np.mod(turned - start, 360.0) + start
    # np.mod can return 360.0 for tiny negative inputs; keep the half-open range
    return np.where(wrapped >= start + 360.0, start, wrapped)
