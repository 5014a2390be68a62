"""``ellipsoid``: a least-squares ellipsoid fitted to the peak's surface (cryoCAT's ``get_ellipsoid_label``).

The face-connected component of above-threshold voxels holding the peak is
turned into a surface by marching cubes (level 0.5); an ellipsoid is fitted
to the surface vertices by linear least squares on the quadric's
coefficients (the formulation of cryoCAT's ``geom.fit_ellipsoid``, after
Yury Petrov's ``ellipsoid_fit``); the label is the filled ellipsoid.
"""

from __future__ import annotations

import attrs
import numpy as np

from ..errors import InputError
from .base import AxisSizes, Labeler, Labeling, central_component, touches_border

__all__ = ["EllipsoidLabeler", "EllipsoidFit", "fit_ellipsoid", "fill_ellipsoid"]


@attrs.frozen(eq=False)
class EllipsoidFit:
    """An ellipsoid, in the coordinate order of the points it was fitted to.

    Attributes
    ----------
    center : ndarray, shape (3,)
    radii : ndarray, shape (3,)
        Semi-axis lengths, one per row of `axes`.
    axes : ndarray, shape (3, 3)
        Unit principal directions, one per row.
    coefficients : ndarray, shape (10,)
        The quadric ``A x^2 + B y^2 + C z^2 + 2D xy + 2E xz + 2F yz + 2G x + 2H y + 2I z + J``.
    """

    center: np.ndarray
    radii: np.ndarray
    axes: np.ndarray
    coefficients: np.ndarray


def fit_ellipsoid(points: np.ndarray) -> EllipsoidFit:
    """Fit an ellipsoid to 3D points by linear least squares (constraint A + B + C = 3).

    The constraint is symmetric in the three coordinates, so fitting points
    given as (z, y, x) gives the same ellipsoid as fitting them as (x, y, z).

    Raises
    ------
    InputError
        Too few points, a singular system, or a quadric that is not an
        ellipsoid (a radius comes out imaginary).

    Examples
    --------
    >>> t, p = np.meshgrid(np.linspace(0, np.pi, 20), np.linspace(0, 2 * np.pi, 40))
    >>> pts = np.c_[(3 * np.sin(t) * np.cos(p)).ravel(), (2 * np.sin(t) * np.sin(p)).ravel(), np.cos(t).ravel()]
    >>> np.round(sorted(fit_ellipsoid(pts + 5).radii), 6).tolist()
    [1.0, 2.0, 3.0]
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) < 9:
        raise InputError(f"an ellipsoid fit needs at least 9 points in 3D, got {points.shape}")
    x, y, z = points.T
    design = np.array(
        [
            x * x + y * y - 2 * z * z,
            x * x + z * z - 2 * y * y,
            2 * x * y,
            2 * x * z,
            2 * y * z,
            2 * x,
            2 * y,
            2 * z,
            np.ones_like(x),
        ]
    )
    rhs = x * x + y * y + z * z
    try:
        u = np.linalg.solve(design @ design.T, design @ rhs)
    except np.linalg.LinAlgError:
        raise InputError("the ellipsoid fit is singular (the surface is degenerate, e.g. flat)") from None
    v = np.concatenate([[u[0] + u[1] - 1, u[0] - 2 * u[1] - 1, u[1] - 2 * u[0] - 1], u[2:]])
    quadric = np.array(
        [[v[0], v[3], v[4], v[6]], [v[3], v[1], v[5], v[7]], [v[4], v[5], v[2], v[8]], [v[6], v[7], v[8], v[9]]]
    )
    try:
        center = np.linalg.solve(-quadric[:3, :3], v[6:9])
    except np.linalg.LinAlgError:
        raise InputError("the fitted quadric has no centre (not an ellipsoid)") from None
    translation = np.eye(4)
    translation[3, :3] = center
    centred = translation @ quadric @ translation.T
    evals, evecs = np.linalg.eigh(centred[:3, :3] / -centred[3, 3])
    if not np.all(evals > 0):
        raise InputError(f"the fitted quadric is not an ellipsoid (eigenvalues {evals})")
    return EllipsoidFit(center=center, radii=1.0 / np.sqrt(evals), axes=evecs.T, coefficients=v)


def fill_ellipsoid(shape: tuple[int, int, int], fit: EllipsoidFit) -> np.ndarray:
    """Boolean map of the voxels inside `fit` (fitted in the map's own index order)."""
    grid = np.indices(shape, dtype=np.float64).reshape(3, -1).T - fit.center
    scaled = (grid @ fit.axes.T) / fit.radii
    return (np.einsum("ij,ij->i", scaled, scaled) <= 1.0).reshape(shape)


@attrs.define
class EllipsoidLabeler(Labeler):
    """An ellipsoid fitted to the surface of the peak's connected component.

    Sizes are full axis lengths (twice the radii), each principal axis given
    to the coordinate axis it is most aligned with (one principal axis per
    coordinate axis; cryoCAT picks the best principal axis for each
    coordinate axis independently, which can use one twice for an oblique
    ellipsoid). ``details`` holds ``center`` and ``axes`` in (x, y, z)
    order, ``radii`` and the quadric ``coefficients`` (in the map's z, y, x
    order).

    Examples
    --------
    >>> zz, yy, xx = np.mgrid[:31, :33, :35]
    >>> above = (xx - 17) ** 2 / 64 + (yy - 16) ** 2 / 25 + (zz - 15) ** 2 / 36 <= 1
    >>> sizes = EllipsoidLabeler().label(above, (15, 16, 17)).sizes
    >>> [round(s) for s in sizes]
    [16, 10, 12]
    """

    name = "ellipsoid"
    description = "an ellipsoid fitted to the surface of the peak's connected component"

    def label(self, above, peak_zyx) -> Labeling:
        component = central_component(above, peak_zyx)
        if component.sum() < 2:
            raise InputError("the component around the peak is a single voxel: no surface to fit an ellipsoid to")
        from skimage import measure  # scikit-image loads only where a labeling runs

        verts, _, _, _ = measure.marching_cubes(component.astype(np.float32), level=0.5)
        surface = np.zeros(component.shape, dtype=bool)
        index = np.round(verts).astype(int)
        surface[index[:, 0], index[:, 1], index[:, 2]] = True
        fit = fit_ellipsoid(verts)  # in (z, y, x)
        # principal axis -> coordinate axis (z, y, x), one to one, by alignment
        from scipy.optimize import linear_sum_assignment  # scipy.optimize loads only where a labeling runs

        rows, cols = linear_sum_assignment(-np.abs(fit.axes))
        lengths_zyx = np.empty(3)
        lengths_zyx[cols] = 2.0 * fit.radii[rows]
        sizes = AxisSizes(x=float(lengths_zyx[2]), y=float(lengths_zyx[1]), z=float(lengths_zyx[0]))
        mask = fill_ellipsoid(component.shape, fit)
        details = {
            "center": tuple(float(c) for c in fit.center[::-1]),
            "radii": tuple(float(r) for r in fit.radii),
            "axes": fit.axes[:, ::-1].copy(),
            "coefficients": fit.coefficients,
            "n_vertices": int(len(verts)),
        }
        return Labeling(
            mask=mask,
            sizes=sizes,
            surface=surface,
            component=component,
            touches_border=touches_border(component),
            details=details,
        )
