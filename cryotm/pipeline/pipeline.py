"""The pipeline: threshold strategy -> picker -> pick filters -> writer, recorded.

A :class:`Pipeline` holds the parts of one extraction as objects - any
:class:`~cryotm.thresholds.ThresholdStrategy` (a user's subclass too), a
picker (:class:`~cryotm.picking.PeakPicker` or any object with the same
``pick`` method), optional pick filters and a particle-list writer - and runs
them on one tomogram. Every run that writes a file also writes a record next
to it (``<output>.cryotm.json``) with the pipeline's full parameters, the
cryotm version, the inputs and the threshold found, so that the run can be
repeated exactly (:func:`~cryotm.pipeline.record.repeat_run`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..angles import AngleList
from ..errors import CryotmError
from ..formats import MotlWriter, writer_for
from ..maps import AngleMap, MaskMap, ScoresMap
from ..particles import ParticleList
from ..thresholds import (
    SearchStatistics,
    ThresholdResult,
    ThresholdStrategy,
    get_threshold_strategy,
)
from .filters import FilterContext
from .inputs import TomogramInputs
from .serialize import describe

__all__ = ["Pipeline", "PickResult", "RunResult", "DEFAULT_THRESHOLD"]

#: The threshold a pipeline uses unless told otherwise: one expected noise peak per tomogram
#: (:class:`~cryotm.thresholds.CalibratedThreshold`), the default of every command.
DEFAULT_THRESHOLD = "calibrated"

PickFilterLike = Callable[[ParticleList, FilterContext], ParticleList]


def _as_strategy(value: Any) -> ThresholdStrategy:
    return get_threshold_strategy(value)


def _as_writer(value: Any) -> MotlWriter | None:
    if value is None or isinstance(value, MotlWriter):
        return value
    if isinstance(value, str):
        return writer_for(format=value)
    raise CryotmError(f"writer must be a format name or a MotlWriter, got {value!r}")


def _as_filters(value: Any) -> tuple[PickFilterLike, ...]:
    filters = tuple(value or ())
    for item in filters:
        if not callable(item):
            raise CryotmError(f"pick filter {item!r} is not callable (filter(particles, context))")
    return filters


def _default_threshold() -> ThresholdStrategy:
    return get_threshold_strategy(DEFAULT_THRESHOLD)


@attrs.frozen
class PickResult:
    """The particles of one tomogram and the threshold that found them."""

    particles: ParticleList
    threshold: ThresholdResult


@attrs.frozen
class RunResult:
    """The outcome of :meth:`Pipeline.run`: particles, threshold, output file and record."""

    particles: ParticleList
    threshold: ThresholdResult
    output: Path | None
    record: dict[str, Any]
    record_path: Path | None
    seconds: float


@attrs.define
class Pipeline:
    """Threshold strategy, picker, pick filters and writer, composed.

    Parameters
    ----------
    picker : PeakPicker or object with ``pick``
        Extracts particles above the threshold. A
        :class:`~cryotm.picking.PeakPicker` is run with the pipeline's
        strategy (so its own ``threshold``, ``scores_threshold`` and
        ``sigma_threshold`` must be left unset); any other object is
        called as ``picker.pick(scores, angle_map, angle_list, tomo_id=...,
        threshold=ManualThreshold(value), tomo_mask=mask)``.
    threshold : str, float or ThresholdStrategy
        How the threshold is found (``"far"``, ``"sigma:3"``, ``0.2``, or a
        strategy object, your own subclass included). Default ``"calibrated"``.
    filters : sequence of callables
        Applied in order to the picked particles:
        ``filter(particles, FilterContext) -> ParticleList`` (see
        :mod:`cryotm.pipeline.filters`).
    writer : str or MotlWriter, optional
        The output format (a name such as ``"relion5"`` or a writer object
        with its options). Needed by :meth:`run` when it writes a file.

    Examples
    --------
    A small synthetic tomogram with four planted particles, written as a
    template-matching program would leave it:

    >>> import os, tempfile
    >>> from cryotm import make_scene
    >>> from cryotm.picking import PeakPicker
    >>> from cryotm.pipeline import MinScore, Pipeline, TomogramInputs
    >>> folder = tempfile.mkdtemp()
    >>> scene = make_scene(shape=(32, 40, 48), n_peaks=4, n_angles=30, seed=2, min_distance=12)
    >>> paths = scene.write(folder)
    >>> inputs = TomogramInputs("tomo1", paths["scores"], paths["angles"], paths["angle_list"])

    ``sigma:3`` lets noise peaks through; a minimum score drops them:

    >>> pipe = Pipeline(PeakPicker(particle_diameter=10), threshold="sigma:3",
    ...                 filters=[MinScore(0.2)], writer="relion5")
    >>> len(Pipeline(PeakPicker(particle_diameter=10), threshold="sigma:3").pick(
    ...     scene.scores, scene.angle_map, scene.angles).particles)
    12
    >>> result = pipe.run(inputs, output=os.path.join(folder, "tomo1.star"))
    >>> len(result.particles), result.threshold.strategy, result.record["output"]["format"]
    (4, 'sigma', 'relion5')
    >>> sorted(name for name in os.listdir(folder) if name.startswith("tomo1"))
    ['tomo1.star', 'tomo1.star.cryotm.json']
    """

    picker: Any
    threshold: ThresholdStrategy = attrs.field(factory=_default_threshold, converter=_as_strategy)
    filters: tuple[PickFilterLike, ...] = attrs.field(factory=tuple, converter=_as_filters)
    writer: MotlWriter | None = attrs.field(default=None, converter=_as_writer)

    def __attrs_post_init__(self) -> None:
        if not callable(getattr(self.picker, "pick", None)):
            raise CryotmError(f"picker {self.picker!r} has no pick() method")
        _check_unused_threshold(self.picker)

    # -- running ------------------------------------------------------------------------
    def evaluate_threshold(
        self,
        scores: ScoresMap | np.ndarray,
        mask: MaskMap | np.ndarray | None = None,
        statistics: SearchStatistics | None = None,
    ) -> ThresholdResult:
        """Evaluate the pipeline's threshold strategy on `scores` (inside `mask`)."""
        mask_array = _mask_array(mask)
        return self.threshold.evaluate(scores, mask=mask_array, statistics=statistics)

    def pick(
        self,
        scores: ScoresMap | np.ndarray | str | os.PathLike,
        angle_map: AngleMap | np.ndarray | str | os.PathLike,
        angle_list: AngleList | np.ndarray | str | os.PathLike,
        mask: MaskMap | np.ndarray | str | os.PathLike | None = None,
        statistics: SearchStatistics | None = None,
        tomo_id: int = 1,
        offset: Sequence[float] = (0.0, 0.0, 0.0),
        tomogram_shape: tuple[int, int, int] | None = None,
        experiment_id: str | None = None,
    ) -> PickResult:
        """Threshold, pick and filter the particles of one tomogram (nothing is written).

        Parameters
        ----------
        scores, angle_map, angle_list, mask
            Maps (objects, arrays or files) and the angle list.
        statistics : SearchStatistics, optional
            Handed to the threshold strategy (the ``far`` rule uses it); the
            number of rotations defaults to the angle list's length.
        tomo_id : int
            Tomogram number written into the particle list.
        offset : (x, y, z)
            Added to the picked positions (maps that cover part of a tomogram).
        tomogram_shape : (nz, ny, nx), optional
            Shape of the whole tomogram (default: the scores map's).
        experiment_id : str, optional
            Tomogram name (default: the scores map's).
        """
        scores = ScoresMap.coerce(scores, mmap=True)
        angle_map = AngleMap.coerce(angle_map, mmap=True)
        angle_list = AngleList.coerce(angle_list)
        scores.check_same_shape(angle_map, "angle map")
        mask_map = None
        if mask is not None:
            mask_map = MaskMap.coerce(mask, mmap=True)
            scores.check_same_shape(mask_map, "mask")
        statistics = _with_angle_count(statistics, len(angle_list))
        particles, threshold = _call_picker(self, scores, angle_map, angle_list, statistics, mask_map, tomo_id)
        context = FilterContext(shape=scores.shape, mask=None if mask_map is None else mask_map.data,
                                name=str(experiment_id if experiment_id is not None else scores.experiment_id or ""))
        for pick_filter in self.filters:
            particles = pick_filter(particles, context)
        particles = _place(
            particles,
            offset=offset,
            pixel_size=scores.pixel_size,
            experiment_id=experiment_id if experiment_id is not None else scores.experiment_id,
            tomogram_shape=tomogram_shape if tomogram_shape is not None else scores.shape,
        )
        return PickResult(particles=particles, threshold=threshold)

    def run(
        self,
        inputs: TomogramInputs,
        output: str | os.PathLike | None = None,
        overwrite: bool = False,
    ) -> RunResult:
        """Run the pipeline on one tomogram's files; write `output` and its record.

        The particle list is written atomically with :attr:`writer`, then the
        record ``<output>.cryotm.json`` (also atomically). Without `output`,
        nothing is written and the record is only returned.

        Raises
        ------
        CryotmError
            Bad inputs, or `output` given without a writer.
        """
        from .record import build_record, claim_record, record_path_for, write_record

        if output is not None and self.writer is None:
            raise CryotmError("the pipeline has no writer: give one (a format name) to write particles")
        from .._atomic import check_writable
        from ..sanity import check_inputs

        if output is not None:
            check_writable(output, overwrite)  # before the work, not after
        start = time.perf_counter()
        inputs.check_files()
        scores = inputs.read_scores()
        angle_map, angle_list = inputs.read_angles(), inputs.read_angle_list()
        check_inputs(scores, angle_map, angle_list, order=inputs.angles_order,
                     diameter=getattr(self.picker, "particle_diameter", None), pixel_size=inputs.pixel_size)
        result = self.pick(
            scores,
            angle_map,
            angle_list,
            mask=inputs.read_mask(scores.shape),
            statistics=inputs.statistics,
            tomo_id=inputs.tomo_id,
            offset=inputs.offset,
            tomogram_shape=inputs.tomogram_shape,
            experiment_id=inputs.name,
        )
        if inputs.result_format == "pytme" and inputs.template_shape is not None:
            from ..peers.pytme_centre import correct_positions

            particles = correct_positions(result.particles, angle_map, angle_list, inputs.template_shape, inputs.offset)
            result = attrs.evolve(result, particles=particles)
        seconds = time.perf_counter() - start
        out_path = None
        rec_path = None
        if output is not None:
            out_path = Path(output)
            assert self.writer is not None
            # a claim first: the output is cryotm's from its first byte (a batch replaces only its own
            # outputs), and an old record never vouches for a new, possibly unfinished, output
            write_record(claim_record(self, inputs), record_path_for(out_path))
            self.writer.write(result.particles, out_path, overwrite=overwrite)
        record = build_record(self, inputs, result, out_path, seconds)
        if out_path is not None:
            rec_path = record_path_for(out_path)
            write_record(record, rec_path)
        return RunResult(
            particles=result.particles,
            threshold=result.threshold,
            output=out_path,
            record=record,
            record_path=rec_path,
            seconds=seconds,
        )

    # -- description --------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """The pipeline's full parameters as plain data (the ``pipeline`` part of a record).

        Only what the run uses is described: the threshold is the pipeline's
        strategy, so a :class:`~cryotm.picking.PeakPicker`'s own threshold
        fields are left out.

        The same dictionary, given to :func:`~cryotm.pipeline.config.pipeline_from_config`,
        rebuilds an equal pipeline.
        """
        return {
            "threshold": describe(self.threshold),
            "picker": _describe_picker(self.picker),
            "filters": [describe(f) for f in self.filters],
            "writer": describe(self.writer) if self.writer is not None else None,
        }

    def output_name(self, name: str) -> str:
        """File name of a tomogram's output: ``name`` + the writer's first extension.

        Raises
        ------
        InputError
            If `name` would not stay inside a folder (``../x``, ``/abs/x``, ...).
        """
        from .._atomic import check_file_name

        check_file_name(name, "tomogram name")
        if self.writer is None:
            raise CryotmError("the pipeline has no writer (give a format)")
        extension = type(self.writer).extensions[0] if type(self.writer).extensions else ""
        return f"{name}{extension}"


#: PeakPicker fields a pipeline does not use: its own threshold strategy finds the threshold.
PICKER_THRESHOLD_FIELDS: tuple[str, ...] = ("threshold", "scores_threshold", "sigma_threshold")


def _check_unused_threshold(picker: Any) -> None:
    """Refuse a PeakPicker whose threshold fields are set: the pipeline would silently ignore them."""
    from ..picking import PeakPicker

    if not isinstance(picker, PeakPicker):
        return
    fields = attrs.fields_dict(type(picker))
    changed = [
        name for name in PICKER_THRESHOLD_FIELDS if name in fields and getattr(picker, name) != fields[name].default
    ]
    if changed:
        raise CryotmError(
            f"the picker's {', '.join(changed)} would not be used: a pipeline finds the threshold with its own "
            "strategy; give it there (Pipeline(picker, threshold=...), [threshold] in a config, --threshold)"
        )


def _describe_picker(picker: Any) -> dict[str, Any]:
    """The picker's description, without the PeakPicker threshold fields a pipeline does not use."""
    from ..picking import PeakPicker

    described = describe(picker)
    if isinstance(picker, PeakPicker):
        described["parameters"] = {
            k: v for k, v in described["parameters"].items() if k not in PICKER_THRESHOLD_FIELDS
        }
    return described


def _with_angle_count(statistics: SearchStatistics | None, n_angles: int) -> SearchStatistics:
    """The statistics, with the angle list's length as the number of rotations if they lack one."""
    if statistics is None:
        return SearchStatistics(n_angles=n_angles)
    if statistics.n_angles is None:
        return attrs.evolve(statistics, n_angles=n_angles)
    return statistics


def _mask_array(mask: MaskMap | np.ndarray | None) -> np.ndarray | None:
    if mask is None:
        return None
    if isinstance(mask, MaskMap):
        return mask.as_bool()
    return np.asarray(mask) != 0


def _call_picker(
    pipeline: Pipeline,
    scores: ScoresMap,
    angle_map: AngleMap,
    angle_list: AngleList,
    statistics: SearchStatistics,
    mask: MaskMap | None,
    tomo_id: int,
) -> tuple[ParticleList, ThresholdResult]:
    """Pick with the pipeline's threshold strategy; return the particles and the threshold found.

    A :class:`~cryotm.picking.PeakPicker` (or subclass) evaluates the strategy
    itself in :meth:`~cryotm.picking.PeakPicker.run`, the code path of
    ``cryotm extract`` (so the threshold is exactly the one extract finds, mask
    mode and the strategy's declared capabilities included), with the
    pipeline's search statistics; any other picker gets the value the
    pipeline evaluated, as a manual threshold.
    """
    from ..picking import PeakPicker
    from ..thresholds import ManualThreshold

    picker = pipeline.picker
    kwargs: dict[str, Any] = {"tomo_id": tomo_id}
    if mask is not None:
        kwargs["tomo_mask"] = mask
    if isinstance(picker, PeakPicker):
        outcome = picker.run(
            scores, angle_map, angle_list, threshold=pipeline.threshold, statistics=statistics, **kwargs
        )
        particles, threshold = outcome.particles, outcome.threshold
    else:
        threshold = pipeline.evaluate_threshold(scores, mask, statistics)
        particles = picker.pick(scores, angle_map, angle_list, threshold=ManualThreshold(threshold.value), **kwargs)
    if not isinstance(particles, ParticleList):
        raise CryotmError(f"picker {type(picker).__name__} returned {type(particles).__name__}, not a ParticleList")
    return particles, threshold


def _place(
    particles: ParticleList,
    offset: Sequence[float],
    pixel_size: float | None,
    experiment_id: str,
    tomogram_shape: tuple[int, int, int],
) -> ParticleList:
    data = particles.data
    offset = np.asarray(offset, dtype=float)
    if np.any(offset != 0):
        data = data.copy()
        data[["x", "y", "z"]] = data[["x", "y", "z"]].to_numpy() + offset
    return attrs.evolve(
        particles,
        data=data,
        pixel_size=particles.pixel_size if particles.pixel_size is not None else pixel_size,
        experiment_id=experiment_id,
        tomogram_shape=tuple(int(s) for s in tomogram_shape),
    )
