"""Checks for input that is readable but probably not what the user meant.

Each check looks at the data cheaply (a strided sample of a map, the angle
list, the positions of a read list) and, when it sees a likely mistake,
warns with a :class:`~cryotm.errors.CryotmWarning` that names the mistake
and the option that fixes it; input that cannot give a meaningful result
raises :class:`~cryotm.errors.InputError`. The command line and the
pipeline call them at their entry points; the picking code itself does not.

The command line prints each warning as one line ``cryotm: warning: ...``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .errors import CryotmWarning, InputError, format_source

__all__ = [
    "check_scores_and_angles",
    "check_angle_list",
    "check_diameter",
    "check_particles_inside",
    "check_inputs",
    "check_files",
    "sample",
]

#: Voxels looked at by the checks of a map.
SAMPLE_SIZE = 200_000


def _warn(message: str) -> None:
    warnings.warn(message, CryotmWarning, stacklevel=3)


def sample(data: np.ndarray, size: int = SAMPLE_SIZE) -> np.ndarray:
    """About `size` values of a 3D array, evenly strided along each axis (a view is read, not the whole map)."""
    data = np.asarray(data) if not hasattr(data, "shape") else data
    if data.size <= size:
        return np.asarray(data).ravel()
    step = max(1, math.ceil((data.size / size) ** (1 / data.ndim)))
    return np.asarray(data[(slice(None, None, step),) * data.ndim]).ravel()


def _whole(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 0 and bool(np.all(finite == np.round(finite)))


def check_scores_and_angles(scores: Any, angle_map: Any = None) -> None:
    """Warn if the scores map looks like an angle map and the other way round (swapped SCORES and ANGLES).

    Parameters
    ----------
    scores, angle_map : map objects (with ``data`` and ``source``) or arrays
    """
    values = sample(getattr(scores, "data", scores))
    source = format_source(getattr(scores, "source", None))
    if np.issubdtype(values.dtype, np.integer) or (_whole(values) and np.unique(values).size > 2):
        swapped = ""
        if angle_map is not None and not _whole(sample(getattr(angle_map, "data", angle_map))):
            swapped = " and the angle map holds fractions"
        _warn(
            f"{source}: the scores map holds only whole numbers, like an angle map{swapped}: are SCORES and "
            "ANGLES swapped? (the order is SCORES ANGLES ANGLE_LIST)"
        )
    elif angle_map is not None:
        angles = sample(getattr(angle_map, "data", angle_map))
        if not _whole(angles):
            _warn(
                f"{format_source(getattr(angle_map, 'source', None))}: the angle map holds fractions, not angle "
                "indices: are SCORES and ANGLES swapped? (the order is SCORES ANGLES ANGLE_LIST)"
            )


def check_angle_list(angle_list: Any, order: str = "zxz") -> None:
    """Warn about an angle list read with the wrong column order, or written in radians.

    Parameters
    ----------
    angle_list : AngleList
        As read (columns already put in phi, theta, psi order).
    order : str
        The column order it was read with (named in the warning).
    """
    angles = np.asarray(angle_list.angles, dtype=float)
    source = format_source(getattr(angle_list, "source", None))
    theta = angles[:, 1]
    outside = int(np.count_nonzero((theta < -1e-6) | (theta > 180 + 1e-6)))
    if outside:
        column = "second" if order == "zxz" else "third"
        other = "zzx" if order == "zxz" else "zxz"
        _warn(
            f"{source}: theta (the {column} column with --angles-order {order}) leaves 0-180 degrees in "
            f"{outside} of {len(theta)} rows: is the column order wrong? (try --angles-order {other})"
        )
    if len(angles) >= 10 and np.abs(angles).max() <= 2 * math.pi + 1e-9 and np.abs(angles).max() > 0:
        _warn(
            f"{source}: every angle lies within +-2 pi: the list looks like radians, but cryotm reads degrees "
            "(convert it with numpy.degrees; pytom-match-pick's .txt lists are read as radians by extract-job "
            "and --angle-list FILE.txt)"
        )


def check_diameter(diameter: float | None, shape: tuple[int, ...], pixel_size: float | None = None) -> None:
    """Refuse a particle diameter larger than the map; warn when it exceeds a quarter of the map.

    Raises
    ------
    InputError
        If `diameter` is larger than the map's largest edge (nothing sensible can be picked).
    """
    if diameter is None:
        return
    hint = f" (divide Angstrom by the pixel size, {pixel_size:g} A)" if pixel_size else ""
    if diameter > max(shape):
        raise InputError(
            f"particle diameter {diameter:g} voxels is larger than the map ({' x '.join(map(str, shape))}, z y x): "
            f"the diameter is in voxels, not Angstrom{hint}"
        )
    if diameter > min(shape) / 4:
        _warn(
            f"particle diameter {diameter:g} voxels is more than a quarter of the map "
            f"({' x '.join(map(str, shape))}, z y x): given in Angstrom? -d/--diameter takes voxels{hint}"
        )


def check_particles_inside(particles: Any, source: Any = None, shape: tuple[int, int, int] | None = None) -> None:
    """Warn when particles of a list just read lie outside its tomogram (a wrong shape order or pixel size).

    Needs the tomogram's `shape` (z, y, x) or the list's ``tomogram_shape``;
    without either nothing is checked.
    """
    shape = shape or getattr(particles, "tomogram_shape", None)
    if not shape or len(particles) == 0:
        return
    positions = np.asarray(particles.positions, dtype=float)  # x, y, z
    size = np.asarray(shape[::-1], dtype=float)
    outside = ~np.all((positions >= -0.5) & (positions <= size - 0.5), axis=1)
    count = int(np.count_nonzero(outside))
    if count:
        _warn(
            f"{format_source(source)}: {count} of {len(positions)} particles lie outside the tomogram of shape "
            f"{tuple(int(v) for v in shape)} (z, y, x): is the shape in the wrong order (--tomogram-shape is Z Y X, "
            "--tomogram-size X Y Z) or the pixel size (--pixel-size) wrong?"
        )


def check_inputs(
    scores: Any,
    angle_map: Any = None,
    angle_list: Any = None,
    *,
    order: str = "zxz",
    diameter: float | None = None,
    pixel_size: float | None = None,
) -> None:
    """All input checks of a picking run (maps, angle list, diameter)."""
    check_scores_and_angles(scores, angle_map)
    if angle_list is not None:
        check_angle_list(angle_list, order)
    shape = tuple(getattr(scores, "shape", np.shape(scores)))
    check_diameter(diameter, shape, pixel_size or getattr(scores, "pixel_size", None))


def check_files(
    scores: Any,
    angle_map: Any = None,
    angle_list: Any = None,
    *,
    order: str = "zxz",
    index_base: int = 0,
    diameter: float | None = None,
    pixel_size: float | None = None,
) -> None:
    """:func:`check_inputs` on files (memory-mapped: only the sampled voxels are read).

    Files that cannot be read are left to the command's own reading, which
    reports them; only readable files are checked here.
    """
    from types import SimpleNamespace

    from .angles import AngleList
    from .errors import CryotmError
    from .maps import read_map

    def open_map(path: Any) -> Any:
        if path is None or hasattr(path, "data"):
            return path
        try:
            data, header_pixel = read_map(path, mmap=True)
        except (CryotmError, OSError, ValueError):
            return None
        return SimpleNamespace(data=data, shape=data.shape, source=path, pixel_size=header_pixel)

    scores_map, angles = open_map(scores), open_map(angle_map)
    if scores_map is None:
        return
    check_scores_and_angles(scores_map, angles)
    if angle_list is not None:
        try:
            angles_read = AngleList.coerce(angle_list, order=order, index_base=index_base)  # type: ignore[arg-type]
        except (CryotmError, OSError, ValueError):
            angles_read = None
        if angles_read is not None:
            check_angle_list(angles_read, order)
    check_diameter(diameter, tuple(scores_map.shape), pixel_size or scores_map.pixel_size)
