"""cryotm's own map formats, registered like any plugin."""

from ..plugins import hookimpl
from .formats import EmFormat, MrcFormat
from .zarr import ZarrFormat


@hookimpl
def cryotm_map_formats():
    return [MrcFormat, EmFormat, ZarrFormat]
