"""cryotm's own map formats, registered like any plugin."""

from ..plugins import hookimpl
from .formats import EmFormat, MrcFormat


@hookimpl
def cryotm_map_formats():
    return [MrcFormat, EmFormat]
