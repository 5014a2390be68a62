"""A run's report: histogram with thresholds, slices with picks, peak profiles - as figures and PNG files."""

from __future__ import annotations

import math

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .._atomic import atomic_path, check_file_name, check_writable, make_output_folder, output_set
from ..errors import CryotmError, InputError
from ..maps import MaskMap, ScoresMap
from ..particles import ParticleList
from ..thresholds import SearchStatistics, ThresholdResult, get_threshold_strategy
from .choosing import plot_threshold_choice
from .histogram import plot_histogram
from .peaks import plot_peak_profiles
from .slices import plot_slices

__all__ = ["Report", "make_report", "report_run", "DEFAULT_THRESHOLDS"]

#: Strategies drawn on the histogram unless told otherwise.
DEFAULT_THRESHOLDS: tuple[str, ...] = ("calibrated", "far", "triangle", "sigma:3")


@attrs.frozen(eq=False)
class Report:
    """The figures of a report and the files they were saved to.

    Attributes
    ----------
    figures : dict
        ``{"histogram", "threshold", "slices", "peaks"}`` -> :class:`matplotlib.figure.Figure`
        (``threshold``: :func:`~cryotm.report.choosing.plot_threshold_choice`).
    thresholds : list of ThresholdResult
        What each strategy found (in the order drawn).
    skipped : dict
        Strategies that could not be evaluated on this map, with the reason.
    paths : dict
        Figure name -> PNG file (empty when nothing was saved).
    """

    figures: dict[str, Any]
    thresholds: list[ThresholdResult]
    skipped: dict[str, str]
    paths: dict[str, Path]


def _evaluate(
    specs: Sequence[Any],
    scores: ScoresMap,
    mask: np.ndarray | None,
    statistics: SearchStatistics | None,
    particle_diameter: float | None = None,
):
    results, skipped = [], {}
    for spec in specs:
        try:
            strategy = get_threshold_strategy(spec)
            if particle_diameter is not None and callable(getattr(strategy, "with_particle_diameter", None)):
                strategy = strategy.with_particle_diameter(particle_diameter)
            results.append(strategy.evaluate(scores, mask=mask, statistics=statistics))
        except CryotmError as exc:
            skipped[str(spec)] = str(exc)
    return results, skipped


def make_report(
    scores: ScoresMap | np.ndarray | str | os.PathLike,
    particles: ParticleList | None = None,
    thresholds: Sequence[Any] = DEFAULT_THRESHOLDS,
    mask: MaskMap | np.ndarray | None = None,
    statistics: SearchStatistics | None = None,
    n_angles: int | None = None,
    position: Sequence[int] | None = None,
    offset: Sequence[float] = (0.0, 0.0, 0.0),
    n_peaks: int = 3,
    particle_diameter: float | None = None,
    output_dir: str | os.PathLike | None = None,
    prefix: str = "",
    overwrite: bool = False,
    dpi: int = 120,
    alignment: Any = None,
    n_tracks: int = 3,
) -> Report:
    """Draw the report of a run; save the PNGs into `output_dir` when given.

    Parameters
    ----------
    scores : ScoresMap, array or path
        The scores map.
    particles : ParticleList, optional
        The picks (positions in the tomogram's voxels).
    thresholds : sequence
        Strategies to evaluate and draw (names, ``NAME:VALUE`` specs, numbers
        or strategy objects, results too). Those that do not apply to this map
        are listed in ``Report.skipped``.
    mask : MaskMap or array, optional
        Only voxels inside count for the histogram and thresholds.
    statistics : SearchStatistics, optional
        The search statistics (pytom-match-pick's), for the ``far`` rule.
    n_angles : int, optional
        Rotations searched, when the statistics do not say (``far`` needs it).
    position : (z, y, x), optional
        Where the slices cut (default: through the best pick).
    offset : (x, y, z)
        Position of the map's voxel 0 in the tomogram (sub-region searches).
    n_peaks : int
        Picks whose profiles are drawn.
    particle_diameter : float, optional
        The picker's suppression radius (voxels): rules that model the
        picker's candidates (``calibrated``) use it, and the threshold figure
        counts the particles a threshold keeps with it.
    output_dir, prefix : path, str
        Save ``<prefix>histogram.png``, ``<prefix>threshold.png``, ``<prefix>slices.png`` and
        ``<prefix>peaks.png`` there.
    alignment : TiltSeriesAlignment, mapping or path, optional
        The tilt series' alignment: adds ``tracks``, the `n_tracks` best picks'
        x and y in the tilt images against the tilt angle (:mod:`cryotm.report.tracks`).

    Returns
    -------
    Report
    """
    targets: dict[str, Path] = {}
    if output_dir is not None:
        check_file_name(f"{prefix}histogram.png", "figure name (prefix + histogram.png; --prefix)")
        folder = make_output_folder(output_dir)
        kinds = ("histogram", "threshold", "slices", "peaks") + (
            ("tracks",) if alignment is not None and particles else ()
        )
        targets = {key: folder / f"{prefix}{key}.png" for key in kinds}
        for target in targets.values():  # refuse before drawing anything, so that no figure set is left half-replaced
            check_writable(target, overwrite)
    scores = ScoresMap.coerce(scores, mmap=True)
    mask_array = None
    if mask is not None:
        mask_map = MaskMap.coerce(mask)
        scores.check_same_shape(mask_map, "mask")
        mask_array = mask_map.as_bool()
    if n_angles is not None and (statistics is None or statistics.n_angles is None):
        statistics = attrs.evolve(statistics or SearchStatistics(), n_angles=int(n_angles))
    given = [t for t in thresholds if isinstance(t, ThresholdResult)]
    results, skipped = _evaluate(
        [t for t in thresholds if not isinstance(t, ThresholdResult)], scores, mask_array, statistics, particle_diameter
    )
    results = given + results
    values = scores.data if mask_array is None else scores.data[mask_array]
    name = scores.experiment_id or (Path(scores.source).name if scores.source else "scores map")
    figures = {
        "histogram": plot_histogram(values, results, title=f"{name}: scores histogram and thresholds"),
        "threshold": plot_threshold_choice(
            scores.data, results, particle_diameter=particle_diameter, mask=mask_array,
            title=f"{name}: choosing a threshold",
        ),
        "slices": plot_slices(scores.data, particles, position=position, offset=offset, title=f"{name}: slices with picks"),
        "peaks": plot_peak_profiles(scores.data, particles, n_peaks=n_peaks, offset=offset, title=f"{name}: peak profiles"),
    }
    if alignment is not None and particles:
        from .tracks import choose_track_particles, plot_tracks

        placed = attrs.evolve(particles, tomogram_shape=particles.tomogram_shape or tuple(scores.shape))
        table = placed.project(alignment)
        figures["tracks"] = plot_tracks(table, choose_track_particles(placed, n_tracks), title=f"{name}: tracks")
    paths: dict[str, Path] = {}
    if targets:
        with output_set():  # the figures are replaced together, or none is
            for key, target in targets.items():
                with atomic_path(target, overwrite=overwrite) as tmp:
                    figures[key].savefig(tmp, format="png", dpi=dpi)
                paths[key] = target
    return Report(figures=figures, thresholds=results, skipped=skipped, paths=paths)


def report_run(
    record: str | os.PathLike,
    output_dir: str | os.PathLike,
    thresholds: Sequence[Any] = DEFAULT_THRESHOLDS,
    overwrite: bool = False,
    **options: Any,
) -> Report:
    """The report of a recorded pipeline run (``<output>.cryotm.json``).

    The run's own threshold (from the record) is drawn first, then `thresholds`;
    the picks are read back from the run's output, with the reader of the
    recorded format name. No class named in the record is imported.
    """
    from ..batch.runner import read_back
    from ..pipeline import TomogramInputs, read_record
    from ..pipeline.record import RECORD_SUFFIX

    record_path = Path(record)
    data = read_record(record_path)
    if not isinstance(data.get("inputs"), dict):
        raise InputError("this record describes no single tomogram's run (a merged list's?); give a tomogram's "
                         "record", record_path)
    inputs = TomogramInputs.from_description(data["inputs"])
    particles = None
    if data.get("output"):
        output = record_path.with_name(record_path.name[: -len(RECORD_SUFFIX)])
        particles = read_back(None, output)  # the record is data: nothing named in it is imported
    own = data.get("threshold") or {}
    recorded = ThresholdResult(
        value=float(own["value"]), strategy=f"{own['strategy']} (run)", details=dict(own.get("details") or {})
    ) if own else None
    scores = inputs.read_scores()
    n_angles = options.pop("n_angles", None) or len(inputs.read_angle_list())
    if options.get("particle_diameter") is None:
        options["particle_diameter"] = _recorded_suppression_radius(data)
    return make_report(
        scores,
        particles,
        thresholds=([recorded] if recorded else []) + list(thresholds),
        mask=inputs.read_mask(scores.shape),
        statistics=inputs.statistics,
        n_angles=n_angles,
        offset=inputs.offset,
        output_dir=output_dir,
        prefix=options.pop("prefix", f"{inputs.name}_"),
        overwrite=overwrite,
        **options,
    )


def _recorded_suppression_radius(record: dict) -> float | None:
    """The picker's suppression radius as the record states it (read as data: nothing is imported or built)."""
    picker = (record.get("pipeline") or {}).get("picker") or {}
    parameters = picker.get("parameters") if isinstance(picker, dict) else None
    if not isinstance(parameters, dict):
        return None
    for key in ("radius", "particle_diameter"):
        value = parameters.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
            return float(value)
    return None
