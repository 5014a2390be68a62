"""pytom-match-pick's job file (``<tomo_id>_job.json``) as cryotm inputs.

pytom-match-pick (``pytom_match_template.py``) writes, into its output
folder, the scores map ``<tomo_id>_scores.mrc``, the angle-index map
``<tomo_id>_angles.mrc`` and a JSON job file with what it searched. The
fields cryotm reads (others are ignored):

``tomogram``, ``tomo_id``
    The tomogram; ``tomo_id`` defaults to its file name without extension.
``output_dir``
    Where the maps are (relative paths are taken from the job file's folder,
    which is also searched when the folder has moved).
``voxel_size``
    Pixel size in Å.
``rotation_file`` (or ``angle_increment``)
    The angle list: a text file of ``z1 x z2`` Euler angles in radians, or an
    angular increment from which pytom generated the list with healpix;
    cryotm regenerates it exactly (:mod:`cryotm.peers.pytom_angles`; needs
    the optional ``healpix`` package, ``pip install 'cryotm[pytom]'``).
``rotational_symmetry``, ``pytom_tm_version_number``
    pytom > 0.3.0 sorts the angle list before searching, and a C_n symmetry
    shortens it (each version its own way, see
    :mod:`~cryotm.peers.pytom_angles`); the angle map indexes the list the
    search used (0-based). A job whose list must be generated or reduced
    names the job file itself as its angle list.
``search_x``, ``search_y``, ``search_z``, ``tomo_shape``
    The searched region ``[start, end)`` per axis and the tomogram's shape
    (x, y, z): the maps cover that region, so picked positions are offset
    by its start.
``tomogram_mask``
    Optional mask of the whole tomogram (cropped to the searched region).
``job_stats``
    ``{"search_space", "variance", "std"}`` of the background scores: they
    feed the false-alarm-rate (``far``) threshold through
    :class:`~cryotm.thresholds.SearchStatistics` (mean 0, as pytom assumes).
``n_rotations``, ``particle_diameter`` (Å)
    Size of the angular search (checked against the list's length); the
    particle size used for suppression.

Euler angles: pytom's "anti-clockwise ZXZ" triple (z1, x, z2) in radians is
cryotm's extrinsic zxz (phi, theta, psi) in degrees (pytom's own RELION
export, ``ZXZ`` of the negated angles read as ``ZYZ``, equals cryotm's).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import check_file_name
from ..angles import AngleList, parse_symmetry
from ..errors import InputError
from ..pipeline.inputs import TomogramInputs
from ..thresholds import SearchStatistics
from .base import PeerJob, first_existing, resolve_against
from .pytom_angles import generate_pytom_angles, pytom_version, reduce_pytom_angles

__all__ = ["read_pytom_job", "read_pytom_angle_list", "pytom_job_angles", "pytom_statistics", "sniff_pytom_job"]

PROGRAM = "pytom-match-pick"


def read_pytom_angle_list(path: str | os.PathLike, sort: bool = True, index_base: int = 0) -> AngleList:
    """Read pytom-match-pick's angle list: lines of ``z1 x z2`` in radians, or a job file.

    Parameters
    ----------
    path : path
        A text list, or a pytom-match-pick job file (``*.json``), whose list
        is generated from its angular increment or read from its
        ``rotation_file``, then sorted and symmetry-reduced as the job's
        version did (`sort` is then ignored).
    sort : bool
        Sort rows as pytom-match-pick > 0.3.0 does before its search
        (lexicographically on the radian values).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such angle list", path)
    if path.suffix.lower() == ".json":
        values = pytom_job_angles(_load_job(path), path)
    else:
        values = _read_radians(path)
        if sort:
            values = values[np.lexsort(values.T[::-1])]
    return AngleList(np.degrees(values), index_base=index_base, source=os.fspath(path))


def _read_radians(path: Path) -> np.ndarray:
    try:
        values = np.loadtxt(path, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise InputError(f"not a pytom angle list (3 numbers per line, radians): {exc}", path) from None
    if values.shape[1] != 3:
        raise InputError(f"a pytom angle list needs 3 numbers per line, found {values.shape[1]}", path)
    return values


def _increment(job: dict[str, Any]) -> float | None:
    """The job's angular increment in degrees, or None when it names a file."""
    rotation = job.get("angle_increment", job.get("rotation_file"))
    if isinstance(rotation, bool):
        return None
    try:
        return float(rotation)
    except (TypeError, ValueError):
        return None


def _rotation_file(job: dict[str, Any], path: Path) -> Path:
    rotation_path = Path(str(job.get("angle_increment", job.get("rotation_file"))))
    folders = resolve_against(Path(str(job.get("output_dir", "."))), [path.parent]) + [path.parent]
    return first_existing(
        resolve_against(rotation_path, [path.parent] + folders) + [path.parent / rotation_path.name],
        "angle list",
        path,
    )


def pytom_job_angles(job: dict[str, Any], path: str | os.PathLike) -> np.ndarray:
    """The angle list a pytom-match-pick job searched, ``(z1, x, z2)`` radians in angle-map order.

    Generated from the job's increment or read from its ``rotation_file``,
    sorted and reduced by ``rotational_symmetry`` as the job's
    ``pytom_tm_version_number`` did, and checked against ``n_rotations``.

    Raises
    ------
    InputError
        The list's length is not the job's ``n_rotations``, or the list is
        missing or malformed.
    CryotmError
        An increment-generated list without the healpix package.
    """
    path = Path(path)
    version = str(job.get("pytom_tm_version_number", "0.3.0"))
    try:
        symmetry = parse_symmetry(job.get("rotational_symmetry"))
    except InputError as exc:
        raise InputError(f"rotational_symmetry: {exc.problem}", path) from None
    n_rotations = job.get("n_rotations")
    if n_rotations is not None:
        try:
            n_rotations = int(n_rotations)
        except (TypeError, ValueError):
            raise InputError(f"n_rotations must be a whole number, got {n_rotations!r}", path) from None
    increment = _increment(job)
    if increment is not None:
        values = generate_pytom_angles(increment, symmetry, version, source=path)
        searched = len(values)
        what = f"generated from an increment of {increment:g} degrees"
    else:
        raw = _read_radians(_rotation_file(job, path))
        sort = pytom_version(version) > (0, 3, 0)
        values = reduce_pytom_angles(raw, symmetry, version, sort=sort, n_rotations=n_rotations)
        # before 0.7.0 n_rotations counted the whole file, the search its first ceil(n / N) rows
        searched = len(raw) if pytom_version(version) < (0, 7, 0) else len(values)
        what = "read from its rotation_file"
    if n_rotations is not None and int(n_rotations) != searched:
        raise InputError(
            f"the angle list {what} (pytom-match-pick {version}, symmetry {symmetry}) has {searched} rotations "
            f"but the job's n_rotations is {n_rotations}: the job was not written by that version, or the "
            "list is not the one searched; give the list with --angle-list",
            path,
        )
    return values


def _load_job(path: Path) -> dict[str, Any]:
    try:
        job = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError("no such job file", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a pytom-match-pick job file (invalid JSON: {exc})", path) from None
    if not isinstance(job, dict) or "output_dir" not in job:
        raise InputError("not a pytom-match-pick job file (no 'output_dir')", path)
    return job


def pytom_statistics(job: dict[str, Any], source: str | os.PathLike | None = None) -> SearchStatistics | None:
    """SearchStatistics from a job's ``job_stats`` (None when the job has none).

    ``search_space`` = voxels x rotations; n_angles comes from ``n_rotations``
    (the voxel count is the quotient), the background mean is 0 as pytom
    assumes, and sigma is ``std`` (or the square root of ``variance``).
    """
    stats = job.get("job_stats")
    if not stats:
        return None
    try:
        search_space = float(stats["search_space"])
        std = float(stats["std"]) if stats.get("std") is not None else float(np.sqrt(stats["variance"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"job_stats lacks search_space/std: {exc}", source) from None
    try:
        n_angles = int(job.get("n_rotations") or 1)
    except (TypeError, ValueError):
        raise InputError(f"n_rotations must be a whole number, got {job.get('n_rotations')!r}", source) from None
    if n_angles < 1 or not np.isfinite(search_space) or search_space <= 0 or not np.isfinite(std) or std <= 0:
        raise InputError(
            f"job_stats/n_rotations out of range (n_rotations {n_angles}, search_space {search_space:g}, "
            f"std {std:g}): they must be positive", source,
        )
    n_voxels = int(round(search_space / n_angles))
    return SearchStatistics(n_angles=n_angles, n_voxels=n_voxels, mean=0.0, std=std)


def sniff_pytom_job(path: str | os.PathLike) -> bool:
    """True if `path` is a JSON file with pytom-match-pick's job fields."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        return False
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "job_stats" in data and "output_dir" in data


def read_pytom_job(
    path: str | os.PathLike,
    angle_list: str | os.PathLike | None = None,
    tomo_id: int = 1,
) -> PeerJob:
    """Read a pytom-match-pick job file.

    Parameters
    ----------
    path : path
        The ``*_job.json`` file.
    angle_list : path, optional
        The angle list, to use instead of the job's own (generated or read
        from its ``rotation_file``). A ``.txt`` file is read as pytom's format
        (radians, sorted as the job's version sorts), anything else as a CSV of
        zxz degrees with 0-based indices.
    tomo_id : int
        Tomogram number for the particle list.

    Raises
    ------
    InputError
        Not a job file, maps or angle list not found, an angle list whose
        length is not the job's ``n_rotations``, or bad statistics.
    CryotmError
        An increment-generated list without the healpix package.
    """
    path = Path(path)
    job = _load_job(path)

    name = str(job.get("tomo_id") or Path(str(job.get("tomogram", path.stem))).stem)
    check_file_name(name, "tomogram name (tomo_id)", path)  # it names files, here and in the outputs
    bases = [path.parent]
    output_dir = Path(str(job["output_dir"]))
    folders = resolve_against(output_dir, bases) + [path.parent]
    scores = first_existing([f / f"{name}_scores.mrc" for f in folders], "scores map", path)
    angles = first_existing([f / f"{name}_angles.mrc" for f in folders], "angle map", path)

    version = str(job.get("pytom_tm_version_number", "0.3.0"))
    sort = pytom_version(version) > (0, 3, 0)
    try:
        symmetry = parse_symmetry(job.get("rotational_symmetry"))
    except InputError as exc:
        raise InputError(f"rotational_symmetry: {exc.problem}", path) from None
    if angle_list is not None:
        list_path = Path(angle_list)
        fmt = ("pytom-sorted" if sort else "pytom") if list_path.suffix.lower() == ".txt" else "csv"
    elif _increment(job) is None and symmetry == 1:
        list_path = _rotation_file(job, path)
        fmt = "pytom-sorted" if sort else "pytom"
        pytom_job_angles(job, path)  # the count check
    else:
        pytom_job_angles(job, path)  # generated or reduced: fails now, naming the job, rather than per run
        list_path, fmt = path, "pytom-sorted"

    try:
        origin = [int(job[k][0]) if job.get(k) else 0 for k in ("search_x", "search_y", "search_z")]
        ends = [int(job[k][1]) if job.get(k) else None for k in ("search_x", "search_y", "search_z")]
        shape_xyz = job.get("tomo_shape")
        tomogram_shape = tuple(int(v) for v in shape_xyz[::-1]) if shape_xyz else None
        voxel = float(job["voxel_size"]) if job.get("voxel_size") else None
        diameter = float(job["particle_diameter"]) if job.get("particle_diameter") else None
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise InputError(
            f"search_x/y/z, tomo_shape, voxel_size or particle_diameter is not what pytom-match-pick writes: {exc}",
            path,
        ) from None
    sizes = tomogram_shape[::-1] if tomogram_shape else (None, None, None)
    for axis, start, end, size in zip("xyz", origin, ends, sizes):
        if start < 0 or (end is not None and end <= start) or (size is not None and end is not None and end > size):
            raise InputError(
                f"search_{axis} [{start}, {end}] is not a region of the tomogram (0 <= start < end"
                f"{f' <= {size}' if size is not None else ''})", path,
            )
    mask = job.get("tomogram_mask")
    mask_path = None
    if mask:
        mask_path = first_existing(
            resolve_against(mask, bases) + [path.parent / Path(str(mask)).name], "tomogram mask", path
        )
    inputs = TomogramInputs(
        name=name,
        scores=scores,
        angles=angles,
        angle_list=list_path,
        mask=mask_path,
        pixel_size=voxel,
        tomo_id=tomo_id,
        angles_order="zxz",
        index_base=0,
        angle_list_format=fmt,
        statistics=pytom_statistics(job, path),
        offset=tuple(float(v) for v in origin),
        tomogram_shape=tomogram_shape,
        source=os.fspath(path),
    )
    return PeerJob(
        program=PROGRAM,
        inputs=inputs,
        particle_diameter=diameter / voxel if diameter and voxel else None,
        symmetry=f"c{symmetry}",
        source=os.fspath(path),
    )
