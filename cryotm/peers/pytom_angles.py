"""pytom-match-pick's angle lists exactly as each of its versions searched them.

pytom-match-pick (``pytom_tm.angles``) takes its rotations either from a text
file (``z1 x z2`` radians per line) or generates them from an angular
increment in degrees (``--angular-search 7``, stored in the job file's
``rotation_file``/``angle_increment`` field):

1. ``nside`` is the smallest HEALPix resolution whose pixel count
   ``12 * nside**2`` reaches ``4 * pi / increment**2`` (increment in radians);
   the pixel centres (``healpix.pix2ang``, RING order) give ``x`` (colatitude)
   and ``z1`` (longitude);
2. ``z2`` takes ``ceil(360 / increment)`` steps of ``linspace(0, 2 pi,
   endpoint=False)``;
3. every (pixel, ``z2``) pair, sorted as tuples (on ``z1``, then ``x``, then
   ``z2``) when the job's version is newer than 0.3.0.

A C_n symmetry (``rotational_symmetry``) then shortens the list, differently
across versions (read from ``pytom_tm/angles.py`` and ``tmjob.py`` of each
release):

==================  ==========================================================
version             what the search used
==================  ==========================================================
< 0.7.0             file lists only; the first ``ceil(n / N)`` sorted rows
0.7.0 - 0.7.11      rows with ``z2 < 2 pi / N``
0.8.0 - 0.13.0      rows with ``z1 < 2 pi / N``
>= 0.13.1           as 0.8.0, after mapping ``z1`` into ``[0, 2 pi)`` and
                    ``x`` into ``[0, pi)``
==================  ==========================================================

The last change (pytom-match-pick #342) matters because ``healpix.pix2ang``
returns ``z1`` down to about -0.77 rad for some pixels of every
``nside >= 2``: before it, those pixels sort first and survive any symmetry
cut. (0.13.1 was never released; cryotm takes git installs of it as the
released 0.13.2.)
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..errors import CryotmError, InputError

__all__ = ["generate_pytom_angles", "reduce_pytom_angles", "pytom_version", "HEALPIX_MISSING"]

#: Shown when an increment-generated list is needed but healpix is missing.
HEALPIX_MISSING = (
    "pytom-match-pick generated this job's angle list from an angular increment; regenerating it needs "
    "the healpix package: pip install 'cryotm[pytom]' (or give the list with --angle-list)"
)


def pytom_version(text: object) -> tuple[int, ...]:
    """A pytom-match-pick version string as a tuple of integers (``"0.7.11"`` -> ``(0, 7, 11)``)."""
    parts = []
    for part in str(text).split(".")[:3]:
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _healpix_centres(nside: int, source: str | os.PathLike | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        import healpix
    except ImportError:
        raise CryotmError(HEALPIX_MISSING, source) from None
    theta, phi = healpix.pix2ang(nside, np.arange(healpix.nside2npix(nside)))
    return np.asarray(theta, dtype=np.float64), np.asarray(phi, dtype=np.float64)


def generate_pytom_angles(
    increment: float,
    symmetry: int = 1,
    version: str = "0.14.0",
    source: str | os.PathLike | None = None,
) -> np.ndarray:
    """The angle list pytom-match-pick searched for an angular increment.

    Parameters
    ----------
    increment : float
        The job's angular increment in degrees.
    symmetry : int
        The job's ``rotational_symmetry`` (C_n).
    version : str
        The job's ``pytom_tm_version_number``.
    source : path, optional
        The job file, for messages.

    Returns
    -------
    ndarray, shape (n, 3)
        ``(z1, x, z2)`` in radians, in the order of the job's angle map.

    Raises
    ------
    CryotmError
        The healpix package is not installed.
    InputError
        The increment is not a positive number, or the version predates
        generated lists (0.7.0).
    """
    if not (increment > 0 and math.isfinite(increment)):
        raise InputError(f"the angular increment must be a positive number of degrees, got {increment}", source)
    if pytom_version(version) < (0, 7, 0):
        raise InputError(
            f"pytom-match-pick {version} cannot generate angle lists (0.7.0 introduced them); "
            "the job's rotation_file should name a file",
            source,
        )
    n_pixels = 4 * np.pi / (increment * np.pi / 180) ** 2
    nside = 0
    while 12 * nside**2 < n_pixels:  # the smallest nside whose pixel count reaches n_pixels
        nside += 1
    theta, phi = _healpix_centres(nside, source)
    if pytom_version(version) >= (0, 13, 1):
        phi = phi % (2 * np.pi)
        theta = theta % np.pi
    n_psi = int(np.ceil(360 / increment))
    psi = np.linspace(0, 2 * np.pi, n_psi, endpoint=False)
    values = np.column_stack(
        [np.repeat(phi, n_psi), np.repeat(theta, n_psi), np.tile(psi, phi.size)]
    )
    return reduce_pytom_angles(values, symmetry, version, sort=True)


def reduce_pytom_angles(
    values: np.ndarray,
    symmetry: int = 1,
    version: str = "0.14.0",
    sort: bool = True,
    n_rotations: int | None = None,
) -> np.ndarray:
    """Sort and symmetry-reduce a pytom angle list as the job's version did.

    Parameters
    ----------
    values : array, shape (n, 3)
        ``(z1, x, z2)`` in radians, as in the file (or as generated).
    symmetry : int
        ``rotational_symmetry``.
    version : str
        ``pytom_tm_version_number``.
    sort : bool
        Sort as Python sorts tuples (pytom-match-pick > 0.3.0 does).
    n_rotations : int, optional
        The job's ``n_rotations``; versions before 0.7.0 kept the first
        ``ceil(n_rotations / symmetry)`` rows (default: the list's length).

    Returns
    -------
    ndarray, shape (m, 3)
    """
    values = np.asarray(values, dtype=np.float64)
    if sort:
        values = values[np.lexsort(values.T[::-1])]
    if symmetry <= 1:
        return values
    limit = 2 * np.pi / symmetry
    parsed = pytom_version(version)
    if parsed < (0, 7, 0):
        total = len(values) if n_rotations is None else int(n_rotations)
        return values[: int(np.ceil(total / symmetry))]
    column = 2 if parsed < (0, 8, 0) else 0
    return values[values[:, column] < limit]
