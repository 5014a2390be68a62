"""Tilt-series geometry: alignments as cryotypes ProjectionModels, particles projected into tilt images,
and the pick filters that geometry gives (visibility, gold-bead shadows).

Readers of RELION 5, IMOD, AreTomo and Warp alignments are registered through
the ``cryotm_alignment_readers`` hook (a plugin adds its own the same way);
:func:`read_alignment` picks the reader from the file. See the conventions
page of the docs for each program's convention.
"""

from .alignment import TiltSeriesAlignment, make_projection_model
from .projection import PROJECTION_COLUMNS, inside_image, project_particles, project_points
from .readers import AlignmentReader, alignment_readers, read_alignment, read_alignments
from .relion5 import write_relion5_tilt_series, write_relion5_tomograms

__all__ = [
    "TiltSeriesAlignment",
    "make_projection_model",
    "project_points",
    "project_particles",
    "inside_image",
    "PROJECTION_COLUMNS",
    "AlignmentReader",
    "alignment_readers",
    "read_alignment",
    "read_alignments",
    "write_relion5_tilt_series",
    "write_relion5_tomograms",
]
