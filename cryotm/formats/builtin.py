"""cryotm's own particle-list formats, registered through the plugin hooks like any plugin."""

from ..plugins import hookimpl
from .dynamo import DynamoReader, DynamoWriter
from .emmotl import EmMotlReader, EmMotlWriter
from .relion4 import Relion4Reader, Relion4Writer
from .relion5 import Relion5Reader, Relion5Writer
from .relion30 import Relion30Reader, Relion30Writer
from .relion31 import Relion31Reader, Relion31Writer
from .stopgap import StopgapReader, StopgapWriter
from .table import TableReader, TableWriter


@hookimpl
def cryotm_motl_writers():
    return [
        EmMotlWriter,
        StopgapWriter,
        Relion30Writer,
        Relion31Writer,
        Relion4Writer,
        Relion5Writer,
        DynamoWriter,
        TableWriter,
    ]


@hookimpl
def cryotm_motl_readers():
    # Order matters only for files that several could read (.star): each sniff is specific.
    return [
        EmMotlReader,
        StopgapReader,
        Relion5Reader,
        Relion4Reader,
        Relion31Reader,
        Relion30Reader,
        DynamoReader,
        TableReader,
    ]
