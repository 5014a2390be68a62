"""Choosing a threshold: candidate peaks, the fitted noise model, and what each rule keeps.

Two panels. Left: the histogram of the candidate peak scores (the map's
local maxima) with the noise model of the ``calibrated`` rule (expected noise
peaks per bin, over the range it was fitted to and above) and each rule's
cut-off. Right: the number of particles a threshold keeps (the local maxima
suppressed within the particle diameter, as the picker suppresses), against
the threshold, with the model's expected number of noise peaks above it; each
rule's cut-off is marked with the particles it keeps. Every rule has one fixed colour in every figure (:func:`rule_colour`).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from ..thresholds import ThresholdResult
from ..thresholds.calibrated import CalibratedThreshold, local_maxima
from ._mpl import new_figure

__all__ = ["plot_threshold_choice", "rule_colour", "rule_label", "RULE_COLOURS", "candidate_scores"]

#: One colour per built-in rule, the same in every figure.
RULE_COLOURS: dict[str, str] = {
    "calibrated": "tab:blue",
    "far": "tab:red",
    "triangle": "tab:green",
    "sigma": "tab:purple",
    "gauss": "tab:orange",
    "hard": "tab:brown",
    "manual": "black",
}
_OTHER_COLOURS = ("tab:pink", "tab:olive", "tab:cyan", "tab:gray", "gold", "navy")


def rule_colour(strategy: str) -> str:
    """The colour of a rule (a plugin's rule gets a colour fixed by its name)."""
    name = strategy.split(" ")[0].split(":")[0]
    if name in RULE_COLOURS:
        return RULE_COLOURS[name]
    return _OTHER_COLOURS[zlib.crc32(name.encode()) % len(_OTHER_COLOURS)]


def rule_label(result: ThresholdResult) -> str:
    """The rule with its parameters, e.g. ``calibrated:1 (noise peaks per tomogram)``."""
    details = result.details or {}
    name = result.strategy
    if "n_false_positives" in details and name.startswith("calibrated"):
        return f"{name}:{details['n_false_positives']:g} (noise peaks per tomogram)"
    if "n_false_positives" in details and "search_space" in details:
        return f"{name}:{details['n_false_positives']:g} (in {details['search_space']:.3g} voxels x rotations)"
    if "k" in details:
        return f"{name}:{details['k']:g} (mean + {details['k']:g} std)"
    return name


def candidate_scores(
    scores: np.ndarray, particle_diameter: float | None = None, footprint: int = 7, mask: np.ndarray | None = None
) -> np.ndarray:
    """Scores of the candidate peaks, highest first (:func:`~cryotm.thresholds.calibrated.local_maxima`)."""
    return local_maxima(scores, footprint=footprint, mask=mask, radius=particle_diameter)


def plot_threshold_choice(
    scores: np.ndarray,
    thresholds: Sequence[ThresholdResult] = (),
    particle_diameter: float | None = None,
    mask: np.ndarray | None = None,
    bins: int = 60,
    title: str = "",
):
    """Draw the candidate peaks, the noise model and the particles each threshold keeps.

    Parameters
    ----------
    scores : ndarray
        The scores map.
    thresholds : sequence of ThresholdResult
        The rules' results; a ``calibrated`` result also gives the noise model.
    particle_diameter : float, optional
        The picker's suppression radius (voxels): candidates are then the
        peaks the picker would keep.
    mask : ndarray, optional
        Only candidates inside.
    bins : int
        Histogram bins.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes. Lines carry ``gid``: ``"candidates"`` (histogram counts),
        ``"kept"`` (particles against threshold), ``"noise model"`` and
        ``"expected noise"`` (the model, when drawn), ``"cut-off:<rule>"``.
    """
    maxima = candidate_scores(scores, None, mask=mask)
    values = candidate_scores(scores, particle_diameter, mask=mask) if particle_diameter else maxima
    figure = new_figure(figsize=(11, 4.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    lo = float(np.quantile(maxima, 0.02)) if len(maxima) else 0.0
    hi = float(maxima[0]) if len(maxima) else 1.0
    hi = max(hi, *[float(r.value) for r in thresholds]) if thresholds else hi
    edges = np.linspace(lo, hi + 0.02 * (hi - lo + 1e-9), bins + 1)
    counts, _ = np.histogram(maxima, bins=edges)
    centres = 0.5 * (edges[:-1] + edges[1:])
    left.stairs(counts, edges, fill=True, color="0.8", label=f"local maxima ({len(maxima):,})")
    left.plot(centres, counts, drawstyle="steps-mid", color="0.5", lw=0.6, gid="candidates")
    grid = np.linspace(lo, edges[-1], 400)
    kept = len(values) - np.searchsorted(values[::-1], grid, side="right")
    right.plot(grid, np.maximum(kept, 0.5), color="0.3", lw=1.5, gid="kept",
               label="particles kept" + (f" (suppressed within {particle_diameter:.3g} voxels)" if particle_diameter else ""))

    model = next((r for r in thresholds if r.strategy.split(" ")[0] == "calibrated" and "coefficients" in r.details), None)
    if model is not None:
        expected = CalibratedThreshold.expected_count(model, edges)
        per_bin = expected[:-1] - expected[1:]
        start = float(np.min(model.details["fit_scores"]))
        visible = (per_bin >= 0.05) & (edges[1:] >= start)
        left.axvspan(start, float(np.max(model.details["fit_scores"])), color=rule_colour("calibrated"), alpha=0.08,
                     label="range the model is fitted to")
        left.plot(
            centres[visible], per_bin[visible], "--", color=rule_colour("calibrated"), lw=1.4, gid="noise model",
            label=f"noise model ({model.details['model']}, std {model.details['std']:.3g})",
        )
        noise = CalibratedThreshold.expected_count(model, grid)
        shown = (noise >= 0.05) & (grid >= start)
        right.plot(grid[shown], noise[shown], "--", color=rule_colour("calibrated"), lw=1.4, gid="expected noise",
                   label="noise peaks expected above")

    for result in thresholds:
        colour = rule_colour(result.strategy)
        n_kept = int(np.sum(values > result.value))
        label = f"{rule_label(result)} = {result.value:.4g}: {n_kept} kept"
        left.axvline(result.value, color=colour, lw=1.6, label=label)
        right.axvline(result.value, color=colour, lw=1.6, gid=f"cut-off:{result.strategy}")
        right.plot([result.value], [max(n_kept, 0.5)], "o", color=colour)
        gap = result.details.get("gap") if isinstance(result.details, dict) else None
        if gap is not None:  # calibrated raised its noise cut-off into the gap below the particles
            noise_cut = float(result.details["noise_cutoff"])
            left.axvspan(gap[0], gap[1], color=colour, alpha=0.12, label="gap below the particles' cluster")
            trail = result.details["n_trail"]
            left.axvline(noise_cut, color=colour, lw=1.0, ls=":",
                         label=f"{result.strategy}'s noise cut-off = {noise_cut:.4g} (the trail: {trail} more)")
            right.axvline(noise_cut, color=colour, lw=1.0, ls=":", gid=f"noise cut-off:{result.strategy}")
    for ax in (left, right):
        ax.set_yscale("log")
        ax.set_xlabel("score")
    left.set_ylim(bottom=0.5)
    right.set_ylim(bottom=0.5, top=max(2.0, len(values) * 2.0))
    left.set_ylabel("local maxima per bin")
    right.set_ylabel("particles above the threshold")
    left.legend(fontsize="x-small", loc="upper right")
    right.legend(fontsize="x-small", loc="upper right")
    left.set_title("local maxima, noise model and cut-offs", fontsize="medium")
    right.set_title("particles kept against the threshold", fontsize="medium")
    figure.suptitle(title or "choosing a threshold")
    return figure
