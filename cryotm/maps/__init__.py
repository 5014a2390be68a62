"""Maps: scores, angle-index and mask volumes, and their file formats (MRC, EM)."""

from .em import read_em, write_em
from .formats import EmFormat, MapFormat, MrcFormat, map_format_for, read_map, write_map
from .volume import AngleMap, MaskMap, ScoresMap, Volume

__all__ = [
    "Volume",
    "ScoresMap",
    "AngleMap",
    "MaskMap",
    "MapFormat",
    "MrcFormat",
    "EmFormat",
    "map_format_for",
    "read_map",
    "write_map",
    "read_em",
    "write_em",
]
