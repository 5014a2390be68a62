"""Pipelines: a threshold strategy, a picker, pick filters and a writer, composed and recorded.

Build one in Python (:class:`Pipeline`) or from a TOML config
(:func:`load_pipeline`); run it on one tomogram's files
(:class:`TomogramInputs`) with :meth:`Pipeline.run`, which writes the
particles and a record of the run next to them; :func:`repeat_run` repeats a
recorded run exactly. :mod:`cryotm.batch` runs a pipeline over many tomograms.
"""

from .config import input_defaults, load_config, load_pipeline, pipeline_from_config
from .filters import (
    EdgeMargin,
    FilterContext,
    MaskFilter,
    MaxParticles,
    MinScore,
    PickFilter,
    get_filter,
)
from .inputs import TomogramInputs
from .pipeline import DEFAULT_THRESHOLD, PickResult, Pipeline, RunResult
from .record import (
    RECORD_SUFFIX,
    expected_fingerprint,
    output_is_valid,
    read_record,
    record_path_for,
    repeat_run,
    write_record,
)

__all__ = [
    "Pipeline",
    "PickResult",
    "RunResult",
    "DEFAULT_THRESHOLD",
    "TomogramInputs",
    "PickFilter",
    "FilterContext",
    "MinScore",
    "MaxParticles",
    "EdgeMargin",
    "MaskFilter",
    "get_filter",
    "load_config",
    "load_pipeline",
    "pipeline_from_config",
    "input_defaults",
    "RECORD_SUFFIX",
    "record_path_for",
    "expected_fingerprint",
    "read_record",
    "write_record",
    "output_is_valid",
    "repeat_run",
]
