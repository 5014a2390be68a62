"""The selection's inputs: edge margins, binary masks, distance maps and their whole-degree bins."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...angles import AngleList
from ...angles.distance_maps import (
    DIST_MAP_SUFFIXES,
    DistanceMaps,
    angle_rows,
    canonical_distance_name,
    distance_map_paths,
)
from ...errors import InputError
from ...maps import AngleMap, Volume

__all__ = ["edge_mask_margins", "apply_edge_mask", "check_binary", "BinSource", "read_distance_maps"]


def edge_mask_margins(edge_masking: Any, shape: tuple[int, int, int]) -> tuple[int, int, int] | None:
    """Margins (z, y, x) from cryoCAT's `edge_masking`: one number, or three in (x, y, z) order.

    Raises
    ------
    InputError
        For negative or non-integer margins, a wrong count, or margins that
        leave nothing of the map.

    Examples
    --------
    >>> edge_mask_margins(3, (40, 50, 60)), edge_mask_margins((1, 2, 3), (40, 50, 60))
    ((3, 3, 3), (3, 2, 1))
    """
    if edge_masking is None:
        return None
    values = np.atleast_1d(np.asarray(edge_masking))
    if values.ndim != 1 or values.size not in (1, 3):
        raise InputError(f"edge_masking must be one number or three (x, y, z), got {edge_masking!r}")
    if values.size == 1:
        values = np.repeat(values, 3)
    if values.dtype.kind not in "iuf" or np.any(values != np.round(values)) or np.any(values < 0):
        raise InputError(f"edge_masking must hold non-negative whole numbers of voxels, got {edge_masking!r}")
    margins = tuple(int(v) for v in values[::-1])  # (x, y, z) -> (z, y, x)
    for axis, (margin, size) in enumerate(zip(margins, shape)):
        if 2 * margin >= size:
            name = "zyx"[axis]
            raise InputError(
                f"edge masking of {margin} voxels along {name} is larger than the map "
                f"({size} voxels): nothing would remain"
            )
    return margins


def apply_edge_mask(mask: np.ndarray, margins: tuple[int, int, int] | None) -> None:
    if margins is None:
        return
    for axis, margin in enumerate(margins):
        if margin == 0:
            continue
        index = [slice(None)] * 3
        index[axis] = slice(0, margin)
        mask[tuple(index)] = False
        index[axis] = slice(mask.shape[axis] - margin, None)
        mask[tuple(index)] = False


def check_binary(mask: np.ndarray, what: str, source: str | None) -> np.ndarray:
    values = np.unique(np.asarray(mask))
    if not np.isin(values, (0, 1)).all():
        shown = ", ".join(f"{v:g}" for v in values[~np.isin(values, (0, 1))][:3])
        raise InputError(
            f"{what} must be binary (0/1, hard-edged); it holds {shown}. Threshold it first, "
            "for example at 0.5", source
        )
    if not values.any():
        raise InputError(f"{what} is empty (all zero)", source)
    return np.asarray(mask) != 0


class BinSource:
    """Whole-degree angular distance bins of the used maps, read box by box.

    Either per-row tables looked up through the angle map (maps created on
    the fly, never materialised) or distance maps given as arrays/files.
    """

    def __init__(
        self,
        names: Sequence[str],
        angle_map: AngleMap,
        angles: AngleList,
        tables: Mapping[str, np.ndarray] | None = None,
        maps: Mapping[str, Volume] | None = None,
    ) -> None:
        self.names = list(names)
        self.angle_map = angle_map
        self.angles = angles
        self.tables = None
        if tables is not None:
            # float32 like written maps, so created and read-back maps give the same bins
            self.tables = [np.floor(tables[n].astype(np.float32)).astype(np.int32) for n in self.names]
        self.maps = None if maps is None else [maps[n] for n in self.names]

    def rows(self, box: tuple[slice, ...]) -> np.ndarray:
        return angle_rows(self.angle_map.data[box], self.angles, self.angle_map.source)

    def bins(self, box: tuple[slice, ...], within: np.ndarray | None = None) -> list[np.ndarray]:
        """The bins of every used map in `box`; a NaN/inf distance at a voxel of `within` is an error.

        A non-finite distance elsewhere in the box gets a meaningless bin: the
        selection only compares the bins of voxels that were checked (the
        angle-consistent ones, each checked with its region).
        """
        if self.tables is not None:
            rows = self.rows(box)
            return [table[rows] for table in self.tables]
        out = []
        for volume in self.maps:  # type: ignore[union-attr]
            values = np.asarray(volume.data[box])
            if within is not None and not np.isfinite(values[within]).all():
                raise InputError("distance map holds a non-finite value", volume.source)
            with np.errstate(invalid="ignore"):  # the cast of a NaN outside `within`
                out.append(np.floor(values).astype(np.int32))
        return out


def read_distance_maps(
    names: Sequence[str], base: str | os.PathLike | None, given: Any, shape: tuple[int, int, int]
) -> dict[str, Volume]:
    maps: dict[str, Volume] = {}
    for name in names:
        if given is not None:
            if isinstance(given, DistanceMaps):
                value: Any = given[name]
            else:
                found = [v for k, v in given.items() if canonical_distance_name(k) == name]
                if not found:
                    raise InputError(f"dist_maps has no {name!r} map ({DIST_MAP_SUFFIXES[name]})")
                value = found[0]
        else:
            candidates = [distance_map_paths(base, fmt)[name] for fmt in ("em", "mrc")]
            existing = [p for p in candidates if p.is_file()]
            if not existing:
                raise InputError(f"distance map not found (looked for {candidates[0]} and {candidates[1]})")
            value = existing[0]
        volume = value if isinstance(value, Volume) else Volume.coerce(value, mmap=True)
        if volume.shape != shape:
            raise InputError(
                f"distance map {DIST_MAP_SUFFIXES[name]} has shape {volume.shape} (z, y, x) "
                f"but the scores map has {shape}",
                volume.source,
            )
        maps[name] = volume
    return maps
