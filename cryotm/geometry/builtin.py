"""cryotm's own alignment readers and geometric pick filters, registered through the plugin hooks like any plugin."""

from ..plugins import hookimpl
from .aretomo import AretomoAlignmentReader
from .filters import FiducialExclusion, VisibleTilts
from .imod import ImodAlignmentReader
from .relion5 import Relion5AlignmentReader
from .warp import WarpAlignmentReader


@hookimpl
def cryotm_alignment_readers():
    # Order matters only where several could read a file; each sniff is specific.
    return [Relion5AlignmentReader, ImodAlignmentReader, AretomoAlignmentReader, WarpAlignmentReader]


@hookimpl
def cryotm_pick_filters():
    return [VisibleTilts, FiducialExclusion]
