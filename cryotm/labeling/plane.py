"""``plane``: ellipses fitted to the peak in the three central planes (cryoCAT's ``get_central_plane_labels``).

In each of the planes XY (at the peak's z), YZ (at its x) and XZ (at its
y), the face-connected component of above-threshold pixels that holds the
peak gets an ellipse with the same second moments (scikit-image
``regionprops``); the label is the three drawn ellipses. Each axis is seen
in two planes: its size is the mean of the two ellipse axis lengths along it.

Differences from cryoCAT, on purpose:

- cryoCAT stacks the three planes into an ``(nx, ny, 3)`` array, so it only
  works on cubic maps (other shapes raise or draw in the wrong place); here
  each plane keeps its own shape and ellipses are clipped to it.
- cryoCAT gives an ellipse's major axis to one in-plane axis or the other by
  the *sign* of its orientation, so a peak elongated along x may be reported
  as elongated along y; here the major axis goes to the in-plane axis it is
  closer to (``|orientation| <= pi/4``: the plane's row axis).
"""

from __future__ import annotations

import attrs
import numpy as np

from .base import AxisSizes, Labeler, Labeling, _check_inputs, touches_border

__all__ = ["PlaneLabeler", "fit_plane_ellipse"]

#: plane name -> (row axis, column axis) of the 2D slice in cryotm's order
PLANE_AXES = {"xy": ("y", "x"), "yz": ("z", "y"), "xz": ("z", "x")}
_REPORTED = ("centroid", "major", "minor", "orientation", "row_length", "col_length")


def fit_plane_ellipse(above_2d: np.ndarray, peak_rc: tuple[int, int]) -> dict:
    """The moment ellipse of the 4-connected component of `above_2d` holding `peak_rc`.

    Returns
    -------
    dict
        ``centroid`` (row, col), ``major``, ``minor`` (full axis lengths),
        ``orientation`` (angle between the row axis and the major axis,
        radians, as scikit-image), ``mask`` (the drawn ellipse, clipped to the
        plane), ``component`` and ``row_length``/``col_length`` (the axis
        lengths given to the row and column axis).
    """
    from skimage import draw, measure  # scikit-image loads only where a labeling runs

    labels = measure.label(above_2d, background=0, connectivity=1)
    component = labels == labels[peak_rc]
    props = measure.regionprops(component.astype(np.uint8))[0]
    major, minor, orientation = float(props.axis_major_length), float(props.axis_minor_length), float(props.orientation)
    # a component one pixel wide has a zero moment axis (its moment ellipse is a line): skimage
    # then divides by zero and draws nothing, so the label is the component itself
    with np.errstate(divide="ignore", invalid="ignore"):
        rr, cc = draw.ellipse(
            props.centroid[0], props.centroid[1], major * 0.5, minor * 0.5, shape=above_2d.shape, rotation=orientation
        )
    if minor > 0:
        mask = np.zeros(above_2d.shape, dtype=bool)
        mask[rr, cc] = True
        mask[peak_rc] = True  # the peak always belongs to its label
    else:
        mask = component.copy()
    along_rows = abs(orientation) <= np.pi / 4
    return {
        "centroid": (float(props.centroid[0]), float(props.centroid[1])),
        "major": major,
        "minor": minor,
        "orientation": orientation,
        "row_length": major if along_rows else minor,
        "col_length": minor if along_rows else major,
        "mask": mask,
        "component": component,
    }


@attrs.define
class PlaneLabeler(Labeler):
    """Ellipses fitted to the peak's component in the central XY, YZ and XZ planes.

    Sizes are full ellipse axis lengths (voxels), each axis averaged over the
    two planes that contain it (cryoCAT calls them half-lengths, but they are
    the mean of two full lengths). ``details["planes"]`` holds each plane's
    ellipse (centroid in the plane's (row, column) = ``PLANE_AXES`` order).

    Examples
    --------
    >>> zz, yy, xx = np.mgrid[:21, :23, :25]
    >>> above = (xx - 12) ** 2 / 36 + (yy - 11) ** 2 / 9 + (zz - 10) ** 2 / 16 <= 1
    >>> sizes = PlaneLabeler().label(above, (10, 11, 12)).sizes
    >>> [round(s) for s in sizes]
    [12, 6, 8]
    """

    name = "plane"
    description = "ellipses fitted to the peak's component in the central XY, YZ and XZ planes"

    def label(self, above, peak_zyx) -> Labeling:
        above, (z, y, x) = _check_inputs(above, peak_zyx)
        planes = {
            "xy": (above[z, :, :], (y, x)),
            "yz": (above[:, :, x], (z, y)),
            "xz": (above[:, y, :], (z, x)),
        }
        fits = {name: fit_plane_ellipse(plane, rc) for name, (plane, rc) in planes.items()}
        mask = np.zeros(above.shape, dtype=bool)
        mask[z, :, :] |= fits["xy"]["mask"]
        mask[:, :, x] |= fits["yz"]["mask"]
        mask[:, y, :] |= fits["xz"]["mask"]
        lengths: dict[str, list[float]] = {"x": [], "y": [], "z": []}
        for name, fit in fits.items():
            rows, cols = PLANE_AXES[name]
            lengths[rows].append(fit["row_length"])
            lengths[cols].append(fit["col_length"])
        sizes = AxisSizes(**{axis: float(np.mean(values)) for axis, values in lengths.items()})
        border = any(touches_border(fit["component"]) for fit in fits.values())
        details = {
            "planes": {
                name: {key: fit[key] for key in _REPORTED}
                for name, fit in fits.items()
            },
            "plane_axes": PLANE_AXES,
        }
        return Labeling(mask=mask, sizes=sizes, touches_border=border, details=details)
