"""The extension surface of cryotm: one function per hook.

A plugin is a module (or object) with functions of these names, marked with
:data:`cryotm.hookimpl`, and made known through the ``cryotm`` entry-point
group (or :meth:`pluggy.PluginManager.register`). cryotm's own threshold
rules, labelers and formats are registered through these very hooks (see
:data:`cryotm.plugins.DEFAULT_PLUGINS`).

Each "contribute" hook returns a list of classes; each class carries a unique
``name`` (the word users type: ``--threshold far``, ``--format relion5``) and
may carry a one-line ``description`` (shown by ``cryotm plugins -v``). Every
plugin is validated once, when registered (see :mod:`cryotm.plugins`); hooks
are called through ``pm.hook``, so ``tryfirst``/``trylast`` order them, and
the built-ins come last, so a plugin may replace one by contributing its name.
Helpers for plugin authors are in :mod:`cryotm.extend`.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("cryotm")


@hookspec
def cryotm_threshold_strategies():
    """Return a list of :class:`cryotm.thresholds.ThresholdStrategy` subclasses."""


@hookspec
def cryotm_labelers():
    """Return a list of :class:`cryotm.labeling.Labeler` subclasses (peak-shape labelings)."""


@hookspec
def cryotm_motl_writers():
    """Return a list of :class:`cryotm.formats.MotlWriter` subclasses (particle-list output formats)."""


@hookspec
def cryotm_motl_readers():
    """Return a list of :class:`cryotm.formats.MotlReader` subclasses (particle-list input formats)."""


@hookspec
def cryotm_map_formats():
    """Return a list of :class:`cryotm.maps.MapFormat` subclasses (volume file formats such as MRC, EM)."""


@hookspec
def cryotm_alignment_readers():
    """Return a list of :class:`cryotm.geometry.AlignmentReader` subclasses (tilt-series alignment formats)."""


@hookspec
def cryotm_pick_filters():
    """Return a list of pick-filter classes (:class:`cryotm.pipeline.PickFilter` subclasses with a ``name``)."""


@hookspec
def cryotm_batch_sources():
    """Return a list of :class:`cryotm.batch.BatchSource` subclasses (batch inputs such as ``copick://`` projects)."""
