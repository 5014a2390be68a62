"""Particle tracks across a tilt series: x and y in the tilt images against the tilt angle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import CryotmError
from ._mpl import new_figure

__all__ = ["plot_tracks", "choose_track_particles"]


def choose_track_particles(particles: Any, n_tracks: int = 3) -> list[int]:
    """The ``subtomo_id`` of the `n_tracks` best-scoring particles (ties keep list order)."""
    if len(particles) == 0 or n_tracks <= 0:
        return []
    order = np.argsort(-particles.scores, kind="stable")[:n_tracks]
    return [int(v) for v in particles.data["subtomo_id"].to_numpy()[order]]


def plot_tracks(table: pd.DataFrame, chosen: Sequence[int] | None = None, title: str = ""):
    """Draw each chosen particle's x and y in the tilt images against the tilt angle.

    Parameters
    ----------
    table : pandas.DataFrame
        A projection table (:func:`cryotm.geometry.project_particles`).
    chosen : sequence of int, optional
        ``particle`` ids to draw (default: every particle in the table).
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels (x, y); each track is a ``Line2D`` with ``gid="track:<particle>:<x|y>"``
        whose data are the tilt angles and positions; tilts where the particle
        is outside the image are drawn as hollow markers (``gid="outside:<particle>:<x|y>"``).

    Raises
    ------
    CryotmError
        A chosen particle the table does not hold.

    Examples
    --------
    >>> table = pd.DataFrame({"particle": [1, 1], "tilt_angle": [-30.0, 30.0], "x": [40.0, 60.0],
    ...                       "y": [50.0, 50.0], "inside": [True, False]})
    >>> figure = plot_tracks(table)
    >>> [line.get_gid() for line in figure.axes[0].lines]
    ['track:1:x', 'outside:1:x']
    """
    ids = list(dict.fromkeys(table["particle"].tolist())) if chosen is None else [int(v) for v in chosen]
    missing = sorted(set(ids) - set(table["particle"].tolist()))
    if missing:
        raise CryotmError(f"no particle {missing[0]} in the projection table")
    figure = new_figure(figsize=(9, 4), layout="constrained")
    axes = figure.subplots(1, 2, sharex=True)
    for particle in ids:
        rows = table[table["particle"] == particle].sort_values("tilt_angle", kind="stable")
        angles = rows["tilt_angle"].to_numpy(float)
        outside = ~rows["inside"].to_numpy(bool)
        for ax, axis in zip(axes, ("x", "y")):
            values = rows[axis].to_numpy(float)
            (line,) = ax.plot(angles, values, marker=".", label=f"particle {particle}", gid=f"track:{particle}:{axis}")
            if outside.any():
                ax.plot(angles[outside], values[outside], linestyle="none", marker="o", markerfacecolor="none",
                        color=line.get_color(), gid=f"outside:{particle}:{axis}")
    for ax, axis in zip(axes, ("x", "y")):
        ax.set_xlabel("tilt angle (degrees)")
        ax.set_ylabel(f"{axis} in the tilt image (pixels)")
    if ids:
        axes[0].legend(fontsize="small")
    figure.suptitle(title or "particle tracks across the tilt series (hollow: outside the image)")
    return figure
