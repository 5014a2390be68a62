"""Labelers of peak-shape evaluation: ellipsoid, central planes, central component."""

from .base import AxisSizes, Labeler, Labeling, central_component, get_labeler, labelers
from .central import CentralLabeler
from .ellipsoid import EllipsoidFit, EllipsoidLabeler, fill_ellipsoid, fit_ellipsoid
from .plane import PlaneLabeler

__all__ = [
    "AxisSizes",
    "Labeler",
    "Labeling",
    "central_component",
    "get_labeler",
    "labelers",
    "CentralLabeler",
    "PlaneLabeler",
    "EllipsoidLabeler",
    "EllipsoidFit",
    "fit_ellipsoid",
    "fill_ellipsoid",
]
