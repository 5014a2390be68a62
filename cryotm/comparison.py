"""Compare two particle lists (picks and a reference): precision, recall, F1, angular errors, per tomogram.

On top of :func:`cryotm.evaluation.match_particles` (one-to-one matching
within a distance tolerance), this splits lists that hold several tomograms,
matches tomogram by tomogram, and sums up: the overall precision and recall
count every pick and reference particle of every tomogram. Angular errors
can respect a C_n symmetry of the particle.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from .errors import CryotmError
from .angles.distances import parse_symmetry
from .evaluation import DetectionScores, MatchResult, match_particles
from .particles import ParticleList

__all__ = ["Comparison", "TomogramComparison", "compare_particles", "angular_error_summary", "QUANTILES"]

#: Quantiles of the angular error that summaries report.
QUANTILES: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9, 0.95)


def _quantile_key(q: float) -> str:
    """``"q90"`` for 0.9: the key of a quantile in :func:`angular_error_summary`."""
    return f"q{int(round(q * 100))}"


def angular_error_summary(errors: np.ndarray) -> dict[str, float]:
    """Count, mean, quantiles (q25 ... q95, median = q50) and max of angular errors (degrees)."""
    errors = np.asarray(errors, dtype=float)
    if errors.size == 0:
        return {"count": 0}
    summary: dict[str, float] = {"count": int(errors.size), "mean": float(errors.mean())}
    for q, value in zip(QUANTILES, np.quantile(errors, QUANTILES)):
        summary[_quantile_key(q)] = float(value)
    summary["median"] = summary["q50"]
    summary["max"] = float(errors.max())
    return summary


@attrs.frozen
class TomogramComparison:
    """The match of one tomogram's picks and reference particles."""

    tomogram: str
    match: MatchResult
    angular_errors: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        m = self.match
        return {
            "tomogram": self.tomogram,
            "picks": m.n_picks,
            "reference": m.n_reference,
            "matched": m.true_positives,
            "precision": m.precision,
            "recall": m.recall,
            "f1": m.f1,
            "mean_distance": float(np.mean(m.distances)) if len(m.distances) else None,
            "angular_error": angular_error_summary(self.angular_errors),
        }


@attrs.frozen
class Comparison(DetectionScores):
    """Picks against a reference, per tomogram and overall.

    Attributes
    ----------
    tomograms : tuple of TomogramComparison
        One per tomogram present in either list (sorted by name).
    tolerance : float
        Distance (voxels of the picks) within which a pick matches.
    symmetry : int
        C_n symmetry used for the angular errors.
    notes : tuple of str
        What was assumed (for example a pixel-size rescaling).
    """

    tomograms: tuple[TomogramComparison, ...]
    tolerance: float
    symmetry: int = 1
    notes: tuple[str, ...] = ()

    @property
    def n_picks(self) -> int:
        return sum(t.match.n_picks for t in self.tomograms)

    @property
    def n_reference(self) -> int:
        return sum(t.match.n_reference for t in self.tomograms)

    @property
    def true_positives(self) -> int:
        return sum(t.match.true_positives for t in self.tomograms)

    @property
    def angular_errors(self) -> np.ndarray:
        """Angular errors (degrees) of every matched pair, all tomograms."""
        parts = [t.angular_errors for t in self.tomograms]
        return np.concatenate(parts) if parts else np.empty(0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tolerance": self.tolerance,
            "symmetry": f"c{self.symmetry}",
            "picks": self.n_picks,
            "reference": self.n_reference,
            "matched": self.true_positives,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "angular_error": angular_error_summary(self.angular_errors),
            "tomograms": [t.as_dict() for t in self.tomograms],
            "notes": list(self.notes),
        }

    def format(self) -> str:
        """A table for people: one row per tomogram (when there are several) and the total."""
        rows = [("tomogram", "picks", "ref", "matched", "precision", "recall", "F1", "median deg", "q90 deg")]

        def row(name: str, n_p: int, n_r: int, tp: int, p: float, r: float, f: float, errors: np.ndarray):
            stats = angular_error_summary(errors)
            med = f"{stats['median']:.2f}" if stats["count"] else "-"
            q90 = f"{stats['q90']:.2f}" if stats["count"] else "-"
            return (name, str(n_p), str(n_r), str(tp), f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", med, q90)

        if len(self.tomograms) > 1:
            for t in self.tomograms:
                m = t.match
                rows.append(row(t.tomogram, m.n_picks, m.n_reference, m.true_positives, m.precision, m.recall, m.f1, t.angular_errors))
        rows.append(
            row("all", self.n_picks, self.n_reference, self.true_positives, self.precision, self.recall, self.f1, self.angular_errors)
        )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths))) for r in rows]
        stats = angular_error_summary(self.angular_errors)
        if stats["count"]:
            quantiles = ", ".join(f"{_quantile_key(q)} {stats[_quantile_key(q)]:.2f}" for q in QUANTILES)
            lines.append(
                f"angular error (deg, C{self.symmetry}) over {stats['count']} matched pairs: mean {stats['mean']:.2f}, "
                f"{quantiles}, max {stats['max']:.2f}"
            )
        lines.append(f"tolerance {self.tolerance:g} voxels")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def _has_names(particles: ParticleList) -> bool:
    return "tomo_name" in particles.data.columns or bool(particles.experiment_id)


def _keys(particles: ParticleList, by_name: bool) -> np.ndarray:
    if by_name:
        return np.asarray([str(n) for n in particles.tomogram_names()], dtype=object)
    return particles.data["tomo_id"].astype(str).to_numpy(dtype=object)


def _subset(particles: ParticleList, keep: np.ndarray) -> ParticleList:
    return particles.with_data(particles.data[keep].reset_index(drop=True))


def compare_particles(
    picks: ParticleList,
    reference: ParticleList,
    tolerance: float,
    symmetry: int | str = 1,
    per_tomogram: bool = True,
) -> Comparison:
    """Match `picks` to `reference` tomogram by tomogram.

    Parameters
    ----------
    picks, reference : ParticleList
        Positions in voxels (0-based). When both carry pixel sizes that
        differ, the reference positions are rescaled to the picks' voxels.
    tolerance : float
        Largest distance (voxels) at which a pick counts as a reference particle.
    symmetry : int or str
        C_n symmetry of the particle about its z axis (``6`` or ``"C6"``): the
        angular error is the smallest over the n equivalent orientations.
    per_tomogram : bool
        Split by tomogram: by name when both lists name their tomograms
        (``tomo_name`` column or experiment id), else by ``tomo_id``. Two
        lists of one tomogram each are compared with each other whatever
        their names.

    Examples
    --------
    >>> a = ParticleList.from_arrays([[10, 10, 10], [30, 30, 30]], orientations=[[0, 0, 0], [10, 20, 30]])
    >>> b = ParticleList.from_arrays([[11, 10, 10]], orientations=[[0, 0, 5]])
    >>> result = compare_particles(a, b, tolerance=2)
    >>> result.precision, result.recall, round(float(result.angular_errors[0]), 3)
    (0.5, 1.0, 5.0)
    """
    if not tolerance > 0:
        raise CryotmError(f"the tolerance must be positive, got {tolerance}")
    symmetry = parse_symmetry(symmetry)
    notes: list[str] = []
    if picks.pixel_size and reference.pixel_size and not np.isclose(picks.pixel_size, reference.pixel_size):
        factor = reference.pixel_size / picks.pixel_size
        data = reference.data.copy()
        columns = ["x", "y", "z", "shift_x", "shift_y", "shift_z"]
        data[columns] = data[columns].to_numpy() * factor
        reference = reference.with_data(data)
        notes.append(
            f"reference positions rescaled by {factor:g} (pixel size {reference.pixel_size:g} A -> {picks.pixel_size:g} A)"
        )
    if per_tomogram:
        by_name = _has_names(picks) and _has_names(reference)
        pick_keys, ref_keys = _keys(picks, by_name), _keys(reference, by_name)
        single = len(set(pick_keys)) <= 1 and len(set(ref_keys)) <= 1
        if single and set(pick_keys) != set(ref_keys) and len(pick_keys) and len(ref_keys):
            notes.append(f"one tomogram in each list ({pick_keys[0]} and {ref_keys[0]}): compared with each other")
            pick_keys = np.full(len(picks), str(pick_keys[0]), dtype=object)
            ref_keys = np.full(len(reference), str(pick_keys[0]), dtype=object)
    else:
        pick_keys = np.full(len(picks), "all", dtype=object)
        ref_keys = np.full(len(reference), "all", dtype=object)
    names = sorted(set(pick_keys) | set(ref_keys), key=lambda n: (len(n), n))
    results = []
    for name in names:
        sub_picks = _subset(picks, pick_keys == name)
        sub_ref = _subset(reference, ref_keys == name)
        match = match_particles(sub_picks, sub_ref, tolerance, symmetry)
        results.append(TomogramComparison(tomogram=str(name), match=match, angular_errors=match.angular_errors))
    return Comparison(tomograms=tuple(results), tolerance=float(tolerance), symmetry=symmetry, notes=tuple(notes))
