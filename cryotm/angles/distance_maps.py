"""Angular distance maps: per voxel, how far its best angle is from the first angle of the list.

The counterpart of cryoCAT's ``create_angular_distance_maps``. The three
distances of :mod:`cryotm.angles.distances` (total, normals, in-plane) are
computed once per angle-list entry, relative to the list's first entry, and
then looked up by the angle map's index (never per voxel). The maps are
float32, indexed ``[z, y, x]`` like every map in cryotm, and can be written
as ``BASE_dist_all``, ``BASE_dist_normals`` and ``BASE_dist_inplane`` (the
names cryoCAT's ``select_peaks`` reads) in EM or MRC format.

The angle map's index base (0 for GAPSTOP(TM)/pytom, 1 for STOPGAP) is
handled in one place, the :class:`~cryotm.angles.AngleList`'s
``index_base``; unlike cryoCAT (which always subtracts 1 and, inside
``select_peaks``, subtracts it twice), nothing else shifts indices.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .._atomic import check_writable, output_set
from ..errors import InputError
from ..maps import AngleMap, write_map
from ..maps._access import whole_indices
from .angle_list import AngleList, AngleOrder
from .distances import AngularDistances, compare_rotations, parse_symmetry

__all__ = [
    "DIST_MAP_SUFFIXES",
    "DistanceMaps",
    "resolve_angle_list",
    "angle_rows",
    "distance_tables",
    "create_distance_maps",
    "distance_map_paths",
]

#: Distance name -> file-name suffix (cryoCAT's ``dist_maps_list`` specifiers).
DIST_MAP_SUFFIXES: dict[str, str] = {
    "total": "_dist_all",
    "normals": "_dist_normals",
    "inplane": "_dist_inplane",
}

_FORMAT_EXTENSIONS = {"em": ".em", "mrc": ".mrc"}
_SLAB_VOXELS = 1 << 23  # index large maps slab by slab (bounded temporary memory)


def canonical_distance_name(name: str) -> str:
    """``"total"`` for ``"total"``, ``"_dist_all"`` or ``"all"``; likewise for the others.

    Raises
    ------
    InputError
        For an unknown name.
    """
    key = str(name).strip()
    for canonical, suffix in DIST_MAP_SUFFIXES.items():
        if key in (canonical, suffix, suffix[len("_dist_") :], suffix.lstrip("_")):
            return canonical
    short = ", ".join(suffix[len("_dist_") :] for suffix in DIST_MAP_SUFFIXES.values())
    raise InputError(
        f"unknown distance map {name!r} (known: {short}; also total for all, "
        f"and cryoCAT's {', '.join(DIST_MAP_SUFFIXES.values())})"
    )


def resolve_angle_list(value: Any, angles_order: AngleOrder = "zxz", index_base: int | None = None) -> AngleList:
    """`value` as an :class:`AngleList`, with the index base decided once.

    An AngleList keeps its own ``index_base`` unless `index_base` is given; a
    path or an array gets `index_base` (default 0).
    """
    return AngleList.coerce(value, order=angles_order, index_base=index_base)


def angle_rows(values: Any, angles: AngleList, source: str | None = None) -> np.ndarray:
    """Angle-list rows (0-based, int64) for angle-map values.

    Float values must be whole numbers (within 1e-3); the index base of
    `angles` is subtracted once; every row is checked to lie in the list.

    Raises
    ------
    InputError
        For a value that is not a whole number or points outside the list.
    """
    return angles.rows_for(whole_indices(values, source), source=source)


def distance_tables(angles: AngleList, symmetry: int | str = 1) -> AngularDistances:
    """The three distances of every angle-list row from the first row (degrees, float64).

    Examples
    --------
    >>> from cryotm.angles import AngleList
    >>> t = distance_tables(AngleList(np.array([[0, 0, 0], [30, 0, 0], [0, 90, 0]])))
    >>> np.round(t.total, 6), np.round(t.normals, 6)
    (array([ 0., 30., 90.]), array([ 0.,  0., 90.]))
    """
    rotations = angles.rotations()
    return compare_rotations(rotations[0], rotations, symmetry)


@attrs.frozen
class DistanceMaps:
    """The three angular distance maps (float32, indexed ``[z, y, x]``), in degrees.

    Attributes
    ----------
    total, normals, inplane : ndarray
        Per voxel, the distance of its angle from the first angle of the list.
    symmetry : int
        The order of the C_n symmetry they were computed with.
    pixel_size : float, optional
        Voxel size in Å (written into the files' headers).
    """

    total: np.ndarray
    normals: np.ndarray
    inplane: np.ndarray
    symmetry: int = 1
    pixel_size: float | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        """The map by distance name (``"total"``) or cryoCAT specifier (``"_dist_all"``)."""
        return getattr(self, canonical_distance_name(name))

    def as_dict(self) -> dict[str, np.ndarray]:
        """``{"total": ..., "normals": ..., "inplane": ...}``."""
        return {name: getattr(self, name) for name in DIST_MAP_SUFFIXES}

    def write(self, base: str | os.PathLike, format: str = "em", overwrite: bool = False) -> dict[str, Path]:
        """Write ``BASE_dist_all``, ``BASE_dist_normals``, ``BASE_dist_inplane`` (float32).

        Every output is checked before the first is written, and the maps are
        placed as one set (``output_set``): a refused
        overwrite, a full disk or a failure half-way leaves no partial set.

        Returns
        -------
        dict
            Distance name -> written path.
        """
        paths = distance_map_paths(base, format)
        for path in paths.values():
            check_writable(path, overwrite)
        with output_set():  # all maps, or none
            for name, path in paths.items():
                write_map(path, np.asarray(getattr(self, name), dtype=np.float32), pixel_size=self.pixel_size,
                          overwrite=overwrite)
        return paths


def distance_map_paths(base: str | os.PathLike, format: str = "em") -> dict[str, Path]:
    """Distance name -> ``{base}{suffix}.{em|mrc}``.

    Examples
    --------
    >>> distance_map_paths("tomo1", "mrc")["normals"].name
    'tomo1_dist_normals.mrc'
    """
    try:
        extension = _FORMAT_EXTENSIONS[format]
    except KeyError:
        raise InputError(f"unknown distance map format {format!r} (known: em, mrc)") from None
    base = os.fspath(base)
    return {name: Path(f"{base}{suffix}{extension}") for name, suffix in DIST_MAP_SUFFIXES.items()}


def create_distance_maps(
    angle_map: AngleMap | np.ndarray | str | os.PathLike,
    angles: AngleList | np.ndarray | str | os.PathLike,
    symmetry: int | str = 1,
    angles_order: AngleOrder = "zxz",
    index_base: int | None = None,
    output_base: str | os.PathLike | None = None,
    format: str = "em",
    overwrite: bool = False,
) -> DistanceMaps:
    """Angular distance maps of an angle map, relative to the first angle of the list.

    The counterpart of cryoCAT's ``create_angular_distance_maps``
    (``c_symmetry`` is `symmetry`, ``write_out_maps`` is giving
    `output_base`).

    Parameters
    ----------
    angle_map : AngleMap, ndarray or path
        Per voxel, the index of the best angle (indexed ``[z, y, x]``).
    angles : AngleList, ndarray or path
        The angle list of the search.
    symmetry : int or str
        Cyclic symmetry of the particle (``3`` or ``"C3"``).
    angles_order : {'zxz', 'zzx'}
        Column order of `angles` when it is a file or an array.
    index_base : {0, 1}, optional
        Angle-map value of the first row. Default: the AngleList's own, or 0.
    output_base : str or path-like, optional
        When given, write ``{output_base}_dist_all``, ``_dist_normals`` and
        ``_dist_inplane`` with the extension of `format`.
    format : {'em', 'mrc'}
        File format of the written maps.
    overwrite : bool
        Replace existing outputs.

    Returns
    -------
    DistanceMaps

    Raises
    ------
    InputError
        For an angle index outside the list, a non-integer index, an unknown
        format, or an output that exists (without `overwrite`).

    Examples
    --------
    >>> from cryotm.angles import AngleList
    >>> amap = np.array([[[0, 1], [2, 1]]])
    >>> maps = create_distance_maps(amap, AngleList(np.array([[0, 0, 0], [0, 30, 0], [0, 90, 0]])))
    >>> maps.normals
    array([[[ 0., 30.],
            [90., 30.]]], dtype=float32)
    """
    order = parse_symmetry(symmetry)
    amap = AngleMap.coerce(angle_map, mmap=True)
    angle_list = resolve_angle_list(angles, angles_order, index_base)
    if output_base is not None:
        for path in distance_map_paths(output_base, format).values():
            check_writable(path, overwrite)
    tables = {name: values.astype(np.float32) for name, values in
              distance_tables(angle_list, order).as_dict().items()}
    out = {name: np.empty(amap.shape, dtype=np.float32) for name in tables}
    data = amap.data
    step = max(1, _SLAB_VOXELS // max(1, data.shape[1] * data.shape[2]))
    for start in range(0, data.shape[0], step):
        rows = angle_rows(data[start : start + step], angle_list, amap.source)
        for name, table in tables.items():
            np.take(table, rows, out=out[name][start : start + step])
    maps = DistanceMaps(**out, symmetry=order, pixel_size=amap.pixel_size)
    if output_base is not None:
        maps.write(output_base, format=format, overwrite=overwrite)
    return maps
