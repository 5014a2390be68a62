"""What the RELION versions share: the Euler conversion, scores, names, optics, extra labels.

Euler angles
------------
cryotm (like TOM, AV3, STOPGAP and cryoCAT) keeps (phi, theta, psi),
extrinsic ``zxz`` in degrees, whose rotation
``R = Rotation.from_euler("zxz", [phi, theta, psi], degrees=True)`` turns the
reference into the particle. RELION keeps (rot, tilt, psi) and builds the
matrix ``A = Rotation.from_euler("ZYZ", [rot, tilt, psi], degrees=True).inv()``
(``Euler_angles2matrix``: ``A = Rz(psi) Ry(tilt) Rz(rot)`` with passive
elementary matrices); RELION projects a reference through ``A``, so ``A``
must equal ``R``. With ``Rx(t) = Rz(-90) Ry(t) Rz(90)`` and
``Ry(-t) = Rz(180) Ry(t) Rz(180)`` this holds exactly, for every triple, for

    rot = 90 - phi,   tilt = theta,   psi_relion = -psi - 90

(and back: phi = 90 - rot, theta = tilt, psi = -psi_relion - 90), each
wrapped into [-180, 180). A theta outside [0, 180] is first brought into it
with the identity (phi, theta, psi) ~ (phi + 180, -theta, psi + 180), so
that rlnAngleTilt is in RELION's range [0, 180]. This is the conversion of the design notes, and
cryoCAT's ``convert_angles_to_relion`` gives the same rotations; the tests
check both numerically.

Positions
---------
RELION's ``rlnCoordinate{X,Y,Z}`` are voxel positions counted from 0 (the
centre of the first voxel is 0, as RELION's extraction windows the map at
``round(coordinate)`` of a 0-based array), so they equal cryotm's x, y, z
(times the binning for RELION 4). cryoCAT instead writes its 1-based motive
list positions unchanged into these columns; the parity tests name this
one-voxel difference. ``rlnOrigin{X,Y,Z}`` (pixels, RELION 3.0) and
``rlnOrigin{X,Y,Z}Angst`` (3.1 and later) hold minus the shift: the particle
sits at ``coordinate - origin``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..particles import ParticleList
from ._names import ids_from_names, subtomo_ids_from_names

__all__ = [
    "zxz_to_relion",
    "relion_to_zxz",
    "wrap_degrees",
    "SCORE_LABELS",
    "DEFAULT_SCORE_LABEL",
    "MANAGED_LABELS",
    "common_columns",
    "optics_block",
    "extra_columns",
    "frame_from_relion",
]

#: Score labels a reader looks for, in this order: RELION's autopicking figure of merit
#: (also written by Warp), pytom-match-pick's ``rlnLCCmax``, and
#: ``rlnMaxValueProbDistribution`` (the only one cryoCAT reads).
SCORE_LABELS: tuple[str, ...] = ("rlnAutopickFigureOfMerit", "rlnLCCmax", "rlnMaxValueProbDistribution")
DEFAULT_SCORE_LABEL = SCORE_LABELS[0]

#: Labels a RELION writer generates itself (an extra column of the same name is not copied).
MANAGED_LABELS: frozenset[str] = frozenset(
    {
        "rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ",
        "rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst",
        "rlnOriginX", "rlnOriginY", "rlnOriginZ",
        "rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst",
        "rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi",
        "rlnMicrographName", "rlnImageName", "rlnTomoName", "rlnTomoParticleName",
        "rlnClassNumber", "rlnOpticsGroup", "rlnPixelSize", "rlnDetectorPixelSize", "rlnMagnification",
        *SCORE_LABELS,
    }
)  # fmt: skip


def wrap_degrees(angles: Any) -> np.ndarray:
    """Angles wrapped into [-180, 180).

    Examples
    --------
    >>> wrap_degrees([180.0, -180.0, 270.0, -90.0]).tolist()
    [-180.0, -180.0, -90.0, -90.0]
    """
    angles = np.asarray(angles, dtype=np.float64)
    return (angles + 180.0) % 360.0 - 180.0


def zxz_to_relion(euler: Any) -> np.ndarray:
    """(rot, tilt, psi) of RELION from (phi, theta, psi) extrinsic zxz, degrees; (N, 3).

    Examples
    --------
    >>> zxz_to_relion([[30.0, 40.0, 50.0]]).tolist()
    [[60.0, 40.0, -140.0]]
    """
    phi, theta, psi = np.asarray(euler, dtype=np.float64).reshape(-1, 3).T.copy()
    # the same rotation with theta in [0, 180]: (phi, theta, psi) ~ (phi + 180, -theta, psi + 180)
    theta = wrap_degrees(theta)
    flip = theta < 0
    theta[flip] = -theta[flip]
    phi[flip] += 180.0
    psi[flip] += 180.0
    return np.column_stack([wrap_degrees(90.0 - phi), theta, wrap_degrees(-psi - 90.0)])


def relion_to_zxz(angles: Any) -> np.ndarray:
    """(phi, theta, psi) extrinsic zxz from RELION's (rot, tilt, psi), degrees; (N, 3).

    Examples
    --------
    >>> relion_to_zxz([[60.0, 40.0, -140.0]]).tolist()
    [[30.0, 40.0, 50.0]]
    """
    angles = np.asarray(angles, dtype=np.float64).reshape(-1, 3)
    return np.column_stack(
        [wrap_degrees(90.0 - angles[:, 0]), angles[:, 1], wrap_degrees(-angles[:, 2] - 90.0)]
    )


def common_columns(particles: ParticleList, score_label: str) -> dict[str, np.ndarray]:
    """Angles, class and score columns, the same in every RELION version."""
    rot, tilt, psi = zxz_to_relion(particles.euler_angles).T
    return {
        "rlnAngleRot": rot,
        "rlnAngleTilt": tilt,
        "rlnAnglePsi": psi,
        "rlnClassNumber": particles.data["class"].to_numpy(),
        score_label: particles.scores,
    }


def extra_columns(particles: ParticleList, taken: Iterable[str]) -> dict[str, np.ndarray]:
    """Extra ``rln*`` columns of the list (kept from a RELION file read earlier)."""
    taken = set(taken) | MANAGED_LABELS
    return {
        c: particles.data[c].to_numpy()
        for c in particles.data.columns
        if c.startswith("rln") and c not in taken
    }


def optics_block(pixel_size: float, binning: float | None = None, tomo: bool = False) -> pd.DataFrame:
    """A single optics group: 3D images of `pixel_size` Å (RELION 3.1) or tomography optics (4, 5)."""
    optics: dict[str, list[Any]] = {
        "rlnOpticsGroup": [1],
        "rlnOpticsGroupName": ["opticsGroup1"],
    }
    if tomo:
        binning = 1.0 if binning is None else float(binning)
        optics["rlnTomoTiltSeriesPixelSize"] = [pixel_size / binning]
        optics["rlnTomoSubtomogramBinning"] = [binning]
    optics["rlnImagePixelSize"] = [float(pixel_size)]
    optics["rlnImageDimensionality"] = [3]
    return pd.DataFrame(optics)


def optics_value(blocks: dict, label: str) -> float | None:
    """`label` of the first optics group, or None."""
    optics = blocks.get("optics")
    if isinstance(optics, pd.DataFrame) and label in optics.columns and len(optics):
        value = pd.to_numeric(optics[label], errors="coerce").iloc[0]
        return None if pd.isna(value) else float(value)
    return None


def _numeric(table: pd.DataFrame, label: str, path: str | os.PathLike) -> np.ndarray:
    values = pd.to_numeric(table[label], errors="coerce")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
        raise InputError(f"{label} of particle {row} is not a number", path)
    return values.to_numpy(dtype=np.float64)


def frame_from_relion(
    table: pd.DataFrame,
    path: str | os.PathLike,
    positions: np.ndarray,
    shifts: np.ndarray,
    tomo_label: str,
    particle_label: str,
    score_label: str | None,
    consumed: Iterable[str] = (),
) -> tuple[pd.DataFrame, str]:
    """The cryotm frame of a RELION particle table whose positions/shifts are already converted.

    Returns the frame and the experiment id (the tomogram name if all
    particles share one).
    """
    for label in ("rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"):
        if label not in table.columns:
            raise InputError(f"RELION particle list lacks {label}", path)
    angles = np.column_stack([_numeric(table, c, path) for c in ("rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi")])
    euler = relion_to_zxz(angles)
    n = len(table)
    frame = pd.DataFrame(
        {
            "x": positions[:, 0],
            "y": positions[:, 1],
            "z": positions[:, 2],
            "shift_x": shifts[:, 0],
            "shift_y": shifts[:, 1],
            "shift_z": shifts[:, 2],
            "phi": euler[:, 0],
            "theta": euler[:, 1],
            "psi": euler[:, 2],
        }
    )
    labels = [score_label] if score_label else list(SCORE_LABELS)
    found = next((label for label in labels if label in table.columns), None)
    if score_label and found is None:
        raise InputError(f"no score column {score_label!r} in this RELION file", path)
    frame["score"] = _numeric(table, found, path) if found else 0.0
    if "rlnClassNumber" in table.columns:
        frame["class"] = np.rint(_numeric(table, "rlnClassNumber", path)).astype(np.int64)
    experiment_id = ""
    if tomo_label in table.columns:
        names = table[tomo_label].astype(str).to_numpy()
        frame["tomo_id"] = ids_from_names(names)
        frame["tomo_name"] = names
        if len(set(names)) == 1:
            experiment_id = str(names[0])
    else:
        frame["tomo_id"] = np.ones(n, dtype=np.int64)
    if particle_label in table.columns:
        frame["subtomo_id"] = subtomo_ids_from_names(table[particle_label].astype(str).tolist())
    else:
        frame["subtomo_id"] = np.arange(1, n + 1)
    used = set(consumed) | MANAGED_LABELS | {"rlnOpticsGroup"}
    for label in table.columns:
        if label not in used:
            frame[label] = table[label].to_numpy()
    return frame, experiment_id


def names_and_ids(particles: ParticleList) -> tuple[np.ndarray, np.ndarray]:
    """Per-particle tomogram names (strings) and subtomo ids."""
    names = np.asarray([str(n) for n in particles.tomogram_names()], dtype=object)
    return names, particles.data["subtomo_id"].to_numpy()
