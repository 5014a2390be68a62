"""cryotm's own labelers (peak-shape evaluation), registered through the plugin hook."""

from ..plugins import hookimpl
from .central import CentralLabeler
from .ellipsoid import EllipsoidLabeler
from .plane import PlaneLabeler


@hookimpl
def cryotm_labelers():
    return [EllipsoidLabeler, PlaneLabeler, CentralLabeler]
