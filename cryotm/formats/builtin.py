"""cryotm's own particle-list formats, registered through the plugin hooks like any plugin."""

from ..plugins import hookimpl


@hookimpl
def cryotm_motl_writers():
    return []


@hookimpl
def cryotm_motl_readers():
    return []
