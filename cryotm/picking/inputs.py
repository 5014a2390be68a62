"""The inputs of a pick, opened and checked, and the check of what a suppression step returns."""

from __future__ import annotations

import os
from typing import Any

import attrs
import numpy as np

from .._threads import Background, processors
from ..angles import AngleList
from ..errors import CryotmError
from ..maps import AngleMap, MaskMap, ScoresMap
from ._access import UncheckedScoresMap, open_scores
from .index_range import check_index_base

__all__ = ["PickInputs", "open_inputs", "checked_rows"]


@attrs.frozen
class PickInputs:
    """The maps and list of one pick, read and checked (what the steps work on).

    The angle map's index range (:func:`~cryotm.picking.index_range.check_index_base`)
    may still be checked in a second thread while the scores are read:
    :meth:`wait` (or the first use of :attr:`angle_map`) waits for it and
    raises what it found.
    """

    scores: ScoresMap
    _angle_map: AngleMap = attrs.field(alias="angle_map")
    angles: AngleList
    mask: MaskMap | None
    unchecked: bool
    _index_check: Background | None = attrs.field(default=None, alias="index_check")

    @property
    def angle_map(self) -> AngleMap:
        """The angle map, once its index range is known to fit the angle list."""
        self.wait()
        return self._angle_map

    def wait(self) -> None:
        """Wait for the check of the angle map's index base, if it runs in a second thread; raise its error."""
        if self._index_check is not None:
            self._index_check.result()


def open_inputs(
    scores_map: ScoresMap | str | os.PathLike | np.ndarray,
    angle_map: AngleMap | str | os.PathLike | np.ndarray,
    angle_list: AngleList | str | os.PathLike | np.ndarray,
    tomo_mask: MaskMap | str | os.PathLike | np.ndarray | None = None,
    angles_order: str = "zxz",
    index_base: int | None = None,
    slab_voxels: int = 1 << 20,
) -> PickInputs:
    """Open the maps (memory-mapped), read the angle list, check the shapes and the index base.

    A scores map read from a file here is checked for NaN/inf later, in the
    pass that reads it anyway (:attr:`PickInputs.unchecked`). An AngleList
    keeps its own index base unless `index_base` names one; a path or array
    gets 0. On two processors a large angle map's index range is checked in
    a second thread (see :class:`PickInputs`).
    """
    if isinstance(scores_map, (str, os.PathLike)):
        scores = open_scores(scores_map)
    else:
        scores = ScoresMap.coerce(scores_map, mmap=True)
    angles_map = AngleMap.coerce(angle_map, mmap=True)
    scores.check_same_shape(angles_map, "angle map")
    if isinstance(angles_map.data, np.memmap):
        # the index check reads the whole map: the picked voxels' indices are then read from the mapping
        # (a plain view of it) rather than with one pread per voxel, as for a map nothing has read yet
        angles_map = attrs.evolve(angles_map, data=np.asarray(angles_map.data))
    angles = AngleList.coerce(angle_list, order=angles_order, index_base=index_base)
    mask = None
    if tomo_mask is not None:
        mask = MaskMap.coerce(tomo_mask, mmap=True)
        scores.check_same_shape(mask, "tomogram mask")
    check = (angles_map, angles, scores, mask, slab_voxels)
    index_check = None
    if processors() > 1 and angles_map.data.size > 2 * slab_voxels:
        index_check = Background(check_index_base, *check)  # while the threshold reads the scores
    else:
        check_index_base(*check)
    return PickInputs(scores, angles_map, angles, mask, isinstance(scores, UncheckedScoresMap), index_check)


def checked_rows(rows: Any, n: int, picker: str) -> np.ndarray:
    """The suppression step's rows, checked: whole numbers, rows of the candidates, each once."""
    array = np.asarray(rows)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise CryotmError(f"{picker}.suppress must return a 1-D array of candidate rows, got {array.dtype} {array.shape}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= n):
        raise CryotmError(f"{picker}.suppress returned a row outside the {n} candidates")
    seen = np.zeros(n, dtype=bool)
    seen[array] = True
    if np.count_nonzero(seen) != array.size:
        raise CryotmError(f"{picker}.suppress returned a candidate row twice")
    return array
