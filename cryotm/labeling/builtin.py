"""cryotm's own labelers (peak-shape evaluation), registered through the plugin hook."""

from ..plugins import hookimpl


@hookimpl
def cryotm_labelers():
    return []
