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

Subtomogram orientations (RELION 4 and 5)
-----------------------------------------
A RELION 4/5 particle may carry a second orientation, that of its
subtomogram (``rlnTomoSubtomogram{Rot,Tilt,Psi}``, for example the normal of
a membrane or the axis of a filament given as a prior). RELION then composes
the particle's pose as ``A = A_subtomogram . A_particle`` and rotates the
origin shifts by ``A_subtomogram``: the particle sits at
``coordinate - A_subtomogram . origin`` (``ParticleSet::getMatrix3x3`` and
``ParticleSet::getPosition`` in RELION's ``src/jaz/tomography/particle_set.cpp``).
cryotm's ``phi, theta, psi`` and shifts are this composed pose, in the
tomogram's frame; the subtomogram angles stay in the list as columns, and
the RELION 4/5 writers decompose the pose again:
``A_particle = A_subtomogram^-1 . A`` and
``origin = -A_subtomogram^-1 . shift * pixel_size``. A list without
``rlnAngle{Rot,Tilt,Psi}`` (position-only picks) has the identity there, as
in RELION.

Lossless RELION to RELION
-------------------------
Readers keep every column of the particle table (RELION's own labels such as
``rlnImageName``, ``rlnCtfImage``, ``rlnRandomSubset``), the optics table and
the other blocks (``data_general``). Writers write the columns they compute
from cryotm's fields, but where the file's own value still describes the
particle (the same rotation within 1e-6 degree, the same coordinate or
origin within 1e-6 pixel or Å) they write the file's value, as the text it
had in the file (the readers keep every value's text), in the file's label
order: a list read and written again is unchanged to the byte in every
particle and optics value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._lazy import lazy_module
from ..angles import rotation_to_euler
from ..errors import InputError
from ..particles import ParticleList
from ._names import ids_from_names, subtomo_ids_from_names
from ._optics import (  # noqa: F401  (the optics helpers, re-exported for the RELION modules)
    group_pixel_sizes,
    optics_block,
    optics_of,
    optics_table,
    optics_value,
    particle_pixel_sizes,
    pixel_sizes_by_group,
)

pd = lazy_module("pandas")

if TYPE_CHECKING:
    from scipy.spatial.transform import Rotation

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
    "ANGLES",
    "SUBTOMO_ANGLES",
    "relion_rotation",
    "pose_columns",
    "keep_raw",
    "optics_table",
    "particle_pixel_sizes",
    "score_label_for",
]

ANGLES = ("rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi")
SUBTOMO_ANGLES = ("rlnTomoSubtomogramRot", "rlnTomoSubtomogramTilt", "rlnTomoSubtomogramPsi")
#: Tolerances under which a file's own value is written back instead of the recomputed one.
RAW_DEGREES = 1e-6
RAW_VALUE = 1e-6

#: Score labels a reader looks for, in this order: RELION's autopicking figure of merit
#: (also written by Warp), pytom-match-pick's ``rlnLCCmax``, and
#: ``rlnMaxValueProbDistribution`` (the only one cryoCAT reads).
SCORE_LABELS: tuple[str, ...] = ("rlnAutopickFigureOfMerit", "rlnLCCmax", "rlnMaxValueProbDistribution")
DEFAULT_SCORE_LABEL = SCORE_LABELS[0]

#: Geometry labels a RELION writer computes from cryotm's fields: a column of the same name read from a
#: file is written back only by a writer that computes it, where it still describes the particle (a
#: RELION 4 writer does not copy RELION 5's centred coordinates).
MANAGED_LABELS: frozenset[str] = frozenset(
    {
        "rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ",
        "rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst",
        "rlnOriginX", "rlnOriginY", "rlnOriginZ",
        "rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst",
        "rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi",
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



def derived_labels(particles: ParticleList) -> set[str]:
    """RELION columns of `particles` whose values cryotm's own fields carry (not lost by other formats).

    The geometry, the class, the score label the score came from, the
    tomogram name (``tomo_name`` says whether that is lost) and a single
    optics group.
    """
    labels = set(MANAGED_LABELS) | {"rlnClassNumber", "rlnTomoName", "rlnMicrographName", "rlnPixelSize",
                                    "rlnDetectorPixelSize", "rlnMagnification"}
    labels.add(score_label_for(particles, None))
    groups = particles.data.get("rlnOpticsGroup")
    if groups is not None and groups.nunique() <= 1:
        labels.add("rlnOpticsGroup")
    return labels


def relion_rotation(angles: Any) -> Rotation:
    """RELION's matrix ``A`` of (rot, tilt, psi) in degrees, as the rotation it applies; (N, 3).

    ``A = Rz(psi) Ry(tilt) Rz(rot)`` with passive elementary matrices
    (``Euler_angles2matrix``) is ``Rotation.from_euler("ZYZ", ...).inv()``.

    Examples
    --------
    >>> from cryotm.angles import euler_to_rotation
    >>> r = relion_rotation([[60.0, 40.0, -140.0]]) * euler_to_rotation([[30.0, 40.0, 50.0]]).inv()
    >>> float(r.magnitude()[0]) < 1e-12
    True
    """
    from scipy.spatial.transform import Rotation  # scipy.spatial: only where rotations are made

    return Rotation.from_euler("ZYZ", np.asarray(angles, dtype=np.float64).reshape(-1, 3), degrees=True).inv()


def _numeric_block(table: pd.DataFrame, labels: Iterable[str], path: str | os.PathLike | None) -> np.ndarray:
    return np.column_stack([_numeric(table, label, path) for label in labels])


def subtomogram_rotation(table: pd.DataFrame, path: str | os.PathLike | None = None) -> Rotation | None:
    """``A_subtomogram`` of each particle, or None if the table has no ``rlnTomoSubtomogram{Rot,Tilt,Psi}``."""
    present = [label for label in SUBTOMO_ANGLES if label in table.columns]
    if not present:
        return None
    if len(present) != 3:
        missing = sorted(set(SUBTOMO_ANGLES) - set(present))
        raise InputError(f"RELION particle list has {present[0]} but lacks {', '.join(missing)}", path)
    return relion_rotation(_numeric_block(table, SUBTOMO_ANGLES, path))


def particle_rotation(table: pd.DataFrame, path: str | os.PathLike | None = None) -> Rotation:
    """``A_particle`` of each particle (the identity where ``rlnAngle{Rot,Tilt,Psi}`` are absent, as RELION)."""
    present = [label for label in ANGLES if label in table.columns]
    if not present:
        from scipy.spatial.transform import Rotation

        return Rotation.identity(len(table))
    if len(present) != 3:
        raise InputError(f"RELION particle list lacks {', '.join(sorted(set(ANGLES) - set(present)))}", path)
    return relion_rotation(_numeric_block(table, ANGLES, path))


def common_columns(particles: ParticleList, score_label: str) -> dict[str, np.ndarray]:
    """Class and score columns, the same in every RELION version (angles: :func:`pose_columns`)."""
    columns = {"rlnClassNumber": keep_raw(particles, "rlnClassNumber", particles.data["class"].to_numpy())}
    columns[score_label] = keep_raw(particles, score_label, particles.scores)
    return columns


def score_label_for(particles: ParticleList, score_label: str | None) -> str:
    """`score_label`, else the score label of the file the list was read from, else the default."""
    if score_label:
        return score_label
    return next((label for label in SCORE_LABELS if label in particles.data.columns), DEFAULT_SCORE_LABEL)


def keep_raw(particles: ParticleList, label: str, computed: Any, tolerance: float = RAW_VALUE) -> np.ndarray:
    """`computed`, with the list's own column `label` (read from a file) where it agrees within `tolerance`.

    Examples
    --------
    >>> plist = ParticleList.from_arrays([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> plist.data["rlnCoordinateX"] = [1.0000000001, 7.0]
    >>> keep_raw(plist, "rlnCoordinateX", plist.positions[:, 0]).tolist()
    [1.0000000001, 4.0]
    >>> plist.data["rlnCoordinateX"] = ["1.000000", "7.0"]  # as read from a file: its own text
    >>> keep_raw(plist, "rlnCoordinateX", plist.positions[:, 0]).tolist()
    ['1.000000', 4.0]
    """
    computed = np.asarray(computed)
    if label not in particles.data.columns:
        return computed
    original = particles.data[label].to_numpy()
    raw = pd.to_numeric(particles.data[label], errors="coerce").to_numpy()
    if raw.dtype.kind not in "fiu" or len(raw) != len(computed):
        return computed
    with np.errstate(invalid="ignore"):
        same = np.abs(raw.astype(np.float64) - computed.astype(np.float64)) <= tolerance
    if same.all():
        return original
    return np.where(same, original, computed.astype(object)) if same.any() else computed


def _keep_raw_angles(particles: ParticleList, rotation: Rotation, angles: np.ndarray) -> np.ndarray:
    """RELION angles of `rotation`, the file's own triple (as read) where it is the same rotation."""
    if not all(label in particles.data.columns for label in ANGLES) or len(particles) == 0:
        return angles
    original = particles.data[list(ANGLES)].to_numpy()
    raw = particles.data[list(ANGLES)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(raw).all(axis=1)
    if not ok.any():
        return angles
    error = np.full(len(raw), np.inf)
    error[ok] = np.degrees((relion_rotation(raw[ok]) * rotation[np.flatnonzero(ok)].inv()).magnitude())
    same = error <= RAW_DEGREES
    if same.all():
        return original
    return np.where(same[:, None], original, angles.astype(object)) if same.any() else angles


def pose_columns(
    particles: ParticleList, pixel_sizes: np.ndarray | float, origin_labels: tuple[str, str, str], subtomogram: bool
) -> dict[str, np.ndarray]:
    """``rlnAngle{Rot,Tilt,Psi}`` and the origins (``-shift * pixel_sizes``) of `particles`.

    With `subtomogram` (RELION 4/5) and the list's ``rlnTomoSubtomogram{Rot,Tilt,Psi}``
    columns, the pose is decomposed as RELION composes it (see the module
    documentation); the subtomogram angles are written back unchanged.
    """
    sizes = np.broadcast_to(np.asarray(pixel_sizes, dtype=np.float64), (len(particles),))
    total = particles.orientations
    shifts = particles.shifts
    sub = subtomogram_rotation(particles.data) if subtomogram and len(particles) else None
    if sub is None:
        angles = zxz_to_relion(particles.euler_angles)
        rotation = total
        origins = -shifts * sizes[:, None]
    else:
        rotation = sub.inv() * total
        angles = zxz_to_relion(rotation_to_euler(rotation))
        origins = -sub.inv().apply(shifts) * sizes[:, None]
    angles = _keep_raw_angles(particles, rotation, angles) if len(particles) else angles
    columns: dict[str, np.ndarray] = {}
    for i, label in enumerate(origin_labels):
        columns[label] = keep_raw(particles, label, origins[:, i] + 0.0)
    for i, label in enumerate(ANGLES):
        columns[label] = angles[:, i]
    if sub is not None:
        for label in SUBTOMO_ANGLES:
            columns[label] = particles.data[label].to_numpy()
    return columns


def extra_columns(particles: ParticleList, taken: Iterable[str], drop: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """Extra ``rln*`` columns of the list (kept from a RELION file read earlier), except `drop`."""
    taken = set(taken) | MANAGED_LABELS | set(drop)
    columns = {
        c: particles.data[c].to_numpy()
        for c in particles.data.columns
        if isinstance(c, str) and c.startswith("rln") and c not in taken
    }
    sizes = particles.pixel_sizes()
    if "rlnPixelSize" in columns and sizes is not None:  # RELION 3.0's per-particle pixel size, kept current
        columns["rlnPixelSize"] = keep_raw(particles, "rlnPixelSize", sizes)
    return columns
















def _numeric(table: pd.DataFrame, label: str, path: str | os.PathLike | None) -> np.ndarray:
    values = pd.to_numeric(table[label], errors="coerce")
    if values.isna().any() or not np.isfinite(values.to_numpy(dtype=np.float64)).all():
        row = int(np.flatnonzero(~np.isfinite(values.to_numpy(dtype=np.float64)))[0]) + 1
        raise InputError(f"{label} of particle {row} is not a finite number", path)
    return values.to_numpy(dtype=np.float64)


def frame_from_relion(
    table: pd.DataFrame,
    path: str | os.PathLike,
    positions: np.ndarray,
    origins: np.ndarray,
    tomo_label: str,
    particle_label: str,
    score_label: str | None,
    subtomogram: bool = False,
) -> tuple[pd.DataFrame, str]:
    """The cryotm frame of a RELION particle table whose positions and origins are in voxels.

    `origins` are the ``rlnOrigin`` values in voxels (not yet rotated); with
    `subtomogram` (RELION 4/5) the subtomogram orientation, if the table has
    one, is composed with the particle's and rotates the origins. Every
    column of `table` is kept in the frame (the file's own values, for
    writing back). Returns the frame and the experiment id (the tomogram
    name if all particles share one).
    """
    rotation = particle_rotation(table, path)
    shifts = -np.asarray(origins, dtype=np.float64).reshape(-1, 3)
    sub = subtomogram_rotation(table, path) if subtomogram else None
    if sub is not None:
        rotation = sub * rotation
        shifts = sub.apply(shifts).reshape(-1, 3)
    euler = rotation_to_euler(rotation).reshape(-1, 3) if len(table) else np.zeros((0, 3))
    if sub is None and all(label in table.columns for label in ANGLES):
        euler = relion_to_zxz(_numeric_block(table, ANGLES, path))  # exact, without a matrix round trip
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
        frame["class"] = np.rint(_numeric(table, "rlnClassNumber", path))  # whole numbers checked by ParticleList
    experiment_id = ""
    if tomo_label in table.columns:
        names = table[tomo_label].astype(str).to_numpy()
        frame["tomo_id"] = ids_from_names(names)
        if "rlnTomoNumber" in table.columns:  # TOMOMAN's own tomogram numbers
            frame["tomo_id"] = np.rint(_numeric(table, "rlnTomoNumber", path))
        frame["tomo_name"] = names
        if len(set(names)) == 1:
            experiment_id = str(names[0])
    else:
        frame["tomo_id"] = np.ones(n, dtype=np.int64)
    # a RELION 4 list without particle names may number them (rlnTomoParticleId) or name their images
    fallbacks = [particle_label] + (["rlnTomoParticleId", "rlnImageName"] if particle_label != "rlnImageName" else [])
    id_label = next((label for label in fallbacks if label in table.columns), None)
    if id_label is not None:
        frame["subtomo_id"] = subtomo_ids_from_names(table[id_label].astype(str).tolist())
    else:
        frame["subtomo_id"] = np.arange(1, n + 1)
    for label in table.columns:
        if label not in frame.columns:
            frame[label] = table[label].to_numpy()
    return frame, experiment_id


def particle_table(particles: ParticleList, columns: dict[str, Any]) -> pd.DataFrame:
    """The particle block of `columns`: labels read from a file in the file's order, new ones after them."""
    known = [c for c in particles.data.columns if c in columns]
    order = known + [c for c in columns if c not in set(known)]
    return pd.DataFrame({c: columns[c] for c in order})


def names_and_ids(particles: ParticleList) -> tuple[np.ndarray, np.ndarray]:
    """Per-particle tomogram names (strings) and subtomo ids."""
    names = np.asarray([str(n) for n in particles.tomogram_names()], dtype=object)
    return names, particles.data["subtomo_id"].to_numpy()


def raw_names(particles: ParticleList, label: str, generated: list[str]) -> list[str]:
    """`generated` names, with the list's own column `label` (read from a file) wherever it has a value."""
    if label not in particles.data.columns:
        return generated
    raw = particles.data[label].tolist()
    return [str(r) if isinstance(r, str) and r.strip() else g for r, g in zip(raw, generated)]
