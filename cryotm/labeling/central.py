"""``central``: the connected component around the peak and its extents (cryoCAT's ``get_central_label``)."""

from __future__ import annotations

import attrs
import numpy as np

from .base import AxisSizes, Labeler, Labeling, central_component, touches_border

__all__ = ["CentralLabeler"]


def _extent(line: np.ndarray) -> int:
    hits = np.flatnonzero(line)
    return int(hits[-1] - hits[0] + 1)


@attrs.define
class CentralLabeler(Labeler):
    """The face-connected component of above-threshold voxels that holds the peak.

    Sizes are the component's extents along the lines through the peak
    parallel to x, y and z (first to last voxel on each line, gaps
    included), as cryoCAT measures them. ``details["bounding_box"]`` gives
    the component's full extents (x, y, z) too.

    Examples
    --------
    >>> above = np.zeros((7, 9, 11), dtype=bool)
    >>> above[2:5, 3:6, 2:9] = True
    >>> CentralLabeler().label(above, (3, 4, 5)).sizes
    AxisSizes(x=7.0, y=3.0, z=3.0)
    """

    name = "central"
    description = "the connected component around the peak and its extents through the peak"

    def label(self, above, peak_zyx) -> Labeling:
        component = central_component(above, peak_zyx)
        z, y, x = (int(v) for v in peak_zyx)
        sizes = AxisSizes(
            x=float(_extent(component[z, y, :])),
            y=float(_extent(component[z, :, x])),
            z=float(_extent(component[:, y, x])),
        )
        zyx = np.argwhere(component)
        span = zyx.max(axis=0) - zyx.min(axis=0) + 1
        return Labeling(
            mask=component,
            sizes=sizes,
            component=component,
            touches_border=touches_border(component),
            details={"bounding_box": AxisSizes(x=float(span[2]), y=float(span[1]), z=float(span[0])),
                     "n_voxels": int(len(zyx))},
        )
