"""The picker's own reading of score maps: the NaN/inf check made while reading.

``ScoresMap`` checks every voxel for NaN/inf when it is made; the picker
reads every voxel anyway (statistics, candidates), so for a map it opens
itself it makes the check there, slab by slab, instead of in a separate
pass (:class:`UncheckedScoresMap` with :func:`cryotm.maps._access.check_finite`).
"""

from __future__ import annotations

import os

import attrs

from ..errors import InputError
from ..maps import ScoresMap
from ..maps._access import check_finite, raise_non_finite

__all__ = ["UncheckedScoresMap", "check_finite", "raise_non_finite", "open_scores"]


@attrs.define(eq=False, repr=False)
class UncheckedScoresMap(ScoresMap):
    """A scores map whose NaN/inf check is left to the code that reads all of it.

    Only :class:`~cryotm.picking.PeakPicker` makes these, for maps it reads
    from files itself; it calls :func:`check_finite` (or checks each slab as
    it reads it) before anything else uses the values.
    """

    def validate(self) -> None:
        if self.data.dtype.kind not in "fiub":
            raise InputError(f"scores map has non-numeric dtype {self.data.dtype}", self.source)


def open_scores(path: str | os.PathLike) -> ScoresMap:
    """Memory-map a scores map file, leaving the NaN/inf check to the reader (see module doc)."""
    return UncheckedScoresMap.read(path, mmap=True)
