"""Pipelines: a threshold strategy, a picker, pick filters and a writer, composed and recorded.

Build one in Python (:class:`Pipeline`) or from a TOML config
(:func:`load_pipeline`); run it on one tomogram's files
(:class:`TomogramInputs`) with :meth:`Pipeline.run`, which writes the
particles and a record of the run next to them; :func:`repeat_run` repeats a
recorded run exactly. :mod:`cryotm.batch` runs a pipeline over many tomograms.
"""

from .._lazy import lazy_attributes

#: public name -> the module that defines it (loaded on first use: a pick filter's module needs
#: ``cryotm.pipeline.filters`` only, not the configs and records)
_LAZY: dict[str, str] = {
    "Pipeline": ".pipeline",
    "PickResult": ".pipeline",
    "RunResult": ".pipeline",
    "DEFAULT_THRESHOLD": ".pipeline",
    "TomogramInputs": ".inputs",
    "PickFilter": ".filters",
    "FilterContext": ".filters",
    "MinScore": ".filters",
    "MaxParticles": ".filters",
    "EdgeMargin": ".filters",
    "MaskFilter": ".filters",
    "get_filter": ".filters",
    "load_config": ".config",
    "load_pipeline": ".config",
    "pipeline_from_config": ".config",
    "input_defaults": ".config",
    "RECORD_SUFFIX": ".record",
    "record_path_for": ".record",
    "expected_fingerprint": ".record",
    "read_record": ".record",
    "write_record": ".record",
    "output_is_valid": ".record",
    "repeat_run": ".record",
}

__all__ = list(_LAZY)
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
