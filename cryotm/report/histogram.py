"""The scores histogram on a log scale, each threshold strategy's line, and the fitted background."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import norm

from ..thresholds import ThresholdResult
from ._mpl import new_figure

__all__ = ["plot_histogram", "background_curve", "histogram_of"]



def histogram_of(values: np.ndarray, bins: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Counts and edges of `values` between their minimum and maximum (chunked over large maps)."""
    flat = np.asarray(values).reshape(-1)
    lo, hi = float(flat.min()), float(flat.max())
    if hi <= lo:
        hi = lo + 1e-6
    edges = np.linspace(lo, hi, bins + 1)
    counts = np.zeros(bins, dtype=np.int64)
    step = 1 << 24
    for start in range(0, flat.size, step):
        counts += np.histogram(flat[start : start + step], bins=edges)[0]
    return counts, edges


def background_curve(result: ThresholdResult, edges: np.ndarray, n_values: int) -> np.ndarray | None:
    """Expected background counts per bin of `edges`, from a strategy's fitted Gaussian (None without one).

    Uses the ``far`` strategy's details: ``mean``/``std`` (from the job's
    statistics or the histogram fit) and, for a fit, ``background_amplitude``
    (the values the Gaussian accounts for); else all `n_values`.
    """
    details = result.details or {}
    mean = details.get("background_mean", details.get("mean"))
    std = details.get("background_std", details.get("std"))
    if mean is None or std is None or not std > 0:
        return None
    amplitude = details.get("background_amplitude") or n_values
    centres = 0.5 * (edges[:-1] + edges[1:])
    width = float(edges[1] - edges[0])
    return float(amplitude) * width * norm.pdf(centres, loc=float(mean), scale=float(std))


def plot_histogram(
    values: np.ndarray,
    thresholds: Sequence[ThresholdResult] = (),
    bins: int = 200,
    title: str = "",
):
    """The histogram of scores (log counts) with a vertical line per threshold and the background Gaussian.

    Parameters
    ----------
    values : ndarray
        The scores (a map or the voxels inside its mask).
    thresholds : sequence of ThresholdResult
        One line each, labelled with the strategy and value. The first result
        whose details hold a background ``mean``/``std`` (the ``far`` rule)
        also gives the dashed background curve.
    bins : int
        Histogram bins.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; threshold lines are ``Line2D`` objects with ``gid``
        ``"threshold:<strategy>"`` and the background ``gid="background"``.
    """
    counts, edges = histogram_of(values, bins)
    figure = new_figure(figsize=(8, 4.8), layout="constrained")
    ax = figure.add_subplot()
    ax.stairs(counts, edges, fill=True, color="0.75", label=f"scores ({int(counts.sum()):,} voxels)")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.5, top=max(2.0, counts.max() * 3))
    ax.set_xlabel("score")
    ax.set_ylabel("voxels per bin")
    curve_drawn = False
    from .choosing import rule_colour

    for result in thresholds:
        colour = rule_colour(result.strategy)
        if not curve_drawn:
            curve = background_curve(result, edges, int(counts.sum()))
            if curve is not None:
                centres = 0.5 * (edges[:-1] + edges[1:])
                visible = curve >= 0.5
                ax.plot(
                    centres[visible], curve[visible], "--", color="black", lw=1.2, gid="background",
                    label=f"background fit (mean {result.details.get('background_mean', result.details.get('mean')):.3g}, "
                    f"std {result.details.get('background_std', result.details.get('std')):.3g})",
                )
                curve_drawn = True
        ax.axvline(
            result.value, color=colour, lw=1.6, gid=f"threshold:{result.strategy}",
            label=f"{result.strategy}: {result.value:.4g} ({int((np.asarray(values) > result.value).sum()):,} voxels above)",
        )
    ax.legend(fontsize="small", loc="upper right")
    ax.set_title(title or "scores histogram and thresholds")
    return figure
